/* SPDX-License-Identifier: MIT */
/* This process's open file descriptors, for tests that check nothing leaks. */
#ifndef CHAOS_TESTS_FDS_H
#define CHAOS_TESTS_FDS_H

/* Open sockets of this process (from /proc/self/fd); -1 if unreadable. */
int fds_count_sockets(void);

#endif
