// SPDX-License-Identifier: MIT
#include "agent/node.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/worker.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"

struct node {
	struct events        *ev;
	struct discover_roots roots;
	struct worker         w;
	int                   home_fd;
	pthread_mutex_t       mtx; /* guards cur, n_cur */
	struct discover_ns   *cur, *next;
	size_t                n_cur;
	uint64_t              version;
	int64_t               last_sent_mono;
	atomic_bool           resend;
	atomic_bool           live; /* connected once: sending makes sense */
	atomic_int            holds;
	_Atomic uint64_t      scans;
	int64_t               pause_end_mono; /* the scan's pauses end by then */
	bool                  overflow_logged;
};

/* ---- what changed ---- */

static bool
node_same(const struct discover_ns *a, const struct discover_ns *b)
{
	if (a->ino != b->ino || a->dev != b->dev || strcmp(a->name, b->name) != 0 ||
	    strcmp(a->uid, b->uid) != 0 || a->n_ips != b->n_ips)
		return false;
	for (size_t i = 0; i < a->n_ips; i++)
		if (strcmp(a->ips[i], b->ips[i]) != 0)
			return false;
	return true;
}

static const struct discover_ns *
node_find(const struct discover_ns *list, size_t n, const struct discover_ns *ns)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].ino == ns->ino && list[i].dev == ns->dev)
			return &list[i];
	return NULL;
}

static void
node_log_one(const char *what, const struct discover_ns *ns)
{
	log_info("node: target %s %s (netns %s, %s%s, pod uid %s, pid %d)", ns->key, what,
	         ns->name[0] ? ns->name : "unnamed", ns->n_ips ? ns->ips[0] : "no IPv4",
	         ns->n_ips > 1 ? " ..." : "", ns->uid[0] ? ns->uid : "unknown",
	         (int)ns->pid);
}

/* Logs the differences; true when there is one. */
static bool
node_diff(const struct discover_ns *old, size_t n_old, const struct discover_ns *now,
          size_t n_now)
{
	bool changed = n_old != n_now;

	for (size_t i = 0; i < n_now; i++) {
		const struct discover_ns *o = node_find(old, n_old, &now[i]);
		if (o == NULL)
			node_log_one("appeared", &now[i]);
		else if (!node_same(o, &now[i]))
			node_log_one("changed", &now[i]);
		changed |= o == NULL || !node_same(o, &now[i]);
	}
	for (size_t i = 0; i < n_old; i++)
		if (node_find(now, n_now, &old[i]) == NULL)
			node_log_one("vanished", &old[i]);
	return changed;
}

/* ---- the event ---- */

static void
node_target_pb(const struct discover_ns *ns, Chaos__V1__Target *t, char **ips)
{
	chaos__v1__target__init(t);
	t->key = (char *)ns->key;
	if (ns->name[0] != '\0')
		t->netns_name = (char *)ns->name;
	if (ns->uid[0] != '\0')
		t->pod_uid = (char *)ns->uid;
	if (ns->pid > 0) {
		t->has_pid = true;
		t->pid     = (uint32_t)ns->pid;
	}
	for (size_t i = 0; i < ns->n_ips; i++)
		ips[i] = (char *)ns->ips[i];
	t->ips   = ips;
	t->n_ips = ns->n_ips;
}

/* Sends the current list (under n->mtx: the table cannot change). */
static void
node_send(struct node *n)
{
	Chaos__V1__Event      e        = CHAOS__V1__EVENT__INIT;
	Chaos__V1__TargetList list     = CHAOS__V1__TARGET_LIST__INIT;
	Chaos__V1__Target    *t        = calloc(n->n_cur ? n->n_cur : 1, sizeof(*t));
	Chaos__V1__Target   **tp       = calloc(n->n_cur ? n->n_cur : 1, sizeof(*tp));
	char *(*ips)[LIMIT_TARGET_IPS] = calloc(n->n_cur ? n->n_cur : 1, sizeof(*ips));

	if (t == NULL || tp == NULL || ips == NULL)
		goto out;
	for (size_t i = 0; i < n->n_cur; i++) {
		node_target_pb(&n->cur[i], &t[i], ips[i]);
		tp[i] = &t[i];
	}
	list.version   = n->version;
	list.targets   = tp;
	list.n_targets = n->n_cur;
	e.body_case    = CHAOS__V1__EVENT__BODY_TARGETS;
	e.targets      = &list;
	if (events_send(n->ev, &e) == CHAOS_OK)
		n->last_sent_mono = clk_mono_us();
out:
	free(t);
	free(tp);
	free(ips);
}

/* ---- the scan ---- */

/* A scan under way when a hold begins waits too, between two entries (in
 * all at most NODE_HOLD_MAX_MS a scan): it stats every process, reads a cgroup file per
 * namespace and enters namespaces, 3 to 13 ms of CPU on a node of 100 pods
 * that the commands need. Returns at once when the thread is stopping. */
static void
node_pause(void *arg)
{
	struct node  *n = arg;
	struct pollfd p = {.fd = n->w.stop_fd, .events = POLLIN};

	while (atomic_load(&n->holds) > 0 && clk_mono_us() < n->pause_end_mono &&
	       poll(&p, 1, NODE_HOLD_POLL_MS) == 0)
		;
}

/* Addresses: read at once for a namespace that is new or has none yet,
 * else every NODE_IPS_EVERY scans (entering each namespace costs; a pod's
 * address rarely changes). cur is read without the lock: only this thread
 * writes it. */
