// SPDX-License-Identifier: MIT
/* Recovery arithmetic: what counts as recovered, detected, and the summary
 * statistics, including the empty and null cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "controller/report/mttr.h"

#define S(t, h)                                                                          \
	{                                                                                \
		(t) * 1000LL, (h)                                                        \
	}

/* a 1 s window, no limit on gaps */
static const struct mttr_rule W1S = {.window_us = 1000 * 1000};

static void
test_recovery_starts_at_first_sample_of_a_full_healthy_window(void **state)
{
	/* restore at 1000 ms; unhealthy until 1400; healthy from 1500 on */
	struct mttr_sample s[] = {S(800, 0),  S(1000, 0), S(1200, 0),
	                          S(1400, 0), S(1500, 1), S(1700, 1),
	                          S(1900, 1), S(2100, 1), S(2600, 1)};
	int64_t            t;

	(void)state;
	assert_true(mttr_recovered_at(s, 9, 1000 * 1000, &W1S, &t));
	assert_int_equal(t, 1500 * 1000);
}

static void
test_a_relapse_inside_the_window_restarts_it(void **state)
{
	struct mttr_sample s[] = {S(1000, 1), S(1200, 1), S(1400, 0),
	                          S(1600, 1), S(1800, 1), S(2700, 1)};
	int64_t            t;

	(void)state;
	assert_true(mttr_recovered_at(s, 6, 1000 * 1000, &W1S, &t));
	assert_int_equal(t, 1600 * 1000);
}

static void
test_not_recovered_until_the_window_is_covered_by_samples(void **state)
{
	struct mttr_sample s[] = {S(1000, 0), S(1500, 1), S(1900, 1)};
	int64_t            t   = -1;

	(void)state;
	assert_false(mttr_recovered_at(s, 3, 1000 * 1000, &W1S, &t));
	assert_int_equal(t, -1);
	assert_false(mttr_recovered_at(NULL, 0, 0, &W1S, &t));
}

static void
test_samples_before_the_restore_do_not_count(void **state)
{
	struct mttr_sample s[] = {S(100, 1), S(500, 1), S(900, 1), S(1100, 1),
	                          S(1300, 1)};
	int64_t            t;

	(void)state;
	struct mttr_rule w = {.window_us = 200 * 1000};

	assert_true(mttr_recovered_at(s, 5, 1000 * 1000, &w, &t));
	assert_int_equal(t, 1100 * 1000);
}

/* A silence longer than the rule allows inside a healthy run: the state in
 * it is unknown, so the run starts again after it. */
static void
test_a_gap_in_the_samples_breaks_the_healthy_run(void **state)
{
	struct mttr_sample s[] = {S(1000, 0),  S(1100, 1),  S(1200, 1),
	                          S(11200, 1), S(11400, 1), S(12300, 1)};
	struct mttr_rule   gap = mttr_rule_for(1.0, 200, 300); /* gap 1 s */
	int64_t            t;

	(void)state;
	assert_int_equal(gap.max_gap_us, 1000 * 1000);
	assert_true(mttr_recovered_at(s, 6, 1000 * 1000, &W1S, &t));
	assert_int_equal(t, 1100 * 1000); /* no gap rule: the silence counted */
	assert_true(mttr_recovered_at(s, 6, 1000 * 1000, &gap, &t));
	assert_int_equal(t, 11200 * 1000);
}

/* Down at the restore (its last sample before it) or after it: a
 * recovery; healthy throughout: nothing to recover. */
static void
test_was_down_at_the_restore_or_after(void **state)
{
	struct mttr_sample down_before[] = {S(500, 1), S(900, 0), S(1100, 1)};
	struct mttr_sample down_after[]  = {S(900, 1), S(1100, 0), S(1300, 1)};
	struct mttr_sample never[]       = {S(500, 0), S(900, 1), S(1100, 1)};

	(void)state;
	assert_true(mttr_was_down(down_before, 3, 1000 * 1000, 1100 * 1000));
	assert_true(mttr_was_down(down_after, 3, 1000 * 1000, 1300 * 1000));
	/* down before the restore but healthy again by then: not down */
	assert_false(mttr_was_down(never, 3, 1000 * 1000, 1100 * 1000));
	/* a failure after the recovery point is not looked at */
	assert_false(mttr_was_down(down_after, 3, 1000 * 1000, 1000 * 1000));
	assert_false(mttr_was_down(NULL, 0, 0, 0));
}

