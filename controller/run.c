// SPDX-License-Identifier: MIT
#include "controller/run.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/memtune.h"
#include "common/wire.h"
#include "controller/metrics.h"
#include "controller/run_store.h"
#include "controller/stop.h"

#define RUN_KEEP_DONE 8
#define RUN_KEEP_DRY 4 /* dry runs, kept apart: they never push a real one out */
#define RUN_MAX_LINES 4096
#define RUN_RECORD_LINES 64             /* progress lines a record on disk keeps */
#define RUN_CHECKPOINT_US (2 * 1000000) /* how often a running run is saved */
/* Dry runs change nothing and are never stored, yet chaosctl follows one by
 * its id while it plans: their ids come from a range of their own, above
 * every real run's (those count from 1 on disk, or from the clock's seconds
 * without a store), so that a dry run takes no number from the real runs. */
#define RUN_DRY_ID_BASE (UINT64_C(1) << 62)

struct run {
	struct run_mgr        *mgr;
	uint64_t               id;
	const struct scenario *sc;
	void                  *params; /* the scenario's params struct (param_read) */
	bool                   dry_run;
	uint64_t               token; /* the start request's; 0: none */
	void                  *plan;
	struct obs            *obs;
	atomic_bool            abort;
	char                   abort_reason[600];
	int                    state;  /* Chaos__V1__RunState, under mgr->mtx */
	char                  *result; /* JSON text (or the plan), under mgr->mtx */
	json_t                *brief;  /* run_store_brief of the result, likewise */
	char                  *error;  /* why it was refused, under mgr->mtx */
	char                 **lines;
	size_t                 n_lines;
	nng_thread            *thread;
	int64_t                started_us, ended_us; /* wall clock */
	/* what a checkpoint saves: the scenario's result so far */
	run_checkpoint_fn ck_fn;
	void             *ck_plan, *ck_meas;
	int64_t           ck_last_mono;
	/* stop conditions: guards and the user-facing error rate */
	struct stop stop;
	run_user_fn user_fn;
	void       *user_plan, *user_meas;
};

struct run_mgr {
	struct registry              *reg;
	struct run_store             *store; /* NULL: runs live in memory only */
	const struct scenario *const *scenarios;
	nng_mtx                      *mtx;
	nng_cv                       *cv;
	struct run                   *current; /* the run holding the slot, if any */
	struct run                   *done[RUN_KEEP_DONE];
	struct run                   *dry[RUN_KEEP_DRY]; /* finished dry runs */
	uint64_t                      next_run;
	uint64_t                      next_dry; /* RUN_DRY_ID_BASE and up */
	_Atomic uint64_t              next_command;
	const struct allow_list      *allow; /* namespaces runs may touch */
};

/* The finished runs kept, real and dry, as one list (NULL where empty). */
#define RUN_KEPT (RUN_KEEP_DONE + RUN_KEEP_DRY)

static struct run *
run_kept(const struct run_mgr *m, size_t i)
{
	return i < RUN_KEEP_DONE ? m->done[i] : m->dry[i - RUN_KEEP_DONE];
}

static void run_request_abort(struct run *r, const char *reason);

/* Until run_mgr_set_allow: every namespace but kube-system. */
static const struct allow_list run_allow_default;

static void
run_free(struct run *r)
{
	if (r == NULL)
		return;
	if (r->thread != NULL)
		nng_thread_destroy(r->thread);
	if (r->plan != NULL)
		r->sc->plan_free(r->plan);
	if (r->params != NULL)
		param_free(r->sc->params, r->params);
	stop_free(&r->stop);
	free(r->params);
	free(r->error);
	obs_free(r->obs);
	for (size_t i = 0; i < r->n_lines; i++)
		free(r->lines[i]);
	free(r->lines);
	free(r->result);
	json_decref(r->brief);
	free(r);
}

