// SPDX-License-Identifier: MIT
#include "agent/load.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent/load_http.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/hist.h"
#include "common/log.h"
#include "common/wire.h"

#define LOAD_STACK_SIZE (256u * 1024u)
#define LOAD_CLASSES (CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER + 1)
#define LOAD_SLACK_MS 1000 /* margin over timeout_ms when sizing the interval */
#define LOAD_NEVER INT64_MAX

/* The counts of one report interval, or of the whole run. */
struct load_iv {
	int64_t      index; /* -1: slot unused */
	uint64_t     scheduled, ok, late;
	uint64_t     errors[LOAD_CLASSES];
	uint64_t     in_flight;
	struct hist *hist; /* ok latencies; allocated on the first one */
};

struct load {
	char              id[LIMIT_ID_LEN + 1];
	uint32_t          rate, duration_ms;
	int64_t           interval_us;
	struct events    *ev;
	struct load_http *http;
	int               stop_fd; /* eventfd, written once by load_signal() */
	atomic_bool       done;    /* the thread has sent its final report */
	pthread_t         thread;

	/* Below: owned by the load's thread. */
	int64_t        start_mono, start_wall;
	uint64_t       n_slots, next_slot;
	struct load_iv ring[LOAD_MAX_PENDING]; /* interval i in ring[i % size] */
	int64_t        iv_lo;                  /* oldest interval not yet reported */
	int64_t        iv_hi;                  /* newest interval with a slot, or -1 */
	struct load_iv total;
	uint64_t       cancelled;
};

struct load_set {
	struct events  *ev;
	pthread_mutex_t lock;
	struct load    *loads[LOAD_MAX];
	size_t          n;
	char            seen[LOAD_REMEMBERED][LIMIT_ID_LEN + 1];
	size_t          n_seen; /* total ever started; seen[] is a ring */
};

static void
load_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Monotonic offset of slot k from the start. */
static int64_t
load_slot_us(const struct load *l, uint64_t k)
{
	return (int64_t)(k * 1000000u / l->rate);
}

/* ---- report intervals ---- */

static struct load_iv *
load_iv_at(struct load *l, int64_t index)
{
	return &l->ring[index % LOAD_MAX_PENDING];
}

static void
load_tally(struct load_iv *iv, Chaos__V1__ErrorClass cls)
{
	if (cls == CHAOS__V1__ERROR_CLASS__ERROR_CLASS_NONE)
		iv->ok++;
	else
		iv->errors[cls]++;
}

/* Counts an outcome in its interval and in the totals; the latency (from
 * the scheduled time) only for an ok one. */
static void
load_outcome(struct load *l, int64_t index, Chaos__V1__ErrorClass cls, int64_t latency_us)
{
	struct load_iv *iv = load_iv_at(l, index);

	load_tally(iv, cls);
	load_tally(&l->total, cls);
	iv->in_flight--;
	if (cls != CHAOS__V1__ERROR_CLASS__ERROR_CLASS_NONE)
		return;
	if (latency_us < 0)
		latency_us = 0;
	if (iv->hist == NULL && hist_new(&iv->hist) != CHAOS_OK)
		log_warn("load %s: out of memory for a histogram; a latency is lost",
		         l->id);
	if (iv->hist != NULL)
		hist_record(iv->hist, (uint64_t)latency_us);
	hist_record(l->total.hist, (uint64_t)latency_us);
}

static void
load_emit(struct load *l, const struct load_iv *iv, bool final, int64_t start_wall,
          int64_t length_us)
{
	Chaos__V1__Event      e = CHAOS__V1__EVENT__INIT;
	Chaos__V1__LoadReport r = CHAOS__V1__LOAD_REPORT__INIT;
	uint64_t              errors[LOAD_CLASSES];

	memcpy(errors, iv->errors, sizeof(errors));
	r.load_id                     = l->id;
	r.scheduled                   = iv->scheduled;
	r.ok                          = iv->ok;
	r.late                        = iv->late;
	r.n_errors_by_class           = LOAD_CLASSES;
	r.errors_by_class             = errors;
	r.final                       = final;
	r.has_interval_start_agent_us = true;
	r.interval_start_agent_us     = start_wall;
	r.has_interval_ms             = true;
	r.interval_ms                 = (uint32_t)(length_us / 1000);
	if (iv->hist != NULL)
		r.latency_hist = (uint64_t *)hist_counts(iv->hist, &r.n_latency_hist);
	e.body_case = CHAOS__V1__EVENT__BODY_LOAD;
	e.load      = &r;
	/* A dropped event is counted by events; the final totals still add up. */
	(void)events_send(l->ev, &e);
}

