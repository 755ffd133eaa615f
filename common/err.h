/* SPDX-License-Identifier: MIT */
/*
 * One error contract for the whole project:
 *
 * - A function that can fail returns chaos_err (as nng's functions return
 *   nng_err): CHAOS_OK, or a positive CHAOS_E* naming the class of failure.
 *   Netlink and libc code keeps negative errno internally and converts once
 *   at its module boundary with chaos_err_from_errno().
 * - When the caller needs to tell a person why, the function takes a
 *   `chaos_why *why` as its last parameter (NULL when the text is not
 *   wanted) and fills it only on failure, with one line that says what is
 *   wrong and, where it helps, what is allowed or what to check.
 * - Exit statuses are not error codes: only a program's main() (and
 *   chaosctl's subcommands) turn a chaos_err into one, with
 *   chaos_exit_from_err(), and library code never exits.
 */
#ifndef CHAOS_COMMON_ERR_H
#define CHAOS_COMMON_ERR_H

#include <stddef.h>

typedef enum chaos_err {
	CHAOS_OK = 0,
	CHAOS_EINVAL,       /* bad argument or input */
	CHAOS_ENOMEM,       /* allocation failed */
	CHAOS_ETIMEDOUT,    /* deadline passed */
	CHAOS_ECONN,        /* peer unreachable, refused or connection lost */
	CHAOS_EPROTO,       /* malformed or invalid message */
	CHAOS_EVERSION,     /* protocol version not spoken */
	CHAOS_ETOOBIG,      /* message or value over its limit */
	CHAOS_EPERM,        /* permission denied (need root or CAP_NET_ADMIN) */
	CHAOS_ENOENT,       /* no such object */
	CHAOS_EEXIST,       /* already exists */
	CHAOS_EBUSY,        /* resource in use */
	CHAOS_EUNSUPPORTED, /* not supported by this build or kernel */
	CHAOS_ESYS,         /* other system error; see errno or the log */
	CHAOS_ECLOSED,      /* object closed or shutting down */
	CHAOS_ERR_COUNT
} chaos_err;

/* Static English text for an error; never NULL. */
const char *chaos_strerror(int err);

/* Maps a positive or negative errno value to the closest CHAOS_E*. */
chaos_err chaos_err_from_errno(int errnum);

/* Maps an NNG error number (nng_err) to the closest CHAOS_E*. */
chaos_err chaos_err_from_nng(int nng_errnum);

#define CHAOS_WHY_LEN 512

/* Why something failed, as one line for a person. */
typedef struct chaos_why {
	char text[CHAOS_WHY_LEN];
} chaos_why;

/* Writes the reason into why (when not NULL) and returns code, so a failure
 * is one statement: return chaos_fail(why, CHAOS_EINVAL, "port %u ...", p); */
chaos_err chaos_fail(chaos_why *why, chaos_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes why's text with "<prefix>: " (when why is not NULL); returns
 * code. For a caller that adds what it was doing to a callee's reason. */
chaos_err chaos_fail_prefix(chaos_why *why, chaos_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Process exit statuses, kept apart from error codes. */
enum chaos_exit {
	CHAOS_EXIT_OK     = 0, /* ran and met its bar */
	CHAOS_EXIT_FAILED = 1, /* ran but failed or missed an SLO */
	CHAOS_EXIT_USAGE  = 2, /* bad usage: nothing was changed */
	CHAOS_EXIT_ENV =
	    3, /* environment not usable (unreachable, no agents, no permission) */
};

/* The exit status for a failure of class err: CHAOS_EINVAL is bad usage;
 * CHAOS_ECONN, CHAOS_ENOENT, CHAOS_EPERM, CHAOS_EUNSUPPORTED, CHAOS_ETIMEDOUT
 * and CHAOS_EVERSION an unusable environment; anything else a failure. */
enum chaos_exit chaos_exit_from_err(chaos_err err);

#endif
