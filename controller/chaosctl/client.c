// SPDX-License-Identifier: MIT
#include "controller/chaosctl/client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/protocol/reqrep0/req.h>

#include "common/flags.h"
#include "common/wire.h"
#include "controller/chaosctl/chaosctl.h"
#include "controller/chaosctl/ipc_req.h"

/* One open control connection: our own SP client for ipc:// (ipc_req.h says
 * why), NNG's REQ socket for tcp:// and tls+tcp://. */
struct ctl_conn {
	int        fd; /* ipc://: the Unix socket; -1 otherwise */
	nng_socket sock;
};

static bool
ctl_is_ipc(const char *url)
{
	return strncmp(url, "ipc://", 6) == 0;
}

static chaos_err
ctl_open_nng(const struct ctl_target *t, nng_socket *sock, chaos_why *why)
{
	chaos_err rv;
	int       nrv;

	if ((nrv = nng_req0_open(sock)) != 0)
		return chaos_fail(why, chaos_err_from_nng(nrv),
		                  "cannot open a socket: %s", nng_strerror(nrv));
	nng_socket_set_ms(*sock, NNG_OPT_RECVTIMEO, t->timeout_ms);
	nng_socket_set_ms(*sock, NNG_OPT_SENDTIMEO, t->timeout_ms);
	if (strncmp(t->url, "tls+tcp://", 10) == 0) {
		rv = transport_dial(*sock, t->url, WIRE_MAX_CONTROL + WIRE_SOCKET_SLACK,
		                    &t->tls, why);
	} else {
		/* A blocking first dial fails at once when nothing listens,
		 * which is what a CLI wants: say so now, not after a timeout. */
		nng_socket_set_size(*sock, NNG_OPT_RECVMAXSZ,
		                    WIRE_MAX_CONTROL + WIRE_SOCKET_SLACK);
		nrv = nng_dial(*sock, t->url, NULL, 0);
		rv  = nrv == 0
		     ? CHAOS_OK
		     : chaos_fail(why, chaos_err_from_nng(nrv), "%s", nng_strerror(nrv));
	}
	if (rv != CHAOS_OK)
		nng_close(*sock);
	return rv;
}

static chaos_err
ctl_connect(const struct ctl_target *t, struct ctl_conn *c, chaos_why *why)
{
	chaos_why inner = {{0}};
	chaos_err rv;

	c->fd = -1;
	rv    = ctl_is_ipc(t->url)
	       ? ipcreq_open(t->url + strlen("ipc://"), t->timeout_ms, &c->fd, &inner)
	       : ctl_open_nng(t, &c->sock, &inner);
	if (rv != CHAOS_OK)
		return chaos_fail(
		    why, CHAOS_ECONN,
		    "cannot reach the controller at %s: %s; is "
		    "chaos-controller running? (sandbox: deploy/sandbox/sandbox "
		    "up; elsewhere pass --controller URL)",
		    t->url, inner.text);
	return CHAOS_OK;
}

static void
ctl_disconnect(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	else
		nng_close(c->sock);
}

/* Sends msg (consumed) and returns the answer's bytes, malloc'd. */
static chaos_err
ctl_exchange(const struct ctl_target *t, struct ctl_conn *c, nng_msg *msg, uint8_t **out,
             size_t *len, chaos_why *why)
{
	int nrv;

	if (c->fd >= 0) {
		chaos_err rv =
		    ipcreq_roundtrip(c->fd, nng_msg_body(msg), nng_msg_len(msg),
		                     t->timeout_ms, WIRE_MAX_CONTROL, out, len, why);
		nng_msg_free(msg);
		return rv;
	}
	if ((nrv = nng_sendmsg(c->sock, msg, 0)) != 0) {
		nng_msg_free(msg); /* a failed send leaves it ours */
		return chaos_fail(why, chaos_err_from_nng(nrv), "%s", nng_strerror(nrv));
	}
	if ((nrv = nng_recvmsg(c->sock, &msg, 0)) != 0)
		return chaos_fail(why, chaos_err_from_nng(nrv), "%s", nng_strerror(nrv));
	*len = nng_msg_len(msg);
	if ((*out = malloc(*len ? *len : 1)) != NULL)
		memcpy(*out, nng_msg_body(msg), *len);
	nng_msg_free(msg);
	return *out != NULL
	    ? CHAOS_OK
	    : chaos_fail(why, CHAOS_ENOMEM, "out of memory for the answer");
}

chaos_err
ctl_call(const struct ctl_target *t, Chaos__V1__ControlRequest *req,
         Chaos__V1__ControlResponse **out, chaos_why *why)
{
	struct ctl_conn conn;
	nng_msg        *msg   = NULL;
	uint8_t        *buf   = NULL;
	size_t          len   = 0;
	chaos_why       inner = {{0}};
	chaos_err       rv;

	req->protocol_version = WIRE_VERSION;
	if ((rv = ctl_connect(t, &conn, why)) != CHAOS_OK)
		return rv;
	if ((rv = wire_pack(&req->base, WIRE_MAX_CONTROL, &msg)) != CHAOS_OK) {
		chaos_fail(why, rv, "cannot encode the request: %s", chaos_strerror(rv));
		goto out;
	}
	if ((rv = ctl_exchange(t, &conn, msg, &buf, &len, &inner)) != CHAOS_OK) {
		rv = chaos_fail(why, CHAOS_ECONN,
		                "no answer from the controller at %s: %s; check its log",
		                t->url, inner.text);
		goto out;
	}
	rv = wire_decode_control_response(buf, len, out, &inner);
	if (rv != CHAOS_OK)
		chaos_fail(why, rv,
		           "the controller's answer is invalid: %s (version mismatch "
		           "between chaosctl and chaos-controller?)",
		           inner.text);
out:
	free(buf);
	ctl_disconnect(&conn);
	return rv;
}

int
chaosctl_request(const struct ctl_target *t, Chaos__V1__ControlRequest *req,
                 Chaos__V1__ControlResponse **resp)
{
	chaos_why why = {{0}};

	if (ctl_call(t, req, resp, &why) != CHAOS_OK) {
		fprintf(stderr, "chaosctl: %s\n", why.text);
		return CHAOS_EXIT_ENV;
	}
	if ((*resp)->error != NULL) {
		fprintf(stderr, "chaosctl: controller: %s\n", (*resp)->error);
		wire_free(*resp);
		*resp = NULL;
		return CHAOS_EXIT_FAILED;
	}
	return CHAOS_EXIT_OK;
}

int
chaosctl_show(const struct ctl_target *t, int argc, char **argv,
              Chaos__V1__ControlRequest *req, chaosctl_print_fn print)
{
	Chaos__V1__ControlResponse *resp = NULL;
	bool                        json = false;
	int                         rv;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
			continue;
		}
		return flags_usage_error("chaosctl",
		                         "%s: unknown option '%s'; allowed: --json",
		                         argv[0], argv[i]);
	}
	if ((rv = chaosctl_request(t, req, &resp)) != CHAOS_EXIT_OK)
		return rv;
	print(resp, json);
	wire_free(resp);
	return CHAOS_EXIT_OK;
}
