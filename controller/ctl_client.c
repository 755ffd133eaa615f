// SPDX-License-Identifier: MIT
#include "controller/ctl_client.h"

#include <stdio.h>
#include <string.h>

#include <nng/protocol/reqrep0/req.h>

#include "common/err.h"
#include "common/wire.h"

static int
ctl_connect(const struct ctl_target *t, nng_socket *sock, char *err, size_t errlen)
{
	chaos_why why = {{0}};
	int       rv;

	if ((rv = nng_req0_open(sock)) != 0) {
		snprintf(err, errlen, "cannot open a socket: %s", nng_strerror(rv));
		return chaos_err_from_nng(rv);
	}
	nng_socket_set_ms(*sock, NNG_OPT_RECVTIMEO, t->timeout_ms);
	nng_socket_set_ms(*sock, NNG_OPT_SENDTIMEO, t->timeout_ms);
	if (strncmp(t->url, "tls+tcp://", 10) == 0) {
		rv = transport_dial(*sock, t->url, WIRE_MAX_CONTROL + WIRE_SOCKET_SLACK,
		                    &t->tls, &why);
	} else {
		/* A blocking first dial fails at once when nothing listens,
		 * which is what a CLI wants: say so now, not after a timeout. */
		nng_socket_set_size(*sock, NNG_OPT_RECVMAXSZ,
		                    WIRE_MAX_CONTROL + WIRE_SOCKET_SLACK);
		int nrv = nng_dial(*sock, t->url, NULL, 0);
		rv      = nrv == 0
		         ? CHAOS_OK
		         : chaos_fail(&why, chaos_err_from_nng(nrv), "%s", nng_strerror(nrv));
	}
	if (rv != CHAOS_OK) {
		snprintf(
		    err, errlen,
		    "cannot reach the controller at %s: %s; is chaos-controller running? "
		    "(sandbox: deploy/sandbox/sandbox up; elsewhere pass --controller "
		    "URL)",
		    t->url, why.text);
		nng_close(*sock);
		return CHAOS_ECONN;
	}
	return CHAOS_OK;
}

int
ctl_call(const struct ctl_target *t, Chaos__V1__ControlRequest *req,
         Chaos__V1__ControlResponse **out, char *err, size_t errlen)
{
	nng_socket sock;
	nng_msg   *msg = NULL;
	chaos_why  why = {{0}};
	int        rv;

	req->protocol_version = WIRE_VERSION;
	if ((rv = ctl_connect(t, &sock, err, errlen)) != CHAOS_OK)
		return rv;
	if ((rv = wire_pack(&req->base, WIRE_MAX_CONTROL, &msg)) != CHAOS_OK) {
		snprintf(err, errlen, "cannot encode the request: %s",
		         chaos_strerror(rv));
		goto out;
	}
	if ((rv = nng_sendmsg(sock, msg, 0)) != 0)
		nng_msg_free(msg); /* a failed send leaves it ours */
	else
		rv = nng_recvmsg(sock, &msg, 0);
	if (rv != 0) {
		snprintf(err, errlen,
		         "no answer from the controller at %s: %s; check its log", t->url,
		         nng_strerror(rv));
		rv = CHAOS_ECONN;
		goto out;
	}
	rv = wire_decode_control_response(nng_msg_body(msg), nng_msg_len(msg), out, &why);
	nng_msg_free(msg);
	if (rv != CHAOS_OK)
		snprintf(err, errlen,
		         "the controller's answer is invalid: %s (version mismatch "
		         "between chaosctl and chaos-controller?)",
		         why.text);
out:
	nng_close(sock);
	return rv;
}
