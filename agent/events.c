// SPDX-License-Identifier: MIT
#include "agent/events.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/pipeline0/push.h>

#include "agent/exempt.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/wire.h"

struct events {
	nng_socket                  sock;
	nng_dialer                  dialer;
	char                        url[LIMIT_URL_LEN];
	const struct transport_tls *tls;
	atomic_int                  pipes; /* connections up now */
	const char                 *agent_id;
	atomic_uint_fast64_t        seq;
	atomic_uint_fast64_t        dropped;
	struct exempt              *ex;
	pthread_mutex_t mtx; /* guards dialer, holds, flushing, held, n_held */
	int             holds;
	bool            flushing; /* a release is sending the held ones */
	nng_msg        *held[EVENTS_MAX_HELD];
	size_t          n_held;
};

/* On an NNG thread: pipes counted (from before one can carry a message,
 * so a message through one implies the count), the controller's address
 * exempt from faults. */
static void
events_pipe_event(nng_pipe p, nng_pipe_ev what, void *arg)
{
	struct events *ev = arg;

	if (what == NNG_PIPE_EV_ADD_PRE)
		atomic_fetch_add(&ev->pipes, 1);
	else if (what == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&ev->pipes, 1);
	else if (ev->ex != NULL)
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
	ev->tls      = tls;
	snprintf(ev->url, sizeof(ev->url), "%s", url);
	pthread_mutex_init(&ev->mtx, NULL);
	if ((rv = nng_push0_open(&ev->sock)) != 0) {
		pthread_mutex_destroy(&ev->mtx);
		free(ev);
		return chaos_fail(why, chaos_err_from_nng(rv), "%s", nng_strerror(rv));
	}
	/* A small queue rides out short reconnects; beyond it we drop. Room
	 * for a release of all the held ones on top (they go out at once). */
	nng_socket_set_int(ev->sock, NNG_OPT_SENDBUF, 256 + EVENTS_MAX_HELD);
	nng_pipe_notify(ev->sock, NNG_PIPE_EV_ADD_PRE, events_pipe_event, ev);
	nng_pipe_notify(ev->sock, NNG_PIPE_EV_ADD_POST, events_pipe_event, ev);
	nng_pipe_notify(ev->sock, NNG_PIPE_EV_REM_POST, events_pipe_event, ev);
	if ((rv = transport_dial_keep(ev->sock, url, WIRE_MAX_EVENT, tls, &ev->dialer,
	                              why)) != CHAOS_OK) {
		nng_close(ev->sock);
		pthread_mutex_destroy(&ev->mtx);
		free(ev);
		return rv;
	}
	*out = ev;
	return CHAOS_OK;
}

bool
events_redial_if_down(struct events *ev)
{
	chaos_why  why;
	nng_dialer d;
	bool       down = atomic_load(&ev->pipes) <= 0; /* <=: defensive, they pair */

	if (!down)
		return false;
	pthread_mutex_lock(&ev->mtx);
	nng_dialer_close(ev->dialer);
	if (transport_dial_keep(ev->sock, ev->url, WIRE_MAX_EVENT, ev->tls, &d, &why) ==
	    CHAOS_OK)
		ev->dialer = d;
	else
		log_warn("events: dialling %s again: %s", ev->url, why.text);
	pthread_mutex_unlock(&ev->mtx);
	return true;
}

void
events_close(struct events *ev)
{
	if (ev == NULL)
		return;
	for (size_t i = 0; i < ev->n_held; i++)
		nng_msg_free(ev->held[i]);
	nng_close(ev->sock);
	pthread_mutex_destroy(&ev->mtx);
	free(ev);
}

/* Puts msg aside while held; false when not held (or no room): send it. */
static bool
events_keep(struct events *ev, nng_msg *msg)
{
	bool kept = false;

	pthread_mutex_lock(&ev->mtx);
	/* while a release sends the held ones, later events queue behind
	 * them: the controller counts a sequence number out of order as a gap */
	if ((ev->holds > 0 || ev->flushing) && ev->n_held < EVENTS_MAX_HELD) {
		ev->held[ev->n_held++] = msg;
		kept                   = true;
	}
	pthread_mutex_unlock(&ev->mtx);
	return kept;
}

/* Queues msg on the socket without blocking; drops and counts it when it
 * cannot. */
static chaos_err
events_push(struct events *ev, nng_msg *msg)
{
	uint64_t n;
	int      rv;

	if ((rv = nng_sendmsg(ev->sock, msg, NNG_FLAG_NONBLOCK)) == 0)
		return CHAOS_OK;
	/* A failed send leaves the message ours. */
	nng_msg_free(msg);
	if ((n = atomic_fetch_add(&ev->dropped, 1)) % 1000 == 0)
		log_warn("event dropped: %s (%llu so far)", nng_strerror(rv),
		         (unsigned long long)n + 1);
	return CHAOS_ETIMEDOUT;
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
	if (events_keep(ev, msg))
		return CHAOS_OK;
	return events_push(ev, msg);
}

void
events_hold(struct events *ev)
{
	pthread_mutex_lock(&ev->mtx);
	ev->holds++;
	pthread_mutex_unlock(&ev->mtx);
}

void
events_release(struct events *ev)
{
	nng_msg *out[EVENTS_MAX_HELD];
	size_t   n;

	pthread_mutex_lock(&ev->mtx);
	if (--ev->holds > 0 || ev->flushing) {
		pthread_mutex_unlock(&ev->mtx);
		return;
	}
	ev->flushing = true;
	/* sent outside the lock (a send takes microseconds): other threads
	 * go on queueing meanwhile; a new hold leaves the rest to its release */
	while (ev->n_held > 0 && ev->holds == 0) {
		n = ev->n_held;
		memcpy(out, ev->held, n * sizeof(out[0]));
		ev->n_held = 0;
		pthread_mutex_unlock(&ev->mtx);
		for (size_t i = 0; i < n; i++)
			events_push(ev, out[i]);
		pthread_mutex_lock(&ev->mtx);
	}
	ev->flushing = false;
	pthread_mutex_unlock(&ev->mtx);
}

uint64_t
events_dropped(const struct events *ev)
{
	return atomic_load(&ev->dropped);
}