static void
test_detection_is_the_first_unhealthy_sample_after_the_fault(void **state)
{
	struct mttr_sample s[] = {S(100, 0), S(1000, 1), S(1200, 1), S(1400, 0),
	                          S(1600, 0)};
	int64_t            t;

	(void)state;
	assert_true(mttr_first_unhealthy(s, 5, 900 * 1000, &t));
	assert_int_equal(t, 1400 * 1000);
	assert_false(mttr_first_unhealthy(s, 5, 1700 * 1000, &t));
}

static void
test_count_is_half_open(void **state)
{
	struct mttr_sample s[] = {S(100, 1), S(200, 0), S(300, 1), S(400, 1)};
	size_t             h, n;

	(void)state;
	mttr_count(s, 4, 200 * 1000, 400 * 1000, &h, &n);
	assert_int_equal(n, 2);
	assert_int_equal(h, 1);
}

static void
test_statistics_of_an_empty_set_are_unknown_not_zero(void **state)
{
	double v = 42;

	(void)state;
	assert_false(mttr_mean(NULL, 0, &v));
	assert_false(mttr_percentile(NULL, 0, 50, &v));
	assert_true(v == 42);
}

static void
test_percentiles_use_nearest_rank(void **state)
{
	double x[] = {5, 1, 4, 2, 3}, v;

	(void)state;
	assert_true(mttr_percentile(x, 5, 50, &v));
	assert_true(v == 3);
	assert_true(mttr_percentile(x, 5, 95, &v));
	assert_true(v == 5);
	assert_true(mttr_percentile(x, 5, 0, &v));
	assert_true(v == 1);
	assert_true(mttr_mean(x, 5, &v));
	assert_true(v == 3);
	assert_false(mttr_percentile(x, 5, 101, &v));
}

/* 99.9 % of 1000 values is rank 999 exactly; the float product is a hair
 * above 999 and a plain ceil gave rank 1000. */
static void
test_percentile_rank_is_exact_where_the_product_is_whole(void **state)
{
	static double x[2000];
	double        v;

	(void)state;
	for (size_t i = 0; i < 2000; i++)
		x[i] = (double)(i + 1);
	assert_true(mttr_percentile(x, 1000, 99.9, &v));
	assert_true(v == 999);
	assert_true(mttr_percentile(x, 2000, 99.9, &v));
	assert_true(v == 1998);
	assert_true(mttr_percentile(x, 1000, 100, &v));
	assert_true(v == 1000);
	assert_true(mttr_percentile(x, 1000, 99.95, &v));
	assert_true(v == 1000); /* 999.5 rounds up */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_recovery_starts_at_first_sample_of_a_full_healthy_window),
	    cmocka_unit_test(test_a_relapse_inside_the_window_restarts_it),
	    cmocka_unit_test(test_not_recovered_until_the_window_is_covered_by_samples),
	    cmocka_unit_test(test_samples_before_the_restore_do_not_count),
	    cmocka_unit_test(test_a_gap_in_the_samples_breaks_the_healthy_run),
	    cmocka_unit_test(test_was_down_at_the_restore_or_after),
	    cmocka_unit_test(
	        test_detection_is_the_first_unhealthy_sample_after_the_fault),
	    cmocka_unit_test(test_count_is_half_open),
	    cmocka_unit_test(test_statistics_of_an_empty_set_are_unknown_not_zero),
	    cmocka_unit_test(test_percentiles_use_nearest_rank),
	    cmocka_unit_test(test_percentile_rank_is_exact_where_the_product_is_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
