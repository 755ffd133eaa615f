// SPDX-License-Identifier: MIT
/*
 * Figures a scenario result may state only when measured
 * (controller/scenarios/util.c): the fault's end from revert acks or the
 * agents' REVERTED/EXPIRED events, never the controller's clock; the clock
 * error bound over every agent whose times are used, unknown when one has
 * no measurement; and the window figures of a fault never applied.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "controller/scenarios/util.h"

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
