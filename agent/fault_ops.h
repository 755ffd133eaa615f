/* SPDX-License-Identifier: MIT */
/*
 * One ops table per fault kind (fault_<kind>.c). nftables kinds translate
 * their spec into an nft_fault; process kinds (kill, latency proxy) start
 * and stop something of their own.
 */
#ifndef CHAOS_AGENT_FAULT_OPS_H
#define CHAOS_AGENT_FAULT_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/nft.h"
#include "common/err.h"
#include "proto/chaos.pb-c.h"

/*
 * A kind may have rules (to_nft), something running (start/stop), or both
 * (latency: a proxy plus the redirect into it). Apply: start, then commit
 * the rules. Revert: stop, then commit without the rules, so the proxy closes
 * its connections while they are still translated and the clients see the
 * close at once (see fault_remove in fault.c).
 */
struct fault_ops {
	Chaos__V1__FaultSpec__KindCase kind;
	const char                    *name;
	/* Fills f from spec (and state, after start); ports go to ports_buf
	 * (NFT_MAX_PORTS). Cannot fail: nft_commit checks the result. */
	void (*to_nft)(const Chaos__V1__FaultSpec *spec, void *state, struct nft_fault *f,
	               uint16_t *ports_buf);
	/* Starts; *state is the kind's own. until_mono (clk_mono_us() time)
	 * is when the fault's lease or hard end runs out: a step that waits
	 * on another party (PostgreSQL) gives up by then (fault_step_deadline),
	 * here and in after_commit, since a fault past its end is reverted at
	 * once anyway and its apply must not hold that up. Runs without the
	 * engine's lock. Returns CHAOS_OK or CHAOS_E* with why. */
	chaos_err (*start)(const Chaos__V1__FaultSpec *spec, int64_t until_mono,
	                   void **state, chaos_why *why);
	/* Stops and frees state; NULL state is fine. */
	void (*stop)(void *state);
	/* Optional: runs once the rules are committed, for work that needs
	 * them in force (latency: terminate the existing connections so they
	 * reconnect through the proxy). A failure fails the apply, which then
	 * removes the rules and stops. Runs without the engine's lock, the
	 * fault marked so that the tick leaves it alone meanwhile: bound it by
	 * start's until_mono. Returns CHAOS_OK or CHAOS_E* with why. */
	chaos_err (*after_commit)(void *state, chaos_why *why);
	/* Optional: the detail of the APPLIED report ("proxy :41234, 3
	 * backends terminated"); the kind's name when absent. */
	void (*describe)(void *state, char *buf, size_t len);
};

extern const struct fault_ops fault_partition_ops;
extern const struct fault_ops fault_port_ops;
extern const struct fault_ops fault_loss_ops;
extern const struct fault_ops fault_kill_ops;
extern const struct fault_ops fault_latency_ops;
extern const struct fault_ops fault_pgterm_ops;

/* Shared helpers for the nftables kinds. */
enum nft_direction fault_nft_direction(Chaos__V1__Direction d);
enum nft_l4proto   fault_nft_proto(Chaos__V1__L4Proto p);
size_t             fault_nft_ports(const uint32_t *ports, size_t n, uint16_t *buf);

/* The deadline of one slow step of a kind: timeout_ms from now, or
 * until_mono (start's) when that is sooner (0: none). */
int64_t fault_step_deadline(int64_t until_mono, int timeout_ms);

/* What a step's failure adds to its reason: for CHAOS_ETIMEDOUT, that the
 * wait was bounded by the fault's lease too; "" otherwise (static text). */
const char *fault_step_why(chaos_err rv);

#endif
