// SPDX-License-Identifier: MIT
#include "shell.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
