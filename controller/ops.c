// SPDX-License-Identifier: MIT
#include "controller/ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/wire.h"
#include "controller/run_store.h"

/* What a record may take of a control answer (the rest: its summary). */
#define OPS_MAX_RECORD (WIRE_MAX_CONTROL - 64u * 1024u)

static char *
ops_strdup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static bool
ops_time(const json_t *rec, const char *key, int64_t *us)
{
	const char *iso = json_string_value(json_object_get(rec, key));

	return iso != NULL && clk_parse_iso8601(iso, us);
}

/* The mttr of a record's result; without one, why (never a made-up 0). */
static void
ops_mttr(const json_t *rec, int state, Chaos__V1__RunInfo *ri)
{
	const json_t *result = json_object_get(rec, "result");
	const json_t *mttr   = json_object_get(result, "mttr");
	const char   *why    = json_string_value(json_object_get(result, "mttr_reason"));
	char          text[96], name[32];

	if (json_is_number(mttr)) {
		ri->has_mttr_s = true;
		ri->mttr_s     = json_number_value(mttr);
		return;
	}
	if (!json_is_object(result)) {
		snprintf(text, sizeof(text), "no result: the run is %s",
		         wire_enum_name(&chaos__v1__run_state__descriptor, state, name,
		                        sizeof(name)));
		why = text;
	}
	ri->mttr_reason = strdup(why != NULL ? why : "not measured");
}

/* Why the run did not succeed: the record's error (a refusal, an
 * interruption), else its result's failure (a step failed, an abort). */
static const char *
ops_error(const json_t *rec)
{
	const char *e = json_string_value(json_object_get(rec, "error"));

	return e != NULL ? e
	                 : json_string_value(json_object_get(
	                       json_object_get(rec, "result"), "failure"));
}

Chaos__V1__RunInfo *
ops_run_info(const json_t *rec)
{
	const json_t       *lines = json_object_get(rec, "progress");
	const char         *sc    = json_string_value(json_object_get(rec, "scenario"));
	json_int_t          id    = json_integer_value(json_object_get(rec, "id"));
	Chaos__V1__RunInfo *ri;
	int                 state;

	if (id <= 0 || sc == NULL ||
	    wire_enum_parse(&chaos__v1__run_state__descriptor,
	                    json_string_value(json_object_get(rec, "state")),
	                    &state) != CHAOS_OK ||
	    (ri = calloc(1, sizeof(*ri))) == NULL)
		return NULL;
	chaos__v1__run_info__init(ri);
	ri->run_id             = (uint64_t)id;
	ri->state              = state;
	ri->scenario           = strdup(sc);
	ri->has_started_ctl_us = ops_time(rec, "started", &ri->started_ctl_us);
	ri->has_ended_ctl_us   = ops_time(rec, "ended", &ri->ended_ctl_us);
	ri->error              = ops_strdup_or_null(ops_error(rec));
	if (json_array_size(lines) > 0)
		ri->last_progress = ops_strdup_or_null(
		    json_string_value(json_array_get(lines, json_array_size(lines) - 1)));
	ops_mttr(rec, state, ri);
	if (ri->scenario == NULL) {
		ops_run_info_free(ri);
		return NULL;
	}
	return ri;
}

void
ops_run_info_free(Chaos__V1__RunInfo *ri)
{
	if (ri == NULL)
		return;
	free(ri->scenario);
	free(ri->last_progress);
	free(ri->error);
	free(ri->mttr_reason);
	free(ri);
}

