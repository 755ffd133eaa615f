// SPDX-License-Identifier: MIT
#include "agent/procinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"

chaos_err
procinfo_read(pid_t pid, const char *file, char *buf, size_t len)
{
	char    path[64];
	int     fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT || errno == ESRCH ? CHAOS_ENOENT
		                                         : chaos_err_from_errno(errno);
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return errno == ESRCH ? CHAOS_ENOENT : chaos_err_from_errno(errno);
	buf[n] = '\0';
	return CHAOS_OK;
}

chaos_err
procinfo_nspid_inner(const char *status, long *out)
{
	const char *p    = strstr(status, "\nNSpid:");
	long        last = -1;

	if (strncmp(status, "NSpid:", 6) == 0)
		p = status;
	else if (p != NULL)
		p++;
	else
		return CHAOS_ENOENT;
	p += 6;
	for (;;) {
		char *end;
		long  v;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\0')
			break;
		errno = 0;
		v     = strtol(p, &end, 10);
		if (end == p || errno != 0 || v <= 0)
			return CHAOS_EINVAL;
		last = v;
		p    = end;
	}
	if (last < 0)
		return CHAOS_EINVAL;
	*out = last;
	return CHAOS_OK;
}

chaos_err
procinfo_starttime(const char *stat, uint64_t *out)
{
	const char        *p = strrchr(stat, ')');
	char              *end;
	unsigned long long v;

	if (p == NULL)
		return CHAOS_EINVAL;
	p++;
	/* after the name: field 3 (state) is the first, 22 the twentieth */
	for (int field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		if ((p = strchr(p, ' ')) == NULL)
			return CHAOS_EINVAL;
	}
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return CHAOS_EINVAL;
	errno = 0;
	v     = strtoull(p, &end, 10);
	if (errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
		return CHAOS_EINVAL;
	*out = (uint64_t)v;
	return CHAOS_OK;
}
