// SPDX-License-Identifier: MIT
#include "controller/target_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"

#define TTAB_WAITING "waiting for the resolver (Kubernetes API or inventory)"

struct ttab_entry {
	struct ttab_query q;
	uint32_t          agent_pid;
	uint32_t          pid;
	int64_t           incarnation; /* controller clock when first seen */
	bool              have_pod;    /* the resolver found a pod */
	struct ttab_pod   pod;
	char              source[16];
	char              reason[256]; /* why not resolved (the resolver's) */
	/* settled from the above */
	int  state; /* Chaos__V1__TargetState */
	char id[LIMIT_ID_LEN + 1];
	char note[512]; /* why not used: conflict, no role, not found */
	int  logged_state;
	char logged_note[512];
	bool shadow_logged;
};

struct ttab_agent {
	char     id[LIMIT_ID_LEN + 1];
	uint64_t version;
};

struct ttab {
	nng_mtx             *mtx;
	nng_cv              *cv;
	struct ttab_entry   *e;
	size_t               n, cap;
	size_t              *by_id; /* indices of RESOLVED entries, sorted by id */
	size_t               n_by_id;
	struct ttab_agent   *agents;
	size_t               n_agents, cap_agents;
	struct ttab_missing *missing;
	size_t               n_missing;
	uint64_t             changes, next_gen;
};

chaos_err
ttab_new(struct ttab **out)
{
	struct ttab *t = calloc(1, sizeof(*t));

	if (t == NULL || nng_mtx_alloc(&t->mtx) != 0) {
		free(t);
		return CHAOS_ENOMEM;
	}
	if (nng_cv_alloc(&t->cv, t->mtx) != 0) {
		nng_mtx_free(t->mtx);
		free(t);
		return CHAOS_ENOMEM;
	}
	*out = t;
	return CHAOS_OK;
}

void
ttab_free(struct ttab *t)
{
	if (t == NULL)
		return;
	nng_cv_free(t->cv);
	nng_mtx_free(t->mtx);
	free(t->e);
	free(t->by_id);
	free(t->agents);
	free(t->missing);
	free(t);
}

/* ---- settling: ids, conflicts, what to log ---- */

static const char *
ttab_state_name(int state, char *buf, size_t len)
{
	return wire_enum_name(&chaos__v1__target_state__descriptor, state, buf, len);
}

static void
ttab_log_state(struct ttab_entry *e)
{
	char st[32];

	if (e->state == e->logged_state && strcmp(e->note, e->logged_note) == 0)
		return;
	e->logged_state = e->state;
	snprintf(e->logged_note, sizeof(e->logged_note), "%s", e->note);
	if (e->state == CHAOS__V1__TARGET_STATE__TARGET_STATE_RESOLVED)
		log_info(
		    "target %s of node agent %s (netns %s, %s) is pod %s (from the %s)",
		    e->q.key, e->q.agent_id, e->q.netns[0] ? e->q.netns : "unnamed",
		    e->q.n_ips ? e->q.ips[0] : "no IPv4", e->id, e->source);
	else if (strcmp(e->note, TTAB_WAITING) != 0)
		log_warn("target %s of node agent %s (netns %s, %s) is %s: %s", e->q.key,
		         e->q.agent_id, e->q.netns[0] ? e->q.netns : "unnamed",
		         e->q.n_ips ? e->q.ips[0] : "no IPv4",
		         ttab_state_name(e->state, st, sizeof(st)), e->note);
}

