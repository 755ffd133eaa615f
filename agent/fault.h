/* SPDX-License-Identifier: MIT */
/*
 * The agent's faults: apply, revert, leases.
 *
 * Every fault in force holds a lease and a hard end time. A lease belongs to
 * the controller instance that granted the fault: only a reply from that
 * instance that still names the fault renews it. When the lease or the hard
 * end runs out, when a reply comes from another instance (the controller
 * restarted), or when a reply no longer names the fault, the engine reverts
 * it on its own and reports it (FAULT_PHASE_EXPIRED). nftables faults
 * of all kinds share one owner table per target, rebuilt in one atomic batch
 * on every change; if a revert batch ever fails, the engine closes the
 * netlink socket so the kernel drops the whole table: a chaos tool must
 * never leave a fault behind.
 *
 * Threads: one caller at a time drives an engine (apply, revert, leases,
 * free: the session thread, or the one nsexec job of its target, which the
 * session thread waits for), while fault_tick() may run at any time on
 * another thread (the agent's ticker, agent/ticker.h), so that a lease
 * that runs out is reverted on time even while a slow apply runs. A lock
 * guards the faults in force. An apply holds it only to put its fault in
 * force: what a kind does first and after (start, after_commit: a
 * PostgreSQL connection may take seconds) runs without it, bounded by the
 * fault's own lease and hard end, and a fault is not reverted by the tick
 * while its after_commit runs.
 */
#ifndef CHAOS_AGENT_FAULT_H
#define CHAOS_AGENT_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/events.h"
#include "common/err.h"
#include "common/limits.h"
#include "proto/chaos.pb-c.h"

#define FAULT_MAX_ACTIVE 32
#define FAULT_TABLE_NAME "chaos_agent"
#define FAULT_ID_SIZE (LIMIT_ID_LEN + 1) /* a fault id and its NUL */

struct exempt;
struct fault_engine;
struct nsexec;
struct nft_cache;

/* Where a node agent's engine acts: a target's network namespace. Its
 * nftables socket is opened there, and so is whatever a kind starts (the
 * latency proxy, a PostgreSQL connection); the kill fault looks for
 * processes there. Strings are copied. */
struct fault_where {
	struct nsexec    *nsx;   /* the threads that enter it */
	const char       *path;  /* "/run/netns/<name>" or "/proc/<pid>/ns/net" */
	const char       *label; /* for logs and reports: "target <key> (netns <name>)" */
	struct nft_cache *cache; /* batches shared by the targets' engines, or NULL */
};

/* Opens the nftables table in the current network namespace (removing a
 * leftover one of ours). ex holds the controller's addresses, which are
 * never cut (NULL: none); when they change, fault_tick() re-commits the
 * rules in force with them. Without CAP_NET_ADMIN the engine still starts;
 * nftables faults then fail with the reason. ev and ex must outlive the
 * engine. */
chaos_err fault_engine_new(struct events *ev, struct exempt *ex,
                           struct fault_engine **out);

/* An engine for a target, sharing home's events and exempt addresses. No
 * socket is opened until its first fault (a fresh one: the first batch
 * makes the table). Returns CHAOS_OK or CHAOS_ENOMEM. */
chaos_err fault_engine_new_target(const struct fault_engine *home,
                                  const struct fault_where  *where,
                                  struct fault_engine      **out);

/* Reverts everything in force (reporting each), then frees fe. NULL ok.
 * No fault_tick() of fe may run or start meanwhile. */
void fault_engine_free(struct fault_engine *fe);

/* Applies spec (copied). Idempotent: a fault_id already in force is
 * CHAOS_OK. offset_us is agent clock - controller clock, for the hard end.
 * Errors: CHAOS_EINVAL (bad spec), CHAOS_ETIMEDOUT (its hard end has
 * passed, or its lease is 0 ms: nothing is started), CHAOS_EBUSY (too many
 * faults), CHAOS_EUNSUPPORTED, CHAOS_EPERM, or the nftables error; why
 * says why. */
chaos_err fault_apply(struct fault_engine *fe, const Chaos__V1__FaultSpec *spec,
                      int64_t offset_us, chaos_why *why);

/* As fault_apply, but takes *spec (an unpacked message, freed with
 * chaos__v1__fault_spec__free_unpacked) instead of copying it: *spec is
 * NULL on return, whatever the outcome. A node agent applies a reply's
 * specs this way, each with its peer list, without a copy per target. */
chaos_err fault_apply_take(struct fault_engine *fe, Chaos__V1__FaultSpec **spec,
                           int64_t offset_us, chaos_why *why);

/* Reverts one fault; an unknown id is already gone. Cannot fail: when the
 * rules cannot be rewritten the whole table is dropped instead (a chaos
 * tool must never leave a fault behind). */
void fault_revert(struct fault_engine *fe, const char *fault_id);

/* Reverts every fault, reporting each with phase and detail. */
void fault_revert_all(struct fault_engine *fe, Chaos__V1__FaultPhase phase,
                      const char *detail);

/* One reply from controller instance `instance` (0: the reply named none)
 * listed live[] as the faults it wants kept. Faults it granted and names
 * are renewed; any other fault is reverted at once. A fault applied since
 * the previous reply takes this reply's instance as its grantor (the reply
 * that carried its apply command also names it). */
void fault_leases(struct fault_engine *fe, int64_t now_mono_us, uint64_t instance,
                  char *const *live, size_t n_live);

/* Re-commits the rules in force when the controller's addresses changed,
 * then reverts faults whose lease or hard end ran out, except one whose
 * after_commit still runs (that step gives up by the same time, and the
 * apply then unwinds it or the next tick reverts it). Returns the next
 * monotonic deadline (us) to wake for, or 0 when there is none. Safe on
 * any thread, alongside the engine's other calls. */
int64_t fault_tick(struct fault_engine *fe, int64_t now_mono_us);

/* Copies the ids of the faults in force into ids[0..max); returns how
 * many. Copies, since the tick may revert one at any time. */
size_t fault_active(struct fault_engine *fe, char (*ids)[FAULT_ID_SIZE], size_t max);

/* How many faults are in force. */
size_t fault_count(struct fault_engine *fe);

#endif
