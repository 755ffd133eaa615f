// SPDX-License-Identifier: MIT
#include "agent/pgconn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/pqlib.h"
#include "common/clock.h"
#include "common/err.h"

/* libpq's table, for the functions reached only with a PGconn or PGresult
 * in hand: pgconn_connect() loaded it to make that connection, so it is
 * never NULL here. */
static const struct pqlib *
pgconn_pq(void)
{
	return pqlib_get(NULL);
}

/* libpq's connection-level texts, and what each means to a client. */
static const struct {
	const char           *text;
	Chaos__V1__ErrorClass cls;
} pgconn_texts[] = {
    {"Connection refused", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED},
    {"Connection reset", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED},
    {"server closed the connection", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED},
    {"no connection to the server", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED},
    {"No route to host", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED},
    {"Network is unreachable", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED},
    {"Broken pipe", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED},
    {"the database system is", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED},
    {"too many clients", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED},
    {"timeout expired", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT},
    {"Connection timed out", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT},
    {"could not translate host name", CHAOS__V1__ERROR_CLASS__ERROR_CLASS_DNS},
};

static int
pgconn_code(Chaos__V1__ErrorClass cls)
{
	switch (cls) {
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT:
		return CHAOS_ETIMEDOUT;
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED:
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_DNS:
		return CHAOS_ECONN;
	default:
		return CHAOS_EPROTO;
	}
}

/* Replaces every occurrence of secret in s (size bytes) with "***". */
static void
pgconn_scrub(char *s, size_t size, const char *secret)
{
	size_t n    = secret != NULL ? strlen(secret) : 0;
	char  *from = s, *hit;

	if (n == 0)
		return;
	while ((hit = strstr(from, secret)) != NULL) {
		size_t head = (size_t)(hit - s);
		size_t tail = strlen(hit + n);

		if (head + 3 + tail >= size)
			tail = size - head - 4; /* room: head + 3 + tail + NUL == size */
		memmove(hit + 3, hit + n, tail);
		memcpy(hit, "***", 3);
		hit[3 + tail] = '\0';
		from = hit + 3; /* never rescan the mask: "*" would match forever */
	}
}

/* prefix + the first line of msg, printable ASCII, into e->detail. */
static void
pgconn_detail(struct pgconn_error *e, const char *prefix, const char *msg)
{
	size_t n = strcspn(msg != NULL ? msg : "", "\n");
	size_t len;

	while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\r'))
		n--;
	snprintf(e->detail, sizeof(e->detail), "%s%.*s", prefix, (int)n, msg ? msg : "");
	len = strlen(e->detail);
	for (size_t i = 0; i < len; i++)
		if (e->detail[i] < 0x20 || e->detail[i] > 0x7e)
			e->detail[i] = '?';
}

/* Fills e from a connection-level message. */
static int
pgconn_fail_msg(struct pgconn_error *e, const char *prefix, const char *msg)
{
	e->cls         = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER;
	e->sqlstate[0] = '\0';
	for (size_t i = 0;
	     msg != NULL && i < sizeof(pgconn_texts) / sizeof(pgconn_texts[0]); i++)
		if (strstr(msg, pgconn_texts[i].text) != NULL) {
			e->cls = pgconn_texts[i].cls;
			break;
		}
	pgconn_detail(e, prefix, msg);
	return pgconn_code(e->cls);
}

static int
pgconn_fail(struct pgconn_error *e, Chaos__V1__ErrorClass cls, const char *detail)
{
	e->cls         = cls;
	e->sqlstate[0] = '\0';
	snprintf(e->detail, sizeof(e->detail), "%s", detail);
	return pgconn_code(cls);
}

static int
pgconn_timeout(struct pgconn_error *e, const char *what)
{
	char d[64];

	snprintf(d, sizeof(d), "%s: timed out", what);
	return pgconn_fail(e, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT, d);
}

