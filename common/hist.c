// SPDX-License-Identifier: MIT
#include "common/hist.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define HIST_SUB (1u << HIST_SUB_BITS)

struct hist {
	uint64_t count;
	uint64_t min, max; /* meaningful only when count > 0 */
	size_t   top;      /* highest non-empty bucket + 1 */
	uint64_t counts[HIST_BUCKETS];
};

size_t
hist_bucket_index(uint64_t v)
{
	unsigned octave;

	if (v > HIST_MAX_US)
		v = HIST_MAX_US;
	if (v < HIST_LINEAR)
		return (size_t)v;
	octave =
	    63u - (unsigned)__builtin_clzll(v); /* HIST_SUB_BITS+1 .. HIST_TOP_BIT-1 */
	return HIST_LINEAR + (size_t)(octave - HIST_SUB_BITS - 1) * HIST_SUB +
	    (size_t)((v >> (octave - HIST_SUB_BITS)) - HIST_SUB);
}

/* Width of bucket i: 1 in the linear part, then doubling every HIST_SUB. */
static uint64_t
hist_bucket_width(size_t i)
{
	if (i < HIST_LINEAR)
		return 1;
	return UINT64_C(1) << ((i - HIST_LINEAR) / HIST_SUB + 1);
}

uint64_t
hist_bucket_low(size_t i)
{
	if (i < HIST_LINEAR)
		return i;
	return (HIST_SUB + (i - HIST_LINEAR) % HIST_SUB) * hist_bucket_width(i);
}

uint64_t
hist_bucket_high(size_t i)
{
	return hist_bucket_low(i) + hist_bucket_width(i) - 1;
}

chaos_err
hist_new(struct hist **out)
{
	struct hist *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return CHAOS_ENOMEM;
	*out = h;
	return CHAOS_OK;
}

void
hist_free(struct hist *h)
{
	free(h);
}

void
hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

static void
hist_widen(struct hist *h, uint64_t lo, uint64_t hi)
{
	if (h->count == 0 || lo < h->min)
		h->min = lo;
	if (h->count == 0 || hi > h->max)
		h->max = hi;
}

void
hist_record(struct hist *h, uint64_t value_us)
{
	size_t i = hist_bucket_index(value_us);

	hist_widen(h, value_us, value_us);
	h->counts[i]++;
	h->count++;
	if (i >= h->top)
		h->top = i + 1;
}

void
hist_merge(struct hist *dst, const struct hist *src)
{
	if (src->count == 0)
		return;
	hist_widen(dst, src->min, src->max);
	for (size_t i = 0; i < src->top; i++)
		dst->counts[i] += src->counts[i];
	dst->count += src->count;
	if (src->top > dst->top)
		dst->top = src->top;
}

chaos_err
hist_add_counts(struct hist *h, const uint64_t *counts, size_t n)
{
	uint64_t total = 0;
	size_t   first = n, last = 0;

	if (n > HIST_BUCKETS)
		return CHAOS_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (counts[i] == 0)
			continue;
		if (__builtin_add_overflow(total, counts[i], &total))
			return CHAOS_EINVAL;
		if (first == n)
			first = i;
		last = i;
	}
	if (total == 0)
		return CHAOS_OK;
	if (__builtin_add_overflow(h->count, total, &total))
		return CHAOS_EINVAL;
	hist_widen(h, hist_bucket_low(first), hist_bucket_high(last));
	for (size_t i = first; i <= last; i++)
		h->counts[i] += counts[i];
	h->count = total;
	if (last >= h->top)
		h->top = last + 1;
	return CHAOS_OK;
}

const uint64_t *
hist_counts(const struct hist *h, size_t *n)
{
	*n = h->top;
	return h->counts;
}

uint64_t
hist_count(const struct hist *h)
{
	return h->count;
}

bool
hist_min(const struct hist *h, uint64_t *out)
{
	if (h->count == 0)
		return false;
	*out = h->min;
	return true;
}

bool
hist_max(const struct hist *h, uint64_t *out)
{
	if (h->count == 0)
		return false;
	*out = h->max;
	return true;
}

uint64_t
hist_rank(double p, uint64_t n)
{
	/* A product that should be an integer (99.9 % of 1000) may come out a
	 * rounding error above it; take off a relative hair so its ceil is not
	 * one rank too high. */
	double   x    = p / 100.0 * (double)n;
	uint64_t rank = 0;

	x -= x * 1e-12;
	rank = (uint64_t)x;
	if ((double)rank < x)
		rank++;
	if (rank == 0)
		rank = 1;
	return rank > n ? n : rank;
}

bool
hist_percentile(const struct hist *h, double p, uint64_t *out)
{
	uint64_t rank, seen = 0;
	size_t   i;

	if (h->count == 0 || !(p >= 0.0 && p <= 100.0))
		return false;
	rank = hist_rank(p, h->count);
	/* The extreme ranks are the exact min and max, even off the top. */
	if (rank >= h->count) {
		*out = h->max;
		return true;
	}
	if (rank == 1) {
		*out = h->min;
		return true;
	}
	for (i = 0; i < h->top; i++)
		if ((seen += h->counts[i]) >= rank)
			break;
	uint64_t v = hist_bucket_low(i) + hist_bucket_width(i) / 2;
	*out       = v < h->min ? h->min : v > h->max ? h->max : v;
	return true;
}