chaos_err
run_mgr_new(struct registry *reg, const struct scenario *const *scenarios,
            struct run_store *store, struct run_mgr **out)
{
	struct run_mgr *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return CHAOS_ENOMEM;
	if (nng_mtx_alloc(&m->mtx) != 0 || nng_cv_alloc(&m->cv, m->mtx) != 0) {
		if (m->mtx != NULL)
			nng_mtx_free(m->mtx);
		free(m);
		return CHAOS_ENOMEM;
	}
	m->reg       = reg;
	m->store     = store;
	m->scenarios = scenarios;
	m->allow     = &run_allow_default;
	/* Without a store, ids still must not repeat across restarts (a
	 * chaosctl following run N must never follow another run N): start
	 * from the clock's seconds. */
	m->next_run = (uint64_t)(clk_now_us() / 1000000);
	m->next_dry = RUN_DRY_ID_BASE + m->next_run;
	/* Agents remember recent command ids to apply idempotently, so ids must
	 * not repeat across controller restarts: start from the clock. */
	atomic_store(&m->next_command, (uint64_t)clk_now_us());
	*out = m;
	return CHAOS_OK;
}

void
run_mgr_set_allow(struct run_mgr *m, const struct allow_list *allow)
{
	m->allow = allow;
}

const struct allow_list *
run_allow(const struct run *r)
{
	return r->mgr->allow;
}

void
run_mgr_free(struct run_mgr *m)
{
	if (m == NULL)
		return;
	run_mgr_abort_all(m, "controller stopping");
	run_free(m->current);
	for (size_t i = 0; i < RUN_KEPT; i++)
		run_free(run_kept(m, i));
	nng_cv_free(m->cv);
	nng_mtx_free(m->mtx);
	free(m);
}

void
run_mgr_on_event(void *arg, const Chaos__V1__Event *e, int64_t t_ctl_us)
{
	struct run_mgr *m   = arg;
	int64_t         off = 0, err;

	(void)t_ctl_us;
	metrics_on_event(e);
	registry_clock(m->reg, e->agent_id, &off, &err);
	nng_mtx_lock(m->mtx);
	if (m->current != NULL && m->current->obs != NULL)
		obs_add_event(m->current->obs, e, off);
	nng_mtx_unlock(m->mtx);
}

void
run_mgr_on_ack(void *arg, const char *agent_id, const Chaos__V1__Ack *a,
               int64_t offset_us, int64_t t_poll_us)
{
	struct run_mgr *m = arg;

	(void)agent_id;
	nng_mtx_lock(m->mtx);
	if (m->current != NULL && m->current->obs != NULL)
		obs_add_ack(m->current->obs, a, offset_us, t_poll_us);
	nng_mtx_unlock(m->mtx);
}

uint64_t
run_id(const struct run *r)
{
	return r->id;
}

/* How the log names a run: "run 12", or "dry run N" with N its number in
 * the dry runs' range. */
static const char *
run_word(const struct run *r)
{
	return r->dry_run ? "dry run" : "run";
}

static unsigned long long
run_number(const struct run *r)
{
	return (unsigned long long)(r->dry_run ? r->id - RUN_DRY_ID_BASE : r->id);
}

struct registry *
run_registry(struct run *r)
{
	return r->mgr->reg;
}

struct obs *
run_obs(struct run *r)
{
	return r->obs;
}

bool
run_aborted(struct run *r)
{
	return atomic_load(&r->abort);
}

const char *
run_abort_reason(struct run *r)
{
	return r->abort_reason;
}

void
run_progress(struct run *r, const char *fmt, ...)
{
	char    line[512];
	va_list ap;
	char  **grown;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_info("%s %llu: %s", run_word(r), run_number(r), line);
	nng_mtx_lock(r->mgr->mtx);
	if (r->n_lines < RUN_MAX_LINES &&
	    (grown = realloc(r->lines, (r->n_lines + 1) * sizeof(*grown))) != NULL) {
		r->lines = grown;
		if ((r->lines[r->n_lines] = strdup(line)) != NULL)
			r->n_lines++;
	}
	nng_mtx_unlock(r->mgr->mtx);
}

bool
run_sleep_until(struct run *r, int64_t deadline_mono_us)
{
	nng_mtx_lock(r->mgr->mtx);
	while (!atomic_load(&r->abort)) {
		int64_t left = (deadline_mono_us - clk_mono_us()) / 1000;
		if (left <= 0)
			break;
		nng_cv_until(r->mgr->cv, nng_clock() + (nng_time)left);
	}
	nng_mtx_unlock(r->mgr->mtx);
	return !atomic_load(&r->abort);
}

