/* SPDX-License-Identifier: MIT */
/*
 * Open-loop HTTP load: one thread per load, GET requests over at most
 * `concurrency` keep-alive HTTP/1.1 connections on one epoll set
 * (agent/load_http.h: why not libcurl, and what that gives up: https://,
 * and the host is resolved once, when the load starts).
 *
 * Schedule. Request k (0 <= k < rate * duration) is due at start + k / rate
 * on the monotonic clock. If, when its slot comes, `concurrency` requests
 * are already in flight, it is counted LATE and never sent: nothing is
 * delayed, so a stalled server cannot slow the schedule down and hide its
 * own stall (no coordinated omission). A request times out timeout_ms
 * after its scheduled time.
 *
 * Counts. Every scheduled request ends as exactly one of: ok (2xx), late,
 * or an error by ErrorClass: REFUSED (connection refused or reset, closed
 * without a reply), TIMEOUT, HTTP_5XX, HTTP_OTHER (any other status), DNS,
 * PROTOCOL (malformed reply), OTHER. So scheduled = ok + late + sum(errors)
 * in every report.
 *
 * Latency. Measured from the request's SCHEDULED time (not from when it was
 * sent) to its completion, so any wait of ours is included; recorded for ok
 * requests only (a fast 503 is not good latency), hence the histogram's
 * count equals ok. Buckets: common/hist.h.
 *
 * Reports. For each report interval (report_interval_ms, default 100), a
 * LoadReport event covering the requests SCHEDULED in [interval_start,
 * interval_start + interval_ms), sent once all of them have completed (at
 * the latest timeout_ms after the interval ends); intervals in which nothing
 * was scheduled send nothing. The interval is widened when needed so that
 * no more than LOAD_MAX_PENDING intervals await completion; the reports
 * carry the interval actually used. At the end, one more LoadReport with
 * final = true holds the totals of the whole run (the sum of the interval
 * reports: do not add it to them); its interval is the run's start and
 * length.
 *
 * Stopping. A load ends by itself after duration_ms plus the completion of
 * its last requests. load_stop() ends it at once: requests in flight are
 * cancelled and counted nowhere (they are taken out of `scheduled` too, as
 * they have no outcome), then the remaining reports and the final one are
 * sent.
 *
 * Thread-safe: every function may be called from any thread.
 */
#ifndef CHAOS_AGENT_LOAD_H
#define CHAOS_AGENT_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "agent/events.h"
#include "agent/worker.h"
#include "common/err.h"
#include "common/limits.h"
#include "proto/chaos.pb-c.h"

#define LOAD_MAX 16 /* loads running at once per set */
#define LOAD_DEFAULT_INTERVAL_MS 100u
#define LOAD_MIN_INTERVAL_MS 10u /* report interval */
#define LOAD_MAX_PENDING 256     /* report intervals awaiting completion */
#define LOAD_REMEMBERED 64       /* load ids remembered for idempotence */

struct load_set;

/* Creates an empty set sending through ev, which must outlive the set (free
 * the set before events_close()). Returns CHAOS_OK or CHAOS_ENOMEM. */
chaos_err load_set_new(struct events *ev, struct load_set **out);

/* Stops every load (as load_stop()), joins the threads, frees the set.
 * NULL is fine. */
void load_set_free(struct load_set *ls);

/* Starts the load described by spec; everything needed is copied, so spec
 * may be freed on return. Idempotent by load_id: an id that is running or
 * ran lately (the last LOAD_REMEMBERED started) returns CHAOS_OK and starts
 * nothing, so a replayed command never runs a load twice.
 * Returns CHAOS_OK; CHAOS_EINVAL (bad id, URL, rate, concurrency, duration,
 * timeout or interval: see common/limits.h and the limits above),
 * CHAOS_EUNSUPPORTED (an https:// URL), CHAOS_EBUSY (LOAD_MAX running),
 * CHAOS_ENOMEM or CHAOS_ESYS; why then says why. */
chaos_err load_start(struct load_set *ls, const Chaos__V1__LoadSpec *spec,
                     chaos_why *why);

/* Stops one load and waits for its thread (a few ms: requests in flight are
 * cancelled; longer only while the host name is still being resolved),
 * after which its final report has been sent. Returns CHAOS_OK when the id
 * is running or already finished, CHAOS_ENOENT when it is not known. */
chaos_err load_stop(struct load_set *ls, const char *load_id);

/* Stops every load (all at once, then waits for all). */
void load_stop_all(struct load_set *ls);

/* Leases (agent/lease.h, worker_set_leases()): a reply from controller
 * instance `instance` renews every load's lease for ms, and stops at once
 * the loads another instance started (all of them when the reply named
 * none); gone is told of each one stopped. Session thread. */
void load_leases(struct load_set *ls, int64_t now_mono_us, uint64_t instance, uint32_t ms,
                 worker_gone_fn gone, void *arg);

/* Stops the loads whose lease ran out (no reply from their controller
 * within it), gone told of each; returns the next lease end to wake for
 * (us, monotonic), or 0. */
int64_t load_lease_tick(struct load_set *ls, int64_t now_mono_us, worker_gone_fn gone,
                        void *arg);

/* Number of loads still running. */
size_t load_count(struct load_set *ls);

#endif
