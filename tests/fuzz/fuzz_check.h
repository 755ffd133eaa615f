/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share (compiled into each by chaos_fuzz_test).
 */
#ifndef CHAOS_TESTS_FUZZ_CHECK_H
#define CHAOS_TESTS_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Aborts when ok is false: a broken invariant is a finding, and a crash is
 * what makes libFuzzer keep the input (and the replay driver fail). */
void fuzz_require(bool ok);

/* Whether s, an array of size bytes, holds its NUL: a text field filled
 * from untrusted input must never run off its array. */
bool fuzz_terminated(const char *s, size_t size);

/* The input as the parsers take a body: a malloc'd copy of size bytes
 * with a NUL after them (the caller frees); NULL when out of memory. */
char *fuzz_body(const uint8_t *data, size_t size);

/* The number of elements of the top-level "items" array of the JSON in
 * body (len bytes), as jansson sees it; 0 when there is none. */
size_t fuzz_json_items(const char *body, size_t len);

#endif