size_t
run_send_all(struct run *r, size_t n, const char *const *agent_ids,
             Chaos__V1__Command *const *cmds, int64_t timeout_us, struct obs_ack *acks)
{
	int64_t    deadline = clk_mono_us() + timeout_us;
	uint64_t  *ids      = calloc(n ? n : 1, sizeof(*ids));
	chaos_err *rvs      = calloc(n ? n : 1, sizeof(*rvs));
	size_t     ok       = 0;

	memset(acks, 0, n * sizeof(*acks));
	for (size_t i = 0; (ids == NULL || rvs == NULL) && i < n; i++)
		snprintf(acks[i].error, sizeof(acks[i].error), "out of memory");
	if (ids == NULL || rvs == NULL) {
		free(ids);
		free(rvs);
		return 0;
	}
	/* Enqueue everything first, in one batch (one hold of the registry's
	 * lock, one kick that answers every parked poll), so the commands land
	 * within a round trip of each other. Then one wait for all the acks. */
	for (size_t i = 0; i < n; i++)
		cmds[i]->command_id = atomic_fetch_add(&r->mgr->next_command, 1);
	registry_enqueue_all(r->mgr->reg, n, agent_ids, cmds, rvs);
	for (size_t i = 0; i < n; i++)
		if (rvs[i] == CHAOS_OK)
			ids[i] = cmds[i]->command_id; /* else 0: not waited for */
	obs_wait_acks(r->obs, ids, n, deadline, acks);
	for (size_t i = 0; i < n; i++) {
		if (acks[i].status == CHAOS__V1__STATUS__STATUS_OK)
			ok++;
		else if (ids[i] == 0)
			snprintf(acks[i].error, sizeof(acks[i].error), "agent %s unknown",
			         agent_ids[i]);
		else if (acks[i].status == 0)
			snprintf(acks[i].error, sizeof(acks[i].error),
			         "no ack within %lld ms (agent lost or stuck?)",
			         (long long)timeout_us / 1000);
	}
	free(ids);
	free(rvs);
	return ok;
}

/* Still planning or running (mgr->mtx held). */
static bool
run_in_progress(const struct run *r)
{
	return r->state == CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING ||
	    r->state == CHAOS__V1__RUN_STATE__RUN_STATE_PLANNING;
}

/* Files a run among the finished ones (a dry run among the dry ones, so
 * that an orchestrator's plan checks never push a real run out of
 * `chaosctl results`); the oldest drops out and is freed (mgr->mtx held,
 * released around the free: it joins the run's thread). */
static void
run_keep_done(struct run_mgr *m, struct run *r)
{
	struct run **ring = r->dry_run ? m->dry : m->done;
	size_t       n    = r->dry_run ? RUN_KEEP_DRY : RUN_KEEP_DONE;
	struct run  *old  = ring[n - 1];

	memmove(&ring[1], &ring[0], (n - 1) * sizeof(ring[0]));
	ring[0] = r;
	if (old != NULL) {
		nng_mtx_unlock(m->mtx);
		run_free(old);
		nng_mtx_lock(m->mtx);
	}
}

/* ---- the run's record on disk (run_store.h) ---- */

static json_t *
run_iso(int64_t us)
{
	char buf[CLK_ISO_LEN];

	if (us <= 0)
		return json_null();
	clk_iso8601(us, buf, sizeof(buf));
	return json_string(buf);
}

/* The record as it stands (mgr->mtx held); result (borrowed) is the final
 * or partial one. */