/* resp->runs from records (a JSON array), at most cap of them. */
static void
ops_put_runs(const json_t *records, size_t cap, Chaos__V1__ControlResponse *resp)
{
	size_t n = json_array_size(records) < cap ? json_array_size(records) : cap;

	if (n == 0 || (resp->runs = calloc(n, sizeof(*resp->runs))) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if ((resp->runs[resp->n_runs] = ops_run_info(json_array_get(records, i))))
			resp->n_runs++;
}

void
ops_status(struct run_mgr *runs, struct registry *reg, Chaos__V1__ControlResponse *resp,
           Chaos__V1__AgentInfo ***lost, size_t *n_lost)
{
	json_t *records = runs != NULL ? run_mgr_records(runs, true) : json_array();

	ops_put_runs(records, 1, resp);
	json_decref(records);
	if (registry_faults(reg, &resp->faults, &resp->n_faults) != CHAOS_OK ||
	    registry_snapshot_lost(reg, lost, n_lost) != CHAOS_OK) {
		resp->error = strdup("out of memory");
		return;
	}
	resp->agents   = *lost;
	resp->n_agents = *n_lost;
}

static json_int_t
ops_id(const json_t *rec)
{
	return json_integer_value(json_object_get(rec, "id"));
}

static int
ops_cmp_newest_first(const void *x, const void *y)
{
	json_int_t a = ops_id(*(json_t *const *)x), b = ops_id(*(json_t *const *)y);

	return (a < b) - (a > b);
}

/* The record of run id among records (borrowed), or NULL. */
static json_t *
ops_find(const json_t *records, json_int_t id)
{
	for (size_t i = 0; i < json_array_size(records); i++)
		if (ops_id(json_array_get(records, i)) == id)
			return json_array_get(records, i);
	return NULL;
}

/* A new array of the same records, newest first. */
static json_t *
ops_sorted(const json_t *records)
{
	size_t   n   = json_array_size(records);
	json_t **all = calloc(n ? n : 1, sizeof(*all));
	json_t  *out = json_array();

	for (size_t i = 0; all != NULL && i < n; i++)
		all[i] = json_array_get(records, i);
	if (all != NULL) {
		qsort(all, n, sizeof(*all), ops_cmp_newest_first);
		for (size_t i = 0; i < n; i++)
			json_array_append(out, all[i]);
	}
	free(all);
	return out;
}

/* Every run kept: this process's (fresher: the one in progress changes
 * between saves), then the store's others. Newest first. */
static json_t *
ops_kept(struct run_mgr *runs)
{
	json_t *mine = runs != NULL ? run_mgr_records(runs, false) : json_array();
	struct run_store *store = runs != NULL ? run_mgr_store(runs) : NULL;
	json_t           *disk  = store != NULL ? run_store_list(store) : json_array();
	json_t           *all;

	for (size_t i = 0; i < json_array_size(disk); i++) {
		json_t *rec = json_array_get(disk, i);
		if (ops_find(mine, ops_id(rec)) == NULL)
			json_array_append(mine, rec);
	}
	all = ops_sorted(mine);
	json_decref(mine);
	json_decref(disk);
	return all;
}

/* One run: its summary and its whole record. */
static void
ops_result_one(struct run_mgr *runs, uint64_t id, Chaos__V1__ControlResponse *resp)
{
	struct run_store   *store = runs != NULL ? run_mgr_store(runs) : NULL;
	json_t             *rec   = runs != NULL ? run_mgr_record(runs, id) : NULL;
	Chaos__V1__RunInfo *ri;

	if (rec == NULL && store != NULL)
		rec = run_store_load(store, id);
	ri = rec != NULL ? ops_run_info(rec) : NULL;
	if (ri == NULL || (resp->runs = calloc(1, sizeof(*resp->runs))) == NULL) {
		char text[256];
		ops_run_info_free(ri);
		snprintf(
		    text, sizeof(text), "no run %" PRIu64 " among those kept (%s)", id,
		    store != NULL ? "the last 64, on disk"
		                  : "without --state-dir, only the last few, in memory");
		resp->error = strdup(text);
		json_decref(rec);
		return;
	}
	resp->runs[0]     = ri;
	resp->n_runs      = 1;
	resp->record_json = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(rec);
	if (resp->record_json != NULL && strlen(resp->record_json) > OPS_MAX_RECORD) {
		/* an answer over the cap would not be sent at all */
		free(resp->record_json);
		resp->record_json = NULL;
		resp->error = strdup("the run's record is larger than the control API "
		                     "carries; read it on the controller, under "
		                     "--state-dir, in runs/<id>.json");
	}
}

void
ops_results(struct run_mgr *runs, const Chaos__V1__ResultsRequest *req,
            Chaos__V1__ControlResponse *resp)
{
	json_t *all;

	if (req->has_run_id) {
		ops_result_one(runs, req->run_id, resp);
		return;
	}
	all = ops_kept(runs);
	ops_put_runs(all, RUN_STORE_KEEP, resp);
	json_decref(all);
}

void
ops_resp_free(Chaos__V1__ControlResponse *resp)
{
	for (size_t i = 0; i < resp->n_runs; i++)
		ops_run_info_free(resp->runs[i]);
	free(resp->runs);
	if (resp->faults != NULL)
		registry_faults_free(resp->faults, resp->n_faults);
	free(resp->record_json);
	resp->runs        = NULL;
	resp->n_runs      = 0;
	resp->faults      = NULL;
	resp->n_faults    = 0;
	resp->record_json = NULL;
}
