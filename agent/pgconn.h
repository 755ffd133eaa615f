/* SPDX-License-Identifier: MIT */
/*
 * libpq, non-blocking and bounded: connect and query against a deadline of
 * our own. libpq ignores connect_timeout in non-blocking mode and has no
 * poll with a timeout of its own, so every wait here is a poll() on
 * PQsocket (re-read each round, libpq may change it) plus an optional stop
 * fd, bounded by the caller's monotonic deadline.
 *
 * Errors are classified the way the probes report them (ERROR_CLASS_*):
 * REFUSED (refused, reset, unreachable, "server closed the connection",
 * the server not accepting connections), TIMEOUT (the deadline), DNS, SQL
 * (the server answered with an error carrying a SQLSTATE) or OTHER. The
 * detail is the first line of libpq's message, printable ASCII only, with
 * the password scrubbed; a conninfo libpq cannot parse is never quoted,
 * since it may hold the password. The agent runs in the C locale, so
 * libpq's messages are the English ones matched here.
 *
 * Host names in the conninfo are resolved by libpq inside PQconnectPoll,
 * which blocks: give addresses (host=10.0.0.1 or hostaddr=) where a stall
 * past the deadline matters. *
 * libpq itself is loaded on first use (agent/pqlib.h): pgconn_connect()
 * and pgconn_available() load it; the functions taking a PGconn need no
 * check, since a connection exists only once libpq is loaded.
 */
#ifndef CHAOS_AGENT_PGCONN_H
#define CHAOS_AGENT_PGCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "common/err.h"
#include "proto/chaos.pb-c.h"

#define PGCONN_DETAIL_LEN 200

struct pgconn_error {
	Chaos__V1__ErrorClass cls;
	char                  sqlstate[6]; /* "" when none */
	char                  detail[PGCONN_DETAIL_LEN];
};

/* Loads libpq if it is not yet. Returns CHAOS_OK, or CHAOS_EUNSUPPORTED
 * with why saying which library is missing and which package has it. */
chaos_err pgconn_available(chaos_why *why);

/* Whether libpq can parse conninfo (key=value or postgresql:// URI); false
 * also when libpq cannot be loaded (ask pgconn_available() why). */
bool pgconn_conninfo_ok(const char *conninfo);

/*
 * Connects to conninfo by the deadline (clk_mono_us() time). app_name is
 * the fallback_application_name (the conninfo's own wins). stop_fd: -1, or
 * an fd whose readability abandons the attempt. On success *out is the
 * connection (pgconn_close it). Returns CHAOS_OK, CHAOS_ECLOSED (stop_fd
 * fired), or a failure with e filled: CHAOS_ETIMEDOUT, CHAOS_ECONN
 * (refused, reset, DNS), CHAOS_EPROTO (the server said no: authentication,
 * database missing...), CHAOS_EINVAL (conninfo), CHAOS_ENOMEM,
 * CHAOS_EUNSUPPORTED (libpq cannot be loaded; e says why).
 */
chaos_err pgconn_connect(const char *conninfo, const char *app_name,
                         int64_t deadline_mono_us, int stop_fd, PGconn **out,
                         struct pgconn_error *e);

/*
 * Sends sql with n_params text parameters (NULL when 0) and reads every
 * result by the deadline. With rows non-NULL, *rows gets the first
 * PGRES_TUPLES_OK result (pgconn_clear it; NULL if none). Returns CHAOS_OK,
 * CHAOS_ECLOSED, or a failure with e filled: CHAOS_EPROTO (SQL error, e has
 * the SQLSTATE, or an unexpected result such as COPY), CHAOS_ETIMEDOUT,
 * CHAOS_ECONN. After any failure but a SQL error the connection is unusable.
 */
chaos_err pgconn_query(PGconn *c, const char *sql, int n_params,
                       const char *const *params, int64_t deadline_mono_us, int stop_fd,
                       PGresult **rows, struct pgconn_error *e);

/* Whether c can run another query: connected and idle (not mid-transaction
 * or mid-result). */
bool pgconn_reusable(PGconn *c);

/* Closes c (PQfinish). NULL is fine. */
void pgconn_close(PGconn *c);

/* c's socket (PQsocket): -1 when it has none. */
int pgconn_socket(PGconn *c);

/* Frees a result of pgconn_query (PQclear). NULL is fine. */
void pgconn_clear(PGresult *r);

/*
 * pg_terminate_backend() for the client backends of c's database, except
 * c's own; only those of application_name app_name when not NULL, only
 * those connected from c's own client address when same_client (a client
 * side fault terminates its own pod's connections, not everyone's). Needs
 * superuser or pg_signal_backend. *count gets how many were signalled.
 * Returns as pgconn_query.
 */
chaos_err pgconn_terminate_backends(PGconn *c, const char *app_name, bool same_client,
                                    int64_t deadline_mono_us, int *count,
                                    struct pgconn_error *e);

#endif
