/* SPDX-License-Identifier: MIT */
/*
 * Latency histogram with log-linear buckets (HdrHistogram's layout with two
 * significant digits): values 0..255 us have one bucket each; above that,
 * every power of two [2^o, 2^(o+1)) is cut into 128 equal buckets, up to
 * 2^26 us (~67 s, above the 60 s longest timeout). That is HIST_BUCKETS
 * buckets, a fixed layout shared by every agent and the controller, so
 * histograms from any interval or agent merge by adding counts.
 *
 * Relative error: a percentile is reported as the midpoint of the bucket
 * holding the true (nearest-rank) value, clamped to [min, max]; it is exact
 * below 256 us and within 1/256 (0.39 %) of the true value above. Values of
 * 2^26 us or more are counted in the top bucket: min and max, hence the 0th
 * and 100th percentiles, stay exact; other percentiles there read ~67 s.
 *
 * On the wire (LoadReport.latency_hist) the counts go as bucket i = element
 * i, trailing zero buckets left off: see hist_counts()/hist_add_counts().
 *
 * Not thread-safe: one owner at a time.
 */
#ifndef CHAOS_COMMON_HIST_H
#define CHAOS_COMMON_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define HIST_SUB_BITS 7                   /* 128 buckets per power of two */
#define HIST_LINEAR (2u << HIST_SUB_BITS) /* 256: values below are exact */
#define HIST_TOP_BIT 26                   /* values below 2^26 us */
/* highest value bucketed apart */
#define HIST_MAX_US ((UINT64_C(1) << HIST_TOP_BIT) - 1)
#define HIST_BUCKETS                                                                     \
	(HIST_LINEAR + (HIST_TOP_BIT - HIST_SUB_BITS - 1) * (1u << HIST_SUB_BITS))

struct hist;

/* Allocates an empty histogram. Returns CHAOS_OK or CHAOS_ENOMEM. */
chaos_err hist_new(struct hist **out);

/* NULL is fine. */
void hist_free(struct hist *h);

/* Empties h. */
void hist_reset(struct hist *h);

/* Counts one value (microseconds). */
void hist_record(struct hist *h, uint64_t value_us);

/* Adds src's counts (and min/max) to dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/* Adds n bucket counts as received on the wire (counts[i] for bucket i;
 * n < HIST_BUCKETS means the rest are zero). min/max then widen to the
 * bounds of the lowest and highest non-empty bucket, the best known.
 * Returns CHAOS_OK, or CHAOS_EINVAL (h unchanged) when n > HIST_BUCKETS or
 * the total would overflow. */
chaos_err hist_add_counts(struct hist *h, const uint64_t *counts, size_t n);

/* h's bucket counts for the wire: returns the array (valid until h next
 * changes) and sets *n to the number of buckets up to the last non-empty
 * one (0 when empty). */
const uint64_t *hist_counts(const struct hist *h, size_t *n);

/* Number of values counted. */
uint64_t hist_count(const struct hist *h);

/* Smallest / largest value counted. Return false (*out untouched) when h is
 * empty: an empty histogram has no minimum, not a minimum of 0. */
bool hist_min(const struct hist *h, uint64_t *out);
bool hist_max(const struct hist *h, uint64_t *out);

/* The p-th percentile (0 <= p <= 100, nearest rank: the smallest value with
 * at least ceil(p/100 * count) values at or below it), within the relative
 * error above. Returns false (*out untouched) when h is empty or p is out
 * of range: "unknown", never 0. */
bool hist_percentile(const struct hist *h, double p, uint64_t *out);

/* The nearest rank of percentile p (0..100) among n > 0 values: ceil(p/100
 * * n), at least 1, at most n, exact where that product is an integer
 * (99.9 % of 1000 is rank 999, not the 1000 a rounding error would give). */
uint64_t hist_rank(double p, uint64_t n);

/* The bucket a value falls in, and the lowest / highest value a bucket
 * holds (i < HIST_BUCKETS). */
size_t   hist_bucket_index(uint64_t value_us);
uint64_t hist_bucket_low(size_t i);
uint64_t hist_bucket_high(size_t i);

#endif
