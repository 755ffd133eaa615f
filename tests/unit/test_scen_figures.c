// SPDX-License-Identifier: MIT
/*
 * Figures a scenario result may state only when measured
 * (controller/scenarios/util.c): the fault's end from revert acks or the
 * agents' REVERTED/EXPIRED events, never the controller's clock; the clock
 * error bound over every agent whose times are used, unknown when one has
 * no measurement; the window figures of a fault never applied; and the
 * noop scenario's fault window from the agents' applied times, run by a
 * real run manager against one fake agent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/wire.h"
#include "controller/scenarios/util.h"
#include "tests/support/fake_agent.h"

#define REVERTED CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED
#define EXPIRED CHAOS__V1__FAULT_PHASE__FAULT_PHASE_EXPIRED
#define APPLIED CHAOS__V1__FAULT_PHASE__FAULT_PHASE_APPLIED
#define FAILED CHAOS__V1__FAULT_PHASE__FAULT_PHASE_FAILED

static void
target(struct scen_target *t, const char *pod, int64_t reverted_us)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->pod, sizeof(t->pod), "%s", pod);
	snprintf(t->fault_id, sizeof(t->fault_id), "f-%s", pod);
	t->reverted_us = reverted_us;
}

static struct obs_fault_event
event(const char *pod, int phase, int64_t t_us)
{
	struct obs_fault_event e = {.phase = phase, .t_us = t_us};

	snprintf(e.fault_id, sizeof(e.fault_id), "f-%s", pod);
	return e;
}

static void
test_every_ack_gives_the_latest_ack(void **state)
{
	struct scen_target     t[2];
	struct obs_fault_event ev[1] = {event("a", EXPIRED, 9000)};
	int64_t                end   = 0;
	char                   why[128];

	(void)state;
	target(&t[0], "a", 1000);
	target(&t[1], "b", 1500);
	assert_true(scen_fault_end(t, 2, ev, 1, &end, why, sizeof(why)));
	assert_int_equal(end, 1500); /* the acks stand, as before */
}

static void
test_a_missing_ack_takes_the_agents_expiry_event(void **state)
{
	struct scen_target     t[2];
	struct obs_fault_event ev[4] = {
	    event("b", APPLIED, 100), event("a", EXPIRED, 500), event("b", EXPIRED, 7000),
	    event("b", FAILED, 8000)};
	int64_t end = 0;
	char    why[128];

	(void)state;
	target(&t[0], "a", 1000);
	target(&t[1], "b", 0);
	assert_true(scen_fault_end(t, 2, ev, 4, &end, why, sizeof(why)));
	assert_int_equal(end, 7000);
	ev[2] = event("b", REVERTED, 6000);
	assert_true(scen_fault_end(t, 2, ev, 4, &end, why, sizeof(why)));
	assert_int_equal(end, 6000);
}

static void
test_no_ack_and_no_event_is_not_confirmed(void **state)
{
	struct scen_target     t[2];
	struct obs_fault_event ev[2] = {event("b", APPLIED, 100),
	                                event("a", EXPIRED, 500)};
	int64_t                end   = 42;
	char                   why[128];

	(void)state;
	target(&t[0], "a", 1000);
	target(&t[1], "b", 0);
	assert_false(scen_fault_end(t, 2, ev, 2, &end, why, sizeof(why)));
	assert_int_equal(end, 42); /* never the controller's clock */
	assert_string_equal(why, "revert not confirmed on b");
	/* a lost target's fault died with its agent: at the latest when it
	 * was seen lost */
	t[1].lost       = true;
	t[1].lost_at_us = 800;
	assert_true(scen_fault_end(t, 2, ev, 2, &end, why, sizeof(why)));
	assert_int_equal(end, 1000);
	t[1].lost_at_us = 1500;
	assert_true(scen_fault_end(t, 2, ev, 2, &end, why, sizeof(why)));
	assert_int_equal(end, 1500);
	/* every target lost (a node agent killed): still an end, not a wait
	 * for the recovery timeout */
	t[0].lost       = true;
	t[0].lost_at_us = 1200;
	assert_true(scen_fault_end(t, 2, ev, 2, &end, why, sizeof(why)));
	assert_int_equal(end, 1500);
	t[0].fault_id[0] = t[1].fault_id[0] = '\0';
	assert_false(scen_fault_end(t, 2, ev, 2, &end, why, sizeof(why)));
	assert_string_equal(why, "no target was faulted");
}

