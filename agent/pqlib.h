/* SPDX-License-Identifier: MIT */
/*
 * libpq, loaded when it is first needed: dlopen("libpq.so.5") behind a table
 * of the functions the agent calls. An agent that runs no PostgreSQL probe
 * or fault then maps neither libpq nor what libpq brings (OpenSSL, Kerberos,
 * LDAP, SASL: about 3 MiB of RSS and 20 shared objects). The types and
 * constants still come from <libpq-fe.h> at build time; nothing links
 * libpq. Only agent/pgconn.c calls through the table; everything else uses
 * pgconn.h.
 *
 * Thread-safe. Once loaded, libpq stays loaded (libpq and OpenSSL do not
 * support being unloaded).
 */
#ifndef CHAOS_AGENT_PQLIB_H
#define CHAOS_AGENT_PQLIB_H

#include <libpq-fe.h>

#include "common/err.h"

#define PQLIB_SONAME "libpq.so.5" /* Debian package libpq5 */

/* Every libpq function the agent uses; a table member per function, with
 * the function's own name and type. */
#define PQLIB_FUNCTIONS(X)                                                               \
	X(PQconnectStartParams)                                                          \
	X(PQconnectPoll)                                                                 \
	X(PQstatus)                                                                      \
	X(PQtransactionStatus)                                                           \
	X(PQsocket)                                                                      \
	X(PQerrorMessage)                                                                \
	X(PQfinish)                                                                      \
	X(PQconninfoParse)                                                               \
	X(PQconninfoFree)                                                                \
	X(PQfreemem)                                                                     \
	X(PQsetnonblocking)                                                              \
	X(PQsendQuery)                                                                   \
	X(PQsendQueryParams)                                                             \
	X(PQflush)                                                                       \
	X(PQconsumeInput)                                                                \
	X(PQisBusy)                                                                      \
	X(PQgetResult)                                                                   \
	X(PQresultStatus)                                                                \
	X(PQresStatus)                                                                   \
	X(PQresultErrorField)                                                            \
	X(PQresultErrorMessage)                                                          \
	X(PQntuples)                                                                     \
	X(PQnfields)                                                                     \
	X(PQgetvalue)                                                                    \
	X(PQclear)

struct pqlib {
#define PQLIB_MEMBER(fn) __typeof__(fn) *fn;
	PQLIB_FUNCTIONS(PQLIB_MEMBER)
#undef PQLIB_MEMBER
};

/* The table for PQLIB_SONAME, loading it on the first call. Returns NULL
 * with why when it cannot be loaded ("... install the package libpq5");
 * the next call tries again. */
const struct pqlib *pqlib_get(chaos_why *why);

/* Loads soname and fills *out with its functions (for tests: a library
 * that is missing, or lacks a function). Returns CHAOS_OK, or
 * CHAOS_EUNSUPPORTED with why naming the library and what needs it. */
chaos_err pqlib_open(const char *soname, struct pqlib *out, chaos_why *why);

#endif
