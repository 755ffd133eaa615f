// SPDX-License-Identifier: MIT
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/err.h"

chaos_err
fs_mkdirs(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return CHAOS_ETOOBIG;
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return chaos_err_from_errno(errno);
		*p = '/';
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return chaos_err_from_errno(errno);
	return CHAOS_OK;
}

static chaos_err
fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return chaos_err_from_errno(errno);
		p += n;
		len -= (size_t)n;
	}
	return CHAOS_OK;
}

static void
fs_sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int  fd;

	snprintf(copy, sizeof(copy), "%s", path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

chaos_err
fs_write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	int  fd, rv;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return CHAOS_ETOOBIG;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return chaos_err_from_errno(errno);
	rv = fs_write_all(fd, data, len);
	if (rv == CHAOS_OK && fsync(fd) != 0)
		rv = chaos_err_from_errno(errno);
	close(fd);
	if (rv == CHAOS_OK && rename(tmp, path) != 0)
		rv = chaos_err_from_errno(errno);
	if (rv != CHAOS_OK) {
		unlink(tmp);
		return rv;
	}
	fs_sync_dir(path);
	return CHAOS_OK;
}

chaos_err
fs_append_line(const char *path, const char *line)
{
	struct iovec iov[2] = {{(void *)line, strlen(line)}, {(void *)"\n", 1}};
	ssize_t      n;
	int          fd, rv = CHAOS_OK;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
		return chaos_err_from_errno(errno);
	/* One writev: the line and its newline land together at the end. */
	n = writev(fd, iov, 2);
	if (n < 0 || (size_t)n != iov[0].iov_len + 1)
		rv = n < 0 ? chaos_err_from_errno(errno) : CHAOS_ESYS;
	if (rv == CHAOS_OK && fsync(fd) != 0)
		rv = chaos_err_from_errno(errno);
	close(fd);
	return rv;
}
