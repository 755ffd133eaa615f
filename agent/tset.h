/* SPDX-License-Identifier: MIT */
/*
 * A node agent's targets that commands have used: for each, a held file
 * descriptor of its network namespace (so its inode cannot be reused while
 * we act in it), its own fault engine (one nftables table and socket per
 * target, leases per fault) and the probes and loads started in it.
 *
 * When discovery no longer finds a target (its pod was deleted), the next
 * sweep reverts its faults with a FAULT_PHASE_EXPIRED report saying so,
 * stops its probes and loads, and lets the namespace go.
 *
 * Threads: the session thread owns the set; tset_note_worker() may also
 * be called from the jobs it runs on nsexec threads. Another thread that
 * reads the engines (the agent's ticker) must be kept out of tset_get(),
 * tset_sweep() and tset_free() by the owner's lock: they free engines.
 */
#ifndef CHAOS_AGENT_TSET_H
#define CHAOS_AGENT_TSET_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/fault.h"
#include "agent/load.h"
#include "agent/node.h"
#include "agent/nsexec.h"
#include "agent/probe.h"
#include "common/err.h"

struct tset;

/* What a command for a target needs. Valid until the next sweep. */
struct tset_target {
	const char          *key;
	const char          *path;  /* "/proc/self/fd/<n>": enter this */
	int                  fd;    /* <n>, for nsexec_job.ns_fd */
	const char          *label; /* "target <key> (netns <name>)" */
	struct fault_engine *fe;
};

/* home: the agent's own engine (events, exempt addresses), node and nsx:
 * the discovery table and the threads that enter namespaces; all outlive
 * the set. Returns CHAOS_OK or CHAOS_ENOMEM. */
chaos_err tset_new(const struct fault_engine *home, struct node *node, struct nsexec *nsx,
                   struct tset **out);

/* Reverts every target's faults ("agent stopping"), frees ts. NULL ok. */
void tset_free(struct tset *ts);

/* The target named key, made on first use. Errors: CHAOS_ENOENT (no such
 * netns on this node now), CHAOS_EBUSY (LIMIT_NODE_TARGETS targets with
 * faults, probes or loads in force), CHAOS_EPERM or CHAOS_ESYS (cannot
 * open it), CHAOS_ENOMEM; why says which target and why. */
chaos_err tset_get(struct tset *ts, const char *key, struct tset_target *out,
                   chaos_why *why);

/* Starts placing a new reply: the targets tset_get() hands out from here
 * on keep their slot (engine, key, path) until the next call, even with
 * nothing in force yet, so that a later command of the same reply never
 * takes over the slot of an earlier one whose work has not run. */
void tset_hold(struct tset *ts);

/* Records that probe (or load) id runs in target key, so that it stops
 * with the target. Thread-safe. */
void tset_note_worker(struct tset *ts, const char *key, const char *id, bool is_load);

/* Forgets a stopped probe or load. Thread-safe. */
void tset_forget_worker(struct tset *ts, const char *id);

/* Stops the probes and loads started in target key. */
void tset_stop_workers(struct tset *ts, const char *key, struct probe_set *ps,
                       struct load_set *ls);

/* Drops the targets discovery no longer finds: faults reverted and
 * reported, probes and loads stopped, namespace let go. */
void tset_sweep(struct tset *ts, struct probe_set *ps, struct load_set *ls);

/* The engines in use (pointers valid until the next tset_get or sweep). */
size_t tset_engines(struct tset *ts, struct fault_engine **out, size_t cap);

#endif