static json_t *
run_record_locked(struct run *r, const json_t *result, int64_t checkpoint_us)
{
	json_t *rec = json_object(), *lines = json_array();
	char    state[32];

	wire_enum_name(&chaos__v1__run_state__descriptor, r->state, state, sizeof(state));
	for (size_t i = r->n_lines > RUN_RECORD_LINES ? r->n_lines - RUN_RECORD_LINES : 0;
	     i < r->n_lines; i++)
		json_array_append_new(lines, json_string(r->lines[i]));
	json_object_set_new(rec, "id", json_integer((json_int_t)r->id));
	json_object_set_new(rec, "scenario", json_string(r->sc->name));
	json_object_set_new(rec, "state", json_string(state));
	json_object_set_new(rec, "started", run_iso(r->started_us));
	json_object_set_new(rec, "ended", run_iso(r->ended_us));
	json_object_set_new(rec, "error", r->error ? json_string(r->error) : json_null());
	json_object_set_new(rec, "checkpoint", run_iso(checkpoint_us));
	json_object_set_new(rec, "progress", lines);
	json_object_set(rec, "result", result != NULL ? (json_t *)result : json_null());
	return rec;
}

static json_t *
run_record(struct run *r, const json_t *result, int64_t checkpoint_us)
{
	json_t *rec;

	nng_mtx_lock(r->mgr->mtx);
	rec = run_record_locked(r, result, checkpoint_us);
	nng_mtx_unlock(r->mgr->mtx);
	return rec;
}

/* Saves the run's record (not for dry runs, which change nothing). */
static void
run_save(struct run *r, const json_t *result, int64_t checkpoint_us)
{
	json_t *rec;

	if (r->mgr->store == NULL || r->dry_run)
		return;
	rec = run_record(r, result, checkpoint_us);
	run_store_save(r->mgr->store, r->id, rec);
	json_decref(rec);
}

void
run_set_checkpoint(struct run *r, run_checkpoint_fn fn, void *plan, void *meas)
{
	r->ck_fn = fn, r->ck_plan = plan, r->ck_meas = meas;
}

void
run_set_user_requests(struct run *r, run_user_fn fn, void *plan, void *meas)
{
	r->user_fn = fn, r->user_plan = plan, r->user_meas = meas;
}

/* The user-facing error rate against --abort-error-rate. */
static void
run_watch(struct run *r)
{
	uint64_t ok, total;
	char     reason[400];

	if (r->user_fn == NULL || !r->user_fn(r, r->user_plan, r->user_meas, &ok, &total))
		return;
	if (stop_rate(&r->stop, ok, total, reason, sizeof(reason))) {
		log_warn("run %llu: %s: stopping the run", (unsigned long long)r->id,
		         reason);
		nng_mtx_lock(r->mgr->mtx);
		run_request_abort(r, reason);
		nng_cv_wake(r->mgr->cv);
		nng_mtx_unlock(r->mgr->mtx);
	}
}

void
run_checkpoint(struct run *r)
{
	int64_t now = clk_mono_us();
	json_t *partial;

	run_watch(r);
	if (r->ck_fn == NULL || r->mgr->store == NULL ||
	    now - r->ck_last_mono < RUN_CHECKPOINT_US)
		return;
	r->ck_last_mono = now;
	partial         = r->ck_fn(r, r->ck_plan, r->ck_meas);
	run_save(r, partial, clk_now_us());
	json_decref(partial);
}

/* Records how the run ended (or, for a dry run, its plan). */
static void
run_finish(struct run *r, int state, const char *error, json_t *result)
{
	char       *text = result != NULL
	          ? json_dumps(result, JSON_COMPACT | JSON_REAL_PRECISION(10))
	          : NULL;
	struct obs *obs;
	char        prefix[32];

	/* Whatever path the run took, none of its faults is live any more:
	 * an agent still holding one reverts it at its next reply. */
	snprintf(prefix, sizeof(prefix), "r%llu-", (unsigned long long)r->id);
	registry_forget_faults(r->mgr->reg, prefix);
	if (!r->dry_run && r->plan != NULL)
		metrics_on_run_end(r->sc->name, state, result);
	nng_mtx_lock(r->mgr->mtx);
	free(r->result);
	json_decref(r->brief);
	r->brief    = run_store_brief(result);
	r->result   = text;
	r->error    = error != NULL && error[0] != '\0' ? strdup(error) : NULL;
	r->state    = state;
	r->ck_fn    = NULL;
	r->user_fn  = NULL;
	r->ended_us = clk_now_us();
	/* What the run observed and planned served its scenario only: a
	 * finished run keeps its result, not its samples, acks and targets
	 * (one per agent and command: megabytes for thousands of agents,
	 * times the runs kept). */
	obs    = r->obs;
	r->obs = NULL;
	nng_cv_wake(r->mgr->cv);
	nng_mtx_unlock(r->mgr->mtx);
	run_save(r, result, 0);
	obs_free(obs);
	if (r->plan != NULL)
		r->sc->plan_free(r->plan);
	r->plan = NULL;
}

