/* SPDX-License-Identifier: MIT */
/*
 * The controller's table of agents: identity, connection state, clock
 * offset, event sequence tracking and the commands waiting for each agent.
 * Thread-safe: the session, events and control servers and the sweeper call
 * it from their own threads.
 */
#ifndef CHAOS_CONTROLLER_REGISTRY_H
#define CHAOS_CONTROLLER_REGISTRY_H

#include "common/err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "proto/chaos.pb-c.h"

struct registry;
struct ttab;

/* hb_ms is the shortest heartbeat period announced to agents; an agent
 * whose poll is overdue by more than 3 periods is lost. max_agents caps the
 * table: when it is full, the agent lost the longest ago is forgotten to
 * make room, and a new agent is refused only when every entry is connected.
 * Each registry has a random instance id (see registry_build_reply). */
chaos_err registry_new(uint32_t hb_ms, size_t max_agents, struct registry **out);
void      registry_free(struct registry *r);

/* The connected agents poll at most this many times a second in all: with
 * more than per_s * hb_ms / 1000 of them, registry_sweep lengthens the
 * heartbeat (in 100 ms steps), so an idle controller's cost stays bounded
 * at any fleet size and loss detection takes longer instead (3 heartbeats:
 * 6 s at 1000 agents by default). It doubles or halves at most once per
 * heartbeat towards that value, so that no agent waits past its timeout.
 * Leases are safe whatever the heartbeat: see registry_park_ms. The
 * default, 500 polls a second, costs about 3 % of a core here (2 CPUs) at
 * any fleet size; Kubernetes' node leases come to the same at 5,000 nodes.
 * 0: the heartbeat stays hb_ms. */
#define REGISTRY_MAX_HEARTBEATS_DEFAULT 500
void registry_set_max_heartbeats(struct registry *r, uint32_t per_s);

/* Lost agents are forgotten after this long without a poll (0: never), so
 * that pod churn cannot fill the table. */
#define REGISTRY_FORGET_DEFAULT_S 600
void registry_set_forget_after(struct registry *r, uint32_t seconds);

/* The heartbeat in force, which every reply announces. */
uint32_t registry_heartbeat_ms(const struct registry *r);

/* How long the controller may hold this agent's poll before it answers:
 * the heartbeat, or a third of the shortest lease of the faults it keeps
 * for the agent if that is less, so that each lease is renewed about three
 * times before it would end (every reply renews them). */
uint32_t registry_park_ms(struct registry *r, const char *agent_id);

/* This controller's instance id: random per start, never 0. */
uint64_t registry_instance(const struct registry *r);

#define REGISTRY_N_ROLES 8 /* room for every Chaos__V1__Role value */

struct registry_counts {
	size_t   agents, connected;
	uint64_t evicted;           /* forgotten (lost too long, or to make room) */
	uint64_t refused_full;      /* table full of connected agents */
	uint64_t refused_duplicate; /* a second live process with an id in use */
	/* by Chaos__V1__Role (a role beyond the table counts as 0) */
	size_t connected_by_role[REGISTRY_N_ROLES], lost_by_role[REGISTRY_N_ROLES];
	size_t active_faults; /* in force, as the connected agents report them */
};
/* The table's counts, in one pass under the lock and without copies (what
 * a metrics scrape needs). */
void registry_counts(struct registry *r, struct registry_counts *out);

/* Called with the n agents that commands were just queued for (each once
 * per command; the ids are borrowed for the call), so their parked polls
 * can be answered at once. Runs on the thread that queued the commands,
 * with no registry lock held (it may call back into the registry). */
typedef void (*registry_kick_fn)(void *arg, const char *const *agent_ids, size_t n);
void registry_set_kick(struct registry *r, registry_kick_fn fn, void *arg);

/* Receives every ack carried by a poll, with the agent's clock offset (agent
 * - controller, 0 when unknown) and the poll's arrival time. Runs on the
 * session thread with no registry lock held; must not block. */
typedef void (*registry_ack_fn)(void *arg, const char *agent_id,
                                const Chaos__V1__Ack *ack, int64_t offset_us,
                                int64_t t_poll_us);
void registry_set_ack_sink(struct registry *r, registry_ack_fn fn, void *arg);

/* Best clock offset of agent_id (agent - controller) and its error bound, in
 * us. False when unknown (agent unknown or no exchange yet). */
bool registry_clock(struct registry *r, const char *agent_id, int64_t *offset_us,
                    int64_t *error_us);

/* Whether agent_id is connected, and its incarnation (process start). False
 * for an unknown agent. */
bool registry_agent_status(struct registry *r, const char *agent_id, bool *connected,
                           int64_t *incarnation);

/* A valid poll arrived at t2 (controller clock) over pipe_id. Records it,
 * takes its acks and clock sample. *identity_needed is set when the poll
 * must show its identity first (an unknown agent, or a known id on another
 * connection): it is then not taken. Returns CHAOS_OK; CHAOS_EBUSY when the
 * table is full of connected agents; CHAOS_EEXIST when another live process
 * already uses the id (the newcomer is refused: one policy, the first one
 * keeps it). why says which, for the refused reply and the log. Unless
 * park_ms is NULL, *park_ms is registry_park_ms for the agent, found under
 * the same hold of the lock. */