/* State and id from the resolver's answer alone (conflicts come next). */
static void
ttab_settle_one(struct ttab_entry *e)
{
	e->id[0] = '\0';
	if (!e->have_pod) {
		e->state = CHAOS__V1__TARGET_STATE__TARGET_STATE_UNRESOLVED;
		snprintf(e->note, sizeof(e->note), "%s", e->reason);
		return;
	}
	if (e->pod.role == CHAOS__V1__ROLE__ROLE_UNSPECIFIED) {
		e->state = CHAOS__V1__TARGET_STATE__TARGET_STATE_UNRESOLVED;
		snprintf(e->note, sizeof(e->note),
		         "pod %.80s/%.80s (from the %s) has no role: label it "
		         "chaos.io/role=blockchain, coordinator or database",
		         e->pod.namespace_, e->pod.name, e->source);
		return;
	}
	if (snprintf(e->id, sizeof(e->id), "%s/%s", e->pod.namespace_, e->pod.name) >=
	        (int)sizeof(e->id) ||
	    wire_check_id(e->id) != CHAOS_OK) {
		e->id[0] = '\0';
		e->state = CHAOS__V1__TARGET_STATE__TARGET_STATE_UNRESOLVED;
		snprintf(e->note, sizeof(e->note),
		         "pod name %.100s/%.100s is not a valid id", e->pod.namespace_,
		         e->pod.name);
		return;
	}
	e->state   = CHAOS__V1__TARGET_STATE__TARGET_STATE_RESOLVED;
	e->note[0] = '\0';
}

static int
ttab_cmp_id(const void *a, const void *b, void *arg)
{
	const struct ttab *t = arg;

	return strcmp(t->e[*(const size_t *)a].id, t->e[*(const size_t *)b].id);
}

/* Two namespaces claiming one pod: neither is used, both say who the other
 * is. */
static void
ttab_mark_conflicts(struct ttab *t, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		struct ttab_entry *e     = &t->e[t->by_id[i]];
		struct ttab_entry *other = &t->e[t->by_id[i == from ? from + 1 : from]];
		e->state                 = CHAOS__V1__TARGET_STATE__TARGET_STATE_CONFLICT;
		snprintf(
		    e->note, sizeof(e->note),
		    "%zu network namespaces claim pod %.80s (this one and %s of node "
		    "agent %.60s%s): none is used until one is gone",
		    to - from, e->id, other->q.key, other->q.agent_id,
		    to - from > 2 ? ", ..." : "");
	}
}

/* Recomputes every state and the id index (t->mtx held). */
static void
ttab_settle(struct ttab *t)
{
	size_t *idx = realloc(t->by_id, (t->n ? t->n : 1) * sizeof(*idx)), m = 0, k = 0;

	if (idx == NULL)
		return; /* the old index stays: routing as before */
	t->by_id = idx;
	for (size_t i = 0; i < t->n; i++) {
		ttab_settle_one(&t->e[i]);
		if (t->e[i].state == CHAOS__V1__TARGET_STATE__TARGET_STATE_RESOLVED)
			idx[m++] = i;
	}
	qsort_r(idx, m, sizeof(*idx), ttab_cmp_id, t);
	for (size_t i = 0; i < m; i = k) {
		for (k = i + 1; k < m && strcmp(t->e[idx[k]].id, t->e[idx[i]].id) == 0;
		     k++)
			;
		if (k - i > 1)
			ttab_mark_conflicts(t, i, k);
	}
	/* the index keeps only what routes: resolved and unique */
	t->n_by_id = 0;
	for (size_t i = 0; i < m; i++)
		if (t->e[idx[i]].state == CHAOS__V1__TARGET_STATE__TARGET_STATE_RESOLVED)
			idx[t->n_by_id++] = idx[i];
	for (size_t i = 0; i < t->n; i++)
		ttab_log_state(&t->e[i]);
}

static void
ttab_changed(struct ttab *t)
{
	ttab_settle(t);
	t->changes++;
	nng_cv_wake(t->cv);
}

/* ---- reports from agents ---- */

static struct ttab_agent *
ttab_agent(struct ttab *t, const char *id, bool add)
{
	struct ttab_agent *na;

	for (size_t i = 0; i < t->n_agents; i++)
		if (strcmp(t->agents[i].id, id) == 0)
			return &t->agents[i];
	if (!add)
		return NULL;
	if (t->n_agents == t->cap_agents) {
		size_t cap = t->cap_agents ? 2 * t->cap_agents : 16;
		if ((na = realloc(t->agents, cap * sizeof(*na))) == NULL)
			return NULL;
		t->agents     = na;
		t->cap_agents = cap;
	}
	na = &t->agents[t->n_agents++];
	memset(na, 0, sizeof(*na));
	snprintf(na->id, sizeof(na->id), "%s", id);
	return na;
}

