/* SPDX-License-Identifier: MIT */
/*
 * A small PostgreSQL connection pool with a hard deadline on every call.
 *
 * libpq's own connect_timeout is ignored by PQconnectPoll and a blocking
 * PQexec waits forever on a silently dropped connection, so both connect and
 * query run non-blocking against our own deadline. Healthy connections are
 * reused; a connection that failed, timed out or was closed by the server is
 * dropped, and the next call opens a fresh one, as a real service's pool does.
 */
#ifndef CHAOS_SANDBOX_COORD_DB_H
#define CHAOS_SANDBOX_COORD_DB_H

#include <libpq-fe.h>
#include <stddef.h>

/* Length of an error text "<class>: <text>" including the NUL. Classes:
 * "timeout", "connection", "query" (with its SQLSTATE) and "pool". */
#define DB_ERR_LEN 256

struct db_pool;

/* Creates a pool for the libpq connection string dsn (copied) holding at most
 * size connections; every db_pool_query() call finishes within timeout_ms.
 * Connects lazily. Returns CHAOS_OK, CHAOS_EINVAL (dsn not a connection
 * string, with the reason in err) or CHAOS_ENOMEM. */
int db_pool_new(struct db_pool **out, const char *dsn, int size, int timeout_ms,
                char *err, size_t errlen);

/* Closes every idle connection and frees the pool. No call may be running.
 * Accepts NULL. */
void db_pool_free(struct db_pool *pool);

/* Runs one SQL statement that returns rows. On CHAOS_OK *res owns a
 * PGRES_TUPLES_OK result (PQclear it). Otherwise *res is untouched, err holds
 * "<class>: <text>" on one line, and the result is CHAOS_ETIMEDOUT (deadline
 * passed), CHAOS_ECONN (could not connect, or connection lost), CHAOS_EPROTO
 * (the server answered with an error) or CHAOS_EBUSY (no free connection in
 * time). */
int db_pool_query(struct db_pool *pool, const char *sql, PGresult **res, char *err,
                  size_t errlen);

#endif
