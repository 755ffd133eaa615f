// SPDX-License-Identifier: MIT
#include "coord_db.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

struct db_pool {
	pthread_mutex_t lock;
	pthread_cond_t  freed; /* a connection went back to idle or was closed */
	PGconn        **idle;  /* LIFO: the most recently used connection first */
	int             n_idle;
	int             n_open; /* idle + lent out + being opened */
	int             size;
	int             timeout_ms;
	char           *dsn;
	char            user_timeout[16];
};

/*
 * Our defaults come before "dbname", which carries the whole DSN file and is
 * expanded in place (expand_dbname), so a setting in the file wins over ours.
 * tcp_user_timeout and keepalives let the kernel notice a dead or blackholed
 * server on connections that sit idle in the pool.
 */
static const char *const db_keys[] = {
    "application_name",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "sslmode",
    "dbname",
    NULL,
};

/* Writes "<cls>: <text>" on one line: libpq messages carry newlines and tabs. */
__attribute__((format(printf, 4, 5))) static void
db_err_set(char *err, size_t errlen, const char *cls, const char *fmt, ...)
{
	char    text[DB_ERR_LEN];
	va_list ap;
	size_t  o = 0;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (size_t i = 0; text[i] != '\0' && o + 1 < sizeof(text); i++) {
		char c = text[i];
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (o == 0 || text[o - 1] == ' '))
			continue;
		text[o++] = c;
	}
	while (o > 0 && text[o - 1] == ' ')
		o--;
	text[o] = '\0';
	snprintf(err, errlen, "%s: %s", cls, o > 0 ? text : "unknown error");
}

static void
db_notice(void *arg, const char *message)
{
	(void)arg;
	log_debug("postgres notice: %s", message);
}

/* Waits until fd is ready for events or the deadline (monotonic us) passes.
 * Returns 1 ready, 0 deadline passed, -1 poll failed. */
static int
db_wait(int fd, short events, int64_t deadline_us)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	for (;;) {
		int64_t left = deadline_us - clk_mono_us();
		if (left <= 0)
			return 0;
		int n = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Opens a connection within the deadline; PQconnectPoll ignores
 * connect_timeout, so the deadline is ours. */
static int
db_connect(struct db_pool *pool, int64_t deadline_us, PGconn **out, char *err,
           size_t errlen)
{
	const char *vals[] = {"chaos-coordinator", pool->user_timeout, "1", "5", "2", "2",
	                      "disable",           pool->dsn,          NULL};
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	PGconn                   *c  = PQconnectStartParams(db_keys, vals, 1);
	int                       rc = CHAOS_ECONN;

	if (c == NULL) {
		db_err_set(err, errlen, "connection", "out of memory");
		return CHAOS_ENOMEM;
	}
	PQsetNoticeProcessor(c, db_notice, NULL);
	if (PQstatus(c) == CONNECTION_BAD)
		st = PGRES_POLLING_FAILED;
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		/* The socket can change between attempts (several hosts or addresses). */
		int w =
		    db_wait(PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
		            deadline_us);
		if (w == 0) {
			db_err_set(err, errlen, "timeout",
			           "connecting to the database took more than %d ms",
			           pool->timeout_ms);
			rc = CHAOS_ETIMEDOUT;
			goto out;
		}
		if (w < 0) {
			db_err_set(err, errlen, "connection", "poll: %s",
			           strerror(errno));
			goto out;
		}
		st = PQconnectPoll(c);
	}
	if (st == PGRES_POLLING_FAILED) {
		db_err_set(err, errlen, "connection", "%s", PQerrorMessage(c));
		goto out;
	}
	if (PQsetnonblocking(c, 1) != 0) {
		db_err_set(err, errlen, "connection", "%s", PQerrorMessage(c));
		goto out;
	}
	*out = c;
	c    = NULL;
	rc   = CHAOS_OK;
out:
	if (c != NULL)
		PQfinish(c);
	return rc;
}

/* An idle connection has nothing to say: readable data or a hang-up means the
 * server is closing it (pg_terminate_backend, shutdown), so it is not lent. */
static bool
db_idle_usable(PGconn *c)
{
	struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN | POLLRDHUP};

	if (PQstatus(c) != CONNECTION_OK || pfd.fd < 0)
		return false;
	return poll(&pfd, 1, 0) == 0;
}

