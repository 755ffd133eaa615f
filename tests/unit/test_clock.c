// SPDX-License-Identifier: MIT
/*
 * common/clock.c: the NTP-style offset of one session exchange, the clock
 * filter that keeps the tightest of the last few, and ISO 8601 formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"

#define T0_US 1700000000000000LL /* 2023-11-14T22:13:20Z */

/* One exchange seen from outside: the agent clock is theta ahead of the
 * controller's; the poll takes d1 to arrive, the controller holds it for
 * hold, the reply takes d2 back. Agent times on the agent clock. */
static struct clk_exchange
exchange(int64_t t1, int64_t theta, int64_t d1, int64_t hold, int64_t d2)
{
	int64_t             sent_ctl = t1 - theta;
	struct clk_exchange x        = {
	           .t1 = t1,
	           .t2 = sent_ctl + d1,
	           .t3 = sent_ctl + d1 + hold,
	           .t4 = sent_ctl + d1 + hold + d2 + theta,
        };
	return x;
}

static void
test_symmetric_path_recovers_the_offset_exactly(void **state)
{
	static const int64_t thetas[] = {0, 1, -1, 250000, -250000, 3600000000LL};
	int64_t              off, err;

	(void)state;
	for (size_t i = 0; i < sizeof(thetas) / sizeof(thetas[0]); i++) {
		struct clk_exchange x = exchange(T0_US, thetas[i], 400, 2000, 400);
		assert_true(clk_offset(&x, &off, &err));
		assert_int_equal(off, thetas[i]);
		assert_int_equal(err, 400); /* half the 800 us of network delay */
	}
}

/* The estimate may miss by up to half the delay asymmetry; the error bound
 * (half the round trip, rounded up) must always cover the miss. */
static void
check_error_bound(int64_t theta, int64_t d1, int64_t d2)
{
	struct clk_exchange x = exchange(T0_US, theta, d1, 100, d2);
	int64_t             off, err, miss;

	assert_true(clk_offset(&x, &off, &err));
	assert_int_equal(err, (d1 + d2 + 1) / 2);
	miss = off > theta ? off - theta : theta - off;
	if (miss > err)
		fail_msg("theta %lld d1 %lld d2 %lld: offset %lld error %lld",
		         (long long)theta, (long long)d1, (long long)d2, (long long)off,
		         (long long)err);
}

static void
test_asymmetric_delay_gives_an_error_bound_that_covers_the_true_offset(void **state)
{
	static const int64_t thetas[] = {0, 7, -7, 123457, -99999};
	static const int64_t delays[] = {0, 1, 2, 3, 10, 999, 50000};
	struct clk_exchange  x;
	int64_t              off, err;

	(void)state;
	for (size_t t = 0; t < sizeof(thetas) / sizeof(thetas[0]); t++)
		for (size_t a = 0; a < sizeof(delays) / sizeof(delays[0]); a++)
			for (size_t b = 0; b < sizeof(delays) / sizeof(delays[0]); b++)
				check_error_bound(thetas[t], delays[a], delays[b]);
	/* All the delay one way: the estimate is off by half of it, and the
	 * bound says exactly that. */
	x = exchange(T0_US, 0, 0, 0, 10000);
	assert_true(clk_offset(&x, &off, &err));
	assert_int_equal(off, 5000);
	assert_int_equal(err, 5000);
}

static void
test_controller_hold_time_is_excluded_from_the_error(void **state)
{
	struct clk_exchange quick = exchange(T0_US, -42000, 300, 0, 500);
	struct clk_exchange held =
	    exchange(T0_US, -42000, 300, 5000000, 500); /* long poll */
	int64_t off1, err1, off2, err2;

	(void)state;
	assert_true(clk_offset(&quick, &off1, &err1));
	assert_true(clk_offset(&held, &off2, &err2));
	assert_int_equal(err1, 400);
	assert_int_equal(err2, err1);
	assert_int_equal(off2, off1);
}

/* clk_offset() refuses every exchange of bad and leaves its outputs alone. */
static void
assert_all_refused(const struct clk_exchange *bad, size_t n)
{
	int64_t off = 11, err = 22;

	for (size_t i = 0; i < n; i++) {
		assert_false(clk_offset(&bad[i], &off, &err));
		assert_int_equal(off, 11);
		assert_int_equal(err, 22);
	}
}

