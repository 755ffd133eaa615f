// SPDX-License-Identifier: MIT
#include "common/flags.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"

chaos_err
flags_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char              *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return CHAOS_EINVAL;
	errno = 0;
	v     = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return CHAOS_EINVAL;
	*out = (uint64_t)v;
	return CHAOS_OK;
}

chaos_err
flags_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (flags_parse_u64(s, min, max, &v) != CHAOS_OK)
		return CHAOS_EINVAL;
	*out = (uint32_t)v;
	return CHAOS_OK;
}

chaos_err
flags_parse_double(const char *s, double min, double max, double *out)
{
	char  *end;
	double v;

	/* strtod also skips any leading whitespace and takes hex, inf and nan:
	 * allow only what a decimal number can start with, and no hex. */
	if (s == NULL || !((*s >= '0' && *s <= '9') || *s == '-' || *s == '.') ||
	    strpbrk(s, "xX") != NULL)
		return CHAOS_EINVAL;
	errno = 0;
	v     = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return CHAOS_EINVAL;
	*out = v;
	return CHAOS_OK;
}

static bool
flags_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
}

chaos_err
flags_parse_label(const char *s, char *buf, const char **key, const char **value)
{
	char *eq;

	if (s == NULL)
		return CHAOS_EINVAL;
	strcpy(buf, s);
	eq = strchr(buf, '=');
	if (eq == NULL || eq == buf)
		return CHAOS_EINVAL;
	*eq = '\0';
	for (const char *p = buf; *p != '\0'; p++)
		if (!flags_label_char(*p))
			return CHAOS_EINVAL;
	for (const char *p = eq + 1; *p != '\0'; p++)
		if (!flags_label_char(*p))
			return CHAOS_EINVAL;
	*key   = buf;
	*value = eq + 1;
	return CHAOS_OK;
}

int
flags_usage_error(const char *prog, const char *fmt, ...)
{
	char    msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", prog, msg);
	return CHAOS_EXIT_USAGE;
}

enum flags_result
flags_getopt(const struct flags_program *p, int argc, char **argv, void *opts,
             chaos_why *why)
{
	enum flags_result r;
	int               c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, p->shortopts, p->longopts, NULL)) != -1) {
		switch (c) {
		case '?':
			/* getopt has stepped past the offending word: name it. */
			chaos_fail(why, CHAOS_EINVAL,
			           "'%s': unknown option or missing value; see --help",
			           argv[optind - 1]);
			return FLAGS_USAGE;
		case 'h':
			fputs(p->usage, stdout);
			return FLAGS_EXIT_OK;
		case 'V':
			printf("%s %s\n", p->name, CHAOS_VERSION);
			return FLAGS_EXIT_OK;
		default:
			if ((r = p->option(c, optarg, opts, why)) != FLAGS_RUN)
				return r;
		}
	}
	if (optind < argc) {
		chaos_fail(why, CHAOS_EINVAL,
		           "unexpected argument '%s'; %s takes only options",
		           argv[optind], p->name);
		return FLAGS_USAGE;
	}
	return p->check != NULL ? p->check(opts, why) : FLAGS_RUN;
}

enum flags_result
flags_log_level(const char *arg, int *level, chaos_why *why)
{
	int l = log_level_parse(arg);

	if (l < 0) {
		chaos_fail(why, CHAOS_EINVAL,
		           "--log-level '%s': allowed are error, warn, info, debug", arg);
		return FLAGS_USAGE;
	}
	*level = l;
	return FLAGS_RUN;
}

enum flags_result
flags_unknown(chaos_why *why)
{
	chaos_fail(why, CHAOS_EINVAL, "unknown or incomplete option; see --help");
	return FLAGS_USAGE;
}

int
flags_exit_status(enum flags_result r, const char *prog, const chaos_why *why)
{
	switch (r) {
	case FLAGS_RUN:
		return -1;
	case FLAGS_EXIT_OK:
		return CHAOS_EXIT_OK;
	case FLAGS_USAGE:
		break;
	}
	fprintf(stderr, "%s: %s\n", prog, why != NULL ? why->text : "bad usage");
	return CHAOS_EXIT_USAGE;
}
