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

/* format(printf, 5, 0): fmt is checked at log_format's callers; clang's
 * -Wformat-nonliteral (the CHAOS_FUZZ build) wants it said here too. */
__attribute__((format(printf, 5, 0))) static size_t
log_vformat(char *buf, size_t len, int64_t at_us, enum log_level level, const char *fmt,
            va_list ap)
{
	char ts[CLK_ISO_LEN];
	int  n;

	clk_iso8601(at_us, ts, sizeof(ts));
	n = snprintf(buf, len, "%s %s %s: ", ts, log_component, log_names[level]);
	if (n >= 0 && (size_t)n < len)
		n += vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	if (n < 0 || (size_t)n >= len - 1)
		n = (int)len - 2;
	buf[n++] = '\n';
	return (size_t)n;
}

size_t
log_format(char *buf, size_t len, int64_t at_us, enum log_level level, const char *fmt,
           ...)
{
	va_list ap;
	size_t  n;

	va_start(ap, fmt);
	n = log_vformat(buf, len, at_us, level, fmt, ap);
	va_end(ap);
	return n;
}

void
log_write(enum log_level level, const char *fmt, ...)
{
	char    line[1024];
	va_list ap;
	size_t  n;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	n = log_vformat(line, sizeof(line), clk_now_us(), level, fmt, ap);
	va_end(ap);
	/* One write per line so lines from several threads never interleave. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