static void
load_iv_clear(struct load_iv *iv)
{
	/* Freed, not kept: only intervals with latencies pending hold one. */
	hist_free(iv->hist);
	memset(iv, 0, sizeof(*iv));
	iv->index = -1;
}

/* Whether every slot of interval index has been dealt with. */
static bool
load_iv_closed(const struct load *l, int64_t index, bool ending)
{
	return ending || l->next_slot >= l->n_slots ||
	    load_slot_us(l, l->next_slot) >= (index + 1) * l->interval_us;
}

/* Sends, in order, the reports of intervals whose slots are all past and
 * whose requests have all completed. */
static void
load_flush(struct load *l, bool ending)
{
	for (; l->iv_lo <= l->iv_hi; l->iv_lo++) {
		struct load_iv *iv = load_iv_at(l, l->iv_lo);

		if (iv->index != l->iv_lo)
			continue; /* nothing was scheduled in it */
		if (iv->in_flight > 0 || !load_iv_closed(l, l->iv_lo, ending))
			return;
		if (iv->scheduled > 0) /* 0: all it had was cancelled by a stop */
			load_emit(l, iv, false, l->start_wall + l->iv_lo * l->interval_us,
			          l->interval_us);
		load_iv_clear(iv);
	}
}

/* ---- the schedule ---- */

/* Called by the pool for every request that ends. */
static void
load_on_end(void *arg, const struct load_http_end *e)
{
	struct load    *l  = arg;
	struct load_iv *iv = load_iv_at(l, e->tag);

	if (e->cancelled) { /* no outcome: out of the counts altogether */
		iv->scheduled--;
		iv->in_flight--;
		l->total.scheduled--;
		l->cancelled++;
		return;
	}
	load_outcome(l, e->tag, e->cls, e->end_us - e->sched_us);
}

/* The interval of a slot, made ready to count in. */
static struct load_iv *
load_iv_for(struct load *l, int64_t index)
{
	struct load_iv *iv = load_iv_at(l, index);

	if (iv->index != index) {
		load_iv_clear(iv);
		iv->index = index;
		l->iv_hi  = index;
	}
	return iv;
}

/* Sends request slot k now, or counts it late. */
static void
load_issue(struct load *l, uint64_t k, int64_t index)
{
	int64_t         off = load_slot_us(l, k);
	struct load_iv *iv  = load_iv_for(l, index);

	iv->scheduled++;
	l->total.scheduled++;
	iv->in_flight++; /* first: the request may end inside the send */
	if (!load_http_send(l->http, l->start_mono + off, index)) {
		iv->in_flight--;
		iv->late++;
		l->total.late++;
	}
}

/*
 * Issues every slot due by now; returns the monotonic time of the next one
 * (LOAD_NEVER after the last). A slot whose interval has no room in the ring
 * yet waits for the next turn of the loop; that turn ends the oldest
 * interval's requests, whose timeouts have passed by then (see
 * load_interval_us()), so it never waits longer than that.
 */
static int64_t
load_issue_due(struct load *l, int64_t now)
{
	while (l->next_slot < l->n_slots) {
		int64_t off   = load_slot_us(l, l->next_slot);
		int64_t index = off / l->interval_us;

		if (l->start_mono + off > now)
			return l->start_mono + off;
		if (index - l->iv_lo >= LOAD_MAX_PENDING)
			return now;
		load_issue(l, l->next_slot++, index);
	}
	return LOAD_NEVER;
}

