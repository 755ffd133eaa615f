/* SPDX-License-Identifier: MIT */
/*
 * Shell commands for the integration tests and benches that set up
 * namespaces and read `nft list` or `ss` back (root; never used by the
 * agent itself), and their cleanup when a signal stops them.
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

/* Runs argv (no shell) with stdout and stderr silenced; its exit status,
 * or -1 when it could not run or did not exit. */
int shell_run_quiet(char *const argv[]);

/* Makes SIGINT, SIGTERM and SIGHUP run cleanup, then end the process by
 * the same signal: a test stopped by hand or by ctest's timeout leaves no
 * namespace, process or directory behind. */
void shell_cleanup_on_signals(void (*cleanup)(void));

#endif
