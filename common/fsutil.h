/* SPDX-License-Identifier: MIT */
/* Files that must never be seen half-written. */
#ifndef CHAOS_COMMON_FSUTIL_H
#define CHAOS_COMMON_FSUTIL_H

#include <stddef.h>

#include "common/err.h"

/* Creates dir and its parents (mode 0755). CHAOS_OK if it exists. */
chaos_err fs_mkdirs(const char *dir);

/* Writes data to path atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync of the directory. A crash leaves either the
 * old file or the new one, never a torn one. */
chaos_err fs_write_atomic(const char *path, const void *data, size_t len);

/* Appends one line (data + '\n') with O_APPEND and fsyncs it. */
chaos_err fs_append_line(const char *path, const char *line);

#endif
