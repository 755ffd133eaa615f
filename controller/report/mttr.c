// SPDX-License-Identifier: MIT
#include "controller/report/mttr.h"

#include <stdlib.h>
#include <string.h>

#include "common/hist.h"

struct mttr_rule
mttr_rule_for(double window_s, uint32_t interval_ms, uint32_t timeout_ms)
{
	return (struct mttr_rule) {
	    .window_us  = (int64_t)(window_s * 1e6),
	    .max_gap_us = 2 * ((int64_t)interval_ms + (int64_t)timeout_ms) * 1000,
	};
}

bool
mttr_recovered_at(const struct mttr_sample *s, size_t n, int64_t t_from,
                  const struct mttr_rule *rule, int64_t *t_recovered)
{
	size_t start = n; /* candidate start of the healthy run */

	for (size_t i = 0; i < n; i++) {
		if (s[i].t_us < t_from)
			continue;
		if (!s[i].healthy) {
			start = n;
			continue;
		}
		/* a silence inside the run: unknown, so the run starts again */
		if (start != n && rule->max_gap_us > 0 &&
		    s[i].t_us - s[i - 1].t_us > rule->max_gap_us)
			start = n;
		if (start == n)
			start = i;
		if (s[i].t_us - s[start].t_us >= rule->window_us) {
			*t_recovered = s[start].t_us;
			return true;
		}
	}
	return false;
}

bool
mttr_was_down(const struct mttr_sample *s, size_t n, int64_t t_from, int64_t t_until)
{
	size_t i = 0;

	while (i < n && s[i].t_us < t_from)
		i++;
	if (i > 0 && !s[i - 1].healthy)
		return true;
	for (; i < n && s[i].t_us <= t_until; i++)
		if (!s[i].healthy)
			return true;
	return false;
}

bool
mttr_first_unhealthy(const struct mttr_sample *s, size_t n, int64_t t_from,
                     int64_t *t_unhealthy)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].t_us >= t_from && !s[i].healthy) {
			*t_unhealthy = s[i].t_us;
			return true;
		}
	}
	return false;
}

void
mttr_count(const struct mttr_sample *s, size_t n, int64_t t_from, int64_t t_to,
           size_t *healthy, size_t *total)
{
	*healthy = *total = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i].t_us < t_from || s[i].t_us >= t_to)
			continue;
		(*total)++;
		if (s[i].healthy)
			(*healthy)++;
	}
}

static int
mttr_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

bool
mttr_percentile(const double *values, size_t n, double p, double *out)
{
	double *sorted;
	size_t  rank;

	if (n == 0 || p < 0 || p > 100)
		return false;
	if ((sorted = malloc(n * sizeof(*sorted))) == NULL)
		return false;
	memcpy(sorted, values, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), mttr_cmp_double);
	rank = (size_t)hist_rank(p, n);
	*out = sorted[rank - 1];
	free(sorted);
	return true;
}

bool
mttr_mean(const double *values, size_t n, double *out)
{
	double sum = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		sum += values[i];
	*out = sum / (double)n;
	return true;
}
