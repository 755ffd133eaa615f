// SPDX-License-Identifier: MIT
/*
 * latency: TCP connections to a port go through the agent's delaying proxy
 * (agent/proxy.h) by an nftables nat redirect.
 *
 * DIRECTION_IN (default, server side): connections arriving at the local
 * port (prerouting; peers, if given, filter the clients). DIRECTION_OUT
 * (client side): connections leaving for peers:port (output). The proxy
 * marks its own upstream sockets with the fault's skip mark, which the
 * rule leaves alone, so they are not redirected into the proxy again.
 *
 * Established connections keep their conntrack entry and never see a new
 * nat rule, so a connection pool would keep its fast connections for ever.
 * terminate_existing ends them: the connection to pg_dsn is opened in
 * start(), before the redirect exists, so that it stays direct (not
 * delayed, and not through the proxy on the client side); the termination
 * itself runs in after_commit, once the redirect is in force, so the
 * clients' reconnections go through the proxy. On the client side only the
 * backends connected from this pod's address are terminated.
 *
 * Order on apply: proxy up, rules committed, backends terminated. Each
 * PostgreSQL step gives up at LATENCY_PG_TIMEOUT_MS or at the fault's own
 * end (its lease or hard end), the sooner. On revert stop() closes the proxy
 * and every connection it relays first, then fault.c removes the rule (see
 * fault_remove there: the close must still be translated to reach the
 * clients, which then reconnect directly).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/fault_ops.h"
#include "agent/pgconn.h"
#include "agent/proxy.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"

#define LATENCY_MARK_BASE 0x63680000u /* "ch" + a per-fault counter */
#define LATENCY_PG_TIMEOUT_MS 3000
#define LATENCY_APP_NAME "chaos-agent-latency"

struct latency_state {
	struct proxy      *proxy;
	uint32_t           mark;
	enum nft_direction dir;
	PGconn            *pg;         /* terminate_existing, until after_commit */
	int                terminated; /* -1: not asked */
	int64_t            until;      /* the fault's end: its PostgreSQL steps' bound */
};

static atomic_uint latency_marks;

static enum nft_direction
latency_dir(const Chaos__V1__LatencyFault *l)
{
	if (!l->has_direction ||
	    l->direction == CHAOS__V1__DIRECTION__DIRECTION_UNSPECIFIED)
		return NFT_DIR_IN;
	return fault_nft_direction(l->direction);
}

static void
latency_stop(void *state)
{
	struct latency_state *st = state;

	if (st == NULL)
		return;
	proxy_stop(st->proxy);
	if (st->pg != NULL)
		pgconn_close(st->pg);
	free(st);
}

static chaos_err
latency_check(const Chaos__V1__LatencyFault *l, enum nft_direction dir, chaos_why *why)
{
	if (l->port < LIMIT_PORT_MIN || l->port > LIMIT_PORT_MAX ||
	    l->delay_ms > LIMIT_DELAY_MAX_MS || l->jitter_ms > l->delay_ms)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "latency: port %u..%u, delay 0..%u ms, jitter <= delay",
		                  LIMIT_PORT_MIN, LIMIT_PORT_MAX, LIMIT_DELAY_MAX_MS);
	if (dir != NFT_DIR_IN && l->n_peers == 0)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "latency: the client side (direction out) needs peers");
	if (l->has_terminate_existing && l->terminate_existing &&
	    (l->pg_dsn == NULL || l->pg_dsn[0] == '\0'))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "latency: terminate_existing needs pg_dsn");
	return CHAOS_OK;
}

/*
 * Opens the direct connection used later by after_commit, and gives it the
 * skip mark: a namespace gets conntrack only once some rule needs it, so a
 * connection made before our nat chain exists has no entry, is picked up
 * mid-stream as new, and would be redirected into the proxy (which resets
 * it). The mark keeps the rule off it whatever conntrack thinks.
 */
