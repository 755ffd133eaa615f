// SPDX-License-Identifier: MIT
#include "controller/session_srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"
#include "controller/identity_check.h"

enum ssrv_state { SSRV_RECV, SSRV_PARKED, SSRV_SEND };

struct ssrv_worker {
	struct session_srv *srv;
	nng_ctx             ctx;
	nng_aio            *aio;   /* recv and send */
	nng_aio            *timer; /* parking */
	enum ssrv_state     state; /* under srv->mtx */
	char                agent_id[LIMIT_ID_LEN + 1];
	uint64_t            poll_seq;
	int64_t             t2;
	bool                identity_needed;
	chaos_why           refused;   /* text set: this poll gets a refusal */
	bool                challenge; /* the refusal is an identity challenge */
	uint8_t             nonce[IDPROOF_NONCE_LEN];
};

struct session_srv {
	nng_socket          sock;
	struct registry    *reg;
	struct epstats     *stats;
	struct idcheck     *idc; /* NULL: identity is self-declared */
	nng_mtx            *mtx;
	struct ssrv_worker *workers;
	size_t              n_workers;
};

static void
ssrv_recv(struct ssrv_worker *w)
{
	nng_mtx_lock(w->srv->mtx);
	w->state       = SSRV_RECV;
	w->agent_id[0] = '\0';
	nng_mtx_unlock(w->srv->mtx);
	nng_ctx_recv(w->ctx, w->aio);
}

static void
ssrv_reply(struct ssrv_worker *w)
{
	nng_msg  *msg = NULL;
	chaos_err rv  = w->challenge
	     ? idcheck_pack_challenge(w->srv->idc, w->poll_seq, w->t2,
	                              registry_heartbeat_ms(w->srv->reg), w->nonce,
	                              w->refused.text, &msg)
	     : registry_build_reply(w->srv->reg, w->agent_id, w->poll_seq, w->t2,
	                            w->identity_needed,
                                   w->refused.text[0] ? w->refused.text : NULL, &msg);

	if (rv != CHAOS_OK) {
		ssrv_recv(w);
		return;
	}
	nng_mtx_lock(w->srv->mtx);
	w->state = SSRV_SEND;
	nng_mtx_unlock(w->srv->mtx);
	nng_aio_set_msg(w->aio, msg);
	nng_ctx_send(w->ctx, w->aio);
}

/* Answers every parked poll of agent_id except the one of `self`: new
 * commands, or a newer poll that makes the old one stale. */
static void
ssrv_kick_except(struct session_srv *s, const char *agent_id,
                 const struct ssrv_worker *self)
{
	nng_mtx_lock(s->mtx);
	for (size_t i = 0; i < s->n_workers; i++) {
		struct ssrv_worker *w = &s->workers[i];
		if (w != self && w->state == SSRV_PARKED &&
		    strcmp(w->agent_id, agent_id) == 0)
			nng_aio_cancel(w->timer); /* the timer callback replies */
	}
	nng_mtx_unlock(s->mtx);
}

static void
ssrv_kick(void *arg, const char *agent_id)
{
	ssrv_kick_except(arg, agent_id, NULL);
}

/* Mutual TLS: only the polls of a connection that proved its identity are
 * taken; any other gets a challenge or a refusal (w->challenge, w->refused).
 * CHAOS_OK to take the poll. */
static chaos_err
ssrv_check_identity(struct ssrv_worker *w, const Chaos__V1__Poll *p, uint32_t pipe_id)
{
	w->challenge = false;
	if (w->srv->idc == NULL)
		return CHAOS_OK;
	switch (idcheck_poll(w->srv->idc, pipe_id, p, w->nonce, &w->refused)) {
	case IDCHECK_PASS:
		return CHAOS_OK;
	case IDCHECK_CHALLENGE:
		w->challenge = true;
		return CHAOS_EBUSY;
	default:
		return CHAOS_EPERM;
	}
}

/* Decodes one poll; returns false when it was dropped. */
static bool
ssrv_take_poll(struct ssrv_worker *w, nng_msg *msg)
{
	Chaos__V1__Poll *p       = NULL;
	uint32_t         pipe_id = nng_pipe_id(nng_msg_get_pipe(msg));
	chaos_why        why;
	chaos_err        rv;

	w->t2 = clk_now_us();
	if (wire_decode_poll(nng_msg_body(msg), nng_msg_len(msg), &p, &why) != CHAOS_OK) {
		epstats_dropped(w->srv->stats, why.text);
		return false;
	}
	w->refused.text[0] = '\0';
	if ((rv = ssrv_check_identity(w, p, pipe_id)) == CHAOS_OK)
		rv = registry_on_poll(w->srv->reg, p, pipe_id, w->t2, &w->identity_needed,
		                      &w->refused);
	/* a refused agent gets a reply that says why, so it backs off instead
	 * of waiting on a request nobody answers */
	if (rv != CHAOS_OK && !w->challenge)
		epstats_dropped(w->srv->stats, w->refused.text);
	else
		epstats_received(w->srv->stats);
	snprintf(w->agent_id, sizeof(w->agent_id), "%s", p->agent_id);
	w->poll_seq = p->poll_seq;
	wire_free(p);
	return true;
}

