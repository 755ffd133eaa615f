/* SPDX-License-Identifier: MIT */
/*
 * The registry's insides, shared by its three files: registry.c (agents,
 * polls, commands, leases), registry_view.c (the listings for the control
 * API: agents, targets, faults) and registry_heartbeat.c (the heartbeat,
 * how long a poll is held, when an agent is lost). Not for other modules:
 * they use registry.h. Every function here wants r->mtx held.
 */
#ifndef CHAOS_CONTROLLER_REGISTRY_INT_H
#define CHAOS_CONTROLLER_REGISTRY_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "common/clock.h"
#include "common/limits.h"
#include "controller/registry.h"

#define REG_MAX_PENDING 64
#define REG_MAX_FAULTS 64
#define REG_MIN_BUCKETS 64
#define REG_LOST_AFTER_HB 3 /* heartbeats without a poll */

struct reg_command {
	uint64_t id;
	uint8_t *buf; /* packed Command */
	size_t   len;
};

/* A set of fault ids (strdup'd), grown as needed up to REG_MAX_FAULTS:
 * most agents hold none or one, and a table of thousands should not carry
 * room for 64 each. */
struct reg_ids {
	char **id;
	size_t n, cap;
};

/* What the apply command said of a fault the controller wants kept, for
 * the status request. kind is the FaultSpec field's name (static). */
struct reg_lease {
	const char *kind;
	char       *target; /* strdup'd; NULL: the agent's own */
	uint32_t    lease_ms;
	int64_t     hard_end_ctl_us;
};

struct reg_agent {
	struct reg_agent    *next;     /* hash chain */
	Chaos__V1__Identity *identity; /* unpacked copy, owned */
	bool                 connected;
	char                 lost_reason[128];
	int64_t              last_seen_ctl_us;
	int64_t              last_seen_mono_us;
	uint32_t             pipe_id;
	struct clk_filter    clk;
	uint64_t             events_received;
	uint64_t             events_gaps;
	uint64_t             last_event_seq;
	struct reg_ids       active;         /* what the agent says is in force */
	struct reg_ids       live;           /* what this controller wants kept */
	struct reg_lease    *lease;          /* of live.id[i]; room for live.cap */
	int64_t              renewed_ctl_us; /* last reply naming the live faults */
	int64_t              lost_ctl_us;    /* when it was marked lost */
	struct reg_command  *pending;        /* grown as needed, up to REG_MAX_PENDING */
	size_t               n_pending, cap_pending;
	char                 id[]; /* as long as it is: most are far below 253 */
};

/* The heartbeat in force (hb_ms, read without the lock) grows with the
 * connected agents so that they poll at most max_hb_per_s times a second,
 * never below hb_base_ms. It moves by a factor of 2 at most, and at most
 * once per heartbeat: an agent waits three heartbeats of the last reply it
 * had, and a poll parked under the old value is answered before the next
 * change. hb_prev_ms is the value before the last change, which the lost
 * check honours for three of its heartbeats after a shrink. */
struct registry {
	nng_mtx               *mtx;
	_Atomic uint32_t       hb_ms;
	uint32_t               hb_base_ms, hb_prev_ms, max_hb_per_s;
	int64_t                hb_changed_mono_us;
	size_t                 max_agents;
	int64_t                forget_us;
	uint64_t               instance;
	struct reg_agent     **buckets;
	size_t                 n_buckets;
	size_t                 n_agents;
	struct registry_counts counts;
	registry_kick_fn       kick;
	void                  *kick_arg;
	registry_ack_fn        ack_sink;
	void                  *ack_arg;
	struct ttab           *targets; /* pods served by node agents */
};

/* Calls fn on every agent; fn may not add or remove agents. */
#define REG_FOREACH(r, a)                                                                \
	for (size_t reg_b_ = 0; reg_b_ < (r)->n_buckets; reg_b_++)                       \
		for (struct reg_agent *a = (r)->buckets[reg_b_]; a != NULL; a = a->next)

/* Whether the set holds id. */
bool reg_ids_has(const struct reg_ids *s, const char *id);

/* The agent with this id, or NULL. */
struct reg_agent *reg_find(struct registry *r, const char *id);

/* registry_heartbeat.c: registry_park_ms for agent a (NULL: unknown). */
uint32_t reg_park_ms(const struct registry *r, const struct reg_agent *a);

/* How long an agent may go without a poll before it is lost: 3 heartbeats,
 * of the longer one for a while after a shrink (a poll parked under it may
 * still be out). */
int64_t reg_lost_after_us(const struct registry *r, int64_t now_mono_us);

/* One step towards the heartbeat n connected agents need: at most double
 * or half, at most once per heartbeat (see struct registry). */
void reg_adapt_heartbeat(struct registry *r, size_t n, int64_t now_mono_us);

#endif
