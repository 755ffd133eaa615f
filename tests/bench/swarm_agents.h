/* SPDX-License-Identifier: MIT */
/*
 * Simulated agents for the swarm benchmark: N agents in this process, each
 * with its own REQ session socket and PUSH events socket (real NNG, real
 * protobuf-c messages through common/wire.c), that poll the controller as
 * chaos-agent does: identity on the first poll of each connection and a
 * Hello event with it, a poll right after every reply carrying the acks of
 * the reply's commands and the faults in force. Apply and revert commands
 * are acked at once (the fault changes nothing here) with a fault-state
 * event each; any other command is acked as unsupported.
 *
 * Everything runs on NNG's callback threads: one aio per agent, so each
 * agent's steps are serialised.
 */
#ifndef CHAOS_TESTS_BENCH_SWARM_AGENTS_H
#define CHAOS_TESTS_BENCH_SWARM_AGENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct swarm;

/* n agents named <prefix>-<index> dial session_url and events_url
 * (plaintext tcp://) and start polling. Returns CHAOS_OK or CHAOS_E* with
 * why (a socket could not be opened: raise the open-file limit). */
chaos_err swarm_start(const char *session_url, const char *events_url, size_t n,
                      const char *prefix, struct swarm **out, chaos_why *why);

/* The id of agent number i of a swarm started with prefix, written into
 * buf (len bytes) and returned. */
const char *swarm_agent_id(const char *prefix, size_t i, char *buf, size_t len);

/* Stops every agent, closes its sockets, frees s; NULL is fine. With NNG
 * 1.5.2 a close while traffic flows can hang (see swarm_child.h): the
 * benchmark ends its agents' process instead. */
void swarm_stop(struct swarm *s);

/* Starts (true: afresh) or stops collecting the round trip of every reply:
 * its delay without the controller's hold, (t4 - t1) - (t3 - t2), in us. */
void swarm_collect_rtt(struct swarm *s, bool on);

/* Moves the collected round trips (up to cap) into out; returns how many. */
size_t swarm_take_rtt(struct swarm *s, int64_t *out, size_t cap);

/* Nearest-rank percentile p (0..100) of v[0..n), which it sorts; 0 when n
 * is 0. */
double swarm_percentile(double *v, size_t n, double p);

#endif
