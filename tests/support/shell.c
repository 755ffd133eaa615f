// SPDX-License-Identifier: MIT
#include "shell.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHELL_CMD_MAX 1024
#define SHELL_OUT_MAX (256 * 1024)

int
shell_run(const char *fmt, ...)
{
	char    cmd[SHELL_CMD_MAX];
	va_list ap;
	int     rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc;
}

const char *
shell_out(const char *fmt, ...)
{
	static char out[SHELL_OUT_MAX];
	char        cmd[SHELL_CMD_MAX];
	va_list     ap;
	FILE       *f;
	size_t      n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	if ((f = popen(cmd, "r")) == NULL)
		return out;
	n      = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

int
shell_run_quiet(char *const argv[])
{
	pid_t pid = fork();
	int   st;

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void (*shell_cleanup)(void);

static void
shell_on_signal(int sig)
{
	shell_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

void
shell_cleanup_on_signals(void (*cleanup)(void))
{
	shell_cleanup = cleanup;
	signal(SIGINT, shell_on_signal);
	signal(SIGTERM, shell_on_signal);
	signal(SIGHUP, shell_on_signal);
}
