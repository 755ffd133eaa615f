// SPDX-License-Identifier: MIT
#include "controller/session_srv.h"

#include <stdatomic.h>
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

/* Workers come in chunks, made as agents arrive: a chunk is never moved,
 * so a worker's address stays valid. At least SSRV_SPARE of them wait for
 * a poll at any time (a poll finds no free context only briefly). */
#define SSRV_CHUNK 64
#define SSRV_SPARE 16
#define SSRV_MIN_BUCKETS 64
/* The keepalive thread answers what is due every this many ms: a batch per
 * tick instead of a wake-up per poll (a poll waits a heartbeat + up to one
 * tick; agents are lost only after three). */
#define SSRV_TICK_MS 5

struct ssrv_worker {
	struct session_srv *srv;
	nng_ctx             ctx;
	nng_aio            *aio;     /* recv and send */
	bool                sending; /* the aio's operation; the worker's own */
	/* under srv->mtx: */
	nng_time            due;         /* keepalive time while parked */
	struct ssrv_worker *prev, *next; /* the keepalive queue */
	struct ssrv_worker *same_hash;   /* the parked-by-agent index */
	/* the poll being answered, the worker's own: */
	char    *agent_id;     /* id_short, or id_long for a longer id */
	char     id_short[64]; /* most ids fit: no room for 253 in every worker */
	char    *id_long;
	uint64_t poll_seq;
	int64_t  t2;
	bool     identity_needed;
	uint32_t park_ms;   /* how long it may be held (registry_park_ms) */
	bool     challenge; /* the refusal is an identity challenge */
	uint8_t  nonce[IDPROOF_NONCE_LEN];
};

struct ssrv_chunk {
	struct ssrv_chunk *next;
	struct ssrv_worker w[SSRV_CHUNK];
};

/* Parked polls are kept twice: in the order they are due (nearly every
 * poll parks for the heartbeat in force, so a new one nearly always goes
 * last, and the keepalive thread looks only at the head), and by agent id,
 * so a kick finds the agent's poll at once instead of scanning every
 * worker. */
struct session_srv {
	nng_socket           sock;
	struct registry     *reg;
	struct epstats      *stats;
	struct idcheck      *idc; /* NULL: identity is self-declared */
	nng_mtx             *mtx;
	nng_cv              *cv;
	nng_thread          *keepalive;
	bool                 closing;
	struct ssrv_chunk   *chunks;
	size_t               n_workers, max_workers;
	bool                 growing;
	atomic_size_t        n_idle; /* workers waiting for a poll */
	struct ssrv_worker  *head, *tail;
	struct ssrv_worker **index;
	size_t               index_mask;
};

static void ssrv_io_done(void *arg);
static void ssrv_reply(struct ssrv_worker *w, const char *refused);

/* ---- the parked polls (srv->mtx held) ---- */

static struct ssrv_worker **
ssrv_slot(struct session_srv *s, const char *agent_id)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a, as the registry's index */

	for (const char *p = agent_id; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return &s->index[h & s->index_mask];
}

static struct ssrv_worker *
ssrv_parked_of(struct session_srv *s, const char *agent_id)
{
	struct ssrv_worker *w = *ssrv_slot(s, agent_id);

	while (w != NULL && strcmp(w->agent_id, agent_id) != 0)
		w = w->same_hash;
	return w;
}

/* Into the index, and into the queue after the last poll due no later
 * (searched from the tail: nearly always the tail itself). */
static void
ssrv_link(struct session_srv *s, struct ssrv_worker *w)
{
	struct ssrv_worker **slot  = ssrv_slot(s, w->agent_id);
	struct ssrv_worker  *after = s->tail;

	w->same_hash = *slot;
	*slot        = w;
	while (after != NULL && after->due > w->due)
		after = after->prev;
	w->prev = after;
	w->next = after != NULL ? after->next : s->head;
	if (w->next != NULL)
		w->next->prev = w;
	else
		s->tail = w;
	if (after != NULL)
		after->next = w;
	else
		s->head = w;
}

static void
ssrv_unlink(struct session_srv *s, struct ssrv_worker *w)
{
	struct ssrv_worker **p = ssrv_slot(s, w->agent_id);

	while (*p != w)
		p = &(*p)->same_hash;
	*p = w->same_hash;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		s->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		s->tail = w->prev;
	w->prev = w->next = w->same_hash = NULL;
}

/* Parks w for park_ms or until kicked; false when the server is closing.
 * Whoever takes a worker off the queue (under the lock) answers its poll,
 * outside the lock, on its own thread: no hand-over to another thread. */
