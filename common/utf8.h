/* SPDX-License-Identifier: MIT */
/*
 * Cutting text to a fixed-size buffer without cutting a UTF-8 character in
 * two. Reasons and details come from agents and from PostgreSQL (localised
 * by the server's lc_messages); a byte cut leaves an incomplete sequence,
 * jansson refuses the string, and the key (often the reason beside a null)
 * silently disappears from the result.
 */
#ifndef CHAOS_COMMON_UTF8_H
#define CHAOS_COMMON_UTF8_H

#include <stddef.h>

/* Removes an incomplete multi-byte sequence from the end of the
 * NUL-terminated s (what a byte-wise cut leaves); complete characters and
 * bytes before the last character are left as they are. Returns the new
 * length. */
size_t utf8_trim_partial(char *s);

/* Copies src into dst (cap bytes, cap > 0, always NUL-terminated), cut at
 * the last whole character that fits. src NULL copies "". Returns dst. */
char *utf8_copy(char *dst, size_t cap, const char *src);

#endif
