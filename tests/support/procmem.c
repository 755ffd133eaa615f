// SPDX-License-Identifier: MIT
#include "tests/support/procmem.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROCMEM_MAX_OBJECTS 256

/* The value of "field: <n> ..." lines of a /proc file; -1 when absent. */
static long
procmem_field(const char *path, const char *field)
{
	char   line[256];
	FILE  *f = fopen(path, "r");
	long   v = -1;
	size_t n = strlen(field);

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			sscanf(line + n + 1, "%ld", &v);
			break;
		}
	fclose(f);
	return v;
}

/* A shared object's name: "libc.so.6", "libnng.so.1.5.2", "x.so". */
static bool
procmem_is_object(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *so   = strstr(base != NULL ? base : path, ".so");

	return so != NULL && (so[3] == '\0' || so[3] == '.');
}

/* Distinct shared objects in /proc/<pid>/maps; -1 if unreadable. */
static long
procmem_objects(pid_t pid)
{
	char(*seen)[256] = malloc(PROCMEM_MAX_OBJECTS * sizeof(*seen));
	char  path[64], line[512], file[256];
	FILE *f = NULL;
	long  n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if (seen == NULL || (f = fopen(path, "r")) == NULL) {
		free(seen);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		long i;

		if (sscanf(line, "%*s %*s %*s %*s %*s %255s", file) != 1 ||
		    !procmem_is_object(file))
			continue;
		for (i = 0; i < n && strcmp(seen[i], file) != 0; i++)
			;
		if (i == n && n < PROCMEM_MAX_OBJECTS)
			snprintf(seen[n++], sizeof(seen[0]), "%s", file);
	}
	fclose(f);
	free(seen);
	return n;
}

int
procmem_read(pid_t pid, struct procmem *m)
{
	char           rollup[64], status[64];
	struct procmem r;
	long           clean, dirty;

	snprintf(rollup, sizeof(rollup), "/proc/%d/smaps_rollup", (int)pid);
	snprintf(status, sizeof(status), "/proc/%d/status", (int)pid);
	r.rss_kib        = procmem_field(rollup, "Rss");
	r.pss_kib        = procmem_field(rollup, "Pss");
	r.anon_kib       = procmem_field(rollup, "Anonymous");
	clean            = procmem_field(rollup, "Private_Clean");
	dirty            = procmem_field(rollup, "Private_Dirty");
	r.threads        = procmem_field(status, "Threads");
	r.shared_objects = procmem_objects(pid);
	if (r.rss_kib < 0 || r.pss_kib < 0 || clean < 0 || dirty < 0 || r.threads < 0 ||
	    r.shared_objects < 0)
		return -1;
	r.private_kib = clean + dirty;
	*m            = r;
	return 0;
}