/* Waits for events on fd by the deadline. Returns the revents (> 0), 0 on
 * timeout, or -CHAOS_ECLOSED when stop_fd fired. */
static int
pgconn_wait(int fd, short events, int64_t deadline, int stop_fd)
{
	struct pollfd pfd[2] = {{.fd = fd, .events = events},
	                        {.fd = stop_fd, .events = POLLIN}};

	for (;;) {
		int64_t left = deadline - clk_mono_us();
		int     n;

		if (left <= 0)
			return 0;
		n = poll(pfd, stop_fd >= 0 ? 2 : 1, (int)((left + 999) / 1000));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (stop_fd >= 0 && pfd[1].revents != 0))
			return -CHAOS_ECLOSED;
		if (pfd[0].revents != 0)
			return pfd[0].revents;
	}
}

chaos_err
pgconn_available(chaos_why *why)
{
	return pqlib_get(why) != NULL ? CHAOS_OK : CHAOS_EUNSUPPORTED;
}

bool
pgconn_conninfo_ok(const char *conninfo)
{
	const struct pqlib *pq  = pqlib_get(NULL);
	char               *msg = NULL;
	PQconninfoOption   *opts;

	if (pq == NULL || conninfo == NULL)
		return false;
	opts = pq->PQconninfoParse(conninfo, &msg);
	pq->PQfreemem(msg);
	if (opts == NULL)
		return false;
	pq->PQconninfoFree(opts);
	return true;
}

/* The password in conninfo (malloc'd), or NULL. */
static char *
pgconn_password(const char *conninfo)
{
	const struct pqlib *pq   = pgconn_pq();
	PQconninfoOption   *opts = pq->PQconninfoParse(conninfo, NULL);
	char               *pw   = NULL;

	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    o->val[0] != '\0')
			pw = strdup(o->val);
	pq->PQconninfoFree(opts);
	return pw;
}

/* Drives PQconnectPoll to the end. */
static int
pgconn_poll_loop(PGconn *c, int64_t deadline, int stop_fd, struct pgconn_error *e)
{
	const struct pqlib       *pq = pgconn_pq();
	PostgresPollingStatusType st = PGRES_POLLING_WRITING; /* as libpq says to start */

	for (;;) {
		int fd, w;

		if (st == PGRES_POLLING_OK)
			return CHAOS_OK;
		if (st == PGRES_POLLING_FAILED)
			return pgconn_fail_msg(e, "connect: ", pq->PQerrorMessage(c));
		if ((fd = pq->PQsocket(c)) < 0)
			return pgconn_fail_msg(e, "connect: ", pq->PQerrorMessage(c));
		w = pgconn_wait(fd, st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
		                deadline, stop_fd);
		if (w == -CHAOS_ECLOSED)
			return CHAOS_ECLOSED;
		if (w == 0)
			return pgconn_timeout(e, "connect");
		st = pq->PQconnectPoll(c);
	}
}

chaos_err
pgconn_connect(const char *conninfo, const char *app_name, int64_t deadline_mono_us,
               int stop_fd, PGconn **out, struct pgconn_error *e)
{
	const char *const   keys[] = {"dbname", "fallback_application_name", NULL};
	const char *const   vals[] = {conninfo, app_name, NULL};
	chaos_why           why    = {{0}};
	const struct pqlib *pq     = pqlib_get(&why);
	PGconn             *c;
	char               *pw;
	int                 rv;

	if (pq == NULL) {
		pgconn_fail_msg(e, "", why.text);
		return CHAOS_EUNSUPPORTED;
	}
	if (!pgconn_conninfo_ok(conninfo)) {
		pgconn_fail(
		    e, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER,
		    "connect: invalid conninfo (not quoted: it may hold a password)");
		return CHAOS_EINVAL;
	}
	/* expand_dbname: the conninfo string fills every keyword it sets */
	c = pq->PQconnectStartParams(keys, vals, 1);
	if (c == NULL) {
		pgconn_fail(e, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER,
		            "connect: out of memory");
		return CHAOS_ENOMEM;
	}
	if (pq->PQstatus(c) == CONNECTION_BAD)
		rv = pgconn_fail_msg(e, "connect: ", pq->PQerrorMessage(c));
	else
		rv = pgconn_poll_loop(c, deadline_mono_us, stop_fd, e);
	if (rv != CHAOS_OK) {
		pq->PQfinish(c);
		if (rv != CHAOS_ECLOSED && (pw = pgconn_password(conninfo)) != NULL) {
			pgconn_scrub(e->detail, sizeof(e->detail), pw);
			free(pw);
		}
		return rv;
	}
	*out = c;
	return CHAOS_OK;
}

