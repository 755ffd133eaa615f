// SPDX-License-Identifier: MIT
/*
 * chaosctl's core library: flags into a scenario's parameters, the
 * orchestrator's history (what --resume reads back), and the run client
 * against a scripted controller on a real NNG REP socket (ipc://).
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

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/wire.h"
#include "controller/chaosctl/flags.h"
#include "controller/chaosctl/orch.h"
#include "controller/chaosctl/orch_history.h"
#include "controller/chaosctl/runclient.h"

/* ---- flags ---- */

static void
test_flags_become_typed_parameters(void **state)
{
	const struct scenario *sc     = scenario_find("network");
	char                  *argv[] = {
	                     "network",         "--partition-duration", "10",  "--dry-run", "--groups",
	                     "chain-0/chain-1", "--lease-ms",           "800", "--output",  "/tmp/x"};
	json_t           *p = NULL;
	struct cli_common c;
	chaos_why         why = {{0}};

	(void)state;
	assert_int_equal(cli_parse(sc, 10, argv, &p, &c, &why), CLI_OK);
	assert_true(c.dry_run);
	assert_string_equal(c.output, "/tmp/x");
	assert_true(json_is_real(json_object_get(p, "partition_duration_s")));
	assert_true(json_number_value(json_object_get(p, "partition_duration_s")) ==
	            10.0);
	assert_int_equal(json_integer_value(json_object_get(p, "lease_ms")), 800);
	assert_int_equal(json_array_size(json_object_get(p, "groups")), 2);
	assert_int_equal(json_object_size(p), 3); /* nothing else is sent */
	json_decref(p);
}

static void
test_a_flag_given_twice_takes_the_last_value(void **state)
{
	const struct scenario *sc = scenario_find("database");
	char   *argv[] = {"database", "--failure-type", "latency", "--failure-type",
	                  "connection"};
	json_t *p      = NULL;
	struct cli_common c;

	(void)state;
	assert_int_equal(cli_parse(sc, 5, argv, &p, &c, NULL), CLI_OK);
	assert_string_equal(json_string_value(json_object_get(p, "failure_type")),
	                    "connection");
	json_decref(p);
}

static void
test_guards_repeat_and_a_missing_output_is_named(void **state)
{
	const struct scenario *sc = scenario_find("network");
	char *argv[] = {"network", "--guard", "http://a/health", "--guard", "https://b/x"};
	char *last[] = {"network", "--output"};
	json_t           *p   = NULL;
	struct cli_common c;
	chaos_why         why = {{0}};

	(void)state;
	assert_int_equal(cli_parse(sc, 5, argv, &p, &c, NULL), CLI_OK);
	assert_int_equal(json_array_size(json_object_get(p, "guards")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "guards"), 1)),
	                    "https://b/x");
	json_decref(p);
	assert_int_equal(cli_parse(sc, 2, last, &p, &c, &why), CLI_USAGE);
	assert_non_null(strstr(why.text, "--output needs a directory"));
}

static void
test_output_that_cannot_be_written_is_refused_before_anything_runs(void **state)
{
	chaos_why why   = {{0}};
	char      dir[] = "/tmp/chaosctl-out-XXXXXX";

	(void)state;
	assert_int_equal(cli_check_output("/etc/passwd", &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "/etc/passwd"));
	assert_non_null(mkdtemp(dir));
	assert_int_equal(cli_check_output(dir, &why), CHAOS_OK);
	assert_int_equal(rmdir(dir), 0); /* the check left nothing behind */
}

/* ---- the orchestrator's history ---- */