static bool
ssrv_park_locked(struct session_srv *s, struct ssrv_worker *w, uint32_t park_ms)
{
	if (s->closing)
		return false;
	w->due = nng_clock() + park_ms;
	ssrv_link(s, w);
	if (s->head == w) /* the keepalive thread may be sleeping on nothing */
		nng_cv_wake(s->cv);
	return true;
}

/* Answers the polls that are due, a batch at a time, outside the lock. */
static void
ssrv_keepalive_loop(void *arg)
{
	struct session_srv *s = arg;
	struct ssrv_worker *due[64];
	size_t              n;

	nng_mtx_lock(s->mtx);
	while (!s->closing) {
		nng_time now = nng_clock();
		for (n = 0; n < 64 && s->head != NULL && s->head->due <= now; n++) {
			due[n] = s->head;
			ssrv_unlink(s, due[n]);
		}
		if (n > 0) {
			nng_mtx_unlock(s->mtx);
			for (size_t i = 0; i < n; i++)
				ssrv_reply(due[i], NULL);
			nng_mtx_lock(s->mtx);
		} else if (s->head != NULL) {
			nng_cv_until(s->cv, s->head->due + SSRV_TICK_MS);
		} else {
			nng_cv_wait(s->cv);
		}
	}
	nng_mtx_unlock(s->mtx);
}

/* ---- workers ---- */

static void
ssrv_recv(struct ssrv_worker *w)
{
	atomic_fetch_add(&w->srv->n_idle, 1);
	w->sending     = false;
	w->challenge   = false;
	w->agent_id    = w->id_short;
	w->agent_id[0] = '\0';
	nng_ctx_recv(w->ctx, w->aio);
}

static void
ssrv_reply(struct ssrv_worker *w, const char *refused)
{
	nng_msg  *msg = NULL;
	chaos_err rv  = w->challenge
	     ? idcheck_pack_challenge(w->srv->idc, w->poll_seq, w->t2,
	                              registry_heartbeat_ms(w->srv->reg), w->nonce,
	                              refused, &msg)
	     : registry_build_reply(w->srv->reg, w->agent_id, w->poll_seq, w->t2,
	                            w->identity_needed, refused, &msg);

	if (rv != CHAOS_OK) {
		ssrv_recv(w);
		return;
	}
	w->sending = true;
	nng_aio_set_msg(w->aio, msg);
	nng_ctx_send(w->ctx, w->aio);
}

/* Commands were queued for these agents: their parked polls are answered
 * now, taken off the queue under one hold of the lock. */
static void
ssrv_kick(void *arg, const char *const *agent_ids, size_t n)
{
	struct session_srv *s = arg;
	struct ssrv_worker *one, **w = n > 1 ? calloc(n, sizeof(*w)) : &one;
	size_t              taken = 0;

	if (w == NULL) { /* no room for the batch: one at a time */
		for (size_t i = 0; i < n; i++)
			ssrv_kick(arg, &agent_ids[i], 1);
		return;
	}
	nng_mtx_lock(s->mtx);
	for (size_t i = 0; i < n; i++)
		if ((w[taken] = ssrv_parked_of(s, agent_ids[i])) != NULL)
			ssrv_unlink(s, w[taken++]);
	nng_mtx_unlock(s->mtx);
	for (size_t i = 0; i < taken; i++)
		ssrv_reply(w[i], NULL);
	if (w != &one)
		free(w);
}

/* Keeps the poll's agent id (at most LIMIT_ID_LEN, as the wire checks). */
static void
ssrv_set_id(struct ssrv_worker *w, const char *id)
{
	size_t len = strlen(id);
	char  *grown;

	w->agent_id = w->id_short;
	if (len >= sizeof(w->id_short) &&
	    (grown = realloc(w->id_long, LIMIT_ID_LEN + 1)) != NULL)
		w->agent_id = w->id_long = grown;
	snprintf(w->agent_id,
	         w->agent_id == w->id_short ? sizeof(w->id_short) : LIMIT_ID_LEN + 1,
	         "%s", id);
}

/* Mutual TLS: only the polls of a connection that proved its identity are
 * taken; any other gets a challenge (w->challenge) or a refusal (refused).
 * CHAOS_OK to take the poll. */