static struct ttab_entry *
ttab_find(struct ttab *t, const char *agent_id, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i].q.key, key) == 0 &&
		    strcmp(t->e[i].q.agent_id, agent_id) == 0)
			return &t->e[i];
	return NULL;
}

/* What the agent reports, as a query (agent and node set by the caller). */
static void
ttab_query_from(struct ttab_query *q, const Chaos__V1__Target *pt)
{
	snprintf(q->key, sizeof(q->key), "%s", pt->key);
	snprintf(q->netns, sizeof(q->netns), "%s", pt->netns_name ? pt->netns_name : "");
	snprintf(q->uid, sizeof(q->uid), "%s", pt->pod_uid ? pt->pod_uid : "");
	q->n_ips = 0;
	for (size_t i = 0; i < pt->n_ips && i < LIMIT_TARGET_IPS; i++)
		snprintf(q->ips[q->n_ips++], sizeof(q->ips[0]), "%s", pt->ips[i]);
}

static bool
ttab_same_report(const struct ttab_query *a, const struct ttab_query *b)
{
	if (strcmp(a->netns, b->netns) != 0 || strcmp(a->uid, b->uid) != 0 ||
	    strcmp(a->node, b->node) != 0 || a->n_ips != b->n_ips)
		return false;
	for (size_t i = 0; i < a->n_ips; i++)
		if (strcmp(a->ips[i], b->ips[i]) != 0)
			return false;
	return true;
}

static struct ttab_entry *
ttab_add(struct ttab *t)
{
	struct ttab_entry *ne;

	if (t->n == TTAB_MAX_TARGETS)
		return NULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		if ((ne = realloc(t->e, cap * sizeof(*ne))) == NULL)
			return NULL;
		t->e   = ne;
		t->cap = cap;
	}
	ne = &t->e[t->n++];
	memset(ne, 0, sizeof(*ne));
	return ne;
}

/* Takes one reported target; true when it is new or changed. */
static bool
ttab_take(struct ttab *t, const char *agent_id, const char *node, uint32_t agent_pid,
          const Chaos__V1__Target *pt)
{
	struct ttab_query  q = {0};
	struct ttab_entry *e = ttab_find(t, agent_id, pt->key);

	snprintf(q.agent_id, sizeof(q.agent_id), "%s", agent_id);
	snprintf(q.node, sizeof(q.node), "%s", node);
	ttab_query_from(&q, pt);
	if (e != NULL && ttab_same_report(&e->q, &q)) {
		e->agent_pid = agent_pid;
		e->pid       = pt->has_pid ? pt->pid : 0;
		return false;
	}
	if (e == NULL && (e = ttab_add(t)) == NULL) {
		log_warn("target table full (%d): target %s of %s not taken",
		         TTAB_MAX_TARGETS, pt->key, agent_id);
		return false;
	}
	if (e->incarnation == 0)
		e->incarnation = clk_now_us();
	e->q         = q;
	e->q.gen     = ++t->next_gen;
	e->agent_pid = agent_pid;
	e->pid       = pt->has_pid ? pt->pid : 0;
	e->have_pod  = false;
	snprintf(e->reason, sizeof(e->reason), "%s", TTAB_WAITING);
	return true;
}

static bool
ttab_listed(const Chaos__V1__TargetList *l, const char *key)
{
	for (size_t i = 0; i < l->n_targets; i++)
		if (strcmp(l->targets[i]->key, key) == 0)
			return true;
	return false;
}

/* Drops entry i (swap with the last), logging why. */
static void
ttab_remove(struct ttab *t, size_t i, const char *why)
{
	struct ttab_entry *e = &t->e[i];

	log_info("target %s of node agent %s (netns %s%s%s) %s", e->q.key, e->q.agent_id,
	         e->q.netns[0] ? e->q.netns : "unnamed", e->id[0] ? ", pod " : "", e->id,
	         why);
	t->e[i] = t->e[--t->n];
}