static void
db_abs_deadline(int64_t deadline_us, struct timespec *ts)
{
	ts->tv_sec  = (time_t)(deadline_us / 1000000);
	ts->tv_nsec = (long)(deadline_us % 1000000) * 1000;
}

/* Lends a usable connection: a healthy idle one, else a new one while the
 * pool has room, else waits for one to come back until the deadline. */
static int
db_borrow(struct db_pool *pool, int64_t deadline_us, PGconn **out, char *err,
          size_t errlen)
{
	struct timespec abs;
	int             rc;

	db_abs_deadline(deadline_us, &abs);
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->n_idle > 0) {
			PGconn *c = pool->idle[--pool->n_idle];
			if (db_idle_usable(c)) {
				pthread_mutex_unlock(&pool->lock);
				*out = c;
				return CHAOS_OK;
			}
			pool->n_open--;
			PQfinish(c);
		}
		if (pool->n_open < pool->size)
			break;
		if (pthread_cond_timedwait(&pool->freed, &pool->lock, &abs) ==
		    ETIMEDOUT) {
			pthread_mutex_unlock(&pool->lock);
			db_err_set(err, errlen, "pool", "no free connection within %d ms",
			           pool->timeout_ms);
			return CHAOS_EBUSY;
		}
	}
	pool->n_open++;
	pthread_mutex_unlock(&pool->lock);

	rc = db_connect(pool, deadline_us, out, err, errlen);
	if (rc != CHAOS_OK) {
		pthread_mutex_lock(&pool->lock);
		pool->n_open--;
		pthread_cond_signal(&pool->freed);
		pthread_mutex_unlock(&pool->lock);
	}
	return rc;
}

/* Takes a connection back; keeps it only when it is healthy and idle. */
static void
db_release(struct db_pool *pool, PGconn *c, bool reuse)
{
	reuse = reuse && PQstatus(c) == CONNECTION_OK &&
	    PQtransactionStatus(c) == PQTRANS_IDLE;
	if (!reuse)
		PQfinish(c);
	pthread_mutex_lock(&pool->lock);
	if (reuse)
		pool->idle[pool->n_idle++] = c;
	else
		pool->n_open--;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

/* Sends the query and flushes it within the deadline. */
static int
db_send(PGconn *c, const char *sql, int64_t deadline_us, int timeout_ms, char *err,
        size_t errlen)
{
	if (!PQsendQuery(c, sql)) {
		db_err_set(err, errlen, "connection", "%s", PQerrorMessage(c));
		return CHAOS_ECONN;
	}
	for (;;) {
		int f = PQflush(c);
		if (f == 0)
			return CHAOS_OK;
		if (f < 0) {
			db_err_set(err, errlen, "connection", "%s", PQerrorMessage(c));
			return CHAOS_ECONN;
		}
		int w = db_wait(PQsocket(c), POLLOUT | POLLIN, deadline_us);
		if (w == 0) {
			db_err_set(err, errlen, "timeout",
			           "sending the query took more than %d ms", timeout_ms);
			return CHAOS_ETIMEDOUT;
		}
		/* libpq wants input read while it waits to write (server may be talking).
		 */
		if (w < 0 || !PQconsumeInput(c)) {
			db_err_set(err, errlen, "connection", "%s", PQerrorMessage(c));
			return CHAOS_ECONN;
		}
	}
}

/* Reads every result of the query; keeps the first error, else the first
 * result. Returns CHAOS_OK with *out set, or an error with err filled. */
static int
db_collect(PGconn *c, int64_t deadline_us, int timeout_ms, PGresult **out, char *err,
           size_t errlen)
{
	PGresult *keep = NULL;

	for (;;) {
		while (PQisBusy(c)) {
			int w = db_wait(PQsocket(c), POLLIN, deadline_us);
			if (w == 0) {
				PQclear(keep);
				db_err_set(err, errlen, "timeout",
				           "the query took more than %d ms", timeout_ms);
				return CHAOS_ETIMEDOUT;
			}
			if (w < 0 || !PQconsumeInput(c)) {
				PQclear(keep);
				db_err_set(err, errlen, "connection", "%s",
				           PQerrorMessage(c));
				return CHAOS_ECONN;
			}
		}
		PGresult *r = PQgetResult(c);
		if (r == NULL)
			break;
		if (keep == NULL ||
		    (PQresultStatus(r) == PGRES_FATAL_ERROR &&
		     PQresultStatus(keep) != PGRES_FATAL_ERROR)) {
			PQclear(keep);
			keep = r;
		} else {
			PQclear(r);
		}
	}
	if (keep == NULL) {
		db_err_set(err, errlen, "query", "the server sent no result");
		return CHAOS_EPROTO;
	}
	*out = keep;
	return CHAOS_OK;
}

/* Turns a result into CHAOS_OK or an error class: a SQLSTATE means the
 * server answered; none means libpq lost the connection. */
static int
db_check_result(PGresult *r, char *err, size_t errlen)
{
	const char *state, *msg;

	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		return CHAOS_OK;
	state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	msg   = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL)
		msg = PQresultErrorMessage(r);
	if (state == NULL) {
		db_err_set(err, errlen, "connection", "%s", msg);
		return CHAOS_ECONN;
	}
	db_err_set(err, errlen, "query", "%s %s", state, msg);
	return CHAOS_EPROTO;
}

