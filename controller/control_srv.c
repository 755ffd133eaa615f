// SPDX-License-Identifier: MIT
#include "controller/control_srv.h"

#include <stdlib.h>
#include <string.h>

#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"
#include "controller/control_ipc.h"
#include "controller/ops.h"

struct control_srv {
	struct ctl_ipc          *ipc;  /* ipc:// */
	nng_socket               sock; /* tcp:// and tls+tcp:// */
	nng_thread              *thread;
	bool                     nng;
	struct registry         *reg;
	struct run_mgr          *runs;
	struct control_endpoints eps;
};

static void
csrv_stats(struct control_srv *s, Chaos__V1__ControlResponse *resp)
{
	static Chaos__V1__EndpointStats  m[3];
	static Chaos__V1__EndpointStats *mp[3];
	static char                      reasons[3][160];
	struct epstats *all[3] = {s->eps.session, s->eps.events, s->eps.control};

	/* Static is fine: one control thread answers one request at a time. */
	for (int i = 0; i < 3; i++) {
		epstats_fill(all[i], &m[i], reasons[i], sizeof(reasons[i]));
		mp[i] = &m[i];
	}
	resp->endpoints   = mp;
	resp->n_endpoints = 3;
}

static void
csrv_dispatch(struct control_srv *s, const Chaos__V1__ControlRequest *req,
              Chaos__V1__ControlResponse *resp, Chaos__V1__AgentInfo ***agents, size_t *n)
{
	switch (req->body_case) {
	case CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS:
		if (registry_snapshot(s->reg, req->list_agents->namespace_, agents, n) ==
		    CHAOS_OK) {
			resp->agents   = *agents;
			resp->n_agents = *n;
		} else {
			resp->error = strdup("out of memory");
		}
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_STATS:
		csrv_stats(s, resp);
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_RUN:
		run_mgr_start(s->runs, req->run, resp);
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_RUN_STATUS:
		run_mgr_status(s->runs, req->run_status, resp);
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_ABORT:
		run_mgr_abort(s->runs, req->abort, resp);
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_STATUS:
		ops_status(s->runs, s->reg, resp, agents, n);
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS:
		ops_results(s->runs, req->results, resp);
		break;
	default:
		resp->error = strdup("request not supported by this controller");
		break;
	}
}

/* Packs resp into a new buffer. */
static void
csrv_pack(const Chaos__V1__ControlResponse *resp, uint8_t **out, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(&resp->base);
	if (*len > WIRE_MAX_CONTROL || (*out = malloc(*len ? *len : 1)) == NULL) {
		*out = NULL;
		return;
	}
	protobuf_c_message_pack(&resp->base, *out);
}

/* The answer to one request as bytes. A malformed request is dropped and
 * counted, and still answered with an error so that a confused client
 * learns why instead of timing out. */
static void
csrv_respond(void *arg, const void *buf, size_t len, uint8_t **out, size_t *out_len)
{
	struct control_srv        *s      = arg;
	Chaos__V1__ControlRequest *req    = NULL;
	Chaos__V1__ControlResponse resp   = CHAOS__V1__CONTROL_RESPONSE__INIT;
	Chaos__V1__AgentInfo     **agents = NULL;
	size_t                     n      = 0;
	chaos_why                  why    = {{0}};

	resp.protocol_version = WIRE_VERSION;
	if (wire_decode_control_request(buf, len, &req, &why) != CHAOS_OK) {
		epstats_dropped(s->eps.control, why.text);
		resp.error = strdup(why.text);
	} else {
		epstats_received(s->eps.control);
		resp.has_now_ctl_us = resp.has_heartbeat_ms = true;
		resp.now_ctl_us                             = clk_now_us();
		resp.heartbeat_ms = registry_heartbeat_ms(s->reg);
		csrv_dispatch(s, req, &resp, &agents, &n);
		wire_free(req);
	}
	csrv_pack(&resp, out, out_len);
	if (agents != NULL)
		registry_snapshot_free(agents, n);
	run_mgr_resp_free(&resp); /* every string in resp is heap-owned */
	ops_resp_free(&resp);
}

/* The NNG transports (tcp://, tls+tcp://): one request at a time. */
static void
csrv_loop(void *arg)
{
	struct control_srv *s = arg;
	nng_msg            *msg, *reply;
	uint8_t            *out;
	size_t              len;
	int                 rv;

	while ((rv = nng_recvmsg(s->sock, &msg, 0)) != NNG_ECLOSED) {
		if (rv != 0)
			continue;
		csrv_respond(s, nng_msg_body(msg), nng_msg_len(msg), &out, &len);
		nng_msg_free(msg);
		if (out != NULL && nng_msg_alloc(&reply, 0) == 0 &&
		    (nng_msg_append(reply, out, len) != 0 ||
		     nng_sendmsg(s->sock, reply, 0) != 0))
			nng_msg_free(reply);
		free(out);
	}
}

static chaos_err
csrv_start_nng(struct control_srv *s, const char *url, const struct transport_tls *tls,
               chaos_why *why)
{
	chaos_err rv;
	int       nrv;

	if ((nrv = nng_rep0_open(&s->sock)) != 0)
		return chaos_fail(why, chaos_err_from_nng(nrv), "%s", nng_strerror(nrv));
	s->nng = true;
	epstats_watch_pipes(s->eps.control, s->sock);
	if ((rv = transport_listen(s->sock, url, WIRE_MAX_CONTROL + WIRE_SOCKET_SLACK,
	                           tls, why)) != CHAOS_OK)
		return rv;
	if ((nrv = nng_thread_create(&s->thread, csrv_loop, s)) != 0)
		return chaos_fail(why, chaos_err_from_nng(nrv), "%s", nng_strerror(nrv));
	return CHAOS_OK;
}

chaos_err
control_srv_start(const char *url, const struct transport_tls *tls, struct registry *reg,
                  struct run_mgr *runs, const struct control_endpoints *eps,
                  struct control_srv **out, chaos_why *why)
{
	struct control_srv *s = calloc(1, sizeof(*s));
	chaos_err           rv;

	if (s == NULL)
		return CHAOS_ENOMEM;
	s->reg  = reg;
	s->runs = runs;
	s->eps  = *eps;
	/* Only the owner (root) may drive faults through the socket file. */
	rv = strncmp(url, "ipc://", 6) == 0
	    ? ctl_ipc_start(url + 6, WIRE_MAX_CONTROL + WIRE_SOCKET_SLACK, eps->control,
	                    csrv_respond, s, &s->ipc, why)
	    : csrv_start_nng(s, url, tls, why);
	if (rv != CHAOS_OK) {
		control_srv_stop(s);
		return rv;
	}
	*out = s;
	return CHAOS_OK;
}

void
control_srv_stop(struct control_srv *s)
{
	if (s == NULL)
		return;
	ctl_ipc_stop(s->ipc);
	if (s->nng)
		nng_close(s->sock);
	if (s->thread != NULL)
		nng_thread_destroy(s->thread);
	free(s);
}
