/* SPDX-License-Identifier: MIT */
/*
 * Agents as controller/registry.c sees them, built in memory (no sockets):
 * an identity and the next poll, for the unit tests of the registry. The
 * fake_poll*() results point into the fake_agent and stay valid until its
 * next poll.
 */
#ifndef CHAOS_TESTS_FAKE_AGENT_H
#define CHAOS_TESTS_FAKE_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/registry.h"
#include "proto/chaos.pb-c.h"

#define FAKE_AGENT_T0_US 1700000000000000LL /* its incarnation and first t1 */

/* One agent as the controller sees it: its identity and its next poll. */
struct fake_agent {
	char                agent_id[64];
	char                ns[32];
	char                pod[32];
	Chaos__V1__Identity id;
	Chaos__V1__Poll     poll;
	Chaos__V1__Ack      ack[4];
	Chaos__V1__Ack     *acks[4];
	char               *faults[4];
};

/* f as the database pod ns/pod on node worker-1, id "ns/pod". */
void fake_init(struct fake_agent *f, const char *ns, const char *pod);

/* The next poll, with or without identity; acks, faults and the previous
 * exchange's times are cleared. */
const Chaos__V1__Poll *fake_poll(struct fake_agent *f, bool with_identity);

/* The next poll, acking the given command with STATUS_OK. */
const Chaos__V1__Poll *fake_poll_ack(struct fake_agent *f, uint64_t command_id);

/* Hands p to the registry from pipe, asserting it is taken without asking
 * for the identity. */
void fake_poll_ok(struct registry *r, const Chaos__V1__Poll *p, uint32_t pipe);

/* Queues on agent_id the apply a scenario sends for fault_id: a partition
 * (one peer) with lease_ms and a hard end, as command command_id. */
void fake_enqueue_partition(struct registry *r, const char *agent_id,
                            const char *fault_id, uint64_t command_id, uint32_t lease_ms,
                            int64_t hard_end_ctl_us);

/* fault_id marked live on agent_id, then its apply queued (lease_ms, a
 * hard end a minute away): a fault the controller keeps. */
void fake_keep_partition(struct registry *r, const char *agent_id, const char *fault_id,
                         uint64_t command_id, uint32_t lease_ms);

/* f as ns/pod, registered and connected on pipe. */
void fake_connect(struct registry *r, struct fake_agent *f, const char *ns,
                  const char *pod, uint32_t pipe);

#endif
