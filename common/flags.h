/* SPDX-License-Identifier: MIT */
/*
 * Strict parsing of command-line values. Every parser rejects empty strings,
 * trailing garbage and out-of-range values, and leaves *out untouched on error.
 * Errors are CHAOS_EINVAL; callers print one line with flags_usage_error().
 */
#ifndef CHAOS_COMMON_FLAGS_H
#define CHAOS_COMMON_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* Unsigned decimal integer in [min, max]. */
chaos_err flags_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
chaos_err flags_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Finite decimal number in [min, max] ("0.5", "10", "1e3"). */
chaos_err flags_parse_double(const char *s, double min, double max, double *out);

/* "key=value" with a non-empty key of [A-Za-z0-9._/-]; writes pointers into
 * buf (a copy the caller provides, at least strlen(s) + 1 bytes). */
chaos_err flags_parse_label(const char *s, char *buf, const char **key,
                            const char **value);

/* For a program's command line: prints "prog: <message>" as one line on
 * stderr and returns CHAOS_EXIT_USAGE. */
int flags_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
