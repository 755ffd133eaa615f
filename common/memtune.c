// SPDX-License-Identifier: MIT
#include "common/memtune.h"

#include <malloc.h>

#include "common/log.h"

void
memtune_limit_arenas(void)
{
	/* mallopt returns 0 on failure; the process works either way. */
	if (mallopt(M_ARENA_MAX, MEMTUNE_ARENAS) == 0)
		log_warn("mallopt(M_ARENA_MAX, %d) failed: default arenas",
		         MEMTUNE_ARENAS);
}

void
memtune_mmap_large(void)
{
	/* setting it also turns glibc's own adjustment of it off */
	if (mallopt(M_MMAP_THRESHOLD, MEMTUNE_MMAP_MIN) == 0)
		log_warn("mallopt(M_MMAP_THRESHOLD, %d) failed: glibc's threshold",
		         MEMTUNE_MMAP_MIN);
}

void
memtune_release(void)
{
	malloc_trim(0);
}