static void
test_history_round_trip_gives_resume_its_session(void **state)
{
	struct orch_opts    o = {.output       = NULL,
	                         .continuous   = true,
	                         .duration_h   = 2,
	                         .interval_min = 5,
	                         .random       = true,
	                         .seed         = 7};
	struct orch_session s = {0}, back = {0};
	char                dir[] = "/tmp/chaosctl-hist-XXXXXX";
	json_t             *e;

	(void)state;
	assert_non_null(mkdtemp(dir));
	o.output = dir;
	orch_slo_defaults(&o.slo);
	o.slo.mttr_max_s = 42;
	o.sc[0].k        = scenario_find("network");
	snprintf(o.sc[0].name, sizeof(o.sc[0].name), "network");
	snprintf(o.sc[0].scenario, sizeof(o.sc[0].scenario), "network_partition");
	o.sc[0].params = json_pack("{s:f}", "partition_duration_s", 5.0);
	o.n_sc         = 1;
	assert_int_equal(orch_session_new(&o, &s), CHAOS_EXIT_OK);
	for (int c = 1; c <= 3; c++) {
		e = orch_entry_new(c, "network", "network_partition", "succeeded", NULL,
		                   "r.json", clk_now_us(), clk_now_us(), NULL);
		json_object_set_new(e, "type", json_string("cycle"));
		assert_int_equal(orch_append(&s, e), CHAOS_OK);
		json_decref(e);
	}
	assert_true(orch_find_history(dir, back.stamp, sizeof(back.stamp)));
	assert_string_equal(back.stamp, s.stamp);
	orch_paths(&back, dir);
	assert_int_equal(orch_load_history(&back), CHAOS_EXIT_OK);
	assert_int_equal(json_array_size(back.entries), 3);
	assert_int_equal(back.next_cycle, 4);
	orch_opts_fini(&o);
	assert_int_equal(orch_opts_from_header(&o, back.header), CHAOS_OK);
	assert_true(o.continuous && o.random && o.seed == 7);
	assert_true(o.slo.mttr_max_s == 42);
	assert_int_equal(o.n_sc, 1);
	assert_ptr_equal(o.sc[0].k, scenario_find("network"));
	orch_opts_fini(&o);
	json_decref(s.header), json_decref(s.entries);
	json_decref(back.header), json_decref(back.entries);
	unlink(s.history);
	rmdir(dir);
}

/* Writes text as the history of a session in dir (a fresh temporary
 * directory) and reads it back into *s. */
static void
load_history_text(struct orch_session *s, char *dir, const char *text)
{
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(s->stamp, sizeof(s->stamp), "20261127T000000Z");
	orch_paths(s, dir);
	assert_non_null(f = fopen(s->history, "w"));
	fputs(text, f);
	fclose(f);
	assert_int_equal(orch_load_history(s), CHAOS_EXIT_OK);
}

static void
test_a_torn_last_history_line_is_skipped(void **state)
{
	struct orch_session s     = {0};
	char                dir[] = "/tmp/chaosctl-torn-XXXXXX";

	(void)state;
	load_history_text(&s, dir,
	                  "{\"type\":\"session\",\"start_us\":1}\n"
	                  "{\"type\":\"cycle\",\"cycle\":1}\n{\"type\":\"cyc");
	assert_int_equal(json_array_size(s.entries), 1);
	assert_int_equal(s.next_cycle, 2);
	json_decref(s.header), json_decref(s.entries);
	unlink(s.history);
	rmdir(dir);
}

static void
test_a_run_started_but_not_recorded_is_in_flight_on_resume(void **state)
{
	struct orch_session s     = {0};
	char                dir[] = "/tmp/chaosctl-inflight-XXXXXX";

	(void)state;
	load_history_text(
	    &s, dir,
	    "{\"type\":\"session\",\"start_us\":1}\n"
	    "{\"type\":\"start\",\"cycle\":1,\"run_id\":40}\n"
	    "{\"type\":\"cycle\",\"cycle\":1}\n"
	    "{\"type\":\"start\",\"cycle\":2,\"run_id\":41,\"name\":\"network\"}\n");
	assert_int_equal(json_array_size(s.entries), 1);
	/* the run in flight takes the next cycle once it is settled */
	assert_int_equal(s.next_cycle, 2);
	assert_non_null(s.inflight);
	assert_int_equal(json_integer_value(json_object_get(s.inflight, "run_id")), 41);
	json_decref(s.header), json_decref(s.entries), json_decref(s.inflight);
	unlink(s.history);
	rmdir(dir);
}

static void
test_orch_pick_is_repeatable_and_covers_every_scenario(void **state)
{
	size_t seen[3] = {0};

	(void)state;
	for (int64_t c = 1; c <= 300; c++) {
		size_t k = orch_pick(9, true, c, 3);
		assert_true(k < 3);
		assert_int_equal(k, orch_pick(9, true, c, 3));
		seen[k]++;
	}
	assert_true(seen[0] > 50 && seen[1] > 50 && seen[2] > 50);
	assert_int_equal(orch_pick(0, false, 5, 3), 1); /* in turn: (5-1) % 3 */
}