static chaos_err
ssrv_check_identity(struct ssrv_worker *w, const Chaos__V1__Poll *p, uint32_t pipe_id,
                    chaos_why *refused)
{
	w->challenge = false;
	if (w->srv->idc == NULL)
		return CHAOS_OK;
	switch (idcheck_poll(w->srv->idc, pipe_id, p, w->nonce, refused)) {
	case IDCHECK_PASS:
		return CHAOS_OK;
	case IDCHECK_CHALLENGE:
		w->challenge = true;
		return CHAOS_EBUSY;
	default:
		return CHAOS_EPERM;
	}
}

/* Decodes one poll; returns false when it was dropped. A refused agent's
 * reason (or an identity challenge's) goes into refused. */
static bool
ssrv_take_poll(struct ssrv_worker *w, nng_msg *msg, chaos_why *refused)
{
	Chaos__V1__Poll *p       = NULL;
	uint32_t         pipe_id = nng_pipe_id(nng_msg_get_pipe(msg));
	chaos_why        why;
	chaos_err        rv;

	w->t2      = clk_now_us();
	w->park_ms = registry_heartbeat_ms(w->srv->reg);
	if (wire_decode_poll(nng_msg_body(msg), nng_msg_len(msg), &p, &why) != CHAOS_OK) {
		epstats_dropped(w->srv->stats, why.text);
		return false;
	}
	/* a refused agent gets a reply that says why, so it backs off instead
	 * of waiting on a request nobody answers */
	if ((rv = ssrv_check_identity(w, p, pipe_id, refused)) == CHAOS_OK)
		rv = registry_on_poll(w->srv->reg, p, pipe_id, w->t2, &w->identity_needed,
		                      &w->park_ms, refused);
	if (rv != CHAOS_OK && !w->challenge)
		epstats_dropped(w->srv->stats, refused->text);
	else
		epstats_received(w->srv->stats);
	ssrv_set_id(w, p->agent_id);
	w->poll_seq = p->poll_seq;
	wire_free(p);
	return true;
}

/* Answers the poll at once (commands wait, or the identity is needed) or
 * parks it for a heartbeat. Parked first and checked after, so a command
 * queued meanwhile finds the poll parked and kicks it. An older poll of the
 * same agent is stale: it is answered now. */
static void
ssrv_park(struct ssrv_worker *w)
{
	struct session_srv *s = w->srv;
	struct ssrv_worker *stale;
	bool                parked = false;

	nng_mtx_lock(s->mtx);
	if ((stale = ssrv_parked_of(s, w->agent_id)) != NULL)
		ssrv_unlink(s, stale);
	if (!w->identity_needed)
		parked = ssrv_park_locked(s, w, w->park_ms);
	nng_mtx_unlock(s->mtx);
	if (stale != NULL)
		ssrv_reply(stale, NULL);
	if (w->identity_needed)
		ssrv_reply(w, NULL);
	else if (parked && registry_has_commands(s->reg, w->agent_id))
		ssrv_kick(s, (const char *const *)&w->agent_id, 1);
}

static void ssrv_grow(struct session_srv *s);

static void
ssrv_io_done(void *arg)
{
	struct ssrv_worker *w       = arg;
	int                 rv      = nng_aio_result(w->aio);
	chaos_why           refused = {{0}};
	nng_msg            *msg;

	if (w->sending) {
		/* A failed send leaves the message ours. */
		if (rv != 0 && (msg = nng_aio_get_msg(w->aio)) != NULL)
			nng_msg_free(msg);
		if (rv != NNG_ECLOSED)
			ssrv_recv(w);
		return;
	}
	if (rv == NNG_ECLOSED)
		return;
	ssrv_grow(w->srv); /* this worker stops waiting for a poll */
	if (rv != 0) {
		ssrv_recv(w);
		return;
	}
	msg = nng_aio_get_msg(w->aio);
	if (!ssrv_take_poll(w, msg, &refused)) {
		nng_msg_free(msg);
		ssrv_recv(w); /* no reply: the request is discarded */
		return;
	}
	nng_msg_free(msg);
	if (refused.text[0] != '\0' || w->challenge)
		ssrv_reply(w, refused.text); /* and leave the id's holder alone */
	else
		ssrv_park(w);
}

/* ---- growth ---- */

static int
ssrv_worker_init(struct session_srv *s, struct ssrv_worker *w)
{
	int rv;

	w->srv = s;
	if ((rv = nng_aio_alloc(&w->aio, ssrv_io_done, w)) != 0)
		return rv;
	return nng_ctx_open(&w->ctx, s->sock);
}

