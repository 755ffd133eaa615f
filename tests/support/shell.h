/* SPDX-License-Identifier: MIT */
/*
 * Shell commands for the integration tests that set up namespaces and read
 * `nft list` or `ss` back (root; never used by the agent itself).
 */
#ifndef CHAOS_TESTS_SHELL_H
#define CHAOS_TESTS_SHELL_H

/* Runs the command made from fmt with system(); its status (0: success),
 * printed on stderr when it is not 0. */
int shell_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs the command made from fmt and returns what it printed on stdout
 * (cut at 256 KiB), in a static buffer that the next call overwrites; ""
 * when it could not run. */
const char *shell_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