static void
run_set_state(struct run *r, int state)
{
	nng_mtx_lock(r->mgr->mtx);
	r->state = state;
	nng_mtx_unlock(r->mgr->mtx);
	run_save(r, NULL, 0);
}

/* A guard tripped (on the guard's thread): the run reverts and ends. */
static void
run_guard_trip(void *arg, const char *reason)
{
	struct run *r = arg;

	nng_mtx_lock(r->mgr->mtx);
	run_request_abort(r, reason);
	nng_cv_wake(r->mgr->cv);
	nng_mtx_unlock(r->mgr->mtx);
}

/* Executes the plan under its stop conditions; the result says which one
 * tripped and what it measured. */
static void
run_execute(struct run *r, json_t **result)
{
	chaos_why why = {{0}};
	json_t   *stop;
	int       state;

	run_set_state(r, CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING);
	if (stop_start(&r->stop, run_guard_trip, r, &why) != CHAOS_OK) {
		run_finish(r, CHAOS__V1__RUN_STATE__RUN_STATE_UNUSABLE, why.text, NULL);
		return;
	}
	state = r->sc->execute(r, r->plan, result);
	if ((stop = stop_finish(&r->stop)) != NULL && *result != NULL)
		json_object_set_new(*result, "stop_conditions", stop);
	else
		json_decref(stop);
	run_finish(r, state, NULL, *result);
}

/* The run's own thread: plan, then (unless a dry run) execute. */
static void
run_thread(void *arg)
{
	struct run *r         = arg;
	json_t     *plan_json = NULL, *result = NULL;
	chaos_why   why = {{0}};
	chaos_err   rv;

	run_save(r, NULL, 0); /* planning: on disk before any fault */
	rv = r->sc->plan(r, r->params, &r->plan, &plan_json, &why);
	if (rv != CHAOS_OK) {
		log_info("%s %llu: not started: %s", run_word(r), run_number(r),
		         why.text);
		run_finish(r,
		           rv == CHAOS_EINVAL ? CHAOS__V1__RUN_STATE__RUN_STATE_REFUSED
		                              : CHAOS__V1__RUN_STATE__RUN_STATE_UNUSABLE,
		           why.text[0] ? why.text : chaos_strerror(rv), plan_json);
	} else if (r->dry_run) {
		run_finish(r, CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED, NULL, plan_json);
	} else if (run_aborted(r)) {
		/* aborted while planning: nothing was applied */
		run_finish(r, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED, r->abort_reason,
		           NULL);
	} else {
		run_execute(r, &result);
	}
	json_decref(plan_json);
	json_decref(result);
	/* A run's samples, result tree and report text were thousands of small
	 * allocations, now freed; without a trim their pages stay resident in
	 * the arenas (the soak saw the controller's RSS climb by some MiB over
	 * the first cycles, 5.3 MiB of it given back by one malloc_trim). */
	memtune_release();
}

/* Moves the finished current run to the done ring (mgr->mtx held). */
static void
run_retire_current(struct run_mgr *m)
{
	if (m->current == NULL)
		return;
	run_keep_done(m, m->current);
	m->current = NULL;
}

static const struct scenario *
run_find_scenario(const struct run_mgr *m, const char *name)
{
	for (size_t i = 0; m->scenarios[i] != NULL; i++)
		if (strcmp(m->scenarios[i]->name, name) == 0)
			return m->scenarios[i];
	for (size_t i = 0; scenario_unlisted[i] != NULL; i++)
		if (strcmp(scenario_unlisted[i]->name, name) == 0)
			return scenario_unlisted[i];
	return NULL;
}

