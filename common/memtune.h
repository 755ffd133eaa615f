/* SPDX-License-Identifier: MIT */
/*
 * Process-wide glibc malloc settings of the agent and the controller.
 */
#ifndef CHAOS_COMMON_MEMTUNE_H
#define CHAOS_COMMON_MEMTUNE_H

/* At most MEMTUNE_ARENAS glibc malloc arenas; call once in main() before
 * any thread starts (NNG starts its threads at the first socket). By
 * default glibc gives a thread that meets a busy arena one of its own, up
 * to 8 per CPU: with NNG's 13 threads on 2 CPUs (89 on 64) that is arenas
 * each holding a few pages of freed memory the others cannot use. The
 * agent's threads allocate little and mostly from glibc's per-thread
 * cache, so two arenas cost no measurable contention. */
#define MEMTUNE_ARENAS 2

void memtune_apply(void);

/* Gives the pages that malloc holds free, in every arena, back to the
 * kernel (malloc_trim). glibc returns only the top of an arena by itself:
 * memory freed below a chunk still in use stays resident. Call it after a
 * burst of allocations has been freed (the controller after each run); it
 * takes the arenas' locks for as long as it walks their free lists. */
void memtune_release(void);

#endif