static void
test_inconsistent_times_are_rejected_with_outputs_untouched(void **state)
{
	const struct clk_exchange bad[] = {
	    {.t1 = T0_US, .t2 = T0_US, .t3 = T0_US + 10, .t4 = T0_US - 1}, /* t4 < t1 */
	    {.t1 = T0_US,
	     .t2 = T0_US + 10,
	     .t3 = T0_US + 9,
	     .t4 = T0_US + 20}, /* t3 < t2 */
	    /* held 100 us at the controller, but back after 50: negative delay */
	    {.t1 = T0_US, .t2 = T0_US, .t3 = T0_US + 100, .t4 = T0_US + 50},
	};

	(void)state;
	assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]));
}

/* Agents send the previous exchange's times back in every poll: garbage there
 * must be refused, not overflow. */
static void
test_times_whose_differences_overflow_are_rejected(void **state)
{
	const struct clk_exchange bad[] = {
	    {.t1 = INT64_MIN, .t2 = 0, .t3 = 0, .t4 = INT64_MAX},
	    {.t1 = INT64_MAX - 1, .t2 = INT64_MIN, .t3 = INT64_MIN, .t4 = INT64_MAX},
	    {.t1 = 0, .t2 = INT64_MIN, .t3 = INT64_MAX, .t4 = 0},
	    {.t1 = INT64_MAX,
	     .t2 = 1,
	     .t3 = 1,
	     .t4 = INT64_MAX}, /* offset sum overflows */
	};

	(void)state;
	assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]));
	/* Far apart but representable is still computed. */
	{
		struct clk_exchange x   = {.t1 = 0, .t2 = 0, .t3 = 0, .t4 = INT64_MAX};
		int64_t             off = 0, err = 0;
		assert_true(clk_offset(&x, &off, &err));
		assert_int_equal(off, INT64_MAX / 2);
		assert_int_equal(err, INT64_MAX / 2 + 1);
	}
}

static void
test_filter_reports_nothing_before_the_first_exchange(void **state)
{
	struct clk_filter f;
	int64_t           off = 11, err = 22;

	(void)state;
	clk_filter_init(&f);
	assert_false(clk_filter_best(&f, &off, &err));
	assert_int_equal(off, 11);
	assert_int_equal(err, 22);
}

static void
test_filter_picks_the_sample_with_the_smallest_error(void **state)
{
	static const int64_t d[]     = {5000, 800, 3000, 20000, 1200};
	static const int64_t theta[] = {9000, 1000, -4000, 70000, 2500};
	struct clk_filter    f;
	int64_t              off, err;

	(void)state;
	clk_filter_init(&f);
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		struct clk_exchange x =
		    exchange(T0_US + (int64_t)i * 500000, theta[i], d[i], 50, d[i]);
		assert_true(clk_filter_add(&f, &x));
	}
	assert_true(clk_filter_best(&f, &off, &err));
	assert_int_equal(off, 1000);
	assert_int_equal(err, 800);
}

static void
test_filter_forgets_samples_older_than_its_size(void **state)
{
	struct clk_filter   f;
	struct clk_exchange tight = exchange(T0_US, 777, 10, 0, 10);
	int64_t             off, err;

	(void)state;
	clk_filter_init(&f);
	assert_true(clk_filter_add(&f, &tight));
	for (int i = 0; i < CLK_FILTER_SIZE - 1; i++) {
		struct clk_exchange x =
		    exchange(T0_US + (i + 1) * 1000000LL, -5, 1000 + i, 0, 1000 + i);
		assert_true(clk_filter_add(&f, &x));
	}
	assert_true(clk_filter_best(&f, &off, &err));
	assert_int_equal(off, 777); /* still among the last CLK_FILTER_SIZE */
	assert_int_equal(err, 10);
	{
		struct clk_exchange x = exchange(T0_US + 99000000LL, -5, 2000, 0, 2000);
		assert_true(clk_filter_add(&f, &x));
	}
	assert_true(clk_filter_best(&f, &off, &err));
	assert_int_equal(off, -5); /* the tight one was pushed out */
	assert_int_equal(err, 1000);
}