static void
node_read_ips(struct node *n, struct discover_ns *list, size_t count)
{
	bool all = atomic_load(&n->scans) % NODE_IPS_EVERY == 0;

	for (size_t i = 0; i < count; i++) {
		chaos_why                 why = {{0}};
		const struct discover_ns *old = node_find(n->cur, n->n_cur, &list[i]);
		node_pause(n);
		if (!all && old != NULL && old->n_ips > 0) {
			memcpy(list[i].ips, old->ips, sizeof(old->ips));
			list[i].n_ips = old->n_ips;
			continue;
		}
		/* vanished between the scan and here, or not ours to enter:
		 * listed without addresses */
		if (discover_read_ips(&list[i], n->home_fd, &why) != CHAOS_OK)
			log_debug("node: addresses of %s: %s", list[i].key, why.text);
	}
}

static void
node_scan(struct node *n)
{
	size_t              count = 0;
	chaos_why           why   = {{0}};
	chaos_err           rv;
	bool                changed;
	struct discover_ns *swap;

	n->pause_end_mono = clk_mono_us() + (int64_t)NODE_HOLD_MAX_MS * 1000;
	rv = discover_scan(&n->roots, n->next, LIMIT_NODE_TARGETS, &count, &why);

	if (rv != CHAOS_OK && rv != CHAOS_ETOOBIG) {
		log_warn("node: scan failed: %s", why.text);
		return;
	}
	if (rv == CHAOS_ETOOBIG && !n->overflow_logged) {
		log_warn("node: %s", why.text);
		n->overflow_logged = true;
	}
	node_read_ips(n, n->next, count);
	atomic_fetch_add(&n->scans, 1);
	pthread_mutex_lock(&n->mtx);
	changed  = node_diff(n->cur, n->n_cur, n->next, count);
	swap     = n->cur;
	n->cur   = n->next;
	n->next  = swap;
	n->n_cur = count;
	if (changed)
		n->version++;
	/* before the first connection the controller could not take it (no
	 * Hello yet): the connection asks for the list */
	if (atomic_load(&n->live) &&
	    (changed || atomic_exchange(&n->resend, false) ||
	     clk_mono_us() - n->last_sent_mono >= (int64_t)NODE_RESEND_MS * 1000))
		node_send(n);
	pthread_mutex_unlock(&n->mtx);
}

/* Held, and the last scan recent enough to wait for the release. */
static bool
node_waits(struct node *n, int64_t last_mono)
{
	return atomic_load(&n->holds) > 0 &&
	    clk_mono_us() - last_mono < (int64_t)NODE_HOLD_MAX_MS * 1000;
}

static void *
node_main(void *arg)
{
	struct node  *n    = arg;
	struct pollfd p    = {.fd = n->w.stop_fd, .events = POLLIN};
	int64_t       last = clk_mono_us();
	int           wait = NODE_SCAN_MS;

	while (poll(&p, 1, wait) == 0 || (p.revents == 0 && errno == EINTR)) {
		if (node_waits(n, last)) {
			wait = NODE_HOLD_POLL_MS;
			continue;
		}
		node_scan(n);
		last = clk_mono_us();
		wait = NODE_SCAN_MS;
	}
	return NULL;
}

chaos_err
node_new(struct events *ev, const struct discover_roots *roots, struct node **out,
         chaos_why *why)
{
	struct node *n = calloc(1, sizeof(*n));
	chaos_err    rv;

	if (n == NULL)
		return CHAOS_ENOMEM;
	n->ev      = ev;
	n->home_fd = -1;
	n->version = (uint64_t)clk_now_us(); /* rises across restarts too */
	pthread_mutex_init(&n->mtx, NULL);
	if (roots != NULL)
		n->roots = *roots;
	n->roots.pause     = node_pause;
	n->roots.pause_arg = n;
	if ((rv = worker_init(&n->w, "node", why)) != CHAOS_OK)
		goto fail;
	n->cur  = calloc(LIMIT_NODE_TARGETS, sizeof(*n->cur));
	n->next = calloc(LIMIT_NODE_TARGETS, sizeof(*n->next));
	if (n->cur == NULL || n->next == NULL) {
		rv = CHAOS_ENOMEM;
		goto fail;
	}
	if ((n->home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		rv = chaos_fail(why, chaos_err_from_errno(errno),
		                "own network namespace: %s", strerror(errno));
		goto fail;
	}
	node_scan(n);
	if ((rv = worker_start(&n->w, "chaos-node", node_main, n, why)) != CHAOS_OK)
		goto fail;
	*out = n;
	return CHAOS_OK;
fail:
	node_free(n);
	return rv;
}

void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	worker_stop(&n->w);
	worker_fini(&n->w);
	if (n->home_fd >= 0)
		close(n->home_fd);
	pthread_mutex_destroy(&n->mtx);
	free(n->cur);
	free(n->next);
	free(n);
}

bool
node_target(struct node *n, const char *key, char *path, size_t path_len, char *name,
            size_t name_len)
{
	bool found = false;

	pthread_mutex_lock(&n->mtx);
	for (size_t i = 0; i < n->n_cur && !found; i++) {
		if (strcmp(n->cur[i].key, key) != 0)
			continue;
		snprintf(path, path_len, "%s", n->cur[i].path);
		snprintf(name, name_len, "%s", n->cur[i].name);
		found = true;
	}
	pthread_mutex_unlock(&n->mtx);
	return found;
}

void
node_hold(struct node *n)
{
	atomic_fetch_add(&n->holds, 1);
}

void
node_release(struct node *n)
{
	atomic_fetch_sub(&n->holds, 1);
}

void
node_resend(struct node *n)
{
	atomic_store(&n->resend, true);
	atomic_store(&n->live, true);
}

size_t
node_count(struct node *n)
{
	size_t c;

	pthread_mutex_lock(&n->mtx);
	c = n->n_cur;
	pthread_mutex_unlock(&n->mtx);
	return c;
}

uint64_t
node_scans(struct node *n)
{
	return atomic_load(&n->scans);
}