static void
load_finish(struct load *l, bool stopped)
{
	int64_t ran_us = clk_mono_us() - l->start_mono;
	int64_t sched  = (int64_t)l->duration_ms * 1000;

	/* The final report spans the schedule: all of it, or up to the stop. */
	if (!stopped || ran_us > sched)
		ran_us = sched;

	if (stopped)
		load_http_cancel_all(l->http);
	load_flush(l, true);
	load_emit(l, &l->total, true, l->start_wall, ran_us);
	log_info(
	    "load %s %s: %llu scheduled, %llu ok, %llu late, %llu errors, %llu cancelled",
	    l->id, stopped ? "stopped" : "done", (unsigned long long)l->total.scheduled,
	    (unsigned long long)l->total.ok, (unsigned long long)l->total.late,
	    (unsigned long long)(l->total.scheduled - l->total.ok - l->total.late),
	    (unsigned long long)l->cancelled);
}

static void *
load_main(void *arg)
{
	struct load *l       = arg;
	bool         stopped = false;

	if (load_http_resolve(l->http) != CHAOS_OK)
		log_warn("load %s: cannot resolve the target; every request counts as a "
		         "DNS error",
		         l->id);
	l->start_wall = clk_now_us();
	l->start_mono = clk_mono_us();
	for (;;) {
		int64_t next_due = load_issue_due(l, clk_mono_us());

		if (next_due == LOAD_NEVER && load_http_in_flight(l->http) == 0)
			break;
		if (!load_http_wait(l->http, next_due)) {
			stopped = true;
			break;
		}
		load_flush(l, false);
	}
	load_finish(l, stopped);
	atomic_store(&l->done, true);
	return NULL;
}

/* ---- set-up and the set ---- */

static void
load_free(struct load *l)
{
	if (l == NULL)
		return;
	load_http_free(l->http);
	for (size_t i = 0; i < LOAD_MAX_PENDING; i++)
		hist_free(l->ring[i].hist);
	hist_free(l->total.hist);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	free(l);
}

static int
load_check_spec(const Chaos__V1__LoadSpec *s, char *err, size_t errlen)
{
	const char *why = NULL;
	char        url_err[160];
	int         rv = CHAOS_EINVAL;

	if (s == NULL || wire_check_id(s->load_id) != CHAOS_OK)
		why = "bad load_id";
	else if ((rv = load_http_check_url(s->url, url_err, sizeof(url_err))) != CHAOS_OK)
		why = url_err;
	else if ((rv = CHAOS_EINVAL,
	          s->rate_rps == 0 || s->rate_rps > LIMIT_LOAD_MAX_RATE))
		why = "rate_rps out of range";
	else if (s->concurrency == 0 || s->concurrency > LIMIT_LOAD_MAX_CONCURRENCY)
		why = "concurrency out of range";
	else if (s->duration_ms == 0 || s->duration_ms > LIMIT_LOAD_MAX_DURATION_MS)
		why = "duration_ms out of range";
	else if (s->timeout_ms == 0 || s->timeout_ms > LOAD_MAX_TIMEOUT_MS)
		why = "timeout_ms out of range";
	else if (s->has_report_interval_ms && s->report_interval_ms != 0 &&
	         s->report_interval_ms < LOAD_MIN_INTERVAL_MS)
		why = "report_interval_ms out of range";
	if (why == NULL)
		return CHAOS_OK;
	load_errf(err, errlen, "load %s: %s", s != NULL && s->load_id ? s->load_id : "?",
	          why);
	return rv;
}

/*
 * The report interval: as asked (default 100 ms), widened so that the
 * requests of LOAD_MAX_PENDING - 2 intervals cover timeout_ms and a margin.
 * A request ends at the latest timeout_ms after its scheduled time, so by
 * the time a slot LOAD_MAX_PENDING intervals past the oldest open one is
 * due, that one's requests have all ended and its ring slot is free.
 */
static int64_t
load_interval_us(const Chaos__V1__LoadSpec *s)
{
	uint32_t asked = s->has_report_interval_ms && s->report_interval_ms != 0
	    ? s->report_interval_ms
	    : LOAD_DEFAULT_INTERVAL_MS;
	uint32_t least = (s->timeout_ms + LOAD_SLACK_MS + LOAD_MAX_PENDING - 3) /
	    (LOAD_MAX_PENDING - 2);

	return (int64_t)(asked > least ? asked : least) * 1000;
}

