// SPDX-License-Identifier: MIT
#include "agent/worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define WORKER_STACK_SIZE (256u * 1024u)

struct worker_set {
	char              what[16];
	pthread_mutex_t   lock;
	worker_release_fn release;
	struct worker   **w; /* max of them, n used */
	size_t            n, max;
	char (*seen)[LIMIT_ID_LEN + 1]; /* a ring of `remember` ids */
	size_t remember, n_seen;        /* n_seen: total ever started */
};

chaos_err
worker_init(struct worker *w, const char *id, chaos_why *why)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->id, sizeof(w->id), "%s", id != NULL ? id : "");
	atomic_init(&w->done, false);
	w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->stop_fd < 0)
		return chaos_fail(why, chaos_err_from_errno(errno), "eventfd: %s",
		                  strerror(errno));
	return CHAOS_OK;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	w->fn(w->arg);
	atomic_store(&w->done, true);
	return NULL;
}

chaos_err
worker_start(struct worker *w, const char *name, void *(*fn)(void *), void *arg,
             chaos_why *why)
{
	pthread_attr_t attr;
	int            rc;

	w->fn  = fn;
	w->arg = arg;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK_SIZE);
	rc = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return chaos_fail(why, chaos_err_from_errno(rc), "%s %s: thread: %s",
		                  name, w->id, strerror(rc));
	pthread_setname_np(w->thread, name);
	w->started = true;
	return CHAOS_OK;
}

void
worker_signal(struct worker *w)
{
	uint64_t one = 1;

	/* An eventfd write of 1 only fails on counter overflow: not here. */
	(void)!write(w->stop_fd, &one, sizeof(one));
}

void
worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	worker_signal(w);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void
worker_fini(struct worker *w)
{
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	w->stop_fd = -1;
}

/* ---- the set ---- */

chaos_err
worker_set_new(const char *what, size_t max, size_t remember, worker_release_fn release,
               struct worker_set **out)
{
	struct worker_set *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return CHAOS_ENOMEM;
	s->w    = calloc(max, sizeof(s->w[0]));
	s->seen = calloc(remember ? remember : 1, sizeof(s->seen[0]));
	if (s->w == NULL || s->seen == NULL) {
		free(s->w);
		free(s->seen);
		free(s);
		return CHAOS_ENOMEM;
	}
	snprintf(s->what, sizeof(s->what), "%s", what);
	s->max      = max;
	s->remember = remember;
	s->release  = release;
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return CHAOS_OK;
}

void
worker_set_free(struct worker_set *s)
{
	if (s == NULL)
		return;
	worker_set_stop_all(s);
	pthread_mutex_destroy(&s->lock);
	free(s->w);
	free(s->seen);
	free(s);
}

/* Index of a running worker, or -1. Called with the lock held. */
static ptrdiff_t
worker_set_index(const struct worker_set *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->w[i]->id, id) == 0)
			return (ptrdiff_t)i;
	return -1;
}

static bool
worker_set_seen(const struct worker_set *s, const char *id)
{
	size_t n = s->n_seen < s->remember ? s->n_seen : s->remember;

	for (size_t i = 0; i < n; i++)
		if (strcmp(s->seen[i], id) == 0)
			return true;
	return false;
}

/* Takes worker i out of the set. Called with the lock held. */
static struct worker *
worker_set_take(struct worker_set *s, size_t i)
{
	struct worker *w = s->w[i];

	s->w[i]    = s->w[--s->n];
	s->w[s->n] = NULL;
	return w;
}

chaos_err
worker_set_start(struct worker_set *s, const char *id, worker_make_fn make, void *arg,
                 chaos_why *why)
{
	struct worker *w = NULL;
	chaos_err      rv;

	pthread_mutex_lock(&s->lock);
	if (worker_set_index(s, id) >= 0 || worker_set_seen(s, id))
		rv = CHAOS_OK;
	else if (s->n == s->max)
		rv = chaos_fail(why, CHAOS_EBUSY, "%s %s: %zu %ss already running",
		                s->what, id, s->max, s->what);
	else if ((rv = make(arg, &w, why)) == CHAOS_OK) {
		s->w[s->n++] = w;
		if (s->remember > 0)
			snprintf(s->seen[s->n_seen++ % s->remember], sizeof(s->seen[0]),
			         "%s", id);
	}
	pthread_mutex_unlock(&s->lock);
	return rv;
}

static void
worker_set_join(struct worker_set *s, struct worker *w)
{
	worker_stop(w);
	s->release(w);
}

