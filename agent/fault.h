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
 * never leave a fault behind. Owned by the session thread; not thread-safe.
 */
#ifndef CHAOS_AGENT_FAULT_H
#define CHAOS_AGENT_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/events.h"
#include "common/err.h"
#include "proto/chaos.pb-c.h"

#define FAULT_MAX_ACTIVE 32
#define FAULT_TABLE_NAME "chaos_agent"

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

/* Reverts everything in force (reporting each), then frees fe. NULL ok. */
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
 * then reverts faults whose lease or hard end ran out. Returns the next
 * monotonic deadline (us) to wake for, or 0 when nothing is in force. */
int64_t fault_tick(struct fault_engine *fe, int64_t now_mono_us);

/* Ids of the faults in force (pointers valid until the next change). */
size_t fault_active(const struct fault_engine *fe, const char **ids, size_t max);

#endif
