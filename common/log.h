/* SPDX-License-Identifier: MIT */
/*
 * Line-oriented logging to stderr: "2026-11-26T20:35:17.123Z agent warn: text".
 * Thread-safe (one write(2) per line). Never exits the process.
 */
#ifndef CHAOS_COMMON_LOG_H
#define CHAOS_COMMON_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the component name printed on each line (static string, not copied). */
void log_init(const char *component, enum log_level level);

/* Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *name);

void log_write(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Formats the line log_write() would write at at_us (wall clock), newline
 * included, into buf (len bytes, at least 2); returns its length. For a line
 * to be written later where formatting is not allowed (a signal handler). */
size_t log_format(char *buf, size_t len, int64_t at_us, enum log_level level,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
