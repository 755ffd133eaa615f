/* SPDX-License-Identifier: MIT */
/*
 * A run's stop conditions, read from its parameters (the PARAM_ROWS_STOP
 * rows every scenario has): guards (guard.h) and a bound on the error rate
 * of the scenario's own user-facing requests since the fault. Either one
 * tripping aborts the run, which reverts every fault at once; the result
 * then says which one tripped and what it measured ("stop_conditions").
 *
 * Threads: stop_read and stop_rate on the run's thread; the guard trips on
 * its own thread (the callback given to stop_start).
 */
#ifndef CHAOS_CONTROLLER_STOP_H
#define CHAOS_CONTROLLER_STOP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"
#include "controller/guard.h"
#include "controller/scenarios/param.h"

/* Fewer user-facing requests than this since the fault never trip the
 * error-rate bound: 1 failure in 2 is not a rate. */
#define STOP_MIN_REQUESTS 20

struct stop {
	char             urls[GUARD_MAX][LIMIT_URL_LEN];
	struct guard_cfg cfg;
	double           max_rate_pct; /* < 0: no bound */
	struct guard    *guard;
	/* the last measured user-facing requests since the fault */
	uint64_t ok, total;
	bool     rate_known, rate_tripped;
};

/* Reads the stop rows of table from params (JSON as sent, already
 * checked); the guard interval is the scenario's probe interval
 * (probe_interval_ms) but at least GUARD_MIN_INTERVAL_MS. */
void stop_read(const struct param *table, const json_t *params, struct stop *s);

/* Starts the guards; trip(arg, reason) aborts the run. */
chaos_err stop_start(struct stop *s, guard_trip_fn trip, void *arg, chaos_why *why);

/* Takes the latest count of user-facing requests since the fault; true
 * (with reason) when the bound is exceeded for the first time. */
bool stop_rate(struct stop *s, uint64_t ok, uint64_t total, char *reason, size_t len);

/* Stops the guards; {guards..., abort_error_rate_percent, user_requests:
 * {ok, total, error_rate_percent}} as a new object (NULL when the run had
 * no stop condition). */
json_t *stop_finish(struct stop *s);

void stop_free(struct stop *s);

#endif