static int
load_new(struct events *ev, const Chaos__V1__LoadSpec *s, struct load **out, char *err,
         size_t errlen)
{
	struct load *l        = calloc(1, sizeof(*l));
	char         why[160] = "";
	int          rv;

	if (l == NULL)
		return CHAOS_ENOMEM;
	l->stop_fd = -1;
	snprintf(l->id, sizeof(l->id), "%s", s->load_id);
	l->ev          = ev;
	l->rate        = s->rate_rps;
	l->duration_ms = s->duration_ms;
	l->interval_us = load_interval_us(s);
	l->n_slots     = (uint64_t)s->rate_rps * s->duration_ms / 1000u;
	l->iv_hi       = -1;
	for (size_t i = 0; i < LOAD_MAX_PENDING; i++)
		l->ring[i].index = -1;
	if (hist_new(&l->total.hist) != CHAOS_OK) {
		rv = CHAOS_ENOMEM;
		goto fail;
	}
	if ((rv = load_http_new(s->url, s->concurrency, s->timeout_ms, load_on_end, l,
	                        &l->http, why, sizeof(why))) != CHAOS_OK)
		goto fail;
	if ((l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		rv = chaos_err_from_errno(errno);
	else
		rv = load_http_watch(l->http, l->stop_fd);
	if (rv != CHAOS_OK)
		snprintf(why, sizeof(why), "eventfd: %s", chaos_strerror(rv));
	if (rv == CHAOS_OK) {
		*out = l;
		return CHAOS_OK;
	}
fail:
	load_errf(err, errlen, "load %s: %s", s->load_id,
	          why[0] ? why : chaos_strerror(rv));
	load_free(l);
	return rv;
}

static int
load_spawn(struct load *l, char *err, size_t errlen)
{
	pthread_attr_t attr;
	int            rc;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, LOAD_STACK_SIZE);
	rc = pthread_create(&l->thread, &attr, load_main, l);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		load_errf(err, errlen, "load %s: thread: %s", l->id, strerror(rc));
		return chaos_err_from_errno(rc);
	}
	/* So top -H and perf tell it from the agent's other threads. */
	pthread_setname_np(l->thread, "chaos-load");
	return CHAOS_OK;
}

static void
load_signal(struct load *l)
{
	uint64_t one = 1;

	/* An eventfd write of 1 only fails on counter overflow: not here. */
	(void)!write(l->stop_fd, &one, sizeof(one));
}

static void
load_join(struct load *l)
{
	pthread_join(l->thread, NULL);
	load_free(l);
}

/* Index of a running load, or -1. Called with the lock held. */
static ptrdiff_t
load_index(const struct load_set *ls, const char *id)
{
	for (size_t i = 0; i < ls->n; i++)
		if (strcmp(ls->loads[i]->id, id) == 0)
			return (ptrdiff_t)i;
	return -1;
}

static bool
load_seen(const struct load_set *ls, const char *id)
{
	size_t n = ls->n_seen < LOAD_REMEMBERED ? ls->n_seen : LOAD_REMEMBERED;

	for (size_t i = 0; i < n; i++)
		if (strcmp(ls->seen[i], id) == 0)
			return true;
	return false;
}

/* Takes the loads that ended by themselves out of the set, for joining
 * outside the lock. Called with the lock held; returns how many. */
static size_t
load_take_done(struct load_set *ls, struct load **done)
{
	size_t n = 0;

	for (size_t i = 0; i < ls->n;) {
		if (atomic_load(&ls->loads[i]->done)) {
			done[n++]        = ls->loads[i];
			ls->loads[i]     = ls->loads[--ls->n];
			ls->loads[ls->n] = NULL;
			continue;
		}
		i++;
	}
	return n;
}

static void
load_reap(struct load_set *ls)
{
	struct load *done[LOAD_MAX];
	size_t       n;

	pthread_mutex_lock(&ls->lock);
	n = load_take_done(ls, done);
	pthread_mutex_unlock(&ls->lock);
	for (size_t i = 0; i < n; i++)
		load_join(done[i]);
}

