/* SPDX-License-Identifier: MIT */
/*
 * What every reply to an agent's poll carries, for whoever answers polls:
 * the controller (controller/identity_check.c's challenge; the registry's
 * replies carry the same) and the tests' stand-in controllers. Pure
 * functions but for the clock.
 */
#ifndef CHAOS_COMMON_WIRE_REPLY_H
#define CHAOS_COMMON_WIRE_REPLY_H

#include <stdint.h>

#include <nng/nng.h>

#include "common/err.h"
#include "proto/chaos.pb-c.h"

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
