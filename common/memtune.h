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

void memtune_limit_arenas(void);

/* Blocks of MEMTUNE_MMAP_MIN bytes or more get a mapping of their own,
 * unmapped when freed; call once in main() before any thread starts. glibc
 * would raise this threshold on the first free of such a block, up to 32
 * MiB, and from then on carve the controller's 100 KiB-1 MiB run results
 * and sample arrays from the heap, where they strand pages among small
 * blocks that live on: the soak measured the controller's RSS still
 * climbing after its warm-up with trim alone (15.8 to 16.5 MiB over
 * minutes 5-14), flat with this (13.4-13.8 MiB). */
#define MEMTUNE_MMAP_MIN (64 * 1024)

void memtune_mmap_large(void);

/* Gives the pages that malloc holds free, in every arena, back to the
 * kernel (malloc_trim). glibc returns only the top of an arena by itself:
 * memory freed below a chunk still in use stays resident. Call it after a
 * burst of allocations has been freed (the controller after each run); it
 * takes the arenas' locks for as long as it walks their free lists. */
void memtune_release(void);

#endif
