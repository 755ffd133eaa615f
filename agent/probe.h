/* SPDX-License-Identifier: MIT */
/*
 * Probes: each one a thread that checks a target at a fixed rate and streams
 * one ProbeSample event per check through struct events.
 *
 * The k-th check starts at start + k * interval_ms on the monotonic clock, so
 * the rate never drifts; a check that overruns skips the slots it missed
 * (counted, reported in the sample's detail) instead of catching up in a
 * burst, because a burst would hammer a target that is already struggling.
 * Each check is bounded by timeout_ms. Stopping wakes a probe at once, also
 * in the middle of a check.
 *
 * Thread-safe: every function may be called from any thread.
 */
#ifndef CHAOS_AGENT_PROBE_H
#define CHAOS_AGENT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netdb.h>
#include <sys/socket.h>

#include "agent/events.h"
#include "agent/worker.h"
#include "common/err.h"
#include "common/limits.h"
#include "proto/chaos.pb-c.h"

#define PROBE_MAX 64 /* probes per set */
#define PROBE_DEFAULT_WINDOW_MS                                                          \
	LIMIT_ADVANCE_WINDOW_DEFAULT_MS /* HTTP advance_window_ms when 0 */

struct probe_set;

/* Creates an empty set sending through ev, which must outlive the set (free
 * the set before events_close()). Returns CHAOS_OK or CHAOS_ENOMEM. */
chaos_err probe_set_new(struct events *ev, struct probe_set **out);

/* Stops every probe, joins the threads, frees the set. NULL is fine. */
void probe_set_free(struct probe_set *ps);

/* Starts the probe described by spec; everything needed is copied, so spec
 * may be freed on return. Idempotent by probe_id: if that id is running this
 * returns CHAOS_OK and changes nothing (stop it first to change it).
 * Returns CHAOS_OK; CHAOS_EINVAL (bad id, target, interval outside
 * LIMIT_PROBE_INTERVAL_MIN_MS..LIMIT_PROBE_INTERVAL_MAX_MS or timeout outside
 * 1..LIMIT_TIMEOUT_MAX_MS), CHAOS_EUNSUPPORTED (kind not built), CHAOS_EBUSY
 * (PROBE_MAX running), CHAOS_ENOMEM or CHAOS_ESYS; why then says why. */
chaos_err probe_start(struct probe_set *ps, const Chaos__V1__ProbeSpec *spec,
                      chaos_why *why);

/* Stops one probe and waits for its thread: returns within a few ms, since
 * a check in flight is abandoned and sends no sample. Returns CHAOS_OK or
 * CHAOS_ENOENT when no probe has that id. */
chaos_err probe_stop(struct probe_set *ps, const char *probe_id);

/* Stops every probe (all at once, then waits for all). */
void probe_stop_all(struct probe_set *ps);

/* Leases (agent/lease.h, worker_set_leases()): a reply from controller
 * instance `instance` renews every probe's lease for ms, and stops at once
 * the probes another instance started (all of them when the reply named
 * none); gone is told of each one stopped. Session thread. */
void probe_leases(struct probe_set *ps, int64_t now_mono_us, uint64_t instance,
                  uint32_t ms, worker_gone_fn gone, void *arg);

/* Stops the probes whose lease ran out (no reply from their controller
 * within it), gone told of each; returns the next lease end to wake for
 * (us, monotonic), or 0. */
int64_t probe_lease_tick(struct probe_set *ps, int64_t now_mono_us, worker_gone_fn gone,
                         void *arg);

/* Number of probes running. */
size_t probe_count(struct probe_set *ps);

/*
 * For the probe kinds (probe_http.c, probe_tcp.c) and conncheck.c; callers
 * of the API above need nothing below.
 */

#define PROBE_DETAIL_LEN 200

/* One check's outcome, filled by probe_ops.check. */
struct probe_result {
	bool                  healthy;
	Chaos__V1__ErrorClass error_class;
	uint32_t              http_status; /* 0: none */
	bool                  has_value;
	int64_t               value;
	char                  detail[PROBE_DETAIL_LEN];
	/* PostgreSQL: connect time when the check connected, the SQLSTATE of
	 * a failed query ("" none), and the latency to report when it is not
	 * the whole check (a kept connection: the query alone). */
	bool     has_connect_us;
	uint32_t connect_us;
	char     sqlstate[6];
	bool     has_latency_us;
	int64_t  latency_us;
};

/* What a check may use: its time budget and the fd that becomes readable
 * when the probe is stopped (poll it with whatever the check waits on). */
struct probe_check {
	uint32_t timeout_ms;
	int64_t  deadline_mono_us; /* start + timeout_ms, clk_mono_us() time */
	int      stop_fd;
};

/* One kind of probe; its name in logs is the ProbeKind's (wire_enum_name). */
struct probe_ops {
	Chaos__V1__ProbeKind kind;
	/* Validates spec and copies what the kind needs into *state. Returns
	 * CHAOS_OK, or CHAOS_EINVAL/CHAOS_ENOMEM with why filled. */
	chaos_err (*init)(const Chaos__V1__ProbeSpec *spec, void **state, chaos_why *why);
	/* Runs one check and fills r (zeroed by the caller). Only the probe's
	 * own thread calls it. Returns CHAOS_OK, or CHAOS_ECLOSED when stop_fd
	 * fired (r is then ignored). */
	chaos_err (*check)(void *state, const struct probe_check *c,
	                   struct probe_result *r);
	void (*fini)(void *state);
};

extern const struct probe_ops probe_http_ops;
extern const struct probe_ops probe_tcp_ops;
extern const struct probe_ops probe_pg_ops;

/* ERROR_CLASS_* for a socket errno: refused, reset or unreachable (someone
 * actively said no) is REFUSED, ETIMEDOUT is TIMEOUT, the rest OTHER. */
Chaos__V1__ErrorClass probe_class_errno(int errnum);

/* snprintf into r->detail. */
void probe_detail(struct probe_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Starts a non-blocking TCP connect to sa. Returns 0 with *fd connected,
 * EINPROGRESS with *fd pending (poll it for POLLOUT, then call
 * probe_tcp_connect_finish()), or a positive errno with *fd = -1. These two
 * return the errno itself, not a chaos_err: a refused connect is a
 * measurement, classified with probe_class_errno(), not a failure of ours. */
int probe_tcp_connect_start(const struct sockaddr *sa, socklen_t salen, int *fd);

/* The outcome of a pending connect once fd polled writable or in error:
 * 0 if connected, else the positive errno. */
int probe_tcp_connect_finish(int fd);

/* Fills *ss and *len when host is an IPv4 or IPv6 address literal (no
 * lookup needed); returns false for a name. */
bool probe_tcp_literal(const char *host, uint16_t port, struct sockaddr_storage *ss,
                       socklen_t *len);

/* Resolves host and port (a name: getaddrinfo() on a throwaway thread, as
 * it cannot be bounded or interrupted) within the check's deadline, so a
 * DNS fault shows as a failed check, not a probe stuck past its timeout.
 * Returns CHAOS_OK with *res (freeaddrinfo() it), CHAOS_ECLOSED, or
 * CHAOS_ENOENT with r filled (ERROR_CLASS_DNS). */
chaos_err probe_tcp_resolve(const char *host, const char *port,
                            const struct probe_check *c, struct addrinfo **res,
                            struct probe_result *r);

#endif
