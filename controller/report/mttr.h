/* SPDX-License-Identifier: MIT */
/*
 * Recovery arithmetic on timestamped health samples (DESIGN section 4).
 * Pure functions: no clocks, no I/O, so they are tested exactly.
 *
 * All times are microseconds on the controller's clock. Samples of one probe
 * must be sorted by time.
 */
#ifndef CHAOS_CONTROLLER_REPORT_MTTR_H
#define CHAOS_CONTROLLER_REPORT_MTTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mttr_sample {
	int64_t t_us;
	bool    healthy;
};

/* The first sample at or after t_from that begins a run of healthy samples
 * lasting at least window_us (a later sample exists at or beyond
 * start + window_us and nothing in between is unhealthy). Returns false when
 * no such run exists yet (not recovered, or not enough samples to tell). */
bool mttr_recovered_at(const struct mttr_sample *s, size_t n, int64_t t_from,
                       int64_t window_us, int64_t *t_recovered);

/* The first unhealthy sample at or after t_from; false if none. */
bool mttr_first_unhealthy(const struct mttr_sample *s, size_t n, int64_t t_from,
                          int64_t *t_unhealthy);

/* Healthy and total samples with t in [t_from, t_to). */
void mttr_count(const struct mttr_sample *s, size_t n, int64_t t_from, int64_t t_to,
                size_t *healthy, size_t *total);

/* Percentile p (0..100) of values by nearest rank on a sorted copy; false for
 * an empty set (the caller reports null, never 0 or Infinity). */
bool mttr_percentile(const double *values, size_t n, double p, double *out);

/* Mean; false for an empty set. */
bool mttr_mean(const double *values, size_t n, double *out);

#endif
