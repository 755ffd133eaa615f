// SPDX-License-Identifier: MIT
/*
 * chaosctl's core library: flags into a scenario's parameters, the
 * orchestrator's history (what --resume reads back), the run client, and
 * status, abort and results against a scripted controller on a real NNG
 * REP socket (ipc://).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/wire.h"
#include "controller/chaosctl/chaosctl.h"
#include "controller/chaosctl/flags.h"
#include "controller/chaosctl/orch.h"
#include "controller/chaosctl/orch_history.h"
#include "controller/chaosctl/runclient.h"
#include "tests/support/stderr_cap.h"

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
	char             *argv[]  = {"network", "--guard", "http://a/health", "--guard",
	                             "https://b/x"};
	char             *last[]  = {"network", "--output"};
	json_t           *p       = NULL;
	struct cli_common c;
	chaos_why         why = {{0}};

	(void)state;
	assert_int_equal(cli_parse(sc, 5, argv, &p, &c, NULL), CLI_OK);
	assert_int_equal(json_array_size(json_object_get(p, "guards")), 2);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(p, "guards"), 1)),
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

static void
test_output_check_creates_no_directory(void **state)
{
	chaos_why   why   = {{0}};
	char        dir[] = "/tmp/chaosctl-out-XXXXXX", sub[64], file[64], deep[80];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/new/sub", dir);
	snprintf(file, sizeof(file), "%s/afile", dir);
	snprintf(deep, sizeof(deep), "%s/sub", file);
	/* a missing directory under a writable one is fine, and not made yet */
	assert_int_equal(cli_check_output(sub, &why), CHAOS_OK);
	assert_int_equal(stat(sub, &st), -1);
	snprintf(sub, sizeof(sub), "%s/new", dir);
	assert_int_equal(stat(sub, &st), -1);
	/* under a regular file: errno's words, not "system error" */
	fclose(fopen(file, "w"));
	assert_int_equal(cli_check_output(deep, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "Not a directory"));
	assert_int_equal(cli_check_output(file, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "Not a directory"));
	assert_int_equal(cli_check_output("", &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "--output ''"));
	assert_int_equal(unlink(file), 0);
	assert_int_equal(rmdir(dir), 0); /* nothing else was left there */
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
test_a_session_without_an_end_record_has_no_made_up_end(void **state)
{
	struct orch_session s     = {0};
	char                dir[] = "/tmp/chaosctl-noend-XXXXXX", why[256] = "";
	FILE               *f;

	(void)state;
	load_history_text(&s, dir,
	                  "{\"type\":\"session\",\"start_us\":1}\n"
	                  "{\"type\":\"cycle\",\"cycle\":1,\"result_file\":\"r.json\","
	                  "\"ended\":\"2026-11-27T10:00:30.500Z\"}\n");
	/* finished but chaosctl died before the end record: not "now" */
	assert_int_equal(orch_end_time(&s, why, sizeof(why)), 0);
	assert_string_equal(why,
	                    "no end record: chaosctl stopped before writing it "
	                    "(the last recorded run ended "
	                    "2026-11-27T10:00:30.500Z)");
	assert_non_null(f = fopen(s.history, "a"));
	fputs("{\"type\":\"end\",\"end_us\":1795860000000000}\n", f);
	fclose(f);
	assert_int_equal(orch_end_time(&s, why, sizeof(why)), 1795860000000000LL);
	json_decref(s.header), json_decref(s.entries);
	unlink(s.history);
	rmdir(dir);
}

