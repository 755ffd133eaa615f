// SPDX-License-Identifier: MIT
#include "agent/memtune.h"

#include <malloc.h>

#include "common/log.h"

void
memtune_apply(void)
{
	/* mallopt returns 0 on failure; the agent works either way. */
	if (mallopt(M_ARENA_MAX, MEMTUNE_ARENAS) == 0)
		log_warn("mallopt(M_ARENA_MAX, %d) failed: default arenas",
		         MEMTUNE_ARENAS);
}
