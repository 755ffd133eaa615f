// SPDX-License-Identifier: MIT
/*
 * controller/ops.c, the status and results views, over a real run manager
 * and run store (a scenario of the test's own that holds until aborted):
 * the run in progress with its last progress line, the runs kept newest
 * first from memory and disk (at most RUN_STORE_KEEP), one run's record,
 * an mttr never made up, an abort of a run that only the disk knows, and
 * dry runs, which are not kept, taking no id from the real runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "controller/ops.h"
#include "controller/run_store.h"

static char dir[] = "/tmp/chaos-ops-XXXXXX";

/* ---- a scenario that applies nothing and holds until aborted ---- */

static const struct param hold_params[] = {PARAM_ROW_END};
static int                hold_plan_token;

static chaos_err
hold_plan(struct run *r, const void *params, void **plan, json_t **plan_json,
          chaos_why *why)
{
	(void)r, (void)params, (void)why;
	*plan      = &hold_plan_token;
	*plan_json = json_object();
	return CHAOS_OK;
}

static int
hold_execute(struct run *r, void *plan, json_t **result)
{
	(void)plan;
	run_progress(r, "fault applied on 1 target");
	run_sleep_until(r, clk_mono_us() + 60 * 1000000LL);
	*result = json_pack("{s:s,s:n,s:s,s:s}", "scenario", "hold_test", "mttr",
	                    "mttr_reason", "not measured: aborted before recovery",
	                    "failure", "aborted: aborted by a test");
	return run_aborted(r) ? CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED
	                      : CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED;
}

static void
hold_plan_free(void *plan)
{
	(void)plan;
}

static const struct scenario hold = {
    .cli         = "hold",
    .name        = "hold_test",
    .params      = hold_params,
    .params_size = 1,
    .plan        = hold_plan,
    .execute     = hold_execute,
    .plan_free   = hold_plan_free,
};
static const struct scenario *const hold_list[] = {&hold, NULL};

/* ---- fixtures ---- */

struct env {
	struct registry  *reg;
	struct run_store *store;
	struct run_mgr   *runs;
};

