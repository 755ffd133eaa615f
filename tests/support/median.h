/* SPDX-License-Identifier: MIT */
/* Medians of measured times, for tests and benches. */
#ifndef CHAOS_TESTS_MEDIAN_H
#define CHAOS_TESTS_MEDIAN_H

#include <stddef.h>
#include <stdint.h>

/* Sorts v[0..n) ascending (n > 0) and returns its median, v[n / 2]. */
int64_t median_i64(int64_t *v, size_t n);

/* The same for doubles: sorts v[0..n) (n > 0), returns v[n / 2]. */
double median_double(double *v, size_t n);

#endif
