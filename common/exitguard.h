/* SPDX-License-Identifier: MIT */
/*
 * A bound on how long a daemon takes to exit once told to stop. After a
 * stop signal the agent and the controller revert and exit in well under a
 * second; one stuck past that (in a socket close, say: NNG 1.5.2 can hang
 * in one while its pipes carry traffic, nanomsg/nng issue 1543) must still
 * end, and on its own line rather than on Kubernetes' SIGKILL. Ending is
 * safe for both: the kernel deletes an exiting agent's owner-flagged
 * tables, and the agents' leases revert what a controller leaves.
 */
#ifndef CHAOS_COMMON_EXITGUARD_H
#define CHAOS_COMMON_EXITGUARD_H

#include "common/err.h"

/* In `seconds` from now, whatever the threads are stuck in, writes an error
 * line saying why ("still not exited N s after the signal; exiting now
 * (<consequence>)") and ends the process with CHAOS_EXIT_FAILED, from a
 * SIGALRM handler (write(2) and _exit(2) only). The process ending first
 * is the normal case. Call once, before stopping anything; the process
 * must not use SIGALRM or alarm(2) otherwise. */
chaos_err exitguard_arm(unsigned seconds, const char *consequence);

#endif