static void
test_an_adopted_result_keeps_its_state_or_says_it_is_unknown(void **state)
{
	json_t *start =
	    json_pack("{s:s,s:i,s:I,s:s}", "type", "start", "cycle", 2, "run_id",
	              (json_int_t)41, "started", "2026-11-27T10:00:00.000Z");
	json_t *skipped =
	    json_pack("{s:s,s:I,s:s,s:s,s:s,s:s}", "scenario", "network_partition",
	              "run_id", (json_int_t)41, "run_state", "skipped", "failure",
	              "not in steady state", "test_start", "2026-11-27T10:00:01.000Z",
	              "test_end", "2026-11-27T10:00:02.000Z");
	json_t *old = json_pack("{s:s,s:I,s:n,s:s}", "scenario", "network_partition",
	                        "run_id", (json_int_t)40, "failure", "test_start",
	                        "2026-11-27T09:00:01.000Z");
	json_t *e;

	(void)state;
	/* a skipped run is recorded skipped, not failed, started by the
	 * orchestrator's own start record of that run */
	e = orch_adopted_entry(skipped, start, 2, "network", "network_partition",
	                       "a.json");
	assert_string_equal(json_string_value(json_object_get(e, "state")), "skipped");
	assert_string_equal(json_string_value(json_object_get(e, "outcome")), "skipped");
	assert_string_equal(json_string_value(json_object_get(e, "started")),
	                    "2026-11-27T10:00:00.000Z");
	assert_null(json_object_get(e, "started_reason"));
	assert_true(json_is_null(json_object_get(e, "ended")));
	assert_non_null(strstr(json_string_value(json_object_get(e, "ended_reason")),
	                       "chaosctl stopped before recording the run"));
	json_decref(e);
	/* an older file says nothing of its state: unknown, not "succeeded"
	 * for a null failure; another run's start record is not its start */
	e = orch_adopted_entry(old, start, 3, "network", "network_partition", "b.json");
	assert_string_equal(json_string_value(json_object_get(e, "state")),
	                    ORCH_STATE_UNKNOWN);
	assert_non_null(strstr(json_string_value(json_object_get(e, "reason")),
	                       "does not say how the run ended"));
	assert_true(json_is_null(json_object_get(e, "started")));
	assert_non_null(json_string_value(json_object_get(e, "started_reason")));
	json_decref(e);
	json_decref(old);
	json_decref(skipped);
	json_decref(start);
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

struct fake;
typedef void (*fake_answer_fn)(struct fake *f, const Chaos__V1__ControlRequest *req,
                               Chaos__V1__ControlResponse *resp);

struct fake {
	nng_socket     sock;
	nng_thread    *thread;
	enum fake_mode mode;
	int            polls;
	fake_answer_fn answer;    /* the run client's script unless set */
	int            ops;       /* the ops script: which one (enum ops_script) */
	int            asked[32]; /* requests seen, by body case */
	uint64_t       abort_id;
	char           abort_reason[128];
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
		                                NULL) == CHAOS_OK) {
			f->asked[req->body_case % 32]++;
			(f->answer ? f->answer : fake_answer)(f, req, &resp);
		}
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
	/* how the run ended is in the file: --resume reads it from there */
	assert_string_equal(json_string_value(json_object_get(onfile, "run_state")),
	                    "succeeded");
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
	assert_int_equal(
	    runclient_follow(&t, 7, "network_partition", dir, clk_now_us(), &res),
	    CHAOS_EXIT_FAILED);
	assert_int_equal(res.state, CHAOS__V1__RUN_STATE__RUN_STATE_INTERRUPTED);
	assert_non_null(res.result);
	assert_non_null(onfile = json_load_file(res.path, 0, NULL));
	assert_true(json_is_true(json_object_get(onfile, "interrupted")));
	assert_string_equal(json_string_value(json_object_get(onfile, "run_state")),
	                    "interrupted");
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

/* ---- status, abort and results against a scripted controller ---- */

#define NOW_US 1764240000000000LL /* 2025-11-27T10:40:00Z */

enum ops_script {
	OPS_RUN_WITH_FAULTS, /* run 12 running, faults on chain-0 and chain-1 */
	OPS_IDLE,            /* nothing runs, nothing is in force */
	OPS_UNKNOWN_RUN,     /* an abort of a run the controller does not keep */
};

struct ops_status_fix {
	Chaos__V1__RunInfo   run, *runs[1];
	Chaos__V1__LiveFault fault[2], *faults[2];
	Chaos__V1__AgentInfo lost, *losts[1];
	Chaos__V1__Identity  id;
};

static void
ops_fault(Chaos__V1__LiveFault *f, char *pod, char *fault_id)
{
	chaos__v1__live_fault__init(f);
	f->agent_id = pod, f->pod = pod, f->fault_id = fault_id, f->namespace_ = "ledger";
	f->kind         = "partition";
	f->has_lease_ms = f->has_lease_end_ctl_us = f->has_hard_end_ctl_us = true;
	f->lease_ms                                                        = 3000;
	f->lease_end_ctl_us = NOW_US + 2500000;
	f->hard_end_ctl_us  = NOW_US + 56000000;
	f->has_wanted = f->has_in_force = f->wanted = f->in_force = true;
}

