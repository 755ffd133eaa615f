/* SPDX-License-Identifier: MIT */
/*
 * Running code inside another network namespace.
 *
 * setns(CLONE_NEWNET) moves only the calling thread, so the agent never
 * calls it on its own threads: netns_run() does it on a short-lived thread
 * of its own. Sockets created there (a netlink socket for nft_open(), a
 * listening or connecting socket) stay in that namespace for their whole
 * life and may be used from any thread afterwards.
 */
#ifndef CHAOS_AGENT_NETNS_H
#define CHAOS_AGENT_NETNS_H

#include "common/err.h"

/*
 * Runs fn(arg) on a new thread that has first joined the network namespace
 * at netns_path ("/run/netns/<name>" or "/proc/<pid>/ns/net"), waits for it
 * and returns what fn returned. netns_path NULL: fn runs on the calling
 * thread, in its current namespace. fn returns CHAOS_OK or a CHAOS_E* code.
 * Errors, when fn could not be run: CHAOS_ENOENT (no such path), CHAOS_EPERM
 * (needs CAP_SYS_ADMIN), CHAOS_EINVAL (not a network namespace, fn NULL),
 * CHAOS_ESYS (thread creation failed).
 */
chaos_err netns_run(const char *netns_path, chaos_err (*fn)(void *arg), void *arg);

#endif