/* Pushes the query out: PQflush until done, reading meanwhile as libpq
 * asks (the server may answer before it has read everything). */
static int
pgconn_flush(PGconn *c, int64_t deadline, int stop_fd, struct pgconn_error *e)
{
	const struct pqlib *pq = pgconn_pq();

	for (;;) {
		int f = pq->PQflush(c), w;

		if (f == 0)
			return CHAOS_OK;
		if (f < 0 || pq->PQsocket(c) < 0)
			return pgconn_fail_msg(e, "send: ", pq->PQerrorMessage(c));
		w = pgconn_wait(pq->PQsocket(c), POLLIN | POLLOUT, deadline, stop_fd);
		if (w == -CHAOS_ECLOSED)
			return CHAOS_ECLOSED;
		if (w == 0)
			return pgconn_timeout(e, "query");
		if ((w & POLLIN) && !pq->PQconsumeInput(c))
			return pgconn_fail_msg(e, "send: ", pq->PQerrorMessage(c));
	}
}

/* One result: keeps the first rows, records the first error. Returns false
 * when the connection cannot go on (COPY, bad response). */
static bool
pgconn_take_result(PGresult *r, PGresult **rows, int *rv, struct pgconn_error *e)
{
	const struct pqlib *pq       = pgconn_pq();
	ExecStatusType      st       = pq->PQresultStatus(r);
	const char         *sqlstate = pq->PQresultErrorField(r, PG_DIAG_SQLSTATE);
	bool                go_on    = true;

	if (st == PGRES_TUPLES_OK && rows != NULL && *rows == NULL) {
		*rows = r;
		return true;
	}
	if (st == PGRES_FATAL_ERROR && *rv == CHAOS_OK) {
		if (sqlstate != NULL && sqlstate[0] != '\0') {
			e->cls = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_SQL;
			snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", sqlstate);
			pgconn_detail(e, "query: ", pq->PQresultErrorMessage(r));
			*rv = CHAOS_EPROTO;
		} else {
			*rv = pgconn_fail_msg(e, "query: ", pq->PQresultErrorMessage(r));
		}
	} else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK &&
	           st != PGRES_EMPTY_QUERY && st != PGRES_FATAL_ERROR &&
	           st != PGRES_NONFATAL_ERROR) {
		if (*rv == CHAOS_OK) {
			char d[64];
			snprintf(d, sizeof(d), "query: unexpected result %s",
			         pq->PQresStatus(st));
			*rv =
			    pgconn_fail(e, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER, d);
		}
		go_on = false;
	}
	pq->PQclear(r);
	return go_on;
}

/* Reads results until PQgetResult says there are no more. The first error
 * is the one reported: a terminated backend sends 57P01 and then closes,
 * and the close must not hide the SQLSTATE. */
static int
pgconn_results(PGconn *c, int64_t deadline, int stop_fd, PGresult **rows,
               struct pgconn_error *e)
{
	const struct pqlib *pq = pgconn_pq();
	int                 rv = CHAOS_OK;