static void
run_resp_text(Chaos__V1__ControlResponse *resp, int state, const char *error,
              const char *json)
{
	resp->has_run_state = true;
	resp->run_state     = state;
	if (error != NULL)
		resp->error = strdup(error);
	if (json != NULL)
		resp->result_json = strdup(json);
}

/* Every namespace the parameters name (rows flagged PARAM_NS) must be
 * allowed: refused before the run exists, so nothing is applied. */
static chaos_err
run_check_namespaces(const struct run_mgr *m, const struct scenario *sc,
                     const json_t *params, chaos_why *why)
{
	for (const struct param *p = sc->params; p->key != NULL; p++) {
		const char *ns = json_string_value(json_object_get(params, p->key));
		if ((p->flags & PARAM_NS) && ns != NULL && ns[0] != '\0' &&
		    allow_check(m->allow, p->flag, ns, why) != CHAOS_OK)
			return CHAOS_EINVAL;
	}
	return CHAOS_OK;
}

/* A new run with its parameters read and checked; NULL with why when the
 * parameters are bad (or memory ran out). */
static struct run *
run_new(struct run_mgr *m, const struct scenario *sc, const Chaos__V1__RunRequest *req,
        chaos_why *why)
{
	struct run  *r = calloc(1, sizeof(*r));
	json_error_t jerr;
	json_t      *params = NULL;

	if (r == NULL || (r->params = calloc(1, sc->params_size)) == NULL ||
	    obs_new(&r->obs) != CHAOS_OK) {
		chaos_fail(why, CHAOS_ENOMEM, "out of memory");
		goto fail;
	}
	r->mgr = m, r->sc = sc, r->dry_run = req->has_dry_run && req->dry_run;
	r->token = req->has_request_token ? req->request_token : 0;
	r->state = CHAOS__V1__RUN_STATE__RUN_STATE_PLANNING;
	if ((params = json_loads(req->params_json, 0, &jerr)) == NULL) {
		chaos_fail(why, CHAOS_EINVAL, "params_json is not JSON: %s", jerr.text);
		goto fail;
	}
	if (param_read(sc->params, params, r->params, why) != CHAOS_OK ||
	    param_rules_check(sc->params, sc->rules, params, why) != CHAOS_OK ||
	    run_check_namespaces(m, sc, params, why) != CHAOS_OK)
		goto fail;
	stop_read(sc->params, params, &r->stop);
	json_decref(params);
	return r;
fail:
	json_decref(params);
	if (r != NULL && r->params != NULL) {
		/* here, not in run_free: r->sc may not be set yet; the groups
		 * param_read kept are freed when a later check refuses */
		param_free(sc->params, r->params);
		free(r->params), r->params = NULL;
	}
	run_free(r);
	return NULL;
}

/* Starts r's thread and files it: a real run in the slot, a dry run with
 * the finished ones (mgr->mtx held). */
static bool
run_launch(struct run_mgr *m, struct run *r)
{
	if (r->dry_run)
		r->id = m->next_dry++;
	else
		r->id = m->store != NULL ? run_store_next_id(m->store) : m->next_run++;
	r->started_us = clk_now_us();
	if (nng_thread_create(&r->thread, run_thread, r) != 0)
		return false;
	if (r->dry_run)
		run_keep_done(m, r);
	else
		m->current = r;
	return true;
}

/* The same start again (its token): the answer the first one got, with the
 * run's state now (mgr->mtx held). */
static bool
run_resent(struct run_mgr *m, const struct run *r, Chaos__V1__ControlResponse *resp)
{
	const struct run *same = NULL;

	if (r->token == 0)
		return false;
	if (m->current != NULL && m->current->token == r->token)
		same = m->current;
	for (size_t i = 0; same == NULL && i < RUN_KEPT; i++) {
		struct run *k = run_kept(m, i);
		if (k != NULL && k->token == r->token)
			same = k;
	}
	if (same == NULL)
		return false;
	log_info("%s %llu: its start request came again (a resend); same run",
	         run_word(same), run_number(same));
	resp->has_run_id = true;
	resp->run_id     = same->id;
	run_resp_text(resp, same->state, NULL, NULL);
	return true;
}

