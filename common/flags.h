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

/* Unsigned decimal integer in [min, max]. */
int flags_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* Finite decimal number in [min, max] ("0.5", "10", "1e3"). */
int flags_parse_double(const char *s, double min, double max, double *out);

/* "key=value" with a non-empty key of [A-Za-z0-9._/-]; writes pointers into
 * buf (a copy the caller provides, at least strlen(s) + 1 bytes). */
int flags_parse_label(const char *s, char *buf, const char **key, const char **value);

/* Role name ("blockchain", "coordinator", "database", "node") to the
 * Chaos__V1__Role value. */
int flags_parse_role(const char *s, int *role);

/* Role value to its name; "unspecified" for unknown values. */
const char *flags_role_name(int role);

/* Checks an NNG URL's scheme: ipc://, tcp:// or tls+tcp:// with a host and port
 * (tcp). Plaintext tcp:// is refused unless allow_plain; *why explains. */
int flags_check_url(const char *url, bool allow_plain, const char **why);

/* Prints "prog: <message>" as one line on stderr and returns 2, the exit
 * status for bad usage. */
int flags_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