/* Run 12 and its faults (while the abort has not ended it), a lost agent. */
static void
ops_status_answer(struct fake *f, struct ops_status_fix *x,
                  Chaos__V1__ControlResponse *resp)
{
	bool ended = f->asked[CHAOS__V1__CONTROL_REQUEST__BODY_ABORT] > 0 &&
	    f->asked[CHAOS__V1__CONTROL_REQUEST__BODY_RUN_STATUS] >= 2;

	chaos__v1__identity__init(&x->id);
	x->id.agent_id = x->id.pod = "chain-2", x->id.namespace_ = "ledger";
	x->id.node = "n1", x->id.role = CHAOS__V1__ROLE__ROLE_BLOCKCHAIN;
	x->id.incarnation = 1;
	chaos__v1__agent_info__init(&x->lost);
	x->lost.identity              = &x->id,
	x->lost.state                 = CHAOS__V1__AGENT_STATE__AGENT_STATE_LOST;
	x->lost.has_lost_since_ctl_us = true;
	x->lost.lost_since_ctl_us     = NOW_US - 3000000;
	x->lost.lost_reason           = "connection closed";
	x->losts[0]                   = &x->lost;
	resp->agents = x->losts, resp->n_agents = 1;
	if (f->ops == OPS_IDLE || ended)
		return;
	chaos__v1__run_info__init(&x->run);
	x->run.run_id = 12, x->run.scenario = "network_partition";
	x->run.state              = CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING;
	x->run.has_started_ctl_us = true;
	x->run.started_ctl_us     = NOW_US - 4000000;
	x->run.last_progress      = "partition applied on 2 nodes";
	x->runs[0]                = &x->run;
	ops_fault(&x->fault[0], "chain-0", "r12-partition-chain-0");
	ops_fault(&x->fault[1], "chain-1", "r12-partition-chain-1");
	x->faults[0] = &x->fault[0], x->faults[1] = &x->fault[1];
	resp->runs = x->runs, resp->n_runs = 1;
	resp->faults = x->faults, resp->n_faults = 2;
}

/* Runs 12 (aborted, no mttr) and 11 (succeeded, 1.5 s), newest first. */
static void
ops_results_answer(const Chaos__V1__ControlRequest *req, Chaos__V1__ControlResponse *resp)
{
	static Chaos__V1__RunInfo r[2], *rp[2];

	for (int i = 0; i < 2; i++) {
		chaos__v1__run_info__init(&r[i]);
		r[i].run_id = 12 - (uint64_t)i, r[i].scenario = "network_partition";
		r[i].has_started_ctl_us = r[i].has_ended_ctl_us = true;
		r[i].started_ctl_us = NOW_US - 60000000 * (i + 1);
		r[i].ended_ctl_us   = r[i].started_ctl_us + 31000000;
		rp[i]               = &r[i];
	}
	r[0].state       = CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED;
	r[0].error       = "aborted by `chaosctl abort` on ops-host";
	r[0].mttr_reason = "not measured: the run was aborted";
	r[1].state       = CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED;
	r[1].has_mttr_s = true, r[1].mttr_s = 1.5;
	resp->runs = rp, resp->n_runs = 2;
	if (!req->results->has_run_id)
		return;
	if (req->results->run_id != 12) {
		resp->n_runs = 0,
		resp->error  = "no run 99 among those kept (the last 64)";
		return;
	}
	resp->n_runs = 1;
	resp->record_json =
	    "{\"id\":12,\"state\":\"aborted\",\"progress\":[\"partition "
	    "applied\",\"aborted: reverting\"],\"result\":{\"mttr\":null}}";
}