static void
test_clock_bound_is_the_worst_measured(void **state)
{
	struct scen_clock c = {0};
	json_t           *o = json_object();

	(void)state;
	scen_clock_take(&c, "loader-1", true, 1500);
	scen_clock_take(&c, "coord-1", true, 4200);
	scen_clock_json(o, "clock_error_ms", &c);
	assert_true(json_real_value(json_object_get(o, "clock_error_ms")) == 4.2);
	assert_null(json_object_get(o, "clock_error_ms_reason"));
	json_decref(o);
}

static void
test_one_unmeasured_clock_makes_the_bound_unknown(void **state)
{
	struct scen_clock c = {0};
	json_t           *o = json_object();

	(void)state;
	scen_clock_take(&c, "loader-1", true, 1500);
	scen_clock_take(&c, "pg-0", false, 0);
	scen_clock_take(&c, "pg-1", false, 0);
	scen_clock_json(o, "clock_error_ms", &c);
	assert_true(json_is_null(json_object_get(o, "clock_error_ms")));
	assert_string_equal(
	    json_string_value(json_object_get(o, "clock_error_ms_reason")),
	    "no clock measurement for pg-0");
	json_decref(o);
}

static void
test_window_figures_of_a_fault_never_applied_are_null(void **state)
{
	json_t *o = json_object();

	(void)state;
	scen_window_end(o, "failure_end", 0, 5000000, "");
	assert_true(json_is_null(json_object_get(o, "failure_end")));
	assert_string_equal(json_string_value(json_object_get(o, "failure_end_reason")),
	                    "no fault was applied");
	scen_window_end(o, "partition_end", 1000000, 0, "revert not confirmed on b");
	assert_true(json_is_null(json_object_get(o, "partition_end")));
	assert_string_equal(json_string_value(json_object_get(o, "partition_end_reason")),
	                    "revert not confirmed on b");
	scen_window_end(o, "outage_end", 1000000, 2000000, "");
	assert_true(json_is_string(json_object_get(o, "outage_end")));
	assert_null(json_object_get(o, "outage_end_reason"));
	assert_string_equal(scen_unmeasured_why(0, "revert not confirmed on b"),
	                    "no fault was applied");
	assert_string_equal(scen_unmeasured_why(1, ""), "the fault is still on");
	scen_null(o, "api_requests_during", "no fault was applied");
	assert_true(json_is_null(json_object_get(o, "api_requests_during")));
	assert_string_equal(
	    json_string_value(json_object_get(o, "api_requests_during_reason")),
	    "no fault was applied");
	json_decref(o);
}

/* ---- noop against one fake agent ---- */

#define NOOP_OFFSET_US 7000000LL /* the agent's clock runs 7 s ahead */

/* The command of kind body_case queued for agent_id, once the run sent it
 * (at most 5 s); its id. */
static uint64_t
queued_command(struct registry *reg, const char *agent_id, int body_case)
{
	for (int i = 0; i < 500; i++) {
		nng_msg          *msg   = NULL;
		Chaos__V1__Reply *reply = NULL;
		uint64_t          id    = 0;
		assert_int_equal(registry_build_reply(reg, agent_id, (uint64_t)i + 2,
		                                      clk_now_us(), false, NULL, &msg),
		                 CHAOS_OK);
		assert_int_equal(
		    wire_decode_reply(nng_msg_body(msg), nng_msg_len(msg), &reply, NULL),
		    CHAOS_OK);
		nng_msg_free(msg);
		for (size_t k = 0; k < reply->n_commands; k++)
			if ((int)reply->commands[k]->body_case == body_case)
				id = reply->commands[k]->command_id;
		wire_free(reply);
		if (id != 0)
			return id;
		usleep(10000);
	}
	fail_msg("the run never sent command kind %d", body_case);
	return 0;
}

/* Acks command id as applied at applied_ctl_us on the controller's clock,
 * stamped on the agent's (NOOP_OFFSET_US ahead). */