bool
ttab_update(struct ttab *t, const char *agent_id, const char *node, uint32_t agent_pid,
            const Chaos__V1__TargetList *list)
{
	struct ttab_agent *a;
	bool               changed = false;

	nng_mtx_lock(t->mtx);
	if ((a = ttab_agent(t, agent_id, true)) == NULL || list->version <= a->version)
		goto out;
	a->version = list->version;
	for (size_t i = 0; i < t->n;) {
		if (strcmp(t->e[i].q.agent_id, agent_id) == 0 &&
		    !ttab_listed(list, t->e[i].q.key)) {
			ttab_remove(t, i, "is gone: its network namespace vanished");
			changed = true;
			continue;
		}
		i++;
	}
	for (size_t i = 0; i < list->n_targets; i++)
		changed |= ttab_take(t, agent_id, node, agent_pid, list->targets[i]);
	if (changed)
		ttab_changed(t);
out:
	nng_mtx_unlock(t->mtx);
	return changed;
}

void
ttab_drop_agent(struct ttab *t, const char *agent_id)
{
	bool               changed = false;
	struct ttab_agent *a;

	nng_mtx_lock(t->mtx);
	for (size_t i = 0; i < t->n;) {
		if (strcmp(t->e[i].q.agent_id, agent_id) == 0) {
			ttab_remove(
			    t, i,
			    "is dropped: its node agent restarted or was forgotten");
			changed = true;
			continue;
		}
		i++;
	}
	if ((a = ttab_agent(t, agent_id, false)) != NULL)
		*a = t->agents[--t->n_agents];
	if (changed)
		ttab_changed(t);
	nng_mtx_unlock(t->mtx);
}

/* ---- the resolver's side ---- */

size_t
ttab_queries(struct ttab *t, struct ttab_query **out)
{
	size_t n;

	nng_mtx_lock(t->mtx);
	n    = t->n;
	*out = calloc(n ? n : 1, sizeof(**out));
	for (size_t i = 0; *out != NULL && i < n; i++)
		(*out)[i] = t->e[i].q;
	nng_mtx_unlock(t->mtx);
	return *out != NULL ? n : 0;
}

static bool
ttab_same_answer(const struct ttab_entry *e, const struct ttab_answer *a)
{
	return e->have_pod == a->found && strcmp(e->source, a->source) == 0 &&
	    (a->found ? memcmp(&e->pod, &a->pod, sizeof(a->pod)) == 0
	              : strcmp(e->reason, a->reason) == 0);
}

void
ttab_resolve(struct ttab *t, const struct ttab_query *q, const struct ttab_answer *a,
             size_t n)
{
	bool changed = false;

	nng_mtx_lock(t->mtx);
	for (size_t i = 0; i < n; i++) {
		struct ttab_entry *e = ttab_find(t, q[i].agent_id, q[i].key);
		if (e == NULL || e->q.gen != q[i].gen || ttab_same_answer(e, &a[i]))
			continue; /* gone, changed since, or nothing new */
		e->have_pod = a[i].found;
		e->pod      = a[i].pod;
		snprintf(e->source, sizeof(e->source), "%s", a[i].source);
		snprintf(e->reason, sizeof(e->reason), "%s", a[i].reason);
		changed = true;
	}
	if (changed)
		ttab_changed(t);
	nng_mtx_unlock(t->mtx);
}

static bool
ttab_missing_known(const struct ttab *t, const struct ttab_missing *m)
{
	for (size_t i = 0; i < t->n_missing; i++)
		if (strcmp(t->missing[i].pod.namespace_, m->pod.namespace_) == 0 &&
		    strcmp(t->missing[i].pod.name, m->pod.name) == 0)
			return true;
	return false;
}

