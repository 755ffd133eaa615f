// SPDX-License-Identifier: MIT
#include "common/exitguard.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

/* Formatted when armed: a signal handler may not format. */
static char   exitguard_line[512];
static size_t exitguard_len;

static void
exitguard_fire(int sig)
{
	(void)sig;
	if (write(STDERR_FILENO, exitguard_line, exitguard_len) < 0) {
		/* nothing left to tell */
	}
	_exit(CHAOS_EXIT_FAILED);
}

chaos_err
exitguard_arm(unsigned seconds, const char *consequence)
{
	struct sigaction sa;
	sigset_t         set;

	exitguard_len =
	    log_format(exitguard_line, sizeof(exitguard_line),
	               clk_now_us() + (int64_t)seconds * 1000000, LOG_LEVEL_ERROR,
	               "still not exited %u s after the signal; exiting now (%s)",
	               seconds, consequence);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = exitguard_fire;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		return chaos_err_from_errno(errno);
	/* at least the calling thread can take it, whatever the others block */
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	alarm(seconds);
	return CHAOS_OK;
}
