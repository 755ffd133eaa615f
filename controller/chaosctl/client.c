// SPDX-License-Identifier: MIT
#include "controller/chaosctl/client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/protocol/reqrep0/req.h>

#include "common/clock.h"
#include "common/flags.h"
#include "common/transport.h"
#include "common/url.h"
#include "common/wire.h"
#include "controller/chaosctl/chaosctl.h"
#include "controller/chaosctl/sp_req.h"

/* One open control connection: our own SP client for ipc:// and tcp://
 * (sp_req.h says why), NNG's REQ socket for tls+tcp://. */
struct ctl_conn {
	struct spreq_conn sp; /* ipc://, tcp://; its fd -1 for tls+tcp:// */
	nng_socket        sock;
};

/* What is left until deadline_us in ms, rounded up so that no wait ends
 * before it, and at least 1 so that a wait that is due still looks once. */
static int
ctl_left_ms(int64_t deadline_us)
{
	int64_t left_ms = (deadline_us - clk_mono_us() + 999) / 1000;

	return left_ms > 1 ? (int)left_ms : 1;
}

/* tls+tcp://: a plain TCP connect first, closed at once, so that nothing
 * listening or no route is said now and in words (NNG's non-blocking dial
 * below only retries until the timeout). The controller does not see it:
 * NNG drops a connection whose TLS handshake fails before it is a pipe.
 * *local: the failure is this side's TLS files, not the way there. */
static chaos_err
ctl_open_tls(const struct ctl_target *t, const struct url_parts *u, nng_socket *sock,
             bool *local, chaos_why *why)
{
	chaos_err rv;
	int       fd, nrv;

	if ((rv = spreq_connect_tcp(u->host, u->port, t->timeout_ms, &fd, why)) !=
	    CHAOS_OK)
		return rv;
	close(fd);
	if ((rv = transport_tls_check(t->url, &t->tls, why)) != CHAOS_OK) {
		*local = true;
		return rv;
	}
	if ((nrv = nng_req0_open(sock)) != 0)
		return chaos_fail(why, chaos_err_from_nng(nrv),
		                  "cannot open a socket: %s", nng_strerror(nrv));
	if ((rv = transport_dial(*sock, t->url, WIRE_MAX_CONTROL + WIRE_SOCKET_SLACK,
	                         &t->tls, why)) != CHAOS_OK)
		nng_close(*sock);
	return rv;
}

static chaos_err
ctl_connect(const struct ctl_target *t, struct ctl_conn *c, chaos_why *why)
{
	struct url_parts u;
	chaos_why        inner = {{0}};
	bool             local = false;
	chaos_err        rv;

	c->sp.fd = -1;
	if ((rv = url_parse(t->url, URL_ENDPOINT, &u, &inner)) == CHAOS_OK)
		rv = u.scheme == URL_IPC
		    ? spreq_open_ipc(u.path, t->timeout_ms, &c->sp, &inner)
		    : u.scheme == URL_TCP
		    ? spreq_open_tcp(u.host, u.port, t->timeout_ms, &c->sp, &inner)
		    : ctl_open_tls(t, &u, &c->sock, &local, &inner);
	if (rv != CHAOS_OK && local) /* no question of reaching it */
		return chaos_fail(why, rv, "%s", inner.text);
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
	if (c->sp.fd >= 0)
		spreq_close(&c->sp);
	else
		nng_close(c->sock);
}

/* The NNG (tls+tcp://) half of ctl_exchange(): send and answer within one
 * timeout. The dial is non-blocking, so a TLS handshake that never ends or
 * is refused (a certificate the other side does not trust) shows here, as
 * a send or an answer that does not come. */
static chaos_err
ctl_exchange_nng(const struct ctl_target *t, nng_socket sock, nng_msg *msg,
                 int64_t deadline_us, uint8_t **out, size_t *len, chaos_why *why)
{
	int nrv;

	nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, ctl_left_ms(deadline_us));
	if ((nrv = nng_sendmsg(sock, msg, 0)) == 0) {
		nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, ctl_left_ms(deadline_us));
		nrv = nng_recvmsg(sock, &msg, 0);
	} else {
		nng_msg_free(msg); /* a failed send leaves it ours */
	}
	if (nrv == NNG_ETIMEDOUT)
		return chaos_fail(
		    why, CHAOS_ETIMEDOUT,
		    "nothing within %d ms; it accepts TCP connections, so "
		    "check that this is the controller's control address and "
		    "that each side trusts the other's certificate (--tls-ca, "
		    "--tls-cert; a refused TLS handshake ends this way)",
		    t->timeout_ms);
	if (nrv != 0)
		return chaos_fail(why, chaos_err_from_nng(nrv), "%s", nng_strerror(nrv));
	*len = nng_msg_len(msg);
	if ((*out = malloc(*len ? *len : 1)) != NULL)
		memcpy(*out, nng_msg_body(msg), *len);
	nng_msg_free(msg);
	return *out != NULL
	    ? CHAOS_OK
	    : chaos_fail(why, CHAOS_ENOMEM, "out of memory for the answer");
}

/* Sends msg (consumed) and returns the answer's bytes, malloc'd, by
 * deadline_us: what is left of the call's one --timeout-ms. */
static chaos_err
ctl_exchange(const struct ctl_target *t, struct ctl_conn *c, nng_msg *msg,
             int64_t deadline_us, uint8_t **out, size_t *len, chaos_why *why)
{
	chaos_err rv;

	if (c->sp.fd < 0)
		return ctl_exchange_nng(t, c->sock, msg, deadline_us, out, len, why);
	rv = spreq_roundtrip(&c->sp, nng_msg_body(msg), nng_msg_len(msg),
	                     ctl_left_ms(deadline_us), WIRE_MAX_CONTROL, out, len, why);
	nng_msg_free(msg);
	return rv;
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
	int64_t         deadline_us;
	chaos_err       rv;

	/* one deadline for the whole call: connecting spends from it */
	deadline_us           = clk_mono_us() + (int64_t)t->timeout_ms * 1000;
	req->protocol_version = WIRE_VERSION;
	if ((rv = ctl_connect(t, &conn, why)) != CHAOS_OK)
		return rv;
	if ((rv = wire_pack(&req->base, WIRE_MAX_CONTROL, &msg)) != CHAOS_OK) {
		chaos_fail(why, rv, "cannot encode the request: %s", chaos_strerror(rv));
		goto out;
	}
	if ((rv = ctl_exchange(t, &conn, msg, deadline_us, &buf, &len, &inner)) !=
	    CHAOS_OK) {
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
		if (strcmp(argv[i], "--help") == 0) {
			printf("usage: chaosctl %s [--json]\n", argv[0]);
			return CHAOS_EXIT_OK;
		}
		return flags_usage_error(
		    "chaosctl", "%s: unknown option '%s'; allowed: --json, --help",
		    argv[0], argv[i]);
	}
	if ((rv = chaosctl_request(t, req, &resp)) != CHAOS_EXIT_OK)
		return rv;
	print(resp, json);
	wire_free(resp);
	return CHAOS_EXIT_OK;
}
