/* SPDX-License-Identifier: MIT */
/*
 * Threads the agent can stop: a worker is one thread plus a stop eventfd
 * that the thread polls alongside whatever it waits on (a probe's sleep, a
 * load's epoll set, the proxy's loop), so stopping wakes it at once; a
 * worker set is the probes' or the loads' list of them, keyed by id.
 *
 * A worker is embedded in its owner (struct probe, struct load, struct
 * proxy), which the set frees through its release callback once the thread
 * has been joined. Joins happen outside the set's lock, so one slow stop
 * never holds up the others.
 *
 * Threads: a worker is driven by its owner; a worker set is thread-safe.
 */
#ifndef CHAOS_AGENT_WORKER_H
#define CHAOS_AGENT_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "agent/lease.h"
#include "common/err.h"
#include "common/limits.h"

struct worker {
	char        id[LIMIT_ID_LEN + 1];
	int         stop_fd; /* readable once worker_signal() was called */
	pthread_t   thread;
	bool        started;
	atomic_bool done; /* the thread function has returned */
	void *(*fn)(void *);
	void          *arg;
	struct worker *next; /* the set's, while stopping */
	/* in a set: the controller's lease on it, and why it ended */
	struct lease       lease;
	enum lease_verdict ended;
};

/* The struct that embeds worker w as its member `member`. */
#define worker_owner(w, type, member) ((type *)((char *)(w)-offsetof(type, member)))

/* Creates the stop eventfd; id (may be NULL) names the worker in its set.
 * Returns CHAOS_OK, or the eventfd error with why. */
chaos_err worker_init(struct worker *w, const char *id, chaos_why *why);

/* Runs fn(arg) on a new thread named name (for top -H and perf), with a
 * small stack. Returns CHAOS_OK, or the pthread error with why. */
chaos_err worker_start(struct worker *w, const char *name, void *(*fn)(void *), void *arg,
                       chaos_why *why);

/* Makes stop_fd readable; the thread then ends soon. Any thread. */
void worker_signal(struct worker *w);

/* Signals and joins the thread (when it was started). */
void worker_stop(struct worker *w);

/* Closes the stop eventfd; after worker_stop(). Safe after a failed
 * worker_init(), so an owner calls worker_init() first thing. */
void worker_fini(struct worker *w);

struct worker_set;

/* Called with a worker that is out of its set and joined: frees its owner. */
typedef void (*worker_release_fn)(struct worker *w);

/* Builds and starts one worker; called by worker_set_start() with the
 * set's lock held. On success *out is the started worker. */
typedef chaos_err (*worker_make_fn)(void *arg, struct worker **out, chaos_why *why);

/* A set of at most max workers named what ("probe", "load") in messages,
 * remembering the ids of the last `remember` started (0: none) so that a
 * replayed start is not run twice. Returns CHAOS_OK or CHAOS_ENOMEM. */
chaos_err worker_set_new(const char *what, size_t max, size_t remember,
                         worker_release_fn release, struct worker_set **out);

/* Stops every worker, joins and releases them, frees s. NULL is fine. */
void worker_set_free(struct worker_set *s);

/* Starts a worker for id unless one with that id is running or remembered
 * (then CHAOS_OK and make is not called). Returns CHAOS_OK, CHAOS_EBUSY
 * (max running) with why, or what make returned. */
chaos_err worker_set_start(struct worker_set *s, const char *id, worker_make_fn make,
                           void *arg, chaos_why *why);

/* Stops the worker id and waits for it. Returns CHAOS_OK when it was
 * running or is remembered, CHAOS_ENOENT otherwise. */
chaos_err worker_set_stop(struct worker_set *s, const char *id);

/* Stops every worker: all signalled first, then all joined. */
void worker_set_stop_all(struct worker_set *s);

/* Joins and releases the workers whose thread has returned by itself. */
void worker_set_reap(struct worker_set *s);

/* Number of workers in the set. */
size_t worker_set_count(struct worker_set *s);

/* Told of each worker a lease stopped, once it is joined and released:
 * the set's what ("probe"), its id, and why (lease_describe()). */
typedef void (*worker_gone_fn)(void *arg, const char *what, const char *id,
                               const char *why);

/* Leases (agent/lease.h): a reply from controller instance `instance` (0:
 * it named none) came at now_mono_us. Every running worker's lease is
 * renewed for ms (a worker started since the last reply takes instance as
 * its grantor); the workers of another instance, or all when the reply
 * named none, are stopped and joined at once, gone told of each. Workers
 * whose thread ended by itself are left to worker_set_reap(). */
void worker_set_leases(struct worker_set *s, int64_t now_mono_us, uint64_t instance,
                       uint32_t ms, worker_gone_fn gone, void *arg);

/* Stops and joins the running workers whose lease ran out at now_mono_us,
 * gone told of each. Returns the earliest lease end still ahead (us,
 * monotonic) to wake for, or 0 for none. A worker no reply has leased yet
 * has no end. */
int64_t worker_set_lease_tick(struct worker_set *s, int64_t now_mono_us,
                              worker_gone_fn gone, void *arg);

#endif
