/* SPDX-License-Identifier: MIT */
/*
 * A controller stand-in for benches: the session (REP) and events (PULL)
 * ends of the real wire protocol on ipc://, for one agent. It answers each
 * poll after a heartbeat, sends the probes it was given until the agent
 * acks them, and counts the probes' samples. The real controller starts
 * probes only inside a scenario (targets, faults, a run); this starts them
 * and nothing else.
 */
#ifndef CHAOS_TESTS_BENCH_STANDIN_H
#define CHAOS_TESTS_BENCH_STANDIN_H

#include <stddef.h>

#include "common/err.h"
#include "proto/chaos.pb-c.h"

#define STANDIN_MAX_PROBES 4

struct standin;

/* Listens on url (ipc://) and url + ".events", and starts answering on a
 * thread of its own. The n (<= STANDIN_MAX_PROBES) probe specs are copied.
 * Returns CHAOS_OK or a failure with why. */
chaos_err standin_start(const char *url, const Chaos__V1__ProbeSpec *const *probes,
                        size_t n, struct standin **out, chaos_why *why);

/* Samples received so far from probe i (in the order given). */
int standin_samples(struct standin *s, size_t i);

/* Probe i's start: 1 acked OK, -1 acked with an error, 0 not acked yet. */
int standin_acked_ok(struct standin *s, size_t i);

/* Stops the thread, closes both sockets and frees s. NULL is fine. */
void standin_stop(struct standin *s);

#endif
