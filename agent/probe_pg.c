// SPDX-License-Identifier: MIT
/*
 * PostgreSQL probe: target is a libpq conninfo, query defaults to
 * "SELECT 1". By default every check connects afresh and disconnects (the
 * probe shows whether a new client can get in; latency = connect + query,
 * connect_us = the connect alone). With keep_connection one connection is
 * kept across checks and latency is the query alone: what a pooled client
 * sees, e.g. through the latency fault's proxy. A kept connection that
 * failed is dropped and the next check connects again (reporting
 * connect_us). connect and query share the check's deadline (timeout_ms),
 * enforced by pgconn, not by libpq.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/pgconn.h"
#include "agent/probe.h"
#include "common/clock.h"
#include "common/err.h"

#define PG_DEFAULT_QUERY "SELECT 1"
#define PG_APP_NAME "chaos-agent-probe"

struct pg_state {
	char   *conninfo;
	char   *query;
	bool    keep;
	PGconn *conn; /* keep_connection: the connection kept between checks */
};

static void
pg_fini(void *state)
{
	struct pg_state *st = state;

	if (st == NULL)
		return;
	if (st->conn != NULL)
		pgconn_close(st->conn);
	free(st->conninfo);
	free(st->query);
	free(st);
}

static chaos_err
pg_init(const Chaos__V1__ProbeSpec *spec, void **state, chaos_why *why)
{
	struct pg_state *st;
	const char      *q = spec->query != NULL && spec->query[0] != '\0' ? spec->query
	                                                                   : PG_DEFAULT_QUERY;

	if (pgconn_available(why) != CHAOS_OK)
		return chaos_fail_prefix(why, CHAOS_EUNSUPPORTED, "probe %s",
		                         spec->probe_id);
	/* never quoted: a conninfo may hold a password */
	if (!pgconn_conninfo_ok(spec->target))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "probe %s: target is not a libpq conninfo",
		                  spec->probe_id);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return CHAOS_ENOMEM;
	st->conninfo = strdup(spec->target);
	st->query    = strdup(q);
	st->keep     = spec->has_keep_connection && spec->keep_connection;
	if (st->conninfo == NULL || st->query == NULL) {
		pg_fini(st);
		return CHAOS_ENOMEM;
	}
	*state = st;
	return CHAOS_OK;
}

static void
pg_fail(struct probe_result *r, const struct pgconn_error *e)
{
	r->error_class = e->cls;
	memcpy(r->sqlstate, e->sqlstate, sizeof(r->sqlstate));
	probe_detail(r, "%s", e->detail);
}

static chaos_err
pg_check(void *state, const struct probe_check *c, struct probe_result *r)
{
	struct pg_state    *st = state;
	struct pgconn_error e  = {0};
	int64_t             t0 = clk_mono_us(), q0;
	chaos_err           rv;

	if (st->conn == NULL) {
		rv = pgconn_connect(st->conninfo, PG_APP_NAME, c->deadline_mono_us,
		                    c->stop_fd, &st->conn, &e);
		if (rv == CHAOS_ECLOSED)
			return rv;
		if (rv != CHAOS_OK) {
			st->conn = NULL;
			pg_fail(r, &e);
			return CHAOS_OK;
		}
		r->has_connect_us = true;
		r->connect_us     = (uint32_t)(clk_mono_us() - t0);
	}
	q0 = clk_mono_us();
	rv = pgconn_query(st->conn, st->query, 0, NULL, c->deadline_mono_us, c->stop_fd,
	                  NULL, &e);
	if (st->keep) {
		r->has_latency_us = true;
		r->latency_us     = clk_mono_us() - q0;
	}
	if (!st->keep || (rv != CHAOS_OK && !pgconn_reusable(st->conn))) {
		pgconn_close(st->conn);
		st->conn = NULL;
	}
	if (rv == CHAOS_ECLOSED)
		return rv;
	r->healthy = rv == CHAOS_OK;
	if (rv != CHAOS_OK)
		pg_fail(r, &e);
	return CHAOS_OK;
}

const struct probe_ops probe_pg_ops = {
    .kind  = CHAOS__V1__PROBE_KIND__PROBE_KIND_POSTGRES,
    .init  = pg_init,
    .check = pg_check,
    .fini  = pg_fini,
};