void
run_mgr_start(struct run_mgr *m, const Chaos__V1__RunRequest *req,
              Chaos__V1__ControlResponse *resp)
{
	const struct scenario *sc = run_find_scenario(m, req->scenario);
	struct run            *r;
	chaos_why              why = {{0}};
	char                   names[256];

	if (sc == NULL) {
		snprintf(why.text, sizeof(why.text), "unknown scenario; allowed: %s",
		         scenario_names(names, sizeof(names)));
		run_resp_text(resp, CHAOS__V1__RUN_STATE__RUN_STATE_REFUSED, why.text,
		              NULL);
		return;
	}
	if ((r = run_new(m, sc, req, &why)) == NULL) {
		run_resp_text(resp, CHAOS__V1__RUN_STATE__RUN_STATE_REFUSED, why.text,
		              NULL);
		return;
	}
	nng_mtx_lock(m->mtx);
	if (run_resent(m, r, resp)) {
		nng_mtx_unlock(m->mtx);
		run_free(r);
		return;
	}
	if (!r->dry_run && m->current != NULL && run_in_progress(m->current)) {
		nng_mtx_unlock(m->mtx);
		run_free(r);
		run_resp_text(resp, CHAOS__V1__RUN_STATE__RUN_STATE_UNUSABLE,
		              "another run is in progress; wait for it or abort it",
		              NULL);
		return;
	}
	if (!r->dry_run)
		run_retire_current(m);
	if (!run_launch(m, r)) {
		nng_mtx_unlock(m->mtx);
		run_free(r);
		run_resp_text(resp, CHAOS__V1__RUN_STATE__RUN_STATE_UNUSABLE,
		              "cannot start a thread", NULL);
		return;
	}
	resp->has_run_id = true;
	resp->run_id     = r->id;
	run_resp_text(resp, CHAOS__V1__RUN_STATE__RUN_STATE_PLANNING, NULL, NULL);
	nng_mtx_unlock(m->mtx);
}

static struct run *
run_lookup(struct run_mgr *m, uint64_t id)
{
	if (m->current != NULL && m->current->id == id)
		return m->current;
	for (size_t i = 0; i < RUN_KEPT; i++) {
		struct run *k = run_kept(m, i);
		if (k != NULL && k->id == id)
			return k;
	}
	return NULL;
}

/* A run this controller process did not run, from its record on disk: one
 * that ended before a restart, or that a restart interrupted. */