chaos_err
worker_set_stop(struct worker_set *s, const char *id)
{
	struct worker *w = NULL;
	bool           seen;
	ptrdiff_t      i;

	if (id == NULL)
		return CHAOS_ENOENT;
	pthread_mutex_lock(&s->lock);
	if ((i = worker_set_index(s, id)) >= 0)
		w = worker_set_take(s, (size_t)i);
	seen = worker_set_seen(s, id);
	pthread_mutex_unlock(&s->lock);
	if (w == NULL)
		return seen ? CHAOS_OK : CHAOS_ENOENT;
	worker_set_join(s, w);
	return CHAOS_OK;
}

/* Which workers a pass over the set takes out (lock held): true to take
 * w, with w->ended set when a lease ends it. */
typedef bool (*worker_pick_fn)(struct worker *w, void *arg);

/* Takes the workers pick chooses out of the set, as a list linked
 * through next. */
static struct worker *
worker_set_take_if(struct worker_set *s, worker_pick_fn pick, void *arg)
{
	struct worker *list = NULL, *w;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n;) {
		if (!pick(s->w[i], arg)) {
			i++;
			continue;
		}
		w       = worker_set_take(s, i);
		w->next = list;
		list    = w;
	}
	pthread_mutex_unlock(&s->lock);
	return list;
}

/* Stops the workers pick chooses: all signalled first, then all joined;
 * gone is told of those a lease ended. */
static void
worker_set_drop(struct worker_set *s, worker_pick_fn pick, void *arg, worker_gone_fn gone,
                void *gone_arg)
{
	struct worker *list = worker_set_take_if(s, pick, arg), *next;

	for (struct worker *w = list; w != NULL; w = w->next)
		worker_signal(w);
	for (struct worker *w = list; w != NULL; w = next) {
		char               id[LIMIT_ID_LEN + 1], why[160];
		enum lease_verdict v = w->ended;

		next = w->next; /* release frees w */
		snprintf(id, sizeof(id), "%s", w->id);
		lease_describe(&w->lease, v, why, sizeof(why));
		worker_set_join(s, w);
		if (v != LEASE_RENEWED && gone != NULL)
			gone(gone_arg, s->what, id, why);
	}
}

static bool
worker_pick_all(struct worker *w, void *arg)
{
	(void)w;
	(void)arg;
	return true;
}

static bool
worker_pick_done(struct worker *w, void *arg)
{
	(void)arg;
	return atomic_load(&w->done);
}

void
worker_set_stop_all(struct worker_set *s)
{
	worker_set_drop(s, worker_pick_all, NULL, NULL, NULL);
}

void
worker_set_reap(struct worker_set *s)
{
	worker_set_drop(s, worker_pick_done, NULL, NULL, NULL);
}

/* ---- leases ---- */

struct worker_reply {
	int64_t  now_mono_us;
	uint64_t instance;
	uint32_t ms;
};

static bool
worker_pick_unleased(struct worker *w, void *arg)
{
	const struct worker_reply *r = arg;

	if (atomic_load(&w->done))
		return false;
	w->ended = lease_reply(&w->lease, r->now_mono_us, r->instance, true, r->ms);
	return w->ended != LEASE_RENEWED;
}

void
worker_set_leases(struct worker_set *s, int64_t now_mono_us, uint64_t instance,
                  uint32_t ms, worker_gone_fn gone, void *arg)
{
	struct worker_reply r = {
	    .now_mono_us = now_mono_us, .instance = instance, .ms = ms};

	worker_set_drop(s, worker_pick_unleased, &r, gone, arg);
}

struct worker_due {
	int64_t now_mono_us;
	int64_t next; /* the earliest lease end of those kept */
};

static bool
worker_pick_expired(struct worker *w, void *arg)
{
	struct worker_due *d = arg;

	if (atomic_load(&w->done) || w->lease.end_mono == 0)
		return false;
	if (lease_ended(&w->lease, d->now_mono_us)) {
		w->ended = LEASE_EXPIRED;
		return true;
	}
	if (d->next == 0 || w->lease.end_mono < d->next)
		d->next = w->lease.end_mono;
	return false;
}

int64_t
worker_set_lease_tick(struct worker_set *s, int64_t now_mono_us, worker_gone_fn gone,
                      void *arg)
{
	struct worker_due d = {.now_mono_us = now_mono_us};

	worker_set_drop(s, worker_pick_expired, &d, gone, arg);
	return d.next;
}

size_t
worker_set_count(struct worker_set *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}
