// SPDX-License-Identifier: MIT
/*
 * chaosctl results [RUN] [--json]: the runs the controller has kept (on
 * disk under its --state-dir, the newest 64; in memory the last few when it
 * has none), newest first: id, scenario, state, started, ended, mttr (null
 * with the reason when not measured) and error. With RUN, that run: --json
 * prints its whole record (the list's fields, its last progress lines and
 * its result as `chaosctl run` wrote it). A RUN the controller does not
 * keep: exit 2.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/flags.h"
#include "common/wire.h"
#include "controller/chaosctl/chaosctl.h"

static json_t *
results_run_json(const Chaos__V1__RunInfo *ri)
{
	char state[32];

	return json_pack(
	    "{s:I,s:s,s:s,s:o,s:o,s:o,s:s?,s:s?}", "id", (json_int_t)ri->run_id,
	    "scenario", ri->scenario, "state",
	    wire_enum_name(&chaos__v1__run_state__descriptor, ri->state, state,
	                   sizeof(state)),
	    "started", chaosctl_time_json(ri->has_started_ctl_us, ri->started_ctl_us),
	    "ended", chaosctl_time_json(ri->has_ended_ctl_us, ri->ended_ctl_us), "mttr",
	    ri->has_mttr_s ? json_real(ri->mttr_s) : json_null(), "mttr_reason",
	    ri->has_mttr_s ? NULL : ri->mttr_reason, "error", ri->error);
}

static void
results_print_doc(json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(10));

	if (s != NULL)
		puts(s);
	free(s);
	json_decref(doc);
}

/* One row: "12  network_partition  aborted  <started>  <ended>  1.234s  note". */
static void
results_row(const Chaos__V1__RunInfo *ri)
{
	char started[CLK_ISO_LEN] = "-", ended[CLK_ISO_LEN] = "-", state[32], mttr[32];

	if (ri->has_started_ctl_us)
		clk_iso8601(ri->started_ctl_us, started, sizeof(started));
	if (ri->has_ended_ctl_us)
		clk_iso8601(ri->ended_ctl_us, ended, sizeof(ended));
	snprintf(mttr, sizeof(mttr), ri->has_mttr_s ? "%.3fs" : "null", ri->mttr_s);
	printf("%-6llu %-20s %-11s %-25s %-25s %-9s %s\n", (unsigned long long)ri->run_id,
	       ri->scenario,
	       wire_enum_name(&chaos__v1__run_state__descriptor, ri->state, state,
	                      sizeof(state)),
	       started, ended, mttr,
	       ri->error             ? ri->error
	           : ri->has_mttr_s  ? ""
	           : ri->mttr_reason ? ri->mttr_reason
	                             : "");
}

static void
results_print(const Chaos__V1__ControlResponse *r, bool json)
{
	json_t *arr;

	if (json) {
		arr = json_array();
		for (size_t i = 0; i < r->n_runs; i++)
			json_array_append_new(arr, results_run_json(r->runs[i]));
		results_print_doc(arr);
		return;
	}
	if (r->n_runs == 0) {
		puts("no run kept");
		return;
	}
	printf("%-6s %-20s %-11s %-25s %-25s %-9s %s\n", "RUN", "SCENARIO", "STATE",
	       "STARTED", "ENDED", "MTTR", "ERROR / WHY NO MTTR");
	for (size_t i = 0; i < r->n_runs; i++)
		results_row(r->runs[i]);
}

/* One run for people: its row, then its last progress lines. */
static void
results_print_one(const Chaos__V1__ControlResponse *r, const json_t *rec)
{
	const json_t *lines = json_object_get(rec, "progress");

	results_print(r, false);
	if (json_array_size(lines) > 0)
		puts("\nprogress (the last lines):");
	for (size_t i = 0; i < json_array_size(lines); i++)
		printf("  %s\n", json_string_value(json_array_get(lines, i)) ?: "");
}

/* `results RUN`: its record, or exit 2 when the controller keeps none. */
static int
results_one(const struct ctl_target *t, Chaos__V1__ControlRequest *req, bool json)
{
	Chaos__V1__ControlResponse *resp = NULL;
	chaos_why                   why  = {{0}};
	json_t                     *rec;
	int                         rv;

	if (ctl_call(t, req, &resp, &why) != CHAOS_OK) {
		fprintf(stderr, "chaosctl: %s\n", why.text);
		return CHAOS_EXIT_ENV;
	}
	if (resp->n_runs != 1 || resp->record_json == NULL ||
	    (rec = json_loads(resp->record_json, 0, NULL)) == NULL) {
		fprintf(stderr, "chaosctl: results: %s\n",
		        resp->error ? resp->error : "the controller sent no record");
		/* a run it does not keep is a bad RUN; one it cannot send is not */
		rv = resp->n_runs == 1 ? CHAOS_EXIT_FAILED : CHAOS_EXIT_USAGE;
		wire_free(resp);
		return rv;
	}
	if (json)
		results_print_doc(json_incref(rec));
	else
		results_print_one(resp, rec);
	json_decref(rec);
	wire_free(resp);
	return CHAOS_EXIT_OK;
}

int
cmd_results(const struct ctl_target *t, int argc, char **argv)
{
	Chaos__V1__ControlRequest   req     = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__ResultsRequest   results = CHAOS__V1__RESULTS_REQUEST__INIT;
	Chaos__V1__ControlResponse *resp    = NULL;
	bool                        json    = false;
	int                         rv;

	req.body_case = CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS;
	req.results   = &results;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			puts("usage: chaosctl results [RUN] [--json]");
			return CHAOS_EXIT_OK;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (!results.has_run_id &&
		           flags_parse_u64(argv[i], 1, UINT64_MAX, &results.run_id) ==
		               CHAOS_OK) {
			results.has_run_id = true;
		} else {
			return flags_usage_error(
			    "chaosctl",
			    "results: unexpected '%s'; usage: chaosctl "
			    "results [RUN] [--json]",
			    argv[i]);
		}
	}
	if (results.has_run_id)
		return results_one(t, &req, json);
	if ((rv = chaosctl_request(t, &req, &resp)) != CHAOS_EXIT_OK)
		return rv;
	results_print(resp, json);
	wire_free(resp);
	return CHAOS_EXIT_OK;
}