/* ---- the run client against a scripted controller ---- */

/* What the fake controller answers: a refusal at the start, a refusal by
 * the plan, or a run that succeeds after two status polls. */
enum fake_mode { FAKE_REFUSE_START, FAKE_REFUSE_PLAN, FAKE_SUCCEED, FAKE_INTERRUPTED };

struct fake {
	nng_socket     sock;
	nng_thread    *thread;
	enum fake_mode mode;
	int            polls;
};

static void
fake_answer(struct fake *f, const Chaos__V1__ControlRequest *req,
            Chaos__V1__ControlResponse *resp)
{
	resp->has_run_id = resp->has_run_state = true;
	resp->run_id                           = 7;
	if (req->body_case == CHAOS__V1__CONTROL_REQUEST__BODY_RUN) {
		resp->run_state = f->mode == FAKE_REFUSE_START
		    ? CHAOS__V1__RUN_STATE__RUN_STATE_REFUSED
		    : CHAOS__V1__RUN_STATE__RUN_STATE_PLANNING;
		if (f->mode == FAKE_REFUSE_START)
			resp->error = "--lease-ms (lease_ms) 1: allowed a whole number";
		return;
	}
	f->polls++;
	if (f->mode == FAKE_REFUSE_PLAN) {
		resp->run_state = CHAOS__V1__RUN_STATE__RUN_STATE_UNUSABLE;
		resp->error     = "no connected blockchain agent";
	} else if (f->polls < 3) {
		resp->run_state = CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING;
	} else if (f->mode == FAKE_INTERRUPTED) {
		/* what a restarted controller says of a run its predecessor ran */
		resp->run_state   = CHAOS__V1__RUN_STATE__RUN_STATE_INTERRUPTED;
		resp->error       = "the controller stopped during the run";
		resp->result_json = "{\"scenario\":\"network_partition\",\"mttr\":null,"
		                    "\"interrupted\":true}";
	} else {
		resp->run_state   = CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED;
		resp->result_json = "{\"scenario\":\"network_partition\",\"mttr\":1.5}";
	}
}

static void
fake_loop(void *arg)
{
	struct fake *f = arg;
	nng_msg     *msg;

	while (nng_recvmsg(f->sock, &msg, 0) == 0) {
		Chaos__V1__ControlRequest *req  = NULL;
		Chaos__V1__ControlResponse resp = CHAOS__V1__CONTROL_RESPONSE__INIT;
		nng_msg                   *out  = NULL;
		resp.protocol_version           = WIRE_VERSION;
		if (wire_decode_control_request(nng_msg_body(msg), nng_msg_len(msg), &req,
		                                NULL) == CHAOS_OK)
			fake_answer(f, req, &resp);
		nng_msg_free(msg);
		wire_free(req);
		if (wire_pack(&resp.base, WIRE_MAX_CONTROL, &out) == CHAOS_OK &&
		    nng_sendmsg(f->sock, out, 0) != 0)
			nng_msg_free(out);
	}
}

static void
fake_start(struct fake *f, enum fake_mode mode, struct ctl_target *t, char *url,
           size_t len)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	snprintf(url, len, "ipc:///tmp/chaosctl-test-%d.sock", (int)getpid());
	assert_int_equal(nng_rep0_open(&f->sock), 0);
	assert_int_equal(nng_listen(f->sock, url, NULL, 0), 0);
	assert_int_equal(nng_thread_create(&f->thread, fake_loop, f), 0);
	t->url        = url;
	t->timeout_ms = 2000;
}

static void
fake_stop(struct fake *f)
{
	nng_close(f->sock);
	nng_thread_destroy(f->thread);
}

static void
record_id(void *arg, uint64_t id)
{
	*(uint64_t *)arg = id;
}

