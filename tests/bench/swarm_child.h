/* SPDX-License-Identifier: MIT */
/*
 * The simulated agents (swarm_agents.h) run in a process of their own: the
 * benchmark program started again in its agents mode, driven over a pipe
 * with one-line commands. Ending it is a SIGKILL, never nng_close(): with
 * NNG 1.5.2, closing a socket while its pipes still carry traffic can hang
 * for good in the reaper (nanomsg/nng issue 1543, fixed after 1.5.2), and a
 * hung reaper would stall every later socket of the process. The kernel
 * closes the connections instead, as when an agent dies.
 *
 * Agents mode (swarm_child_main): starts the swarm, prints "ready", then
 * answers each command line on stdin with one line on stdout:
 *   rtt-on            -> "ok"            (collects round trips from now)
 *   rtt-off           -> "rtt N P50 P99"  (us, over what was collected)
 */
#ifndef CHAOS_TESTS_BENCH_SWARM_CHILD_H
#define CHAOS_TESTS_BENCH_SWARM_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define SWARM_CHILD_FLAG "--agents"

struct swarm_child {
	pid_t  pid;
	int    to, from; /* the child's stdin and stdout */
	char   buf[512]; /* what was read from the child, not yet a line */
	size_t len;
};

/* Starts self (this program's path) in agents mode with n agents dialing
 * the two URLs, and waits (bounded) for "ready". CHAOS_OK or CHAOS_E* with
 * why. */
chaos_err swarm_child_start(const char *self, size_t n, const char *session_url,
                            const char *events_url, struct swarm_child *c,
                            chaos_why *why);

/* SIGKILL and reap; NULL pid is fine. */
void swarm_child_kill(struct swarm_child *c);

/* Round trips collected between the two calls: count, p50 and p99 in us. */
bool swarm_child_rtt_on(struct swarm_child *c);
bool swarm_child_rtt_off(struct swarm_child *c, size_t *n, double *p50_us,
                         double *p99_us);

/* The agents mode: argv is {SWARM_CHILD_FLAG, N, SESSION_URL, EVENTS_URL}.
 * Returns the exit status. */
int swarm_child_main(int argc, char **argv);

#endif
