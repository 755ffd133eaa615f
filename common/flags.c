// SPDX-License-Identifier: MIT
#include "common/flags.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/chaos.pb-c.h"

int
flags_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char              *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return CHAOS_EINVAL;
	errno = 0;
	v     = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return CHAOS_EINVAL;
	*out = (uint32_t)v;
	return CHAOS_OK;
}

int
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

int
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

static const struct {
	const char *name;
	int         role;
} flags_roles[] = {
    {"blockchain", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN},
    {"coordinator", CHAOS__V1__ROLE__ROLE_COORDINATOR},
    {"database", CHAOS__V1__ROLE__ROLE_DATABASE},
    {"node", CHAOS__V1__ROLE__ROLE_NODE},
};

int
flags_parse_role(const char *s, int *role)
{
	for (size_t i = 0; s != NULL && i < sizeof(flags_roles) / sizeof(flags_roles[0]);
	     i++) {
		if (strcmp(s, flags_roles[i].name) == 0) {
			*role = flags_roles[i].role;
			return CHAOS_OK;
		}
	}
	return CHAOS_EINVAL;
}

const char *
flags_role_name(int role)
{
	for (size_t i = 0; i < sizeof(flags_roles) / sizeof(flags_roles[0]); i++)
		if (flags_roles[i].role == role)
			return flags_roles[i].name;
	return "unspecified";
}

static int
flags_check_hostport(const char *hp, const char **why)
{
	const char *colon = strrchr(hp, ':');
	uint32_t    port;

	if (colon == NULL || colon == hp) {
		*why = "expected host:port after the scheme";
		return CHAOS_EINVAL;
	}
	if (flags_parse_u32(colon + 1, 1, 65535, &port) != CHAOS_OK) {
		*why = "port must be a number in 1..65535";
		return CHAOS_EINVAL;
	}
	return CHAOS_OK;
}

int
flags_check_url(const char *url, bool allow_plain, const char **why)
{
	if (url == NULL || *url == '\0') {
		*why = "empty URL";
		return CHAOS_EINVAL;
	}
	if (strncmp(url, "ipc://", 6) == 0) {
		if (url[6] == '\0') {
			*why = "ipc:// needs a path";
			return CHAOS_EINVAL;
		}
		return CHAOS_OK;
	}
	if (strncmp(url, "tls+tcp://", 10) == 0)
		return flags_check_hostport(url + 10, why);
	if (strncmp(url, "tcp://", 6) == 0) {
		if (!allow_plain) {
			*why = "plaintext tcp:// must be asked for with --plaintext "
			       "(use tls+tcp:// with --tls-ca/--tls-cert otherwise)";
			return CHAOS_EINVAL;
		}
		return flags_check_hostport(url + 6, why);
	}
	*why = "scheme must be ipc://, tcp:// or tls+tcp://";
	return CHAOS_EINVAL;
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
	return 2;
}