static void
test_run_client_follows_a_run_and_writes_its_result(void **state)
{
	struct fake             f;
	struct ctl_target       t = {0};
	struct runclient_result res;
	char                    url[128], dir[] = "/tmp/chaosctl-run-XXXXXX";
	json_t                 *params = json_object();
	uint64_t                told   = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	fake_start(&f, FAKE_SUCCEED, &t, url, sizeof(url));
	assert_int_equal(runclient_run(&t, "network_partition", params, false, dir,
	                               record_id, &told, &res),
	                 CHAOS_EXIT_OK);
	assert_int_equal(told, 7); /* the orchestrator's history gets the id */
	assert_int_equal(res.run_id, 7);
	assert_int_equal(res.state, CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED);
	assert_int_equal(f.polls, 3);
	assert_non_null(strstr(res.path, "/chaos_test_network_partition_"));
	json_t *onfile = json_load_file(res.path, 0, NULL);
	assert_non_null(onfile);
	assert_true(json_number_value(json_object_get(onfile, "mttr")) == 1.5);
	json_decref(onfile);
	unlink(res.path);
	rmdir(dir);
	json_decref(res.result);
	json_decref(params);
	fake_stop(&f);
}

static void
test_following_an_interrupted_run_writes_what_it_measured(void **state)
{
	struct fake             f;
	struct ctl_target       t = {0};
	struct runclient_result res;
	char                    url[128], dir[] = "/tmp/chaosctl-follow-XXXXXX";
	json_t                 *onfile;

	(void)state;
	assert_non_null(mkdtemp(dir));
	fake_start(&f, FAKE_INTERRUPTED, &t, url, sizeof(url));
	f.polls = 0;
	assert_int_equal(runclient_follow(&t, 7, "network_partition", dir,
	                                  clk_now_us(), &res),
	                 CHAOS_EXIT_FAILED);
	assert_int_equal(res.state, CHAOS__V1__RUN_STATE__RUN_STATE_INTERRUPTED);
	assert_non_null(res.result);
	assert_non_null(onfile = json_load_file(res.path, 0, NULL));
	assert_true(json_is_true(json_object_get(onfile, "interrupted")));
	assert_true(json_is_null(json_object_get(onfile, "mttr")));
	json_decref(onfile);
	json_decref(res.result);
	unlink(res.path);
	rmdir(dir);
	fake_stop(&f);
}

static void
test_run_client_reports_refusals_with_their_exit_status(void **state)
{
	struct fake             f;
	struct ctl_target       t = {0};
	struct runclient_result res;
	char                    url[128];
	json_t                 *params = json_object();

	(void)state;
	fake_start(&f, FAKE_REFUSE_START, &t, url, sizeof(url));
	assert_int_equal(
	    runclient_run(&t, "network_partition", params, false, NULL, NULL, NULL, &res),
	    CHAOS_EXIT_USAGE);
	assert_non_null(strstr(res.error, "refused: --lease-ms"));
	fake_stop(&f);
	fake_start(&f, FAKE_REFUSE_PLAN, &t, url, sizeof(url));
	assert_int_equal(runclient_plan(&t, "network_partition", params, &res),
	                 CHAOS_EXIT_ENV);
	assert_non_null(strstr(res.error, "unusable: no connected blockchain agent"));
	fake_stop(&f);
	json_decref(params);
}

static void
test_run_client_without_a_controller_is_an_environment_error(void **state)
{
	struct ctl_target       t = {.url        = "ipc:///tmp/chaosctl-nobody-here.sock",
	                             .timeout_ms = 500};
	struct runclient_result res;
	json_t                 *params = json_object();

	(void)state;
	assert_int_equal(runclient_plan(&t, "network_partition", params, &res),
	                 CHAOS_EXIT_ENV);
	assert_non_null(strstr(res.error, "cannot reach the controller"));
	assert_null(strstr(res.error, "malformed"));
	json_decref(params);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flags_become_typed_parameters),
	    cmocka_unit_test(test_a_flag_given_twice_takes_the_last_value),
	    cmocka_unit_test(test_guards_repeat_and_a_missing_output_is_named),
	    cmocka_unit_test(
	        test_output_that_cannot_be_written_is_refused_before_anything_runs),
	    cmocka_unit_test(test_history_round_trip_gives_resume_its_session),
	    cmocka_unit_test(test_a_torn_last_history_line_is_skipped),
	    cmocka_unit_test(test_a_run_started_but_not_recorded_is_in_flight_on_resume),
	    cmocka_unit_test(test_following_an_interrupted_run_writes_what_it_measured),
	    cmocka_unit_test(test_orch_pick_is_repeatable_and_covers_every_scenario),
	    cmocka_unit_test(test_run_client_follows_a_run_and_writes_its_result),
	    cmocka_unit_test(test_run_client_reports_refusals_with_their_exit_status),
	    cmocka_unit_test(
	        test_run_client_without_a_controller_is_an_environment_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