static void
ack_applied(struct run_mgr *runs, uint64_t id, int64_t applied_ctl_us)
{
	Chaos__V1__Ack ack = CHAOS__V1__ACK__INIT;

	ack.command_id           = id;
	ack.status               = CHAOS__V1__STATUS__STATUS_OK;
	ack.has_applied_agent_us = true;
	ack.applied_agent_us     = applied_ctl_us + NOOP_OFFSET_US;
	run_mgr_on_ack(runs, "t/a", &ack, NOOP_OFFSET_US, clk_now_us());
}

/* The result of run id once it ended (at most 5 s). */
static json_t *
ended_result(struct run_mgr *runs, uint64_t id)
{
	for (int i = 0; i < 500; i++) {
		Chaos__V1__ControlResponse  resp = CHAOS__V1__CONTROL_RESPONSE__INIT;
		Chaos__V1__RunStatusRequest req  = CHAOS__V1__RUN_STATUS_REQUEST__INIT;
		json_t                     *res  = NULL;
		req.run_id                       = id;
		run_mgr_status(runs, &req, &resp);
		if (resp.run_state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED &&
		    resp.result_json != NULL)
			res = json_loads(resp.result_json, 0, NULL);
		run_mgr_resp_free(&resp);
		if (res != NULL)
			return res;
		usleep(10000);
	}
	fail_msg("run %llu never succeeded", (unsigned long long)id);
	return NULL;
}

static void
assert_time(const json_t *result, const char *key, int64_t us)
{
	char want[CLK_ISO_LEN];

	clk_iso8601(us, want, sizeof(want));
	assert_string_equal(json_string_value(json_object_get(result, key)), want);
}

static void
test_noop_fault_window_is_the_agents_applied_times(void **state)
{
	static const struct scenario *const none[] = {NULL};
	struct registry                    *reg;
	struct run_mgr                     *runs;
	struct fake_agent                   f;
	Chaos__V1__RunRequest               req  = CHAOS__V1__RUN_REQUEST__INIT;
	Chaos__V1__ControlResponse          resp = CHAOS__V1__CONTROL_RESPONSE__INIT;
	int64_t  t0 = clk_now_us() - 60000000; /* a minute ago */
	json_t  *res;
	uint64_t id;

	(void)state;
	assert_int_equal(registry_new(100, 8, &reg), CHAOS_OK);
	assert_int_equal(run_mgr_new(reg, none, NULL, &runs), CHAOS_OK);
	fake_connect(reg, &f, "t", "a", 1);
	req.scenario    = "noop";
	req.params_json = "{\"agent\":\"t/a\"}";
	run_mgr_start(runs, &req, &resp);
	assert_null(resp.error);
	id = resp.run_id;
	run_mgr_resp_free(&resp);
	ack_applied(runs,
	            queued_command(reg, "t/a", CHAOS__V1__COMMAND__BODY_APPLY_FAULT), t0);
	ack_applied(runs,
	            queued_command(reg, "t/a", CHAOS__V1__COMMAND__BODY_REVERT_FAULT),
	            t0 + 250000);
	res = ended_result(runs, id);
	/* the agent's times, offset applied: not when the acks reached the
	 * controller (a minute later) */
	assert_time(res, "fault_start", t0);
	assert_time(res, "fault_end", t0 + 250000);
	/* no clock exchange with the fake agent: the bound is unknown, said so */
	assert_true(json_is_null(json_object_get(res, "clock_error_ms")));
	assert_string_equal(
	    json_string_value(json_object_get(res, "clock_error_ms_reason")),
	    "no clock measurement for t/a");
	json_decref(res);
	run_mgr_free(runs);
	registry_free(reg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_ack_gives_the_latest_ack),
	    cmocka_unit_test(test_a_missing_ack_takes_the_agents_expiry_event),
	    cmocka_unit_test(test_no_ack_and_no_event_is_not_confirmed),
	    cmocka_unit_test(test_clock_bound_is_the_worst_measured),
	    cmocka_unit_test(test_one_unmeasured_clock_makes_the_bound_unknown),
	    cmocka_unit_test(test_window_figures_of_a_fault_never_applied_are_null),
	    cmocka_unit_test(test_noop_fault_window_is_the_agents_applied_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