static void
run_status_stored(struct run_mgr *m, uint64_t id, size_t from,
                  Chaos__V1__ControlResponse *resp)
{
	json_t       *rec    = m->store != NULL ? run_store_load(m->store, id) : NULL;
	const json_t *result = json_object_get(rec, "result");
	const char   *error  = json_string_value(json_object_get(rec, "error"));
	int           state;

	if (rec == NULL ||
	    wire_enum_parse(&chaos__v1__run_state__descriptor,
	                    json_string_value(json_object_get(rec, "state")),
	                    &state) != CHAOS_OK) {
		json_decref(rec);
		resp->error = strdup(
		    m->store != NULL ? "no such run (the controller keeps the last 64)"
		                     : "no such run (the controller keeps the last 8; "
		                       "start it with --state-dir to keep them on disk)");
		return;
	}
	resp->has_run_id = resp->has_run_state = resp->has_progress_next = true;
	resp->run_id                                                     = id;
	resp->run_state                                                  = state;
	resp->progress_next = (uint32_t)from; /* its lines were this process's */
	if (json_is_object(result))
		resp->result_json =
		    json_dumps(result, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (error != NULL)
		resp->error = strdup(error);
	json_decref(rec);
}

void
run_mgr_status(struct run_mgr *m, const Chaos__V1__RunStatusRequest *req,
               Chaos__V1__ControlResponse *resp)
{
	struct run *r;
	size_t      from = req->has_progress_from ? req->progress_from : 0;

	nng_mtx_lock(m->mtx);
	if ((r = run_lookup(m, req->run_id)) == NULL) {
		nng_mtx_unlock(m->mtx);
		run_status_stored(m, req->run_id, from, resp);
		return;
	}
	resp->has_run_id = resp->has_run_state = resp->has_progress_next = true;
	resp->run_id                                                     = r->id;
	resp->run_state                                                  = r->state;
	if (from < r->n_lines &&
	    (resp->progress = calloc(r->n_lines - from, sizeof(char *))) != NULL)
		for (size_t i = from; i < r->n_lines; i++)
			resp->progress[resp->n_progress++] = strdup(r->lines[i]);
	resp->progress_next = (uint32_t)(from + resp->n_progress);
	if (!run_in_progress(r) && r->result != NULL)
		resp->result_json = strdup(r->result);
	if (r->error != NULL)
		resp->error = strdup(r->error);
	nng_mtx_unlock(m->mtx);
}

static void
run_request_abort(struct run *r, const char *reason)
{
	if (atomic_exchange(&r->abort, true))
		return;
	snprintf(r->abort_reason, sizeof(r->abort_reason), "%s", reason);
	log_warn("run %llu: abort requested: %s", (unsigned long long)r->id, reason);
}

void
run_mgr_abort(struct run_mgr *m, const Chaos__V1__AbortRequest *req,
              Chaos__V1__ControlResponse *resp)
{
	struct run *r;

	nng_mtx_lock(m->mtx);
	if ((r = run_lookup(m, req->run_id)) == NULL) {
		/* one that ended before a restart: its state says so */
		nng_mtx_unlock(m->mtx);
		run_status_stored(m, req->run_id, 0, resp);
		return;
	}
	run_request_abort(r, req->reason ? req->reason : "aborted by chaosctl");
	nng_cv_wake(m->cv);
	resp->has_run_id = resp->has_run_state = true;
	resp->run_id                           = r->id;
	resp->run_state                        = r->state;
	nng_mtx_unlock(m->mtx);
}

void
run_mgr_abort_all(struct run_mgr *m, const char *reason)
{
	/* Bounded: a scenario's revert waits for acks for a few seconds. */
	nng_time until = nng_clock() + 30000;

	nng_mtx_lock(m->mtx);
	/* a run that has ended has nothing to abort (nor to log about) */
	if (m->current != NULL && run_in_progress(m->current)) {
		run_request_abort(m->current, reason);
		nng_cv_wake(m->cv);
		while (run_in_progress(m->current) &&
		       nng_cv_until(m->cv, until) != NNG_ETIMEDOUT)
			;
	}
	nng_mtx_unlock(m->mtx);
}

void
run_mgr_resp_free(Chaos__V1__ControlResponse *resp)
{
	for (size_t i = 0; i < resp->n_progress; i++)
		free(resp->progress[i]);
	free(resp->progress);
	free(resp->result_json);
	free(resp->error);
	resp->progress    = NULL;
	resp->n_progress  = 0;
	resp->result_json = NULL;
	resp->error       = NULL;
}

json_t *
run_mgr_records(struct run_mgr *m, bool in_progress_only)
{
	json_t *out = json_array();

	nng_mtx_lock(m->mtx);
	if (m->current != NULL && (!in_progress_only || run_in_progress(m->current)))
		json_array_append_new(
		    out, run_record_locked(m->current, m->current->brief, 0));
	for (size_t i = 0; i < RUN_KEEP_DONE && !in_progress_only; i++)
		if (m->done[i] != NULL)
			json_array_append_new(
			    out, run_record_locked(m->done[i], m->done[i]->brief, 0));
	nng_mtx_unlock(m->mtx);
	return out;
}

json_t *
run_mgr_record(struct run_mgr *m, uint64_t id)
{
	struct run *r;
	json_t     *rec = NULL, *result = NULL;

	nng_mtx_lock(m->mtx);
	if ((r = run_lookup(m, id)) != NULL && !r->dry_run) {
		if (r->result != NULL && !run_in_progress(r))
			result = json_loads(r->result, 0, NULL);
		rec = run_record_locked(r, result, 0);
	}
	nng_mtx_unlock(m->mtx);
	json_decref(result);
	return rec;
}

struct run_store *
run_mgr_store(struct run_mgr *m)
{
	return m->store;
}