static int
setup(void **state)
{
	struct env *e   = calloc(1, sizeof(*e));
	chaos_why   why = {{0}};

	snprintf(dir, sizeof(dir), "/tmp/chaos-ops-XXXXXX");
	if (e == NULL || mkdtemp(dir) == NULL ||
	    registry_new(100, 8, &e->reg) != CHAOS_OK ||
	    run_store_open(dir, &e->store, NULL, &why) != CHAOS_OK ||
	    run_mgr_new(e->reg, hold_list, e->store, &e->runs) != CHAOS_OK)
		return -1;
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	char        cmd[128];

	run_mgr_free(e->runs);
	run_store_close(e->store);
	registry_free(e->reg);
	free(e);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A finished run on disk, as a controller before a restart left it. */
static uint64_t
store_old_run(struct run_store *s, const char *state, json_t *result)
{
	uint64_t id = run_store_next_id(s);
	json_t  *rec =
	    json_pack("{s:I,s:s,s:s,s:s,s:s,s:n,s:[s],s:o}", "id", (json_int_t)id,
	              "scenario", "network_partition", "state", state, "started",
	              "2026-11-27T10:00:00.000Z", "ended", "2026-11-27T10:00:30.500Z",
	              "error", "progress", "partition healed", "result", result);

	assert_non_null(rec);
	assert_int_equal(run_store_save(s, id, rec), CHAOS_OK);
	json_decref(rec);
	return id;
}

static Chaos__V1__ControlResponse
ask_status(struct env *e)
{
	Chaos__V1__ControlResponse resp = CHAOS__V1__CONTROL_RESPONSE__INIT;
	Chaos__V1__AgentInfo     **lost = NULL;
	size_t                     n    = 0;

	ops_status(e->runs, e->reg, &resp, &lost, &n);
	assert_null(resp.error);
	registry_snapshot_free(lost, n);
	resp.agents = NULL, resp.n_agents = 0;
	return resp;
}

static Chaos__V1__ControlResponse
ask_results(struct env *e, uint64_t id)
{
	Chaos__V1__ControlResponse resp = CHAOS__V1__CONTROL_RESPONSE__INIT;
	Chaos__V1__ResultsRequest  req  = CHAOS__V1__RESULTS_REQUEST__INIT;

	req.has_run_id = id != 0;
	req.run_id     = id;
	ops_results(e->runs, &req, &resp);
	return resp;
}

static void
resp_free(Chaos__V1__ControlResponse *resp)
{
	ops_resp_free(resp);
	run_mgr_resp_free(resp);
}

static uint64_t
start_hold(struct env *e)
{
	Chaos__V1__ControlResponse resp = CHAOS__V1__CONTROL_RESPONSE__INIT;
	Chaos__V1__RunRequest      req  = CHAOS__V1__RUN_REQUEST__INIT;
	uint64_t                   id;

	req.scenario    = "hold_test";
	req.params_json = "{}";
	run_mgr_start(e->runs, &req, &resp);
	assert_null(resp.error);
	id = resp.run_id;
	run_mgr_resp_free(&resp);
	return id;
}

/* Waits (at most 5 s) until status shows the run with want_line, or, with
 * want_line NULL, no run in progress. */
static void
wait_status(struct env *e, const char *want_line)
{
	for (int i = 0; i < 500; i++) {
		Chaos__V1__ControlResponse s    = ask_status(e);
		bool                       done = want_line == NULL
		                          ? s.n_runs == 0
		                          : s.n_runs == 1 && s.runs[0]->last_progress &&
                        strcmp(s.runs[0]->last_progress, want_line) == 0;
		resp_free(&s);
		if (done)
			return;
		usleep(10000);
	}
	fail_msg("status never showed %s", want_line ? want_line : "no run");
}

/* Aborts run id and waits until nothing runs. */
static void
end_run(struct env *e, uint64_t id)
{
	Chaos__V1__AbortRequest    abort = CHAOS__V1__ABORT_REQUEST__INIT;
	Chaos__V1__ControlResponse s     = CHAOS__V1__CONTROL_RESPONSE__INIT;

	abort.run_id = id;
	abort.reason = "end of test";
	run_mgr_abort(e->runs, &abort, &s);
	resp_free(&s);
	wait_status(e, NULL);
}

/* ---- tests ---- */

static void
test_status_shows_the_run_in_progress_and_results_keep_it_aborted(void **state)
{
	struct env *e = *state;
	uint64_t    old =
	    store_old_run(e->store, "succeeded", json_pack("{s:f}", "mttr", 2.5));
	uint64_t                   id    = start_hold(e);
	Chaos__V1__AbortRequest    abort = CHAOS__V1__ABORT_REQUEST__INIT;
	Chaos__V1__ControlResponse s     = CHAOS__V1__CONTROL_RESPONSE__INIT;

	wait_status(e, "fault applied on 1 target");
	s = ask_status(e);
	assert_int_equal(s.runs[0]->run_id, id);
	assert_string_equal(s.runs[0]->scenario, "hold_test");
	assert_int_equal(s.runs[0]->state, CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING);
	assert_true(s.runs[0]->has_started_ctl_us);
	assert_true(s.runs[0]->started_ctl_us <= clk_now_us());
	assert_false(s.runs[0]->has_ended_ctl_us);
	resp_free(&s);

	abort.run_id = id;
	abort.reason = "aborted by a test";
	run_mgr_abort(e->runs, &abort, &s);
	assert_int_equal(s.run_state, CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING);
	resp_free(&s);
	wait_status(e, NULL);

	s = ask_results(e, 0);
	assert_int_equal(s.n_runs, 2); /* this process's and the disk's, newest first */
	assert_int_equal(s.runs[0]->run_id, id);
	assert_int_equal(s.runs[0]->state, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED);
	assert_true(s.runs[0]->has_ended_ctl_us);
	assert_false(s.runs[0]->has_mttr_s);
	assert_string_equal(s.runs[0]->mttr_reason,
	                    "not measured: aborted before recovery");
	assert_string_equal(s.runs[0]->error, "aborted: aborted by a test");
	assert_int_equal(s.runs[1]->run_id, old);
	assert_true(s.runs[1]->has_mttr_s && s.runs[1]->mttr_s == 2.5);
	assert_string_equal(s.runs[1]->last_progress, "partition healed");
	assert_int_equal(s.runs[1]->ended_ctl_us - s.runs[1]->started_ctl_us, 30500000);
	resp_free(&s);
}

/* A start request with its token: the run id, or the refusal text. */
static uint64_t
start_with_token(struct env *e, uint64_t token, char *error, size_t len)
{
	Chaos__V1__ControlResponse resp = CHAOS__V1__CONTROL_RESPONSE__INIT;
	Chaos__V1__RunRequest      req  = CHAOS__V1__RUN_REQUEST__INIT;
	uint64_t                   id;

	req.scenario          = "hold_test";
	req.params_json       = "{}";
	req.has_request_token = true;
	req.request_token     = token;
	run_mgr_start(e->runs, &req, &resp);
	snprintf(error, len, "%s", resp.error ? resp.error : "");
	id = resp.has_run_id ? resp.run_id : 0;
	run_mgr_resp_free(&resp);
	return id;
}

static void
test_a_resent_start_gets_the_run_it_started(void **state)
{
	struct env *e = *state;
	char        err[256];
	uint64_t    id = start_with_token(e, 77, err, sizeof(err));

	assert_true(id != 0);
	/* NNG's REQ resent it after a dropped connection: the same run */
	assert_int_equal(start_with_token(e, 77, err, sizeof(err)), id);
	assert_string_equal(err, "");
	/* another start is another run: refused while this one holds */
	assert_int_equal(start_with_token(e, 78, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "another run is in progress"));
	end_run(e, id);
}

static void
test_one_run_comes_with_its_whole_record(void **state)
{
	struct env                *e  = *state;
	uint64_t                   id = store_old_run(e->store, "failed",
	                                              json_pack("{s:n,s:s,s:[i,i]}", "mttr", "mttr_reason",
	                                                        "not recovered", "samples", 1, 2));
	Chaos__V1__ControlResponse s  = ask_results(e, id);
	json_t                    *rec;

	assert_null(s.error);
	assert_int_equal(s.n_runs, 1);
	assert_int_equal(s.runs[0]->state, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED);
	assert_string_equal(s.runs[0]->mttr_reason, "not recovered");
	assert_non_null(rec = json_loads(s.record_json, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(rec, "id")), id);
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(rec, "result"), "samples")),
	    2);
	json_decref(rec);
	resp_free(&s);

	s = ask_results(e, id + 1000);
	assert_non_null(s.error);
	assert_non_null(strstr(s.error, "among those kept"));
	assert_int_equal(s.n_runs, 0);
	resp_free(&s);
}