void
ttab_set_missing(struct ttab *t, const struct ttab_missing *m, size_t n)
{
	struct ttab_missing *copy = n ? calloc(n, sizeof(*copy)) : NULL;

	if (n > 0 && copy == NULL)
		return;
	nng_mtx_lock(t->mtx);
	for (size_t i = 0; i < n; i++) {
		if (!ttab_missing_known(t, &m[i]))
			log_warn("inventory: pod %s/%s: %s", m[i].pod.namespace_,
			         m[i].pod.name, m[i].reason);
		copy[i] = m[i];
	}
	free(t->missing);
	t->missing   = copy;
	t->n_missing = n;
	nng_mtx_unlock(t->mtx);
}

bool
ttab_wait(struct ttab *t, uint64_t *seen, int timeout_ms)
{
	nng_time until = nng_clock() + (nng_duration)timeout_ms;
	bool     changed;

	nng_mtx_lock(t->mtx);
	while (t->changes == *seen && nng_cv_until(t->cv, until) != NNG_ETIMEDOUT)
		;
	changed = t->changes != *seen;
	*seen   = t->changes;
	nng_mtx_unlock(t->mtx);
	return changed;
}

void
ttab_wake(struct ttab *t)
{
	nng_mtx_lock(t->mtx);
	t->changes++;
	nng_cv_wake(t->cv);
	nng_mtx_unlock(t->mtx);
}

/* ---- routing ---- */

