/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share (compiled into each by chaos_fuzz_test).
 */
#ifndef CHAOS_TESTS_FUZZ_CHECK_H
#define CHAOS_TESTS_FUZZ_CHECK_H

#include <stdbool.h>

/* Aborts when ok is false: a broken invariant is a finding, and a crash is
 * what makes libFuzzer keep the input (and the replay driver fail). */
void fuzz_require(bool ok);

#endif