/* A new chunk of workers, each waiting for a poll. */
static int
ssrv_add_chunk(struct session_srv *s)
{
	struct ssrv_chunk *c = calloc(1, sizeof(*c));
	int                rv;

	if (c == NULL)
		return NNG_ENOMEM;
	for (size_t i = 0; i < SSRV_CHUNK; i++)
		if ((rv = ssrv_worker_init(s, &c->w[i])) != 0) {
			for (size_t k = 0; k <= i; k++) {
				nng_ctx_close(c->w[k].ctx);
				nng_aio_free(c->w[k].aio);
			}
			free(c);
			return rv;
		}
	nng_mtx_lock(s->mtx);
	c->next   = s->chunks;
	s->chunks = c;
	s->n_workers += SSRV_CHUNK;
	nng_mtx_unlock(s->mtx);
	for (size_t i = 0; i < SSRV_CHUNK; i++)
		ssrv_recv(&c->w[i]);
	return 0;
}

/* Counts one worker that took a poll; adds a chunk when few are left
 * waiting and the cap allows (one thread grows at a time). */
static void
ssrv_grow(struct session_srv *s)
{
	bool grow;

	if (atomic_fetch_sub(&s->n_idle, 1) > SSRV_SPARE)
		return;
	nng_mtx_lock(s->mtx);
	grow = !s->growing && !s->closing && s->n_workers < s->max_workers;
	s->growing |= grow;
	nng_mtx_unlock(s->mtx);
	if (!grow)
		return;
	if (ssrv_add_chunk(s) != 0)
		log_warn("session: cannot add workers (%zu serve the agents)",
		         s->n_workers);
	nng_mtx_lock(s->mtx);
	s->growing = false;
	nng_cv_wake(s->cv); /* session_srv_stop may wait for it */
	nng_mtx_unlock(s->mtx);
}

/* ---- life ---- */

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

static chaos_err
ssrv_alloc(struct session_srv *s, size_t max_agents)
{
	size_t nb = SSRV_MIN_BUCKETS;

	/* one parked poll per agent, plus spares; whole chunks */
	s->max_workers =
	    (max_agents + SSRV_SPARE + SSRV_CHUNK - 1) / SSRV_CHUNK * SSRV_CHUNK;
	while (nb < max_agents)
		nb <<= 1;
	s->index_mask = nb - 1;
	if ((s->index = calloc(nb, sizeof(*s->index))) == NULL ||
	    nng_mtx_alloc(&s->mtx) != 0 || nng_cv_alloc(&s->cv, s->mtx) != 0)
		return CHAOS_ENOMEM;
	return CHAOS_OK;
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
	s->reg   = reg;
	s->stats = stats;
	s->idc   = idc;
	if (ssrv_alloc(s, max_agents) != CHAOS_OK) {
		session_srv_stop(s);
		return CHAOS_ENOMEM;
	}
	if ((rv = nng_rep0_open(&s->sock)) != 0 ||
	    (rv = nng_thread_create(&s->keepalive, ssrv_keepalive_loop, s)) != 0) {
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
	if ((rv = ssrv_add_chunk(s)) != 0) {
		session_srv_stop(s);
		return chaos_fail(why, chaos_err_from_nng(rv), "%s", nng_strerror(rv));
	}
	*out = s;
	return CHAOS_OK;
}

static void
ssrv_stop_workers(struct session_srv *s)
{
	for (struct ssrv_chunk *c = s->chunks; c != NULL; c = c->next)
		for (size_t i = 0; i < SSRV_CHUNK; i++)
			nng_aio_stop(c->w[i].aio);
	while (s->chunks != NULL) {
		struct ssrv_chunk *c = s->chunks;
		s->chunks            = c->next;
		for (size_t i = 0; i < SSRV_CHUNK; i++) {
			nng_aio_free(c->w[i].aio);
			free(c->w[i].id_long);
		}
		free(c);
	}
}

void
session_srv_stop(struct session_srv *s)
{
	if (s == NULL)
		return;
	registry_set_kick(s->reg, NULL, NULL);
	if (s->mtx != NULL) {
		nng_mtx_lock(s->mtx);
		s->closing = true;
		nng_cv_wake(s->cv);
		while (s->growing) /* a chunk being added joins the list first */
			nng_cv_wait(s->cv);
		nng_mtx_unlock(s->mtx);
	}
	if (s->keepalive != NULL)
		nng_thread_destroy(s->keepalive); /* joins */
	nng_close(s->sock);
	ssrv_stop_workers(s);
	if (s->cv != NULL)
		nng_cv_free(s->cv);
	if (s->mtx != NULL)
		nng_mtx_free(s->mtx);
	free(s->index);
	free(s);
}