static chaos_err
latency_pg_open(struct latency_state *st, const char *dsn, chaos_why *why)
{
	struct pgconn_error e = {0};
	int64_t   deadline    = fault_step_deadline(st->until, LATENCY_PG_TIMEOUT_MS);
	chaos_err rv = pgconn_connect(dsn, LATENCY_APP_NAME, deadline, -1, &st->pg, &e);

	if (rv != CHAOS_OK) {
		st->pg = NULL;
		return chaos_fail(why, rv, "latency: terminate_existing: %s%s", e.detail,
		                  fault_step_why(rv));
	}
	if (setsockopt(pgconn_socket(st->pg), SOL_SOCKET, SO_MARK, &st->mark,
	               sizeof(st->mark)) < 0)
		return chaos_fail(why, chaos_err_from_errno(errno),
		                  "latency: terminate_existing: SO_MARK: %s",
		                  strerror(errno));
	return CHAOS_OK;
}

static chaos_err
latency_start(const Chaos__V1__FaultSpec *spec, int64_t until, void **state,
              chaos_why *why)
{
	const Chaos__V1__LatencyFault *l   = spec->latency;
	enum nft_direction             dir = latency_dir(l);
	struct proxy_config   cfg = {.delay_ms = l->delay_ms, .jitter_ms = l->jitter_ms};
	struct latency_state *st;
	chaos_err             rv;

	if ((rv = latency_check(l, dir, why)) != CHAOS_OK)
		return rv;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return CHAOS_ENOMEM;
	st->dir        = dir;
	st->terminated = -1;
	st->until      = until;
	st->mark = LATENCY_MARK_BASE | (atomic_fetch_add(&latency_marks, 1) & 0xffffu);
	cfg.mark = st->mark;
	if ((rv = proxy_start(&cfg, &st->proxy, why)) != CHAOS_OK ||
	    (l->has_terminate_existing && l->terminate_existing &&
	     (rv = latency_pg_open(st, l->pg_dsn, why)) != CHAOS_OK)) {
		latency_stop(st);
		return rv;
	}
	*state = st;
	return CHAOS_OK;
}

static void
latency_to_nft(const Chaos__V1__FaultSpec *spec, void *state, struct nft_fault *f,
               uint16_t *ports_buf)
{
	const Chaos__V1__LatencyFault *l  = spec->latency;
	const struct latency_state    *st = state;

	(void)ports_buf;
	f->kind               = NFT_FAULT_REDIRECT;
	f->dir                = st->dir;
	f->peers              = (const char *const *)l->peers;
	f->n_peers            = l->n_peers;
	f->redirect_dport     = (uint16_t)l->port;
	f->redirect_to_port   = proxy_port(st->proxy);
	f->redirect_skip_mark = st->mark;
}

static chaos_err
latency_after_commit(void *state, chaos_why *why)
{
	struct latency_state *st = state;
	struct pgconn_error   e  = {0};
	int64_t   deadline       = fault_step_deadline(st->until, LATENCY_PG_TIMEOUT_MS);
	chaos_err rv;

	if (st->pg == NULL)
		return CHAOS_OK;
	rv = pgconn_terminate_backends(st->pg, NULL, st->dir == NFT_DIR_OUT, deadline,
	                               &st->terminated, &e);
	pgconn_close(st->pg);
	st->pg = NULL;
	if (rv != CHAOS_OK)
		return chaos_fail(why, rv, "latency: terminate_existing: %s%s", e.detail,
		                  fault_step_why(rv));
	log_info("latency: %d existing backends terminated", st->terminated);
	return CHAOS_OK;
}

static void
latency_describe(void *state, char *buf, size_t len)
{
	const struct latency_state *st = state;
	int n = snprintf(buf, len, "latency: proxy :%u (%s)", proxy_port(st->proxy),
	                 st->dir == NFT_DIR_IN        ? "in"
	                     : st->dir == NFT_DIR_OUT ? "out"
	                                              : "both");

	if (st->terminated >= 0 && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", %d existing backends terminated",
		         st->terminated);
}

const struct fault_ops fault_latency_ops = {
    .kind         = CHAOS__V1__FAULT_SPEC__KIND_LATENCY,
    .name         = "latency",
    .to_nft       = latency_to_nft,
    .start        = latency_start,
    .stop         = latency_stop,
    .after_commit = latency_after_commit,
    .describe     = latency_describe,
};
