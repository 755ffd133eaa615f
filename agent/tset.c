// SPDX-License-Identifier: MIT
#include "agent/tset.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "agent/nft.h"

#define TSET_MAX_WORKERS 256
#define TSET_CACHE_SLOTS 16 /* distinct rulesets: a partition has two sides */
#define TSET_VANISHED                                                                    \
	"its network namespace is gone (the pod was deleted?): its rules went with it"

struct tset_entry {
	char                 key[24];
	char                 path[32];
	char                 label[160];
	int                  fd;
	struct fault_engine *fe;
	uint64_t             held; /* the reply that last got it (tset_hold) */
};

struct tset_worker {
	char id[LIMIT_ID_LEN + 1];
	char key[24];
	bool is_load;
};

struct tset {
	const struct fault_engine *home;
	struct nft_cache          *cache; /* one build per distinct ruleset */
	struct node               *node;
	struct nsexec             *nsx;
	struct tset_entry          e[LIMIT_NODE_TARGETS];
	size_t                     n;
	uint64_t                   hold; /* the reply being placed */
	pthread_mutex_t            wmtx; /* guards w, n_w */
	struct tset_worker         w[TSET_MAX_WORKERS];
	size_t                     n_w;
};

chaos_err
tset_new(const struct fault_engine *home, struct node *node, struct nsexec *nsx,
         struct tset **out)
{
	struct tset *ts = calloc(1, sizeof(*ts));

	if (ts == NULL)
		return CHAOS_ENOMEM;
	if (nft_cache_new(TSET_CACHE_SLOTS, &ts->cache) != CHAOS_OK) {
		free(ts);
		return CHAOS_ENOMEM;
	}
	ts->home = home;
	ts->node = node;
	ts->nsx  = nsx;
	pthread_mutex_init(&ts->wmtx, NULL);
	*out = ts;
	return CHAOS_OK;
}

static void
tset_drop(struct tset *ts, size_t i, Chaos__V1__FaultPhase phase, const char *why)
{
	struct tset_entry *e = &ts->e[i];

	fault_revert_all(e->fe, phase, why);
	fault_engine_free(e->fe);
	close(e->fd);
	ts->e[i] = ts->e[--ts->n];
}

void
tset_free(struct tset *ts)
{
	if (ts == NULL)
		return;
	while (ts->n > 0)
		tset_drop(ts, ts->n - 1, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED,
		          "agent stopping");
	pthread_mutex_destroy(&ts->wmtx);
	nft_cache_free(ts->cache);
	free(ts);
}

static bool
tset_has_workers(struct tset *ts, const char *key)
{
	bool has = false;

	pthread_mutex_lock(&ts->wmtx);
	for (size_t i = 0; i < ts->n_w && !has; i++)
		has = strcmp(ts->w[i].key, key) == 0;
	pthread_mutex_unlock(&ts->wmtx);
	return has;
}

/* A slot for a new target: a free one, or one with nothing in force that
 * no command of the reply being placed holds (its work still to run). */
static struct tset_entry *
tset_slot(struct tset *ts)
{
	if (ts->n < LIMIT_NODE_TARGETS)
		return &ts->e[ts->n++];
	for (size_t i = 0; i < ts->n; i++) {
		if (ts->e[i].held == ts->hold || fault_count(ts->e[i].fe) > 0 ||
		    tset_has_workers(ts, ts->e[i].key))
			continue;
		fault_engine_free(ts->e[i].fe);
		close(ts->e[i].fd);
		return &ts->e[i];
	}
	return NULL;
}