static void
test_results_keep_the_newest_64_newest_first(void **state)
{
	struct env                *e    = *state;
	uint64_t                   last = 0;
	Chaos__V1__ControlResponse s;

	for (int i = 0; i < 70; i++)
		last = store_old_run(e->store, "succeeded", json_null());
	s = ask_results(e, 0);
	assert_int_equal(s.n_runs, RUN_STORE_KEEP);
	for (size_t i = 0; i < s.n_runs; i++)
		assert_int_equal(s.runs[i]->run_id, last - i);
	/* no result at all: the reason names the state, never a made-up 0 */
	assert_false(s.runs[0]->has_mttr_s);
	assert_string_equal(s.runs[0]->mttr_reason, "no result: the run is succeeded");
	resp_free(&s);
}

static void
test_abort_of_a_run_only_the_disk_knows_answers_its_state(void **state)
{
	struct env             *e  = *state;
	uint64_t                id = store_old_run(e->store, "interrupted", json_null());
	Chaos__V1__AbortRequest abort = CHAOS__V1__ABORT_REQUEST__INIT;
	Chaos__V1__ControlResponse s  = CHAOS__V1__CONTROL_RESPONSE__INIT;

	abort.run_id = id;
	run_mgr_abort(e->runs, &abort, &s);
	assert_true(s.has_run_state);
	assert_int_equal(s.run_state, CHAOS__V1__RUN_STATE__RUN_STATE_INTERRUPTED);
	resp_free(&s);
	abort.run_id = id + 1000;
	s            = (Chaos__V1__ControlResponse)CHAOS__V1__CONTROL_RESPONSE__INIT;
	run_mgr_abort(e->runs, &abort, &s);
	assert_false(s.has_run_state);
	assert_non_null(strstr(s.error, "no such run"));
	resp_free(&s);
}

