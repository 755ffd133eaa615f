/* SPDX-License-Identifier: MIT */
/*
 * Work inside other network namespaces, on threads kept for it.
 *
 * setns(CLONE_NEWNET) moves only the calling thread (LIBRARIES 4), so a
 * node agent never calls it on its session thread or on NNG's: an nsexec
 * is a small pool of threads that each enter the namespace a job names,
 * run the job, and go back home before the next one. What a job creates
 * stays where it was made: a netlink socket (nft_open), a listening or
 * connecting socket, and a thread started by the job (a probe's, a load's,
 * the proxy's), which inherits the namespace for its whole life. Jobs do
 * no NNG I/O of their own: sending an event only queues a message on a
 * socket NNG's threads dialled at home.
 *
 * Thread-safe. A job may not submit another job to the same pool (it
 * would wait for itself); code that may run either way asks
 * nsexec_inside() first.
 */
#ifndef CHAOS_AGENT_NSEXEC_H
#define CHAOS_AGENT_NSEXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define NSEXEC_MAX_THREADS 8

struct nsexec;

/* One job: run fn(arg) inside the namespace at path ("/run/netns/<name>"
 * or "/proc/<pid>/ns/net"). result is fn's return, or the error of
 * entering the namespace (CHAOS_ENOENT: gone, CHAOS_EPERM: needs
 * CAP_SYS_ADMIN and CAP_SYS_PTRACE, CHAOS_EINVAL: not a network namespace)
 * with why filled. */
struct nsexec_job {
	const char *path;
	int         ns_fd; /* > 0: that namespace, open (the caller's, kept
	                    * open): entered as is, path not opened again */
	chaos_err (*fn)(void *arg, chaos_why *why);
	void     *arg;
	chaos_err result;
	chaos_why why;
	/* private */
	struct nsexec_job *next;
	size_t            *left; /* the jobs of its nsexec_run_all() not done */
};

/* Starts n_threads (1..NSEXEC_MAX_THREADS) threads that remember the
 * caller's network namespace as home. Returns CHAOS_OK, CHAOS_EINVAL,
 * CHAOS_ENOMEM or CHAOS_ESYS with why. */
chaos_err nsexec_new(size_t n_threads, struct nsexec **out, chaos_why *why);

/* Stops and joins the threads (after the jobs queued ran), frees x. NULL ok. */
void nsexec_free(struct nsexec *x);

/* Runs one job and waits for it; returns job->result. */
chaos_err nsexec_run(struct nsexec *x, struct nsexec_job *job);

/* Runs n jobs spread over the threads, in parallel where there are threads
 * for it, and waits for all. Each job's result is in jobs[i].result. */
void nsexec_run_all(struct nsexec *x, struct nsexec_job *jobs, size_t n);

/* True on an nsexec thread while it runs a job inside the namespace at
 * path (same inode, whatever the path's spelling). */
bool nsexec_inside(const char *path);

#endif
