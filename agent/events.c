// SPDX-License-Identifier: MIT
#include "agent/events.h"

#include <stdatomic.h>
#include <stdlib.h>

#include <nng/protocol/pipeline0/push.h>

#include "agent/exempt.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"

struct events {
	nng_socket           sock;
	const char          *agent_id;
	atomic_uint_fast64_t seq;
	atomic_uint_fast64_t dropped;
	struct exempt       *ex;
};

/* On an NNG thread: the controller's address is exempt from faults. */
static void
events_pipe_added(nng_pipe p, nng_pipe_ev what, void *arg)
{
	struct events *ev = arg;

	(void)what;
	exempt_note_pipe(ev->ex, EXEMPT_EVENTS, p);
}

chaos_err
events_open(const char *url, const char *agent_id, const struct transport_tls *tls,
            struct exempt *ex, struct events **out, chaos_why *why)
{
	struct events *ev = calloc(1, sizeof(*ev));
	int            rv;

	if (ev == NULL)
		return CHAOS_ENOMEM;
	ev->agent_id = agent_id;
	ev->ex       = ex;
	if ((rv = nng_push0_open(&ev->sock)) != 0) {
		free(ev);
		return chaos_fail(why, chaos_err_from_nng(rv), "%s", nng_strerror(rv));
	}
	/* A small queue rides out short reconnects; beyond it we drop. */
	nng_socket_set_int(ev->sock, NNG_OPT_SENDBUF, 256);
	if (ex != NULL)
		nng_pipe_notify(ev->sock, NNG_PIPE_EV_ADD_POST, events_pipe_added, ev);
	if ((rv = transport_dial(ev->sock, url, WIRE_MAX_EVENT, tls, why)) != CHAOS_OK) {
		nng_close(ev->sock);
		free(ev);
		return rv;
	}
	*out = ev;
	return CHAOS_OK;
}

void
events_close(struct events *ev)
{
	if (ev == NULL)
		return;
	nng_close(ev->sock);
	free(ev);
}

chaos_err
events_send(struct events *ev, Chaos__V1__Event *e)
{
	nng_msg *msg = NULL;
	int      rv;

	e->protocol_version = WIRE_VERSION;
	e->agent_id         = (char *)ev->agent_id;
	e->seq              = atomic_fetch_add(&ev->seq, 1) + 1;
	if (e->t_agent_us == 0)
		e->t_agent_us = clk_now_us();
	if ((rv = wire_pack(&e->base, WIRE_MAX_EVENT, &msg)) != CHAOS_OK) {
		atomic_fetch_add(&ev->dropped, 1);
		return rv;
	}
	if ((rv = nng_sendmsg(ev->sock, msg, NNG_FLAG_NONBLOCK)) != 0) {
		/* A failed send leaves the message ours. */
		nng_msg_free(msg);
		if (atomic_fetch_add(&ev->dropped, 1) % 1000 == 0)
			log_warn("event %llu dropped: %s", (unsigned long long)e->seq,
			         nng_strerror(rv));
		return CHAOS_ETIMEDOUT;
	}
	return CHAOS_OK;
}

uint64_t
events_dropped(const struct events *ev)
{
	return atomic_load(&ev->dropped);
}