	for (;;) {
		while (!pq->PQisBusy(c)) {
			PGresult *r = pq->PQgetResult(c);
			if (r == NULL)
				return rv;
			if (!pgconn_take_result(r, rows, &rv, e))
				return rv;
		}
		if (pq->PQsocket(c) < 0)
			return rv != CHAOS_OK
			    ? rv
			    : pgconn_fail_msg(e, "query: ", pq->PQerrorMessage(c));
		int w = pgconn_wait(pq->PQsocket(c), POLLIN, deadline, stop_fd);
		if (w == -CHAOS_ECLOSED)
			return CHAOS_ECLOSED;
		if (rv != CHAOS_OK && (w == 0 || !pq->PQconsumeInput(c)))
			return rv;
		if (w == 0)
			return pgconn_timeout(e, "query");
		if (rv == CHAOS_OK && !pq->PQconsumeInput(c))
			return pgconn_fail_msg(e, "query: ", pq->PQerrorMessage(c));
	}
}

chaos_err
pgconn_query(PGconn *c, const char *sql, int n_params, const char *const *params,
             int64_t deadline_mono_us, int stop_fd, PGresult **rows,
             struct pgconn_error *e)
{
	const struct pqlib *pq = pgconn_pq();
	int                 sent, rv;

	if (rows != NULL)
		*rows = NULL;
	if (pq->PQsetnonblocking(c, 1) != 0)
		return pgconn_fail_msg(e, "query: ", pq->PQerrorMessage(c));
	sent = n_params > 0
	    ? pq->PQsendQueryParams(c, sql, n_params, NULL, params, NULL, NULL, 0)
	    : pq->PQsendQuery(c, sql);
	if (!sent)
		return pgconn_fail_msg(e, "query: ", pq->PQerrorMessage(c));
	rv = pgconn_flush(c, deadline_mono_us, stop_fd, e);
	if (rv == CHAOS_OK)
		rv = pgconn_results(c, deadline_mono_us, stop_fd, rows, e);
	if (rv != CHAOS_OK && rows != NULL && *rows != NULL) {
		pq->PQclear(*rows);
		*rows = NULL;
	}
	return rv;
}

bool
pgconn_reusable(PGconn *c)
{
	const struct pqlib *pq = pgconn_pq();

	return c != NULL && pq->PQstatus(c) == CONNECTION_OK &&
	    pq->PQtransactionStatus(c) == PQTRANS_IDLE;
}

void
pgconn_close(PGconn *c)
{
	if (c != NULL)
		pgconn_pq()->PQfinish(c);
}

int
pgconn_socket(PGconn *c)
{
	return pgconn_pq()->PQsocket(c);
}

void
pgconn_clear(PGresult *r)
{
	if (r != NULL)
		pgconn_pq()->PQclear(r);
}

chaos_err
pgconn_terminate_backends(PGconn *c, const char *app_name, bool same_client,
                          int64_t deadline_mono_us, int *count, struct pgconn_error *e)
{
	static const char sql[] =
	    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM "
	    "pg_stat_activity"
	    " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
	    " AND datname = current_database()"
	    " AND ($1::text IS NULL OR application_name = $1::text)"
	    " AND (NOT $2::bool OR client_addr IS NOT DISTINCT FROM inet_client_addr())";
	const struct pqlib *pq        = pgconn_pq();
	const char         *params[2] = {app_name, same_client ? "t" : "f"};
	PGresult           *rows      = NULL;
	int                 rv;

	rv = pgconn_query(c, sql, 2, params, deadline_mono_us, -1, &rows, e);
	if (rv != CHAOS_OK)
		return rv;
	if (rows == NULL || pq->PQntuples(rows) != 1 || pq->PQnfields(rows) != 1) {
		pq->PQclear(rows);
		return pgconn_fail(e, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER,
		                   "terminate: unexpected answer");
	}
	*count = atoi(pq->PQgetvalue(rows, 0, 0));
	pq->PQclear(rows);
	return CHAOS_OK;
}
