/* SPDX-License-Identifier: MIT */
/* What this process writes on stderr (fd 2) between stderr_cap_begin and
 * stderr_cap_end, for tests that check a message word for word. */
#ifndef CHAOS_TESTS_STDERR_CAP_H
#define CHAOS_TESTS_STDERR_CAP_H

#include <stddef.h>
#include <stdio.h>

struct stderr_cap {
	FILE *file;  /* where fd 2 goes meanwhile */
	int   saved; /* the real fd 2 */
};

/* Sends fd 2 to a temporary file; 0, or -1 (nothing changed). */
int stderr_cap_begin(struct stderr_cap *c);

/* Restores fd 2 and puts what was written, NUL-terminated and cut to len,
 * into out. */
void stderr_cap_end(struct stderr_cap *c, char *out, size_t len);

#endif