static void
ssrv_park(struct ssrv_worker *w)
{
	if (w->refused.text[0] != '\0') {
		ssrv_reply(w); /* and leave the agent that holds the id alone */
		return;
	}
	ssrv_kick_except(w->srv, w->agent_id, w);
	if (w->identity_needed || registry_has_commands(w->srv->reg, w->agent_id)) {
		ssrv_reply(w);
		return;
	}
	nng_mtx_lock(w->srv->mtx);
	w->state = SSRV_PARKED;
	nng_mtx_unlock(w->srv->mtx);
	nng_sleep_aio(registry_heartbeat_ms(w->srv->reg), w->timer);
}

static void
ssrv_io_done(void *arg)
{
	struct ssrv_worker *w  = arg;
	int                 rv = nng_aio_result(w->aio);
	nng_msg            *msg;

	if (w->state == SSRV_SEND) {
		/* A failed send leaves the message ours. */
		if (rv != 0 && (msg = nng_aio_get_msg(w->aio)) != NULL)
			nng_msg_free(msg);
		if (rv != NNG_ECLOSED)
			ssrv_recv(w);
		return;
	}
	if (rv != 0) {
		if (rv != NNG_ECLOSED)
			ssrv_recv(w);
		return;
	}
	msg = nng_aio_get_msg(w->aio);
	if (!ssrv_take_poll(w, msg)) {
		nng_msg_free(msg);
		ssrv_recv(w); /* no reply: the request is discarded */
		return;
	}
	nng_msg_free(msg);
	ssrv_park(w);
}

static void
ssrv_timer_done(void *arg)
{
	struct ssrv_worker *w = arg;

	/* Timeout (a keepalive is due) and cancel (a kick) both reply. */
	if (nng_aio_result(w->timer) == NNG_ECLOSED)
		return;
	ssrv_reply(w);
}

static void
ssrv_pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct session_srv *s = arg;

	(void)ev;
	registry_pipe_closed(s->reg, nng_pipe_id(p));
	idcheck_pipe_closed(s->idc, nng_pipe_id(p));
	nng_mtx_lock(s->stats->mtx);
	s->stats->pipes_closed++;
	nng_mtx_unlock(s->stats->mtx);
}

static int
ssrv_workers_init(struct session_srv *s)
{
	for (size_t i = 0; i < s->n_workers; i++) {
		struct ssrv_worker *w = &s->workers[i];
		int                 rv;
		w->srv = s;
		if ((rv = nng_aio_alloc(&w->aio, ssrv_io_done, w)) != 0 ||
		    (rv = nng_aio_alloc(&w->timer, ssrv_timer_done, w)) != 0 ||
		    (rv = nng_ctx_open(&w->ctx, s->sock)) != 0)
			return rv;
	}
	return 0;
}

chaos_err
session_srv_start(const char *url, const struct transport_tls *tls, struct registry *reg,
                  struct epstats *stats, struct idcheck *idc, size_t max_agents,
                  struct session_srv **out, chaos_why *why)
{
	struct session_srv *s = calloc(1, sizeof(*s));
	int                 rv;

	if (s == NULL)
		return CHAOS_ENOMEM;
	s->reg       = reg;
	s->stats     = stats;
	s->idc       = idc;
	s->n_workers = max_agents + 8; /* one parked poll per agent, plus spares */
	if ((s->workers = calloc(s->n_workers, sizeof(*s->workers))) == NULL ||
	    nng_mtx_alloc(&s->mtx) != 0) {
		free(s->workers);
		free(s);
		return CHAOS_ENOMEM;
	}
	if ((rv = nng_rep0_open(&s->sock)) != 0 || (rv = ssrv_workers_init(s)) != 0) {
		session_srv_stop(s);
		return chaos_fail(why, chaos_err_from_nng(rv), "%s", nng_strerror(rv));
	}
	nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, ssrv_pipe_removed, s);
	if (idc != NULL) /* before the connection can deliver a poll */
		nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_PRE, idcheck_pipe_added, idc);
	registry_set_kick(reg, ssrv_kick, s);
	if ((rv = transport_listen(s->sock, url, WIRE_MAX_SESSION + WIRE_SOCKET_SLACK,
	                           tls, why)) != CHAOS_OK) {
		session_srv_stop(s);
		return rv;
	}
	for (size_t i = 0; i < s->n_workers; i++)
		ssrv_recv(&s->workers[i]);
	*out = s;
	return CHAOS_OK;
}

void
session_srv_stop(struct session_srv *s)
{
	if (s == NULL)
		return;
	registry_set_kick(s->reg, NULL, NULL);
	nng_close(s->sock);
	for (size_t i = 0; i < s->n_workers; i++) {
		struct ssrv_worker *w = &s->workers[i];
		if (w->timer != NULL)
			nng_aio_stop(w->timer);
		if (w->aio != NULL)
			nng_aio_stop(w->aio);
		nng_aio_free(w->timer);
		nng_aio_free(w->aio);
	}
	nng_mtx_free(s->mtx);
	free(s->workers);
	free(s);
}