static void
ops_answer(struct fake *f, const Chaos__V1__ControlRequest *req,
           Chaos__V1__ControlResponse *resp)
{
	static struct ops_status_fix x;

	resp->has_now_ctl_us = true;
	resp->now_ctl_us     = NOW_US;
	switch (req->body_case) {
	case CHAOS__V1__CONTROL_REQUEST__BODY_STATUS:
		ops_status_answer(f, &x, resp);
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_ABORT:
		f->abort_id = req->abort->run_id;
		snprintf(f->abort_reason, sizeof(f->abort_reason), "%s",
		         req->abort->reason ? req->abort->reason : "");
		if (f->ops == OPS_UNKNOWN_RUN) {
			resp->error = "no such run (the controller keeps the last 64)";
			break;
		}
		resp->has_run_state = true;
		resp->run_state     = CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING;
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_RUN_STATUS: /* aborted at the 2nd poll */
		resp->has_run_state = true;
		resp->run_state     = f->asked[req->body_case] >= 2
		        ? CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED
		        : CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING;
		break;
	case CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS:
		ops_results_answer(req, resp);
		break;
	default:
		resp->error = "not scripted";
	}
}

/* Runs a chaosctl command with its standard output in *out (caller frees). */
static int
run_captured(int (*cmd)(const struct ctl_target *, int, char **),
             const struct ctl_target *t, int argc, char **argv, char **out)
{
	char  path[] = "/tmp/chaosctl-out-XXXXXX";
	int   fd = mkstemp(path), saved = dup(1), rv;
	FILE *f;
	long  len;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stdout);
	dup2(fd, 1);
	rv = cmd(t, argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_non_null(f = fdopen(fd, "r"));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	*out = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(*out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(path);
	return rv;
}

static void
ops_start(struct fake *f, enum ops_script script, struct ctl_target *t, char *url,
          size_t len)
{
	fake_start(f, FAKE_SUCCEED, t, url, len);
	f->answer = ops_answer;
	f->ops    = script;
}

static void
test_status_json_has_each_fault_with_its_lease_and_the_lost_agents(void **state)
{
	struct fake       f;
	struct ctl_target t = {0};
	char              url[128], *out = NULL, *argv[] = {"status", "--json"};
	json_t           *doc, *fault, *run;

	(void)state;
	ops_start(&f, OPS_RUN_WITH_FAULTS, &t, url, sizeof(url));
	assert_int_equal(run_captured(cmd_status, &t, 2, argv, &out), CHAOS_EXIT_OK);
	assert_non_null(doc = json_loads(out, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(doc, "now")),
	                    "2025-11-27T10:40:00.000Z");
	run = json_array_get(json_object_get(doc, "runs"), 0);
	assert_int_equal(json_integer_value(json_object_get(run, "id")), 12);
	assert_string_equal(json_string_value(json_object_get(run, "state")), "running");
	assert_true(json_real_value(json_object_get(run, "elapsed_s")) == 4.0);
	assert_string_equal(json_string_value(json_object_get(run, "progress")),
	                    "partition applied on 2 nodes");
	assert_int_equal(json_array_size(json_object_get(doc, "faults")), 2);
	fault = json_array_get(json_object_get(doc, "faults"), 1);
	assert_string_equal(json_string_value(json_object_get(fault, "pod")), "chain-1");
	assert_int_equal(json_integer_value(json_object_get(fault, "run_id")), 12);
	assert_string_equal(json_string_value(json_object_get(fault, "state")),
	                    "in_force");
	assert_string_equal(json_string_value(json_object_get(fault, "kind")),
	                    "partition");
	assert_int_equal(json_integer_value(json_object_get(fault, "lease_ms")), 3000);
	assert_string_equal(json_string_value(json_object_get(fault, "lease_expires")),
	                    "2025-11-27T10:40:02.500Z");
	assert_true(json_real_value(json_object_get(fault, "lease_left_s")) == 2.5);
	assert_true(json_real_value(json_object_get(fault, "hard_end_in_s")) == 56.0);
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(doc, "agents_lost"), 0), "since")),
	    "2025-11-27T10:39:57.000Z");
	json_decref(doc);
	free(out);
	fake_stop(&f);
}

static void
test_status_table_says_plainly_when_nothing_runs(void **state)
{
	struct fake       f;
	struct ctl_target t = {0};
	char              url[128], *out = NULL, *argv[] = {"status"};

	(void)state;
	ops_start(&f, OPS_IDLE, &t, url, sizeof(url));
	assert_int_equal(run_captured(cmd_status, &t, 1, argv, &out), CHAOS_EXIT_OK);
	assert_non_null(strstr(out, "no run in progress\n"));
	assert_non_null(strstr(out, "no fault in force\n"));
	assert_non_null(
	    strstr(out, "chain-2              3.0s ago     connection closed"));
	free(out);
	fake_stop(&f);
}

