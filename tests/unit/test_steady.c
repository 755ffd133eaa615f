// SPDX-License-Identifier: MIT
/*
 * The steady-state check before a fault (controller/scenarios/util.c): a
 * probe is steady when its last sample is healthy; when not, the reason
 * tells a probe that never reported (no sample reached the controller, so
 * the agent's events channel is the thing to check) from one that failed,
 * and names how it failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "controller/scenarios/util.h"

static void
test_no_sample_says_none_reached_the_controller(void **state)
{
	char why[160] = "";

	(void)state;
	assert_false(scen_steady_why(NULL, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "no probe sample reached the controller"));
	assert_non_null(strstr(why, "events channel"));
}

static void
test_the_last_sample_decides(void **state)
{
	struct obs_sample s[2]     = {{.healthy = false}, {.healthy = true}};
	char              why[160] = "untouched";

	(void)state;
	assert_true(scen_steady_why(s, 2, why, sizeof(why)));
	assert_string_equal(why, "untouched");
	s[0].healthy = true;
	s[1].healthy = false;
	snprintf(s[1].detail, sizeof(s[1].detail), "HTTP 503");
	assert_false(scen_steady_why(s, 2, why, sizeof(why)));
	assert_string_equal(why, "its last probe failed (HTTP 503)");
}

static void
test_a_failure_without_detail_names_its_error_class(void **state)
{
	struct obs_sample s = {
	    .healthy = false, .error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT};
	char why[160];

	(void)state;
	assert_false(scen_steady_why(&s, 1, why, sizeof(why)));
	assert_string_equal(why, "its last probe failed (timeout)");
	s.error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_NONE;
	assert_false(scen_steady_why(&s, 1, why, sizeof(why)));
	assert_string_equal(why, "its last probe failed (no reason given)");
}

/* A localised PostgreSQL message cut by the fixed buffers still makes a
 * string jansson takes: the reason beside a null is never dropped. */
static void
test_a_cut_cyrillic_reason_stays_valid_utf8(void **state)
{
	struct obs_sample   s = {.healthy = false};
	struct scen_outcome o;
	char                why[41], ru[600] = ""; /* 41: cuts a letter */
	json_t             *j;

	(void)state;
	for (size_t i = 0; i + 2 < sizeof(ru); i += 2) /* "ЖЖЖ..." */
		memcpy(ru + i, "\xd0\x96", 2);
	/* as a fixed buffer cuts it: mid-letter (no snprintf, whose cut
	 * gcc's -Wformat-truncation refuses in the sanitizer trees) */
	memcpy(s.detail, ru, sizeof(s.detail) - 1);
	s.detail[sizeof(s.detail) - 1] = '\0';
	assert_false(scen_steady_why(&s, 1, why, sizeof(why)));
	assert_non_null(j = json_string(why));
	json_decref(j);
	scen_fail(&o, 3, "failed: %s", ru);
	assert_true(strlen(o.failure) > 500);
	assert_non_null(j = json_string(o.failure));
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_sample_says_none_reached_the_controller),
	    cmocka_unit_test(test_the_last_sample_decides),
	    cmocka_unit_test(test_a_failure_without_detail_names_its_error_class),
	    cmocka_unit_test(test_a_cut_cyrillic_reason_stays_valid_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