static void
test_a_record_without_id_scenario_or_known_state_is_skipped(void **state)
{
	const char *bad[] = {
	    "{\"scenario\":\"x\",\"state\":\"running\"}",
	    "{\"id\":3,\"state\":\"running\"}",
	    "{\"id\":3,\"scenario\":\"x\",\"state\":\"sleeping\"}",
	    "{\"id\":-3,\"scenario\":\"x\",\"state\":\"running\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *rec = json_loads(bad[i], 0, NULL);
		assert_non_null(rec);
		assert_null(ops_run_info(rec));
		json_decref(rec);
	}
}

/* A dry run of run_mgr_start (it plans, then it is done); its id. */
static uint64_t
start_dry(struct env *e)
{
	Chaos__V1__ControlResponse  resp = CHAOS__V1__CONTROL_RESPONSE__INIT;
	Chaos__V1__RunRequest       req  = CHAOS__V1__RUN_REQUEST__INIT;
	Chaos__V1__RunStatusRequest st   = CHAOS__V1__RUN_STATUS_REQUEST__INIT;
	uint64_t                    id;

	req.scenario    = "hold_test";
	req.params_json = "{}";
	req.has_dry_run = req.dry_run = true;
	run_mgr_start(e->runs, &req, &resp);
	assert_null(resp.error);
	id = resp.run_id;
	run_mgr_resp_free(&resp);
	st.run_id = id;
	for (int i = 0; i < 500; i++) { /* chaosctl follows it by its id */
		bool done;
		resp = (Chaos__V1__ControlResponse)CHAOS__V1__CONTROL_RESPONSE__INIT;
		run_mgr_status(e->runs, &st, &resp);
		assert_true(resp.has_run_state);
		done = resp.run_state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED &&
		    resp.result_json != NULL;
		run_mgr_resp_free(&resp);
		if (done)
			return id;
		usleep(10000);
	}
	fail_msg("dry run %llu never answered its plan", (unsigned long long)id);
	return 0;
}

static void
test_dry_runs_take_no_id_from_the_real_runs(void **state)
{
	struct env *e    = *state;
	uint64_t    last = store_old_run(e->store, "succeeded", json_null());
	uint64_t    dry[3], id;

	for (int i = 0; i < 3; i++) {
		dry[i] = start_dry(e);
		assert_true(dry[i] > last);
		assert_true(i == 0 || dry[i] != dry[i - 1]);
	}
	/* stored nothing, so numbered nothing: the next real run follows on */
	id = start_hold(e);
	assert_int_equal(id, last + 1);
	for (int i = 0; i < 3; i++)
		assert_true(dry[i] != id);
	end_run(e, id);
}

/* Dry runs are kept apart from the finished real runs: an orchestrator's
 * plan checks never push a real run out of the controller's memory (what
 * `chaosctl results` lists without --state-dir). */
static void
test_dry_runs_never_push_a_real_run_out(void **state)
{
	struct env *e  = *state;
	uint64_t    id = start_hold(e);
	json_t     *recs;
	bool        kept = false;
	size_t      i;
	json_t     *rec;

	end_run(e, id);
	end_run(e, start_hold(e)); /* files the first among the finished */
	for (int k = 0; k < 12; k++)
		start_dry(e);
	recs = run_mgr_records(e->runs, false);
	json_array_foreach(recs, i, rec) kept |=
	    json_integer_value(json_object_get(rec, "id")) == (json_int_t)id;
	json_decref(recs);
	assert_true(kept);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_status_shows_the_run_in_progress_and_results_keep_it_aborted, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_one_run_comes_with_its_whole_record,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_resent_start_gets_the_run_it_started,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_results_keep_the_newest_64_newest_first,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_abort_of_a_run_only_the_disk_knows_answers_its_state, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_dry_runs_take_no_id_from_the_real_runs,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dry_runs_never_push_a_real_run_out,
	                                    setup, teardown),
	    cmocka_unit_test(test_a_record_without_id_scenario_or_known_state_is_skipped),
	};

	log_init("test_ops", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