static void
test_abort_ends_the_run_in_progress_and_names_the_targets_reverted(void **state)
{
	struct fake       f;
	struct ctl_target t = {0};
	char              url[128], *out = NULL, *argv[] = {"abort"};

	(void)state;
	ops_start(&f, OPS_RUN_WITH_FAULTS, &t, url, sizeof(url));
	assert_int_equal(run_captured(cmd_abort, &t, 1, argv, &out), CHAOS_EXIT_OK);
	assert_int_equal(f.abort_id, 12); /* the one in progress */
	assert_non_null(strstr(f.abort_reason, "chaosctl abort"));
	assert_non_null(strstr(out, "run 12 aborted in "));
	assert_non_null(
	    strstr(out, "; faults reverted on 2 targets (chain-0, chain-1)\n"));
	free(out);
	fake_stop(&f);
}

static void
test_abort_with_nothing_to_abort_or_an_unknown_run_fails_with_its_status(void **state)
{
	struct fake       f;
	struct ctl_target t = {0};
	char              url[128], *out = NULL, *argv[] = {"abort", "99"};

	(void)state;
	ops_start(&f, OPS_IDLE, &t, url, sizeof(url));
	assert_int_equal(run_captured(cmd_abort, &t, 1, argv, &out), CHAOS_EXIT_FAILED);
	assert_int_equal(f.asked[CHAOS__V1__CONTROL_REQUEST__BODY_ABORT], 0);
	free(out);
	fake_stop(&f);
	ops_start(&f, OPS_UNKNOWN_RUN, &t, url, sizeof(url));
	assert_int_equal(run_captured(cmd_abort, &t, 2, argv, &out), CHAOS_EXIT_USAGE);
	assert_int_equal(f.abort_id, 99);
	free(out);
	argv[1] = "12x";
	assert_int_equal(run_captured(cmd_abort, &t, 2, argv, &out), CHAOS_EXIT_USAGE);
	free(out);
	fake_stop(&f);
}

static void
test_results_list_newest_first_with_mttr_or_its_reason(void **state)
{
	struct fake       f;
	struct ctl_target t = {0};
	char              url[128], *out = NULL, *argv[] = {"results", "--json"};
	json_t           *doc, *first;

	(void)state;
	ops_start(&f, OPS_IDLE, &t, url, sizeof(url));
	assert_int_equal(run_captured(cmd_results, &t, 2, argv, &out), CHAOS_EXIT_OK);
	assert_non_null(doc = json_loads(out, 0, NULL));
	assert_int_equal(json_array_size(doc), 2);
	first = json_array_get(doc, 0);
	assert_int_equal(json_integer_value(json_object_get(first, "id")), 12);
	assert_string_equal(json_string_value(json_object_get(first, "state")),
	                    "aborted");
	assert_true(json_is_null(json_object_get(first, "mttr")));
	assert_string_equal(json_string_value(json_object_get(first, "mttr_reason")),
	                    "not measured: the run was aborted");
	assert_string_equal(json_string_value(json_object_get(first, "ended")),
	                    "2025-11-27T10:39:31.000Z");
	assert_true(json_real_value(json_object_get(json_array_get(doc, 1), "mttr")) ==
	            1.5);
	json_decref(doc);
	free(out);
	argv[1] = NULL;
	assert_int_equal(run_captured(cmd_results, &t, 1, argv, &out), CHAOS_EXIT_OK);
	assert_non_null(strstr(out, "aborted by `chaosctl abort` on ops-host\n"));
	assert_non_null(strstr(out, " 1.500s "));
	free(out);
	fake_stop(&f);
}

