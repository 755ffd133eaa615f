// SPDX-License-Identifier: MIT
#include "agent/load.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/load_http.h"
#include "agent/worker.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/hist.h"
#include "common/log.h"
#include "common/wire.h"

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
	struct worker     w; /* w.id is the load_id */
	uint32_t          rate, duration_ms;
	int64_t           interval_us;
	struct events    *ev;
	struct load_http *http;

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
	struct events     *ev;
	struct worker_set *workers; /* remembers the last LOAD_REMEMBERED ids */
};

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
		         l->w.id);
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
	r.load_id                     = l->w.id;
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
	    l->w.id, stopped ? "stopped" : "done", (unsigned long long)l->total.scheduled,
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
		         l->w.id);
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
	worker_fini(&l->w);
	free(l);
}

/* The set's release callback: the thread has been joined. */
static void
load_release(struct worker *w)
{
	load_free(worker_owner(w, struct load, w));
}

static chaos_err
load_check_spec(const Chaos__V1__LoadSpec *s, chaos_why *why)
{
	const char *id = s != NULL && s->load_id != NULL ? s->load_id : "?";
	chaos_err   rv;

	if (s == NULL || wire_check_id(s->load_id) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EINVAL, "load %s: bad load_id", id);
	if ((rv = load_http_check_url(s->url, why)) != CHAOS_OK)
		return chaos_fail_prefix(why, rv, "load %s", id);
	if (s->rate_rps == 0 || s->rate_rps > LIMIT_LOAD_MAX_RATE)
		return chaos_fail(why, CHAOS_EINVAL, "load %s: rate_rps must be 1..%u",
		                  id, LIMIT_LOAD_MAX_RATE);
	if (s->concurrency == 0 || s->concurrency > LIMIT_LOAD_MAX_CONCURRENCY)
		return chaos_fail(why, CHAOS_EINVAL, "load %s: concurrency must be 1..%u",
		                  id, LIMIT_LOAD_MAX_CONCURRENCY);
	if (s->duration_ms == 0 || s->duration_ms > LIMIT_LOAD_MAX_DURATION_MS)
		return chaos_fail(why, CHAOS_EINVAL, "load %s: duration_ms must be 1..%u",
		                  id, LIMIT_LOAD_MAX_DURATION_MS);
	if (s->timeout_ms == 0 || s->timeout_ms > LIMIT_TIMEOUT_MAX_MS)
		return chaos_fail(why, CHAOS_EINVAL, "load %s: timeout_ms must be 1..%u",
		                  id, LIMIT_TIMEOUT_MAX_MS);
	if (s->has_report_interval_ms && s->report_interval_ms != 0 &&
	    s->report_interval_ms < LOAD_MIN_INTERVAL_MS)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "load %s: report_interval_ms must be 0 (default) or at "
		                  "least %u",
		                  id, LOAD_MIN_INTERVAL_MS);
	return CHAOS_OK;
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

static chaos_err
load_new(struct events *ev, const Chaos__V1__LoadSpec *s, struct load **out,
         chaos_why *why)
{
	struct load *l = calloc(1, sizeof(*l));
	chaos_err    rv;

	if (l == NULL)
		return CHAOS_ENOMEM;
	if ((rv = worker_init(&l->w, s->load_id, why)) != CHAOS_OK)
		goto fail;
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
	if ((rv = load_http_new(s->url, "chaos-agent-load", s->concurrency, s->timeout_ms,
	                        load_on_end, l, &l->http, why)) != CHAOS_OK ||
	    (rv = load_http_watch(l->http, l->w.stop_fd)) != CHAOS_OK)
		goto fail;
	*out = l;
	return CHAOS_OK;
fail:
	chaos_fail_prefix(why, rv, "load %s", s->load_id);
	load_free(l);
	return rv;
}

struct load_make_args {
	struct events             *ev;
	const Chaos__V1__LoadSpec *spec;
};

/* worker_set_start's make: builds and starts the load. */
static chaos_err
load_make(void *arg, struct worker **out, chaos_why *why)
{
	const struct load_make_args *a    = arg;
	const Chaos__V1__LoadSpec   *spec = a->spec;
	struct load                 *l    = NULL;
	chaos_err                    rv;

	if ((rv = load_new(a->ev, spec, &l, why)) != CHAOS_OK)
		return rv;
	if ((rv = worker_start(&l->w, "chaos-load", load_main, l, why)) != CHAOS_OK) {
		load_free(l);
		return rv;
	}
	log_info("load %s started: %s at %u/s for %u ms, concurrency %u, timeout %u ms, "
	         "reports every %lld ms",
	         l->w.id, spec->url, l->rate, l->duration_ms, spec->concurrency,
	         spec->timeout_ms, (long long)(l->interval_us / 1000));
	*out = &l->w;
	return CHAOS_OK;
}

chaos_err
load_start(struct load_set *ls, const Chaos__V1__LoadSpec *spec, chaos_why *why)
{
	struct load_make_args a = {.ev = ls->ev, .spec = spec};
	chaos_err             rv;

	if ((rv = load_check_spec(spec, why)) != CHAOS_OK)
		return rv;
	worker_set_reap(ls->workers);
	return worker_set_start(ls->workers, spec->load_id, load_make, &a, why);
}

chaos_err
load_stop(struct load_set *ls, const char *load_id)
{
	return worker_set_stop(ls->workers, load_id);
}

void
load_stop_all(struct load_set *ls)
{
	worker_set_stop_all(ls->workers);
}

void
load_leases(struct load_set *ls, int64_t now_mono_us, uint64_t instance, uint32_t ms,
            worker_gone_fn gone, void *arg)
{
	worker_set_leases(ls->workers, now_mono_us, instance, ms, gone, arg);
}

int64_t
load_lease_tick(struct load_set *ls, int64_t now_mono_us, worker_gone_fn gone, void *arg)
{
	return worker_set_lease_tick(ls->workers, now_mono_us, gone, arg);
}

size_t
load_count(struct load_set *ls)
{
	worker_set_reap(ls->workers);
	return worker_set_count(ls->workers);
}

chaos_err
load_set_new(struct events *ev, struct load_set **out)
{
	struct load_set *ls = calloc(1, sizeof(*ls));

	if (ls == NULL ||
	    worker_set_new("load", LOAD_MAX, LOAD_REMEMBERED, load_release,
	                   &ls->workers) != CHAOS_OK) {
		free(ls);
		return CHAOS_ENOMEM;
	}
	ls->ev = ev;
	*out   = ls;
	return CHAOS_OK;
}

void
load_set_free(struct load_set *ls)
{
	if (ls == NULL)
		return;
	worker_set_free(ls->workers);
	free(ls);
}
