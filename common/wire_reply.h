/* SPDX-License-Identifier: MIT */
/*
 * What every reply to an agent's poll carries, for whoever answers polls:
 * the controller (controller/identity_check.c's challenge; the registry's
 * replies carry the same) and the tests' stand-in controllers; and what
 * every poll carries, for whoever sends them: the agent's session and the
 * swarm benchmark's simulated agents. Pure functions but for the clock.
 */
#ifndef CHAOS_COMMON_WIRE_REPLY_H
#define CHAOS_COMMON_WIRE_REPLY_H

#include <stdint.h>

#include <nng/nng.h>

#include "common/clock.h"
#include "common/err.h"
#include "proto/chaos.pb-c.h"

/* Initialises p as agent_id's poll number poll_seq, sent at t1_agent_us
 * (agent wall clock), with the times of the previous exchange when prev is
 * not NULL (the controller's clock sample). agent_id is borrowed. The
 * caller adds acks, active faults and identity. */
void wire_poll_init(Chaos__V1__Poll *p, const char *agent_id, uint64_t poll_seq,
                    int64_t t1_agent_us, const struct clk_exchange *prev);

/* Initialises r as the answer to poll poll_seq received at t2_ctl_us
 * (controller wall clock), with the heartbeat the agent is to keep and the
 * controller instance that answers. The caller adds the body (commands,
 * live faults, refusal or challenge). */
void wire_reply_init(Chaos__V1__Reply *r, uint64_t poll_seq, int64_t t2_ctl_us,
                     uint32_t heartbeat_ms, uint64_t instance_id);

/* Stamps t3 (now: the agent's clock sample wants it as late as possible)
 * and packs r within WIRE_MAX_SESSION into a new message (*out, the
 * caller's). Errors as wire_pack(). */
chaos_err wire_reply_pack(Chaos__V1__Reply *r, nng_msg **out);

#endif