/* Creates and starts the load. Called with the lock held. */
static int
load_launch(struct load_set *ls, const Chaos__V1__LoadSpec *spec, char *err,
            size_t errlen)
{
	struct load *l = NULL;
	int          rv;

	if ((rv = load_new(ls->ev, spec, &l, err, errlen)) != CHAOS_OK)
		return rv;
	if ((rv = load_spawn(l, err, errlen)) != CHAOS_OK) {
		load_free(l);
		return rv;
	}
	ls->loads[ls->n++] = l;
	snprintf(ls->seen[ls->n_seen++ % LOAD_REMEMBERED], sizeof(ls->seen[0]), "%s",
	         l->id);
	log_info("load %s started: %s at %u/s for %u ms, concurrency %u, timeout %u ms, "
	         "reports every %lld ms",
	         l->id, spec->url, l->rate, l->duration_ms, spec->concurrency,
	         spec->timeout_ms, (long long)(l->interval_us / 1000));
	return CHAOS_OK;
}

int
load_start(struct load_set *ls, const Chaos__V1__LoadSpec *spec, char *err, size_t errlen)
{
	int rv;

	if ((rv = load_check_spec(spec, err, errlen)) != CHAOS_OK)
		return rv;
	load_reap(ls);
	pthread_mutex_lock(&ls->lock);
	if (load_index(ls, spec->load_id) >= 0 || load_seen(ls, spec->load_id))
		rv = CHAOS_OK;
	else if (ls->n == LOAD_MAX) {
		load_errf(err, errlen, "load %s: %d loads already running", spec->load_id,
		          LOAD_MAX);
		rv = CHAOS_EBUSY;
	} else
		rv = load_launch(ls, spec, err, errlen);
	pthread_mutex_unlock(&ls->lock);
	return rv;
}

int
load_stop(struct load_set *ls, const char *load_id)
{
	struct load *l    = NULL;
	bool         seen = false;
	ptrdiff_t    i;

	if (load_id == NULL)
		return CHAOS_ENOENT;
	pthread_mutex_lock(&ls->lock);
	if ((i = load_index(ls, load_id)) >= 0) {
		l                = ls->loads[i];
		ls->loads[i]     = ls->loads[--ls->n];
		ls->loads[ls->n] = NULL;
	}
	seen = load_seen(ls, load_id);
	pthread_mutex_unlock(&ls->lock);
	if (l == NULL)
		return seen ? CHAOS_OK : CHAOS_ENOENT;
	/* Joined outside the lock so other loads can start and stop meanwhile. */
	load_signal(l);
	load_join(l);
	return CHAOS_OK;
}

void
load_stop_all(struct load_set *ls)
{
	struct load *all[LOAD_MAX];
	size_t       n;

	pthread_mutex_lock(&ls->lock);
	n = ls->n;
	memcpy(all, ls->loads, n * sizeof(all[0]));
	memset(ls->loads, 0, sizeof(ls->loads));
	ls->n = 0;
	pthread_mutex_unlock(&ls->lock);
	for (size_t i = 0; i < n; i++)
		load_signal(all[i]);
	for (size_t i = 0; i < n; i++)
		load_join(all[i]);
}

size_t
load_count(struct load_set *ls)
{
	size_t n;

	load_reap(ls);
	pthread_mutex_lock(&ls->lock);
	n = ls->n;
	pthread_mutex_unlock(&ls->lock);
	return n;
}

int
load_set_new(struct events *ev, struct load_set **out)
{
	struct load_set *ls = calloc(1, sizeof(*ls));

	if (ls == NULL)
		return CHAOS_ENOMEM;
	ls->ev = ev;
	pthread_mutex_init(&ls->lock, NULL);
	*out = ls;
	return CHAOS_OK;
}

void
load_set_free(struct load_set *ls)
{
	if (ls == NULL)
		return;
	load_stop_all(ls);
	pthread_mutex_destroy(&ls->lock);
	free(ls);
}
