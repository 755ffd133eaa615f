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

/* What a recovery must show. */
struct mttr_rule {
	int64_t window_us;  /* healthy for at least this long */
	int64_t max_gap_us; /* two samples further apart break a healthy run:
	                     * the state between them is unknown (0: no limit) */
};

/* The rule for a probe sampled every interval_ms with timeout_ms: a gap of
 * two samples' time (interval plus timeout each) is allowed, one more is
 * not. */
struct mttr_rule mttr_rule_for(double window_s, uint32_t interval_ms,
                               uint32_t timeout_ms);

/* The first sample at or after t_from that begins a run of healthy samples
 * lasting at least rule->window_us (a later sample exists at or beyond
 * start + window_us, nothing in between is unhealthy, and no two samples
 * of the run are more than rule->max_gap_us apart). Returns false when no
 * such run exists yet (not recovered, or not enough samples to tell). */
bool mttr_recovered_at(const struct mttr_sample *s, size_t n, int64_t t_from,
                       const struct mttr_rule *rule, int64_t *t_recovered);

/* Whether the probe was down at t_from or after it until t_until: its last
 * sample before t_from, or one in [t_from, t_until], unhealthy. One that was
 * not needed no recovery: its "recovery" is not a recovery time. */
bool mttr_was_down(const struct mttr_sample *s, size_t n, int64_t t_from,
                   int64_t t_until);

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
