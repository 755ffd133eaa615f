/* SPDX-License-Identifier: MIT */
/*
 * Process-wide memory settings of the agent, applied once in main() before
 * any thread starts (NNG starts its threads at the first socket).
 */
#ifndef CHAOS_AGENT_MEMTUNE_H
#define CHAOS_AGENT_MEMTUNE_H

/* At most MEMTUNE_ARENAS glibc malloc arenas. By default glibc gives a
 * thread that meets a busy arena one of its own, up to 8 per CPU: with
 * NNG's 13 threads on 2 CPUs (89 on 64) that is arenas each holding a few
 * pages of freed memory the others cannot use. The agent's threads
 * allocate little and mostly from glibc's per-thread cache, so two arenas
 * cost no measurable contention. */
#define MEMTUNE_ARENAS 2

void memtune_apply(void);

#endif
