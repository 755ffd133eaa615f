/* SPDX-License-Identifier: MIT */
/*
 * Strict parsing of command-line values. Every parser rejects empty strings,
 * trailing garbage and out-of-range values, and leaves *out untouched on error.
 * Errors are CHAOS_EINVAL; callers print one line with flags_usage_error().
 * And the getopt_long loop of the daemons (chaos-agent, chaos-controller):
 * a program gives its option table and a callback, flags_getopt() does the
 * rest the same way for both (unknown options, stray words, --help).
 */
#ifndef CHAOS_COMMON_FLAGS_H
#define CHAOS_COMMON_FLAGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* Unsigned decimal integer in [min, max]. */
chaos_err flags_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
chaos_err flags_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Finite decimal number in [min, max] ("0.5", "10", "1e3"). */
chaos_err flags_parse_double(const char *s, double min, double max, double *out);

/* "key=value" with a non-empty key of [A-Za-z0-9._/-]; writes pointers into
 * buf (a copy the caller provides, at least strlen(s) + 1 bytes). */
chaos_err flags_parse_label(const char *s, char *buf, const char **key,
                            const char **value);

/* For a program's command line: prints "prog: <message>" as one line on
 * stderr and returns CHAOS_EXIT_USAGE. */
int flags_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What a program's command line tells its main() to do next. */
enum flags_result { FLAGS_RUN = 0, FLAGS_EXIT_OK = 1, FLAGS_USAGE = 2 };

/* A program that takes only options (no operands), for flags_getopt(). */
struct flags_program {
	const char          *name;      /* "chaos-agent": in messages and --version */
	const char          *usage;     /* what -h/--help prints */
	const char          *shortopts; /* getopt_long's; 'h' and 'V' are handled */
	const struct option *longopts;  /* with "help" -> 'h', "version" -> 'V' */
	/* Takes option c (a longopts value) with its value arg (NULL when it
	 * has none) into opts: FLAGS_RUN, or FLAGS_USAGE with why filled. */
	enum flags_result (*option)(int c, const char *arg, void *opts, chaos_why *why);
	/* Checks opts as a whole once every option is in (defaults from the
	 * environment, flags that need each other): FLAGS_RUN or FLAGS_USAGE
	 * with why filled. NULL when there is nothing to check. */
	enum flags_result (*check)(void *opts, chaos_why *why);
};

/* Drives getopt_long over argv (from argv[1]) with p's options, calling
 * p->option for each into opts. Prints p->usage for -h/--help and
 * "<name> <version>" for -V/--version (FLAGS_EXIT_OK). An unknown option,
 * a missing value or a stray argument is FLAGS_USAGE with why naming the
 * word; so is whatever p->option or p->check refuses. FLAGS_RUN when all
 * were taken and checked. */
enum flags_result flags_getopt(const struct flags_program *p, int argc, char **argv,
                               void *opts, chaos_why *why);

/* For an option callback: --log-level NAME into *level (LOG_LEVEL_*), or
 * FLAGS_USAGE with why saying which names are allowed. */
enum flags_result flags_log_level(const char *arg, int *level, chaos_why *why);

/* For an option callback's default case (an option in the table that the
 * callback does not take): FLAGS_USAGE with why filled. */
enum flags_result flags_unknown(chaos_why *why);

/* For main(): -1 on FLAGS_RUN (go on); otherwise the exit status, after
 * printing "<prog>: <why>" on stderr for FLAGS_USAGE. */
int flags_exit_status(enum flags_result r, const char *prog, const chaos_why *why);

#endif
