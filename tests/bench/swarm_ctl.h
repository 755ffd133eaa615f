/* SPDX-License-Identifier: MIT */
/*
 * The swarm benchmark's controller: a real chaos-controller process on
 * loopback (plaintext tcp:// for the agents, its own ipc:// control socket
 * in a fresh directory under /tmp), driven through the control API as
 * chaosctl drives it, and read from /proc (CPU time, RSS).
 */
#ifndef CHAOS_TESTS_BENCH_SWARM_CTL_H
#define CHAOS_TESTS_BENCH_SWARM_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct swarm_ctl {
	pid_t pid;
	char  dir[64];          /* /tmp/chaos-swarm.<our pid>.XXXXXX */
	char  control_url[128]; /* ipc://<dir>/control.sock */
	char  session_url[64], events_url[64];
	char  log[96]; /* <dir>/controller.log */
};

/* Starts exe (the chaos-controller program) with room for max_agents and
 * waits (bounded) until its control socket answers. CHAOS_OK, or CHAOS_E*
 * with why (the log's path in it). */
chaos_err swarm_ctl_start(const char *exe, size_t max_agents, struct swarm_ctl *c,
                          chaos_why *why);

/* SIGTERM, a bounded wait, SIGKILL if needed; removes the directory. */
void swarm_ctl_stop(struct swarm_ctl *c);

/* Agents listed (all) and connected, as `chaosctl agents` lists them, and
 * the heartbeat in force (heartbeat_ms may be NULL). */
chaos_err swarm_ctl_agents(const struct swarm_ctl *c, size_t *listed, size_t *connected,
                           uint32_t *heartbeat_ms, chaos_why *why);

/* Runs scenario with params (JSON text) and waits (bounded) for its end.
 * *t_request_us is the wall time just before the run request was sent;
 * *state the final Chaos__V1__RunState; *result its result (owned), or
 * NULL. CHAOS_ECONN/CHAOS_ETIMEDOUT with why when the controller failed. */
chaos_err swarm_ctl_run(const struct swarm_ctl *c, const char *scenario,
                        const char *params, int64_t *t_request_us, int *state,
                        json_t **result, chaos_why *why);

/* CPU time (user + system, all threads, in seconds) and resident memory
 * (now and peak, KiB) of process pid, from /proc. False when unreadable. */
struct swarm_proc {
	double cpu_s;
	size_t rss_kib, hwm_kib;
};
bool swarm_ctl_proc(pid_t pid, struct swarm_proc *out);

#endif