int
db_pool_query(struct db_pool *pool, const char *sql, PGresult **res, char *err,
              size_t errlen)
{
	int64_t   deadline_us = clk_mono_us() + (int64_t)pool->timeout_ms * 1000;
	PGconn   *c           = NULL;
	PGresult *r           = NULL;
	int       rc;

	rc = db_borrow(pool, deadline_us, &c, err, errlen);
	if (rc != CHAOS_OK)
		return rc;
	rc = db_send(c, sql, deadline_us, pool->timeout_ms, err, errlen);
	if (rc == CHAOS_OK)
		rc = db_collect(c, deadline_us, pool->timeout_ms, &r, err, errlen);
	if (rc == CHAOS_OK)
		rc = db_check_result(r, err, errlen);
	/* After a timeout the connection is mid-query: only a clean answer, or a
	 * server-side error on a connection still idle, lets it back in. */
	db_release(pool, c, rc == CHAOS_OK || rc == CHAOS_EPROTO);
	if (rc != CHAOS_OK) {
		PQclear(r);
		return rc;
	}
	*res = r;
	return CHAOS_OK;
}

int
db_pool_new(struct db_pool **out, const char *dsn, int size, int timeout_ms, char *err,
            size_t errlen)
{
	struct db_pool    *pool = NULL;
	pthread_condattr_t ca;
	PQconninfoOption  *opts;
	char              *perr = NULL;

	opts = PQconninfoParse(dsn, &perr);
	if (opts == NULL ||
	    (strchr(dsn, '=') == NULL && strncmp(dsn, "postgres", 8) != 0)) {
		db_err_set(err, errlen, "config", "not a libpq connection string: %s",
		           perr ? perr
		                : "expected key=value pairs or a postgresql:// URI");
		PQfreemem(perr);
		PQconninfoFree(opts);
		return CHAOS_EINVAL;
	}
	PQconninfoFree(opts);
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return CHAOS_ENOMEM;
	pool->idle = calloc((size_t)size, sizeof(*pool->idle));
	pool->dsn  = strdup(dsn);
	if (pool->idle == NULL || pool->dsn == NULL) {
		free(pool->idle);
		free(pool->dsn);
		free(pool);
		return CHAOS_ENOMEM;
	}
	pool->size       = size;
	pool->timeout_ms = timeout_ms;
	snprintf(pool->user_timeout, sizeof(pool->user_timeout), "%d", timeout_ms);
	pthread_mutex_init(&pool->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pool->freed, &ca);
	pthread_condattr_destroy(&ca);
	*out = pool;
	return CHAOS_OK;
}

void
db_pool_free(struct db_pool *pool)
{
	if (pool == NULL)
		return;
	for (int i = 0; i < pool->n_idle; i++)
		PQfinish(pool->idle[i]);
	pthread_cond_destroy(&pool->freed);
	pthread_mutex_destroy(&pool->lock);
	free(pool->idle);
	free(pool->dsn);
	free(pool);
}