static struct ttab_entry *
ttab_by_id(struct ttab *t, const char *id)
{
	size_t lo = 0, hi = t->n_by_id;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int    c   = strcmp(t->e[t->by_id[mid]].id, id);
		if (c == 0)
			return &t->e[t->by_id[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool
ttab_route(struct ttab *t, const char *id, char *agent_id, size_t agent_len, char *key,
           size_t key_len)
{
	struct ttab_entry *e;

	nng_mtx_lock(t->mtx);
	if ((e = ttab_by_id(t, id)) != NULL) {
		snprintf(agent_id, agent_len, "%s", e->q.agent_id);
		snprintf(key, key_len, "%s", e->q.key);
	}
	nng_mtx_unlock(t->mtx);
	return e != NULL;
}

bool
ttab_status(struct ttab *t, const char *id, char *agent_id, size_t len,
            int64_t *incarnation)
{
	struct ttab_entry *e;

	nng_mtx_lock(t->mtx);
	if ((e = ttab_by_id(t, id)) != NULL) {
		snprintf(agent_id, len, "%s", e->q.agent_id);
		*incarnation = e->incarnation;
	}
	nng_mtx_unlock(t->mtx);
	return e != NULL;
}

/* ---- listings ---- */

/* The identity a listing shows: the pod's when there is one, else only
 * "<agent>:<key>" (what the wire lets through for an unresolved target). */
static Chaos__V1__Identity *
ttab_identity(const struct ttab_entry *e, const struct ttab_pod *pod, const char *id)
{
	Chaos__V1__Identity id_pb = CHAOS__V1__IDENTITY__INIT;
	Chaos__V1__Label    lab[TTAB_MAX_LABELS], *labp[TTAB_MAX_LABELS];
	char               *ips[LIMIT_TARGET_IPS + 1];
	char                ip1[46];

	id_pb.agent_id = (char *)id;
	id_pb.pod = (char *)(pod ? pod->name : (e && e->q.netns[0] ? e->q.netns : ""));
	id_pb.namespace_  = (char *)(pod ? pod->namespace_ : "");
	id_pb.node        = (char *)(e ? e->q.node : "");
	id_pb.role        = pod ? pod->role : CHAOS__V1__ROLE__ROLE_UNSPECIFIED;
	id_pb.incarnation = e ? e->incarnation : 1;
	id_pb.has_mode    = true;
	id_pb.mode        = CHAOS__V1__AGENT_MODE__AGENT_MODE_NODE;
	if (e != NULL && e->agent_pid != 0) {
		id_pb.has_pid = true;
		id_pb.pid     = e->agent_pid; /* the process serving it */
	}
	for (size_t i = 0; pod && i < pod->n_labels; i++) {
		chaos__v1__label__init(&lab[i]);
		lab[i].key   = (char *)pod->label_key[i];
		lab[i].value = (char *)pod->label_value[i];
		labp[i]      = &lab[i];
	}
	id_pb.labels   = labp;
	id_pb.n_labels = pod ? pod->n_labels : 0;
	for (size_t i = 0; e && i < e->q.n_ips; i++)
		ips[id_pb.n_ips++] = (char *)e->q.ips[i];
	if (e == NULL && pod != NULL && pod->ip[0] != '\0') {
		snprintf(ip1, sizeof(ip1), "%s", pod->ip);
		ips[id_pb.n_ips++] = ip1;
	}
	id_pb.ips = ips;
	return wire_copy(&id_pb.base);
}

static Chaos__V1__TargetInfo *
ttab_target_info(const struct ttab_entry *e, int state, const char *reason)
{
	Chaos__V1__TargetInfo ti = CHAOS__V1__TARGET_INFO__INIT;

	ti.state = state;
	if (e != NULL) {
		ti.served_by = (char *)e->q.agent_id;
		ti.key       = (char *)e->q.key;
		ti.netns     = e->q.netns[0] ? (char *)e->q.netns : NULL;
		ti.pod_uid   = e->q.uid[0] ? (char *)e->q.uid : NULL;
		ti.source    = e->source[0] ? (char *)e->source : NULL;
	} else {
		ti.source = "inventory";
	}
	ti.reason = reason && reason[0] ? (char *)reason : NULL;
	return wire_copy(&ti.base);
}

static void
ttab_agent_fields(Chaos__V1__AgentInfo *info, const struct ttab_agent_state *st)
{
	info->state = st->connected ? CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED
	                            : CHAOS__V1__AGENT_STATE__AGENT_STATE_LOST;
	info->last_seen_ctl_us = st->last_seen_ctl_us;
	info->has_clock_known  = true;
	info->clock_known      = st->clock_known;
	if (st->clock_known) {
		info->has_clock_offset_ms = info->has_clock_error_ms = true;
		info->clock_offset_ms = st->clock_offset_ms;
		info->clock_error_ms  = st->clock_error_ms;
	}
	if (!st->connected)
		info->lost_reason =
		    strdup(st->known ? st->lost_reason : "its node agent is not known");
}

/* A resolved target whose pod has a connected sidecar: the sidecar wins. */
static int
ttab_shadow(struct ttab_entry *e, ttab_sidecar_fn sidecar, void *arg, char *note,
            size_t len)
{
	const char *by;

	if (e->state != CHAOS__V1__TARGET_STATE__TARGET_STATE_RESOLVED ||
	    (by = sidecar(arg, e->pod.namespace_, e->pod.name)) == NULL) {
		e->shadow_logged = false;
		snprintf(note, len, "%s", e->note);
		return e->state;
	}
	snprintf(note, len,
	         "pod %.80s also has a sidecar agent (%.80s): the sidecar is used, this "
	         "node agent's view of it is not",
	         e->id, by);
	if (!e->shadow_logged)
		log_info("target %s of node agent %s: %s", e->q.key, e->q.agent_id, note);
	e->shadow_logged = true;
	return CHAOS__V1__TARGET_STATE__TARGET_STATE_SHADOWED;
}

static Chaos__V1__AgentInfo *
ttab_info_new(Chaos__V1__Identity *id, Chaos__V1__TargetInfo *ti)
{
	Chaos__V1__AgentInfo *info = calloc(1, sizeof(*info));

	if (info == NULL || id == NULL || ti == NULL) {
		free(info);
		if (id != NULL)
			chaos__v1__identity__free_unpacked(id, NULL);
		if (ti != NULL)
			chaos__v1__target_info__free_unpacked(ti, NULL);
		return NULL;
	}
	chaos__v1__agent_info__init(info);
	info->identity = id;
	info->target   = ti;
	return info;
}

static Chaos__V1__AgentInfo *
ttab_entry_info(struct ttab_entry *e, ttab_agent_fn agent, ttab_sidecar_fn sidecar,
                void *arg)
{
	struct ttab_agent_state st = {0};
	char                    note[512], uid[LIMIT_ID_LEN + 1];
	int                     state = ttab_shadow(e, sidecar, arg, note, sizeof(note));
	bool                    pod =
	    e->have_pod && state != CHAOS__V1__TARGET_STATE__TARGET_STATE_UNRESOLVED;
	Chaos__V1__AgentInfo *info;

	snprintf(uid, sizeof(uid), "%.200s:%s", e->q.agent_id, e->q.key);
	info = ttab_info_new(ttab_identity(e, pod ? &e->pod : NULL, pod ? e->id : uid),
	                     ttab_target_info(e, state, note));
	if (info == NULL)
		return NULL;
	agent(arg, e->q.agent_id, &st);
	ttab_agent_fields(info, &st);
	return info;
}

static Chaos__V1__AgentInfo *
ttab_missing_info(const struct ttab_missing *m)
{
	char                  id[LIMIT_ID_LEN + 1];
	Chaos__V1__AgentInfo *info;

	snprintf(id, sizeof(id), "%.120s/%.120s", m->pod.namespace_, m->pod.name);
	info = ttab_info_new(
	    ttab_identity(NULL, &m->pod, id),
	    ttab_target_info(NULL, CHAOS__V1__TARGET_STATE__TARGET_STATE_MISSING,
	                     m->reason));
	if (info != NULL) {
		info->state       = CHAOS__V1__AGENT_STATE__AGENT_STATE_LOST;
		info->lost_reason = strdup(m->reason);
	}
	return info;
}

static bool
ttab_in_ns(const char *ns, const char *pod_ns, bool has_pod)
{
	return ns == NULL || ns[0] == '\0' || (has_pod && strcmp(ns, pod_ns) == 0);
}

static chaos_err
ttab_push(Chaos__V1__AgentInfo ***list, size_t *n, Chaos__V1__AgentInfo *info)
{
	Chaos__V1__AgentInfo **nl;

	if (info == NULL)
		return CHAOS_ENOMEM;
	if ((nl = realloc(*list, (*n + 1) * sizeof(*nl))) == NULL) {
		ttab_info_free(info);
		chaos__v1__identity__free_unpacked(info->identity, NULL);
		free(info->lost_reason);
		free(info);
		return CHAOS_ENOMEM;
	}
	nl[(*n)++] = info;
	*list      = nl;
	return CHAOS_OK;
}

chaos_err
ttab_snapshot(struct ttab *t, const char *ns, ttab_agent_fn agent,
              ttab_sidecar_fn sidecar, void *arg, Chaos__V1__AgentInfo ***list, size_t *n)
{
	chaos_err rv = CHAOS_OK;

	nng_mtx_lock(t->mtx);
	for (size_t i = 0; i < t->n && rv == CHAOS_OK; i++)
		if (ttab_in_ns(ns, t->e[i].pod.namespace_, t->e[i].have_pod))
			rv = ttab_push(list, n,
			               ttab_entry_info(&t->e[i], agent, sidecar, arg));
	/* a pod with a sidecar agent is not missing, whatever the inventory */
	for (size_t i = 0; i < t->n_missing && rv == CHAOS_OK; i++)
		if (ttab_in_ns(ns, t->missing[i].pod.namespace_, true) &&
		    sidecar(arg, t->missing[i].pod.namespace_, t->missing[i].pod.name) ==
		        NULL)
			rv = ttab_push(list, n, ttab_missing_info(&t->missing[i]));
	nng_mtx_unlock(t->mtx);
	return rv;
}

void
ttab_info_free(Chaos__V1__AgentInfo *info)
{
	if (info == NULL)
		return;
	if (info->target != NULL)
		chaos__v1__target_info__free_unpacked(info->target, NULL);
	info->target = NULL;
}