static void
test_results_of_one_run_print_its_record_and_an_unknown_one_exits_2(void **state)
{
	struct fake       f;
	struct ctl_target t = {0};
	char              url[128], *out = NULL, *argv[] = {"results", "12", "--json"};
	json_t           *doc;

	(void)state;
	ops_start(&f, OPS_IDLE, &t, url, sizeof(url));
	assert_int_equal(run_captured(cmd_results, &t, 3, argv, &out), CHAOS_EXIT_OK);
	assert_non_null(doc = json_loads(out, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(doc, "id")), 12);
	assert_true(json_is_object(json_object_get(doc, "result")));
	json_decref(doc);
	free(out);
	assert_int_equal(run_captured(cmd_results, &t, 2, argv, &out), CHAOS_EXIT_OK);
	assert_non_null(strstr(out, "progress (the last lines):\n  partition applied\n"));
	free(out);
	argv[1] = "99";
	assert_int_equal(run_captured(cmd_results, &t, 2, argv, &out), CHAOS_EXIT_USAGE);
	assert_string_equal(out, "");
	free(out);
	fake_stop(&f);
}

/* cmd_run on argv with stderr captured into err: its exit status. */
static int
run_usage(char **argv, int argc, char *err, size_t len)
{
	struct ctl_target t = {.url = "ipc:///nonexistent/chaosctl-test.sock"};
	struct stderr_cap cap;
	int               rv;

	assert_int_equal(stderr_cap_begin(&cap), 0);
	rv = cmd_run(&t, argc, argv);
	stderr_cap_end(&cap, err, len);
	return rv;
}

/* Usage errors of `chaosctl run` are exit 2 and one line, before any
 * controller is contacted (the target above does not exist). */
static void
test_run_usage_errors_are_one_line_and_exit_2(void **state)
{
	char  err[512];
	char *none[]   = {"run"};
	char *coord[]  = {"run",  "coordinator",       "--method",
	                  "kill", "--outage-duration", "5"};
	char *groups[] = {"run",     "network",           "--groups",
	                  "a,b/c,d", "--partition-ratio", "0.3"};

	(void)state;
	assert_int_equal(run_usage(none, 1, err, sizeof(err)), CHAOS_EXIT_USAGE);
	assert_string_equal(err,
	                    "chaosctl: run: missing scenario; allowed: coordinator "
	                    "network database (or -f FILE)\n");
	assert_int_equal(run_usage(coord, 6, err, sizeof(err)), CHAOS_EXIT_USAGE);
	assert_string_equal(
	    err, "chaosctl: --outage-duration applies only with --method blackhole\n");
	assert_int_equal(run_usage(groups, 6, err, sizeof(err)), CHAOS_EXIT_USAGE);
	assert_string_equal(
	    err,
	    "chaosctl: --groups and --partition-ratio cannot be combined; give one "
	    "of them\n");
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
	    cmocka_unit_test(test_output_check_creates_no_directory),
	    cmocka_unit_test(test_history_round_trip_gives_resume_its_session),
	    cmocka_unit_test(test_a_torn_last_history_line_is_skipped),
	    cmocka_unit_test(test_a_run_started_but_not_recorded_is_in_flight_on_resume),
	    cmocka_unit_test(test_a_session_without_an_end_record_has_no_made_up_end),
	    cmocka_unit_test(
	        test_an_adopted_result_keeps_its_state_or_says_it_is_unknown),
	    cmocka_unit_test(test_following_an_interrupted_run_writes_what_it_measured),
	    cmocka_unit_test(test_orch_pick_is_repeatable_and_covers_every_scenario),
	    cmocka_unit_test(test_run_client_follows_a_run_and_writes_its_result),
	    cmocka_unit_test(test_run_client_reports_refusals_with_their_exit_status),
	    cmocka_unit_test(
	        test_run_client_without_a_controller_is_an_environment_error),
	    cmocka_unit_test(
	        test_status_json_has_each_fault_with_its_lease_and_the_lost_agents),
	    cmocka_unit_test(test_status_table_says_plainly_when_nothing_runs),
	    cmocka_unit_test(
	        test_abort_ends_the_run_in_progress_and_names_the_targets_reverted),
	    cmocka_unit_test(
	        test_abort_with_nothing_to_abort_or_an_unknown_run_fails_with_its_status),
	    cmocka_unit_test(test_results_list_newest_first_with_mttr_or_its_reason),
	    cmocka_unit_test(
	        test_results_of_one_run_print_its_record_and_an_unknown_one_exits_2),
	    cmocka_unit_test(test_run_usage_errors_are_one_line_and_exit_2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
