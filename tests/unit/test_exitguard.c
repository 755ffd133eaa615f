// SPDX-License-Identifier: MIT
/*
 * common/exitguard.c: a process stuck after its stop signal ends on its own,
 * with its error line, after the time it was given; one that ends first is
 * not touched. Each case runs in a child process (the guard ends a process).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/exitguard.h"
#include "common/log.h"

/* Runs body in a child whose stderr goes to a pipe; waits at most 5 s.
 * Returns the wait status, the child's stderr in out, its run time. */
static int
child_run(void (*body)(void), char *out, size_t len, int64_t *ms)
{
	int     fds[2], status = -1;
	pid_t   pid;
	int64_t t0 = clk_mono_us();
	ssize_t n, got = 0;

	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		log_init("guardtest", LOG_LEVEL_INFO);
		body();
		_exit(0);
	}
	assert_true(pid > 0);
	close(fds[1]);
	while ((size_t)got < len - 1 &&
	       (n = read(fds[0], out + got, len - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, WNOHANG) == 0 && clk_mono_us() - t0 < 5000000)
		usleep(10000);
	if (!WIFEXITED(status) && !WIFSIGNALED(status)) { /* still running */
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the child outlived the guard");
	}
	*ms = (clk_mono_us() - t0) / 1000;
	return status;
}

static void
stuck(void)
{
	assert_int_equal(exitguard_arm(1, "nothing to revert here"), CHAOS_OK);
	for (;;)
		pause(); /* as a thread stuck in a socket close */
}

static void
prompt(void)
{
	assert_int_equal(exitguard_arm(1, "nothing to revert here"), CHAOS_OK);
}

static void
test_stuck_process_ends_with_its_line(void **state)
{
	char    err[1024];
	int64_t ms;
	int     st = child_run(stuck, err, sizeof(err), &ms);

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), CHAOS_EXIT_FAILED);
	assert_true(ms >= 900 && ms < 3000);
	assert_non_null(strstr(err,
	                       "guardtest error: still not exited 1 s after the "
	                       "signal; exiting now (nothing to revert here)\n"));
}

static void
test_prompt_exit_is_untouched(void **state)
{
	char    err[1024];
	int64_t ms;
	int     st = child_run(prompt, err, sizeof(err), &ms);

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(ms < 900);
	assert_string_equal(err, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stuck_process_ends_with_its_line),
	    cmocka_unit_test(test_prompt_exit_is_untouched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
