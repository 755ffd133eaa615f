/* SPDX-License-Identifier: MIT */
/*
 * Stop conditions that watch outside the blast radius: HTTP checks the
 * controller makes itself (--guard URL), healthy on a 2xx answer. A guard
 * that fails `failures` checks in a row trips: the trip callback runs once
 * (the run manager aborts the run, which reverts every fault at once).
 * Checks start with the run's execution and end with it, so a guard that is
 * already failing stops the run before any fault.
 *
 * Threads: one thread per guard set polls every URL each interval; the
 * trip callback runs on it. guard_json may be called from any thread.
 */
#ifndef CHAOS_CONTROLLER_GUARD_H
#define CHAOS_CONTROLLER_GUARD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define GUARD_MAX 8
#define GUARD_MIN_INTERVAL_MS 100u

struct guard_cfg {
	const char *urls[GUARD_MAX]; /* copied by guard_start */
	size_t      n;
	uint32_t    failures;    /* consecutive failed checks that trip */
	uint32_t    interval_ms; /* between checks (at least GUARD_MIN_INTERVAL_MS) */
};

/* Called once, on the guard thread, with the reason, e.g. "guard
 * http://x/health failed 3 checks in a row (last: HTTP 404)". */
typedef void (*guard_trip_fn)(void *arg, const char *reason);

struct guard;

/* Starts polling cfg's URLs (none: a guard that never trips, no thread).
 * CHAOS_ENOMEM/CHAOS_ESYS with why. */
chaos_err guard_start(const struct guard_cfg *cfg, guard_trip_fn trip, void *arg,
                      struct guard **out, chaos_why *why);

/* Stops polling and waits for the thread; g stays readable. */
void guard_stop(struct guard *g);

/* {"guards": [{url, checks, failed, last_status, last_error, tripped}],
 *  "failures_to_trip", "interval_ms", "tripped": reason or null}. New. */
json_t *guard_json(struct guard *g);

/* Stops (if needed) and frees g (NULL is fine). */
void guard_free(struct guard *g);

#endif