/* Opens the namespace and makes its engine into a new slot. */
static chaos_err
tset_make(struct tset *ts, const char *key, struct tset_entry **out, chaos_why *why)
{
	char               path[DISCOVER_PATH_LEN], name[LIMIT_NETNS_NAME_LEN + 1];
	struct tset_entry *e;
	struct fault_where where;
	int                fd;

	if (!node_target(ts->node, key, path, sizeof(path), name, sizeof(name)))
		return chaos_fail(
		    why, CHAOS_ENOENT,
		    "target %s: no such network namespace on this node (its "
		    "pod was deleted?)",
		    key);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return chaos_fail(why, chaos_err_from_errno(errno), "target %s: %s: %s",
		                  key, path, strerror(errno));
	if ((e = tset_slot(ts)) == NULL) {
		close(fd);
		return chaos_fail(why, CHAOS_EBUSY,
		                  "target %s: %u targets already have faults, probes or "
		                  "loads in force",
		                  key, LIMIT_NODE_TARGETS);
	}
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	snprintf(e->key, sizeof(e->key), "%s", key);
	/* the held descriptor, not the path found: a /proc/<pid> path dies
	 * with its process while the namespace lives on */
	snprintf(e->path, sizeof(e->path), "/proc/self/fd/%d", fd);
	snprintf(e->label, sizeof(e->label), "target %s (netns %s)", key,
	         name[0] ? name : "unnamed");
	where = (struct fault_where) {
	    .nsx = ts->nsx, .path = e->path, .label = e->label, .cache = ts->cache};
	if (fault_engine_new_target(ts->home, &where, &e->fe) != CHAOS_OK) {
		close(fd);
		ts->e[(size_t)(e - ts->e)] = ts->e[--ts->n];
		return CHAOS_ENOMEM;
	}
	log_info("node: acting on %s", e->label);
	*out = e;
	return CHAOS_OK;
}

void
tset_hold(struct tset *ts)
{
	ts->hold++;
}

chaos_err
tset_get(struct tset *ts, const char *key, struct tset_target *out, chaos_why *why)
{
	struct tset_entry *e = NULL;
	chaos_err          rv;

	for (size_t i = 0; i < ts->n && e == NULL; i++)
		if (strcmp(ts->e[i].key, key) == 0)
			e = &ts->e[i];
	if (e == NULL && (rv = tset_make(ts, key, &e, why)) != CHAOS_OK)
		return rv;
	e->held    = ts->hold;
	out->key   = e->key;
	out->path  = e->path;
	out->fd    = e->fd;
	out->label = e->label;
	out->fe    = e->fe;
	return CHAOS_OK;
}

void
tset_note_worker(struct tset *ts, const char *key, const char *id, bool is_load)
{
	pthread_mutex_lock(&ts->wmtx);
	if (ts->n_w < TSET_MAX_WORKERS) {
		struct tset_worker *w = &ts->w[ts->n_w++];
		snprintf(w->id, sizeof(w->id), "%s", id);
		snprintf(w->key, sizeof(w->key), "%s", key);
		w->is_load = is_load;
	}
	pthread_mutex_unlock(&ts->wmtx);
}

void
tset_forget_worker(struct tset *ts, const char *id)
{
	pthread_mutex_lock(&ts->wmtx);
	for (size_t i = 0; i < ts->n_w; i++)
		if (strcmp(ts->w[i].id, id) == 0) {
			ts->w[i] = ts->w[--ts->n_w];
			break;
		}
	pthread_mutex_unlock(&ts->wmtx);
}

void
tset_stop_workers(struct tset *ts, const char *key, struct probe_set *ps,
                  struct load_set *ls)
{
	struct tset_worker stop[TSET_MAX_WORKERS];
	size_t             n = 0;

	pthread_mutex_lock(&ts->wmtx);
	for (size_t i = 0; i < ts->n_w;) {
		if (strcmp(ts->w[i].key, key) != 0) {
			i++;
			continue;
		}
		stop[n++] = ts->w[i];
		ts->w[i]  = ts->w[--ts->n_w];
	}
	pthread_mutex_unlock(&ts->wmtx);
	/* stopping joins threads: outside the lock */
	for (size_t i = 0; i < n; i++) {
		if (stop[i].is_load)
			load_stop(ls, stop[i].id);
		else
			probe_stop(ps, stop[i].id);
	}
}

void
tset_sweep(struct tset *ts, struct probe_set *ps, struct load_set *ls)
{
	char path[DISCOVER_PATH_LEN], name[LIMIT_NETNS_NAME_LEN + 1];

	for (size_t i = 0; i < ts->n;) {
		struct tset_entry *e = &ts->e[i];
		if (node_target(ts->node, e->key, path, sizeof(path), name,
		                sizeof(name))) {
			i++;
			continue;
		}
		log_warn(
		    "node: %s vanished: %s; reverting its faults, stopping its probes "
		    "and loads",
		    e->label, TSET_VANISHED);
		tset_stop_workers(ts, e->key, ps, ls);
		tset_drop(ts, i, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_EXPIRED,
		          "target vanished: " TSET_VANISHED);
	}
}

size_t
tset_engines(struct tset *ts, struct fault_engine **out, size_t cap)
{
	size_t n = 0;

	for (; n < ts->n && n < cap; n++)
		out[n] = ts->e[n].fe;
	return n;
}