static void
test_filter_ignores_inconsistent_exchanges(void **state)
{
	struct clk_filter         f;
	struct clk_exchange       good = exchange(T0_US, 300, 2000, 0, 2000);
	const struct clk_exchange bad  = {
	     .t1 = T0_US, .t2 = T0_US, .t3 = T0_US, .t4 = T0_US - 5};
	int64_t off, err;

	(void)state;
	clk_filter_init(&f);
	assert_false(clk_filter_add(&f, &bad));
	assert_false(clk_filter_best(&f, &off, &err));
	assert_true(clk_filter_add(&f, &good));
	for (int i = 0; i < 2 * CLK_FILTER_SIZE; i++)
		assert_false(clk_filter_add(&f, &bad)); /* must not evict the good one */
	assert_true(clk_filter_best(&f, &off, &err));
	assert_int_equal(off, 300);
	assert_int_equal(err, 2000);
}

static void
expect_iso(int64_t us, const char *want)
{
	char buf[CLK_ISO_LEN];

	memset(buf, 'Z', sizeof(buf));
	clk_iso8601(us, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
test_iso8601_formats_utc_with_milliseconds(void **state)
{
	(void)state;
	expect_iso(T0_US, "2023-11-14T22:13:20.000Z");
	expect_iso(T0_US + 123456, "2023-11-14T22:13:20.123Z");
	expect_iso(T0_US + 999999,
	           "2023-11-14T22:13:20.999Z"); /* truncated, not rounded */
	expect_iso(T0_US + 1000, "2023-11-14T22:13:20.001Z");
	expect_iso(951782400000000LL + 86399999000LL, "2000-02-29T23:59:59.999Z");
	expect_iso(253402300799999999LL, "9999-12-31T23:59:59.999Z");
}

static void
test_iso8601_handles_zero_and_negative_times(void **state)
{
	(void)state;
	expect_iso(0, "1970-01-01T00:00:00.000Z");
	expect_iso(999, "1970-01-01T00:00:00.000Z");
	expect_iso(-1, "1969-12-31T23:59:59.999Z");
	expect_iso(-999, "1969-12-31T23:59:59.999Z");
	expect_iso(-1000, "1969-12-31T23:59:59.999Z");
	expect_iso(-1001, "1969-12-31T23:59:59.998Z");
	expect_iso(-1000000, "1969-12-31T23:59:59.000Z");
	expect_iso(-1500000, "1969-12-31T23:59:58.500Z");
	expect_iso(-86400000000LL, "1969-12-31T00:00:00.000Z");
}

static void
test_iso8601_truncates_to_a_short_buffer(void **state)
{
	char buf[11];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	clk_iso8601(T0_US, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-14");
}

static void
test_clocks_read_plausible_values(void **state)
{
	int64_t now = clk_now_us();
	int64_t m1  = clk_mono_us();
	int64_t m2  = clk_mono_us();

	(void)state;
	assert_true(now / 1000000 >= (int64_t)time(NULL) - 1);
	assert_true(now / 1000000 <= (int64_t)time(NULL) + 1);
	assert_true(m1 > 0);
	assert_true(m2 >= m1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_symmetric_path_recovers_the_offset_exactly),
	    cmocka_unit_test(
	        test_asymmetric_delay_gives_an_error_bound_that_covers_the_true_offset),
	    cmocka_unit_test(test_controller_hold_time_is_excluded_from_the_error),
	    cmocka_unit_test(test_inconsistent_times_are_rejected_with_outputs_untouched),
	    cmocka_unit_test(test_times_whose_differences_overflow_are_rejected),
	    cmocka_unit_test(test_filter_reports_nothing_before_the_first_exchange),
	    cmocka_unit_test(test_filter_picks_the_sample_with_the_smallest_error),
	    cmocka_unit_test(test_filter_forgets_samples_older_than_its_size),
	    cmocka_unit_test(test_filter_ignores_inconsistent_exchanges),
	    cmocka_unit_test(test_iso8601_formats_utc_with_milliseconds),
	    cmocka_unit_test(test_iso8601_handles_zero_and_negative_times),
	    cmocka_unit_test(test_iso8601_truncates_to_a_short_buffer),
	    cmocka_unit_test(test_clocks_read_plausible_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
