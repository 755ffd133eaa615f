/* SPDX-License-Identifier: MIT */
/*
 * What a process costs in memory, read from /proc: for benchmarks and soak
 * tests that watch another process (an agent, the controller).
 */
#ifndef CHAOS_TESTS_PROCMEM_H
#define CHAOS_TESTS_PROCMEM_H

#include <sys/types.h>

struct procmem {
	long rss_kib;        /* smaps_rollup Rss: every page mapped, shared or not */
	long pss_kib;        /* Pss: shared pages divided among their sharers */
	long private_kib;    /* Private_Clean + Private_Dirty: this process's alone */
	long anon_kib;       /* Anonymous: heap, stacks, malloc arenas */
	long threads;        /* status Threads */
	long shared_objects; /* distinct mapped files named *.so or *.so.N */
};

/* Reads pid's figures into *m. Returns 0, or -1 when the process is gone or
 * /proc is unreadable (*m then untouched). */
int procmem_read(pid_t pid, struct procmem *m);

#endif
