// SPDX-License-Identifier: MIT
#include "common/utf8.h"

#include <string.h>

/* Bytes a sequence starting with lead has; 0 for a continuation byte, 1 for
 * ASCII or a byte no sequence starts with (left alone: not ours to fix). */
static size_t
utf8_seq_len(unsigned char lead)
{
	if ((lead & 0xC0) == 0x80)
		return 0;
	if ((lead & 0xE0) == 0xC0)
		return 2;
	if ((lead & 0xF0) == 0xE0)
		return 3;
	if ((lead & 0xF8) == 0xF0)
		return 4;
	return 1;
}

size_t
utf8_trim_partial(char *s)
{
	size_t len = strlen(s), start = len;

	/* a character is at most 4 bytes: look back at most 3 for its lead */
	while (start > 0 && len - start < 4 &&
	       utf8_seq_len((unsigned char)s[start - 1]) == 0)
		start--;
	if (start == 0 || len - start >= 4)
		return len;
	if (utf8_seq_len((unsigned char)s[start - 1]) > len - start + 1)
		s[len = start - 1] = '\0';
	return len;
}

char *
utf8_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src != NULL ? src : "", n);
	dst[n] = '\0';
	utf8_trim_partial(dst);
	return dst;
}
