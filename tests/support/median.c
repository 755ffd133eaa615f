// SPDX-License-Identifier: MIT
#include "median.h"

#include <stdlib.h>

static int
median_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t
median_i64(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), median_cmp);
	return v[n / 2];
}

static int
median_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
median_double(double *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), median_cmp_double);
	return v[n / 2];
}