chaos_err registry_on_poll(struct registry *r, const Chaos__V1__Poll *p, uint32_t pipe_id,
                           int64_t t2_ctl_us, bool *identity_needed, uint32_t *park_ms,
                           chaos_why *why);

/* True when commands are waiting for agent_id. */
bool registry_has_commands(struct registry *r, const char *agent_id);

/* Packs the reply to poll_seq: every unacked command for the agent, the
 * faults this controller wants kept on it (its live faults; the agent
 * renews only those, and only for this instance), the instance id, the
 * heartbeat, t2 and t3 = now. With refused set, only the refusal (no
 * commands). *out is a new NNG message owned by the caller. */
chaos_err registry_build_reply(struct registry *r, const char *agent_id,
                               uint64_t poll_seq, int64_t t2_ctl_us, bool identity_needed,
                               const char *refused, nng_msg **out);

/* Marks fault_id live (or no longer) on agent_id: a scenario marks a fault
 * live before it sends the apply and clears it when it reverts.
 * CHAOS_ENOENT for an unknown agent, CHAOS_EBUSY when too many are live. */
chaos_err registry_fault_live(struct registry *r, const char *agent_id,
                              const char *fault_id, bool live);

/* registry_fault_live for one fault on n agents, with one hold of the lock
 * (a fan-out); an unknown agent is skipped. */
void registry_fault_live_all(struct registry *r, size_t n, const char *const *agent_ids,
                             const char *fault_id, bool live);

/* Clears every live fault whose id starts with prefix (a run's, when it
 * ends, on whatever path). */
void registry_forget_faults(struct registry *r, const char *prefix);

/* Queues a copy of cmd for agent_id (re-sent in every reply until acked).
 * Returns CHAOS_OK, CHAOS_ENOENT for an unknown agent, CHAOS_ENOMEM. */
chaos_err registry_enqueue(struct registry *r, const char *agent_id,
                           const Chaos__V1__Command *cmd);

/* registry_enqueue for cmds[i] to agent_ids[i], i < n, with one hold of the
 * lock and one kick for all (a fan-out). rvs[i] gets each one's result (as
 * registry_enqueue's). Returns how many were queued. */
size_t registry_enqueue_all(struct registry *r, size_t n, const char *const *agent_ids,
                            Chaos__V1__Command *const *cmds, chaos_err *rvs);

/* A session pipe closed: its agent is lost at once ("connection closed"). */
void registry_pipe_closed(struct registry *r, uint32_t pipe_id);

/* A valid event arrived at t_ctl_us. Tracks sequence gaps; a Hello
 * registers or refreshes the identity. Returns CHAOS_OK or CHAOS_ENOENT for
 * an event from an agent not registered yet (non-Hello). */
chaos_err registry_on_event(struct registry *r, const Chaos__V1__Event *e,
                            int64_t t_ctl_us);

/* Marks agents whose last poll is older than 3 heartbeats as lost, forgets
 * those lost for longer than the forget time, and moves the heartbeat
 * towards what the connected agents need (registry_set_max_heartbeats). */
void registry_sweep(struct registry *r, int64_t now_mono_us);

/* The ids of the connected agents (optionally only one namespace), sorted:
 * a new array of n new strings in *out, freed with registry_ids_free(). For
 * a plan that needs only who is there, without a snapshot's deep copies.
 * CHAOS_OK or CHAOS_ENOMEM. */
chaos_err registry_connected_ids(struct registry *r, const char *ns, char ***out,
                                 size_t *n);
void      registry_ids_free(char **ids, size_t n);

/* The faults on every agent, for the status request: each one this
 * controller wants kept (with what its apply said: kind, target, lease,
 * hard end; and the lease's end: the last reply sent to the agent + the
 * lease) and each one an agent reports in force that the controller no
 * longer wants (being reverted). Sorted by pod, then fault id. Free with
 * registry_faults_free(). CHAOS_ENOMEM. */
chaos_err registry_faults(struct registry *r, Chaos__V1__LiveFault ***out, size_t *n);
void      registry_faults_free(Chaos__V1__LiveFault **faults, size_t n);

/* The pods node agents serve (controller/target_table.h): their agents
 * report them on the events channel, the resolver (controller/targets.h)
 * says who they are. A resolved target's id ("<namespace>/<pod>") works
 * wherever an agent id does: registry_enqueue() routes its commands to the
 * serving node agent with the target's key, registry_fault_live() keeps
 * its faults on that agent's lease list, registry_agent_status() and
 * registry_clock() answer for it (connected: its agent is; incarnation:
 * the target's own), and registry_snapshot() lists it. Owned by r. */
struct ttab *registry_targets(struct registry *r);

/* Deep copies of the agents and of the pods node agents serve (optionally
 * only one namespace), for the control API. Free with
 * registry_snapshot_free(). */
chaos_err registry_snapshot(struct registry *r, const char *ns,
                            Chaos__V1__AgentInfo ***out, size_t *n);
/* The same, of the lost agents only (for the status request). */
chaos_err registry_snapshot_lost(struct registry *r, Chaos__V1__AgentInfo ***out,
                                 size_t *n);
void      registry_snapshot_free(Chaos__V1__AgentInfo **agents, size_t n);

#endif
