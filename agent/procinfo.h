/* SPDX-License-Identifier: MIT */
/*
 * What /proc says about a process that the kill fault needs: the pid it
 * has inside its own (innermost) pid namespace, from the NSpid line of
 * /proc/<pid>/status ("NSpid:\t4242\t17\t1": 1 there means it is that
 * namespace's init), and when it started, field 22 of /proc/<pid>/stat.
 * The parsers take the text so that tests need no process.
 */
#ifndef CHAOS_AGENT_PROCINFO_H
#define CHAOS_AGENT_PROCINFO_H

#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* Reads /proc/<pid>/<file> into buf (NUL-terminated, cut to len - 1).
 * Returns CHAOS_OK, or CHAOS_ENOENT when the process is gone, or another
 * error from errno. */
chaos_err procinfo_read(pid_t pid, const char *file, char *buf, size_t len);

/* The last pid of the NSpid line of status text. Returns CHAOS_OK with
 * *out, CHAOS_ENOENT when there is no NSpid line (kernels before 4.1),
 * CHAOS_EINVAL when it does not hold pids. */
chaos_err procinfo_nspid_inner(const char *status, long *out);

/* The start time (clock ticks after boot, field 22) of stat text. The
 * name in field 2 may hold spaces and parentheses: the fields are counted
 * after its last ')'. Returns CHAOS_OK with *out, or CHAOS_EINVAL. */
chaos_err procinfo_starttime(const char *stat, uint64_t *out);

#endif
