// SPDX-License-Identifier: MIT
/*
 * pg_terminate: pg_terminate_backend() for the client backends of the DSN's
 * database (optionally only one application_name), once, at apply. Nothing
 * runs afterwards and nothing is reverted: the fault stays "in force" only
 * so that a re-sent command is not applied twice. The APPLIED report says
 * how many backends were terminated.
 */
#include <stdio.h>
#include <stdlib.h>

#include "agent/fault_ops.h"
#include "agent/pgconn.h"
#include "common/err.h"
#include "common/log.h"

#define PGTERM_TIMEOUT_MS 3000 /* for the connect, and again for the query */
#define PGTERM_APP_NAME "chaos-agent-pg-terminate"

struct pgterm_state {
	int terminated;
};

/* Each step gives up at its timeout or the fault's end (until), the
 * sooner: a slow PostgreSQL must not keep the fault past its lease. */
static chaos_err
pgterm_run(const Chaos__V1__PgTerminateFault *t, int64_t until, int *count,
           struct pgconn_error *e)
{
	PGconn   *c = NULL;
	chaos_err rv =
	    pgconn_connect(t->dsn, PGTERM_APP_NAME,
	                   fault_step_deadline(until, PGTERM_TIMEOUT_MS), -1, &c, e);
	const char *app = t->application_name != NULL && t->application_name[0] != '\0'
	    ? t->application_name
	    : NULL;

	if (rv != CHAOS_OK)
		return rv;
	rv = pgconn_terminate_backends(
	    c, app, false, fault_step_deadline(until, PGTERM_TIMEOUT_MS), count, e);
	pgconn_close(c);
	return rv;
}

static chaos_err
pgterm_start(const Chaos__V1__FaultSpec *spec, int64_t until, void **state,
             chaos_why *why)
{
	struct pgconn_error  e = {0};
	struct pgterm_state *st;
	chaos_err            rv;

	if (spec->pg_terminate->dsn == NULL || spec->pg_terminate->dsn[0] == '\0')
		return chaos_fail(why, CHAOS_EINVAL, "pg_terminate: no dsn");
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return CHAOS_ENOMEM;
	if ((rv = pgterm_run(spec->pg_terminate, until, &st->terminated, &e)) !=
	    CHAOS_OK) {
		free(st);
		return chaos_fail(why, rv, "pg_terminate: %s%s", e.detail,
		                  fault_step_why(rv));
	}
	log_info("pg_terminate: %d backends terminated", st->terminated);
	*state = st;
	return CHAOS_OK;
}

static void
pgterm_stop(void *state)
{
	free(state);
}

static void
pgterm_describe(void *state, char *buf, size_t len)
{
	const struct pgterm_state *st = state;

	snprintf(buf, len, "pg_terminate: %d backends terminated", st->terminated);
}

const struct fault_ops fault_pgterm_ops = {
    .kind     = CHAOS__V1__FAULT_SPEC__KIND_PG_TERMINATE,
    .name     = "pg_terminate",
    .start    = pgterm_start,
    .stop     = pgterm_stop,
    .describe = pgterm_describe,
};
