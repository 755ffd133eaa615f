// SPDX-License-Identifier: MIT
#include "controller/control_srv.h"

#include <stdlib.h>
#include <string.h>

#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>
#include <nng/transport/ipc/ipc.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"

struct control_srv {
	nng_socket               sock;
	nng_thread              *thread;
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

/* Builds and sends the answer to one valid request. */
static void
csrv_answer(struct control_srv *s, const Chaos__V1__ControlRequest *req)
{
	Chaos__V1__ControlResponse resp   = CHAOS__V1__CONTROL_RESPONSE__INIT;
	Chaos__V1__AgentInfo     **agents = NULL;
	size_t                     n      = 0;
	nng_msg                   *msg    = NULL;

	resp.protocol_version = WIRE_VERSION;
	resp.has_now_ctl_us = resp.has_heartbeat_ms = true;
	resp.now_ctl_us                             = clk_now_us();
	resp.heartbeat_ms                           = registry_heartbeat_ms(s->reg);
	switch (req->body_case) {
	case CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS:
		if (registry_snapshot(s->reg, req->list_agents->namespace_, &agents,
		                      &n) == CHAOS_OK) {
			resp.agents   = agents;
			resp.n_agents = n;
		} else {
			resp.error = strdup("out of memory");
		}
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_STATS:
		csrv_stats(s, &resp);
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_RUN:
		run_mgr_start(s->runs, req->run, &resp);
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_RUN_STATUS:
		run_mgr_status(s->runs, req->run_status, &resp);
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_ABORT:
		run_mgr_abort(s->runs, req->abort, &resp);
		break;
	default:
		resp.error = strdup("request not supported by this controller");
		break;
	}
	if (wire_pack(&resp.base, WIRE_MAX_CONTROL, &msg) == CHAOS_OK &&
	    nng_sendmsg(s->sock, msg, 0) != 0)
		nng_msg_free(msg);
	if (agents != NULL)
		registry_snapshot_free(agents, n);
	run_mgr_resp_free(&resp); /* every string in resp is heap-owned */
}

/* A malformed request is dropped and counted, and still answered with an
 * error so that a confused client learns why instead of timing out. */
static void
csrv_reject(struct control_srv *s, const char *why)
{
	Chaos__V1__ControlResponse resp = CHAOS__V1__CONTROL_RESPONSE__INIT;
	nng_msg                   *msg  = NULL;

	resp.protocol_version = WIRE_VERSION;
	resp.error            = (char *)why;
	if (wire_pack(&resp.base, WIRE_MAX_CONTROL, &msg) == CHAOS_OK &&
	    nng_sendmsg(s->sock, msg, 0) != 0)
		nng_msg_free(msg);
}

static void
csrv_loop(void *arg)
{
	struct control_srv        *s = arg;
	Chaos__V1__ControlRequest *req;
	chaos_why                  why;
	nng_msg                   *msg;
	int                        rv;

	while ((rv = nng_recvmsg(s->sock, &msg, 0)) != NNG_ECLOSED) {
		if (rv != 0)
			continue;
		req = NULL;
		if (wire_decode_control_request(nng_msg_body(msg), nng_msg_len(msg), &req,
		                                &why) != CHAOS_OK) {
			epstats_dropped(s->eps.control, why.text);
			csrv_reject(s, why.text);
		} else {
			epstats_received(s->eps.control);
			csrv_answer(s, req);
			wire_free(req);
		}
		nng_msg_free(msg);
	}
}

chaos_err
control_srv_start(const char *url, const struct transport_tls *tls, struct registry *reg,
                  struct run_mgr *runs, const struct control_endpoints *eps,
                  struct control_srv **out, chaos_why *why)
{
	struct control_srv *s = calloc(1, sizeof(*s));
	int                 rv;

	if (s == NULL)
		return CHAOS_ENOMEM;
	s->reg  = reg;
	s->runs = runs;
	s->eps  = *eps;
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		free(s);
		return chaos_fail(why, chaos_err_from_nng(rv), "%s", nng_strerror(rv));
	}
	epstats_watch_pipes(eps->control, s->sock);
	/* Only the owner (root) may drive faults through the socket file. */
	if (strncmp(url, "ipc://", 6) == 0)
		nng_socket_set_int(s->sock, NNG_OPT_IPC_PERMISSIONS, 0600);
	if ((rv = transport_listen(s->sock, url, WIRE_MAX_CONTROL + WIRE_SOCKET_SLACK,
	                           tls, why)) != CHAOS_OK ||
	    (rv = chaos_err_from_nng(nng_thread_create(&s->thread, csrv_loop, s))) !=
	        CHAOS_OK) {
		nng_close(s->sock);
		free(s);
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
	nng_close(s->sock);
	nng_thread_destroy(s->thread);
	free(s);
}
