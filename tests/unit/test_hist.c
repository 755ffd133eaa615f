// SPDX-License-Identifier: MIT
/*
 * The latency histogram: bucket layout, percentiles of known distributions
 * within the stated error (exact below 256 us, 1/256 relative above), merge
 * and the wire round trip, and "unknown" for an empty histogram.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/hist.h"

/* A reading that is known (expr true) and is want. */
#define assert_reads(expr, v, want)                                                      \
	do {                                                                             \
		assert_true(expr);                                                       \
		assert_int_equal((v), (want));                                           \
	} while (0)

/* The exact nearest-rank percentile of a sorted array. */
static uint64_t
exact_percentile(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);

	if (rank == 0)
		rank = 1;
	return sorted[rank - 1];
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
assert_within_stated_error(uint64_t got, uint64_t want)
{
	uint64_t diff = got > want ? got - want : want - got;

	if (want < HIST_LINEAR) {
		if (got != want)
			fail_msg("got %llu, want exactly %llu", (unsigned long long)got,
			         (unsigned long long)want);
		return;
	}
	if ((double)diff > (double)want / 256.0)
		fail_msg("got %llu, want %llu within 1/256", (unsigned long long)got,
		         (unsigned long long)want);
}

/* Records values, then checks a spread of percentiles against the exact ones. */
static void
check_distribution(uint64_t *values, size_t n)
{
	static const double ps[] = {0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100};
	struct hist        *h;

	assert_int_equal(hist_new(&h), CHAOS_OK);
	for (size_t i = 0; i < n; i++)
		hist_record(h, values[i]);
	qsort(values, n, sizeof(values[0]), cmp_u64);
	assert_int_equal(hist_count(h), n);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t got;
		assert_true(hist_percentile(h, ps[i], &got));
		assert_within_stated_error(got, exact_percentile(values, n, ps[i]));
	}
	hist_free(h);
}

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_buckets_tile_the_range_without_gaps(void **state)
{
	(void)state;
	assert_int_equal(HIST_BUCKETS, 2560);
	assert_int_equal(hist_bucket_low(0), 0);
	for (size_t i = 0; i + 1 < HIST_BUCKETS; i++) {
		assert_int_equal(hist_bucket_high(i) + 1, hist_bucket_low(i + 1));
		assert_int_equal(hist_bucket_index(hist_bucket_low(i)), i);
		assert_int_equal(hist_bucket_index(hist_bucket_high(i)), i);
		/* The width never exceeds 1/128 of the bucket's lowest value. */
		if (i >= HIST_LINEAR)
			assert_true((hist_bucket_high(i) - hist_bucket_low(i) + 1) *
			                128 <=
			            hist_bucket_low(i));
	}
	assert_int_equal(hist_bucket_high(HIST_BUCKETS - 1), HIST_MAX_US);
	assert_true(HIST_MAX_US >= 60000000u);
	assert_int_equal(hist_bucket_index(UINT64_MAX), HIST_BUCKETS - 1);
}

static void
test_empty_histogram_is_unknown_not_zero(void **state)
{
	struct hist *h;
	uint64_t     v = 12345;
	size_t       n = 99;

	(void)state;
	assert_int_equal(hist_new(&h), CHAOS_OK);
	assert_false(hist_percentile(h, 50, &v));
	assert_false(hist_percentile(h, 0, &v));
	assert_false(hist_min(h, &v));
	assert_false(hist_max(h, &v));
	assert_int_equal(v, 12345);
	assert_int_equal(hist_count(h), 0);
	hist_counts(h, &n);
	assert_int_equal(n, 0);
	hist_free(h);
}

static void
test_percentile_rejects_out_of_range_p(void **state)
{
	struct hist *h;
	uint64_t     v = 7;

	(void)state;
	assert_int_equal(hist_new(&h), CHAOS_OK);
	hist_record(h, 100);
	assert_false(hist_percentile(h, -1, &v));
	assert_false(hist_percentile(h, 100.5, &v));
	assert_int_equal(v, 7);
	hist_free(h);
}

static void
test_uniform_percentiles_within_stated_error(void **state)
{
	size_t    n = 100000;
	uint64_t *v = malloc(n * sizeof(*v));
	uint64_t  s = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (size_t i = 0; i < n; i++)
		v[i] = 1 + xorshift(&s) % 2000000; /* 1 us .. 2 s */
	check_distribution(v, n);
	free(v);
}

static void
test_exponential_percentiles_within_stated_error(void **state)
{
	size_t    n = 50000;
	uint64_t *v = malloc(n * sizeof(*v));
	uint64_t  s = 42;

	(void)state;
	/* A long tail: mostly around a millisecond, some up to a minute. */
	for (size_t i = 0; i < n; i++) {
		uint64_t r     = xorshift(&s);
		unsigned shift = (unsigned)(r % 16);
		v[i]           = (500 + (r >> 32) % 1000) << shift;
		if (v[i] > 60000000)
			v[i] = 60000000;
	}
	check_distribution(v, n);
	free(v);
}

static void
test_small_values_are_exact(void **state)
{
	uint64_t v[256];

	(void)state;
	for (size_t i = 0; i < 256; i++)
		v[i] = 255 - i;
	check_distribution(v, 256);
}

static void
test_constant_value_reads_back_exactly(void **state)
{
	struct hist *h;
	uint64_t     v;

	(void)state;
	assert_int_equal(hist_new(&h), CHAOS_OK);
	for (int i = 0; i < 1000; i++)
		hist_record(h, 123457);
	/* Clamped to [min, max], a lone value is exact despite its bucket. */
	assert_reads(hist_percentile(h, 50, &v), v, 123457);
	assert_reads(hist_percentile(h, 99.9, &v), v, 123457);
	hist_free(h);
}

