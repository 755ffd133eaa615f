// SPDX-License-Identifier: MIT
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"

static const char    *log_component = "chaos";
static enum log_level log_threshold = LOG_LEVEL_INFO;

static const char *const log_names[] = {"error", "warn", "info", "debug"};

void
log_init(const char *component, enum log_level level)
{
	log_component = component;
	log_threshold = level;
}

int
log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(log_names) / sizeof(log_names[0])); i++)
		if (strcmp(name, log_names[i]) == 0)
			return i;
	return -1;
}

void
log_write(enum log_level level, const char *fmt, ...)
{
	char    line[1024];
	char    ts[CLK_ISO_LEN];
	va_list ap;
	int     n;

	if (level > log_threshold)
		return;
	clk_iso8601(clk_now_us(), ts, sizeof(ts));
	n = snprintf(line, sizeof(line), "%s %s %s: ", ts, log_component,
	             log_names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so lines from several threads never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
