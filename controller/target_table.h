/* SPDX-License-Identifier: MIT */
/*
 * The pods node agents serve: every network namespace a node agent reports
 * (its TargetList), and who each one is once the resolver (controller/
 * targets.h) has found its pod in the Kubernetes API or the inventory.
 *
 * A resolved target is addressed like a sidecar agent, by "<namespace>/
 * <pod>": the registry routes its commands into the serving node agent's
 * session with the target's key (ttab_route), and lists it with the agent
 * and mode serving it. Two namespaces that resolve to one pod are both
 * CONFLICT and never used; a pod that also has a sidecar agent is
 * SHADOWED (the sidecar wins); a namespace with no pod is UNRESOLVED and
 * never touched; a pod the inventory names but no namespace holds is
 * listed as MISSING. Every change of state is logged once, with why.
 *
 * Thread-safe. The registry calls in with its own lock held (lock order:
 * registry, then this table); nothing here calls out.
 */
#ifndef CHAOS_CONTROLLER_TARGET_TABLE_H
#define CHAOS_CONTROLLER_TARGET_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"
#include "proto/chaos.pb-c.h"

#define TTAB_MAX_TARGETS 8192 /* over all node agents */
#define TTAB_MAX_LABELS 16

struct ttab;

/* Who a target is, as the resolver found it. */
struct ttab_pod {
	char   name[LIMIT_ID_LEN + 1];
	char   namespace_[LIMIT_ID_LEN + 1];
	int    role; /* Chaos__V1__Role; UNSPECIFIED: none known */
	char   label_key[TTAB_MAX_LABELS][64];
	char   label_value[TTAB_MAX_LABELS][64];
	size_t n_labels;
	char   ip[46]; /* the address the source gives it ("" none) */
};

/* A target as the resolver needs it: what its agent reported. */
struct ttab_query {
	char     agent_id[LIMIT_ID_LEN + 1];
	char     node[LIMIT_ID_LEN + 1];
	char     key[24];
	char     netns[LIMIT_NETNS_NAME_LEN + 1];
	char     uid[65];
	char     ips[LIMIT_TARGET_IPS][16];
	size_t   n_ips;
	uint64_t gen; /* changes whenever the report of this target changes */
};

/* The resolver's answer for one query: found (pod set) or not (reason). */
struct ttab_answer {
	bool            found;
	struct ttab_pod pod;
	char            source[16]; /* "kubernetes", "inventory" */
	char            reason[256];
};

/* A pod the inventory names that no namespace holds. */
struct ttab_missing {
	struct ttab_pod pod;
	char            reason[256];
};

chaos_err ttab_new(struct ttab **out);
void      ttab_free(struct ttab *t);

/* Replaces agent_id's targets with list (when list->version is newer than
 * the last one taken from this agent; an older list is ignored). node and
 * agent_pid describe the agent. A target whose report did not change keeps
 * its resolution; a changed or new one waits for the resolver. Returns
 * true when something changed. */
bool ttab_update(struct ttab *t, const char *agent_id, const char *node,
                 uint32_t agent_pid, const Chaos__V1__TargetList *list);

/* Forgets agent_id's targets (the agent restarted or was forgotten). */
void ttab_drop_agent(struct ttab *t, const char *agent_id);

/* Every target, for the resolver (caller frees *out). */
size_t ttab_queries(struct ttab *t, struct ttab_query **out);

/* Records the resolver's answers (a[i] for q[i]); answers for a target
 * that changed since (gen) are dropped. Settles conflicts and logs every
 * change of state. */
void ttab_resolve(struct ttab *t, const struct ttab_query *q, const struct ttab_answer *a,
                  size_t n);

/* Replaces the list of pods the inventory names that no namespace holds,
 * logging the new ones. */
void ttab_set_missing(struct ttab *t, const struct ttab_missing *m, size_t n);

/* Waits until something changed since *seen (then updates *seen and
 * returns true) or timeout_ms passed (false). */
bool ttab_wait(struct ttab *t, uint64_t *seen, int timeout_ms);

/* Wakes ttab_wait at once (to stop the resolver). */
void ttab_wake(struct ttab *t);

/* Where commands for target id go: the serving agent and the key. False
 * unless id is a resolved, unique target. */
bool ttab_route(struct ttab *t, const char *id, char *agent_id, size_t agent_len,
                char *key, size_t key_len);

/* The agent serving target id and the target's incarnation (made when
 * the controller first saw it); false unless id is resolved. */
bool ttab_status(struct ttab *t, const char *id, char *agent_id, size_t len,
                 int64_t *incarnation);

/* The id of a connected sidecar agent serving pod namespace/name (it
 * wins over a node agent), or NULL. */
typedef const char *(*ttab_sidecar_fn)(void *arg, const char *namespace_,
                                       const char *pod);
/* What a listing says about the serving agent. */
struct ttab_agent_state {
	bool    known, connected, clock_known;
	int64_t last_seen_ctl_us;
	double  clock_offset_ms, clock_error_ms;
	char    lost_reason[128];
};
/* Fills *out for agent_id (known false when the registry has none). */
typedef void (*ttab_agent_fn)(void *arg, const char *agent_id,
                              struct ttab_agent_state *out);

/* Appends an AgentInfo per target (and per missing pod) in namespace ns
 * (NULL/"" = all) to *list (grown with realloc; *n updated). State, clock
 * and last_seen come from the serving agent's entry; a resolved target
 * that sidecar() names is listed SHADOWED (logged once). Returns CHAOS_OK
 * or CHAOS_ENOMEM. */
chaos_err ttab_snapshot(struct ttab *t, const char *ns, ttab_agent_fn agent,
                        ttab_sidecar_fn sidecar, void *arg, Chaos__V1__AgentInfo ***list,
                        size_t *n);

/* Frees what ttab_snapshot put in one AgentInfo besides the identity. */
void ttab_info_free(Chaos__V1__AgentInfo *info);

#endif