static void
test_min_max_are_exact(void **state)
{
	struct hist *h;
	uint64_t     v;

	(void)state;
	assert_int_equal(hist_new(&h), CHAOS_OK);
	hist_record(h, 70000000); /* over the top: counted, max still exact */
	hist_record(h, 0);
	hist_record(h, 999999);
	assert_reads(hist_min(h, &v), v, 0);
	assert_reads(hist_max(h, &v), v, 70000000);
	assert_reads(hist_percentile(h, 100, &v), v, 70000000);
	assert_reads(hist_percentile(h, 0, &v), v, 0);
	hist_free(h);
}

static void
test_merge_equals_recording_everything_in_one(void **state)
{
	struct hist *a, *b, *all;
	uint64_t     s = 7, x = 0, y = 0;
	size_t       na, nall;

	(void)state;
	assert_int_equal(hist_new(&a), CHAOS_OK);
	assert_int_equal(hist_new(&b), CHAOS_OK);
	assert_int_equal(hist_new(&all), CHAOS_OK);
	for (int i = 0; i < 10000; i++) {
		uint64_t v = xorshift(&s) % 5000000;
		hist_record(i % 3 ? a : b, v);
		hist_record(all, v);
	}
	hist_merge(a, b);
	const uint64_t *ca   = hist_counts(a, &na);
	const uint64_t *call = hist_counts(all, &nall);
	assert_int_equal(na, nall);
	assert_memory_equal(ca, call, na * sizeof(uint64_t));
	assert_int_equal(hist_count(a), hist_count(all));
	assert_true(hist_min(a, &x) && hist_min(all, &y));
	assert_int_equal(x, y);
	assert_true(hist_max(a, &x) && hist_max(all, &y));
	assert_int_equal(x, y);
	hist_free(a);
	hist_free(b);
	hist_free(all);
}

static void
test_wire_round_trip_keeps_percentiles(void **state)
{
	struct hist *src, *dst;
	uint64_t     s = 99, x = 0, y = 0;
	size_t       n;

	(void)state;
	assert_int_equal(hist_new(&src), CHAOS_OK);
	assert_int_equal(hist_new(&dst), CHAOS_OK);
	for (int i = 0; i < 5000; i++)
		hist_record(src, 1000 + xorshift(&s) % 20000);
	const uint64_t *c = hist_counts(src, &n);
	/* Trailing empty buckets are left off the wire. */
	assert_true(n < HIST_BUCKETS);
	assert_int_equal(n, hist_bucket_index(20999) + 1);
	assert_int_equal(hist_add_counts(dst, c, n), CHAOS_OK);
	assert_int_equal(hist_count(dst), 5000);
	for (double p = 1; p < 100; p += 7) {
		assert_true(hist_percentile(src, p, &x));
		assert_true(hist_percentile(dst, p, &y));
		assert_within_stated_error(y, x);
	}
	/* From the wire, min/max are the bounds of the end buckets. */
	assert_true(hist_min(dst, &x) && hist_min(src, &y));
	assert_true(x <= y && y - x < y / 128 + 1);
	/* Twice: counts add up. */
	assert_int_equal(hist_add_counts(dst, c, n), CHAOS_OK);
	assert_int_equal(hist_count(dst), 10000);
	hist_free(src);
	hist_free(dst);
}

static void
test_add_counts_rejects_bad_input_unchanged(void **state)
{
	struct hist *h;
	uint64_t     big[2] = {UINT64_MAX, 1};
	uint64_t    *many   = calloc(HIST_BUCKETS + 1, sizeof(uint64_t));

	(void)state;
	assert_int_equal(hist_new(&h), CHAOS_OK);
	hist_record(h, 5);
	assert_int_equal(hist_add_counts(h, many, HIST_BUCKETS + 1), CHAOS_EINVAL);
	assert_int_equal(hist_add_counts(h, big, 2), CHAOS_EINVAL);
	assert_int_equal(hist_count(h), 1);
	assert_int_equal(hist_add_counts(h, many, 0), CHAOS_OK);
	assert_int_equal(hist_count(h), 1);
	free(many);
	hist_free(h);
}

static void
test_reset_empties(void **state)
{
	struct hist *h;
	uint64_t     v;

	(void)state;
	assert_int_equal(hist_new(&h), CHAOS_OK);
	hist_record(h, 5000);
	hist_reset(h);
	assert_int_equal(hist_count(h), 0);
	assert_false(hist_percentile(h, 50, &v));
	hist_record(h, 7);
	assert_reads(hist_min(h, &v), v, 7);
	hist_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buckets_tile_the_range_without_gaps),
	    cmocka_unit_test(test_empty_histogram_is_unknown_not_zero),
	    cmocka_unit_test(test_percentile_rejects_out_of_range_p),
	    cmocka_unit_test(test_uniform_percentiles_within_stated_error),
	    cmocka_unit_test(test_exponential_percentiles_within_stated_error),
	    cmocka_unit_test(test_small_values_are_exact),
	    cmocka_unit_test(test_constant_value_reads_back_exactly),
	    cmocka_unit_test(test_min_max_are_exact),
	    cmocka_unit_test(test_merge_equals_recording_everything_in_one),
	    cmocka_unit_test(test_wire_round_trip_keeps_percentiles),
	    cmocka_unit_test(test_add_counts_rejects_bad_input_unchanged),
	    cmocka_unit_test(test_reset_empties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
