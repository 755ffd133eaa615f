// SPDX-License-Identifier: MIT
/*
 * The database faults against a real PostgreSQL 15, driven through the
 * agent's own fault engine in-process. Run by test_db_faults.sh, which makes
 * two namespaces joined by a veth pair ("db" 10.233.7.10 with a throwaway
 * PostgreSQL, "client" 10.233.7.20) and passes them in the environment:
 *
 *   DBF_NS_DB, DBF_NS_CL  /run/netns/... paths
 *   DBF_DB_IP             the server's address; DBF_PASSWORD of role
 *                         coordinator (pg_signal_backend), database platform
 *
 * One fault engine lives in each namespace: every call into it runs on a
 * thread inside that namespace (netns_run), so its nftables socket, the
 * proxy's sockets and its libpq connections are made there. The client's
 * connections and probes likewise run inside "client".
 *
 * Checks: server and client side reject (ECONNREFUSED, probe REFUSED) and
 * drop (probe TIMEOUT at its deadline); server and client side latency
 * (kept-connection query latency = baseline + delay, existing backends
 * terminated and reconnected through the proxy, only this pod's on the
 * client side); after revert: baseline latency, no table of ours, none of
 * the proxy's sockets; pg_terminate by application_name; SQLSTATE class.
 * Prints "ok: ..." per check; exits 0 when all passed, 1 otherwise.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nng/nng.h>

#include "agent/events.h"
#include "agent/fault.h"
#include "agent/netns.h"
#include "agent/pgconn.h"
#include "agent/probe.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"
#include "tests/support/fds.h"
#include "tests/support/event_sink.h"
#include "tests/support/median.h"
#include "tests/support/shell.h"

#define PG_PORT 5432
#define DELAY_MS 500
#define TOLERANCE_MS 50
#define QUERIES 9

static const char       *ns_db, *ns_cl, *db_ip, *password;
static char              dsn[512];
static char              db_cidr[32];
static int               failures;
static struct event_sink sink; /* the controller's end of the events */

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (cond) {                                                              \
			printf("ok: ");                                                  \
		} else {                                                                 \
			printf("FAIL (%s:%d): ", __FILE__, __LINE__);                    \
			failures++;                                                      \
		}                                                                        \
		printf(__VA_ARGS__);                                                     \
		printf("\n");                                                            \
		fflush(stdout);                                                          \
	} while (0)

/* ------------------------------------------------------------------ */
/* Running things inside a namespace                                   */

/* `nft list ruleset` inside the namespace at path. */
static const char *
nft_ruleset(const char *ns_path)
{
	return shell_out("nsenter --net=%s nft list ruleset 2>&1", ns_path);
}

/* Listening TCP sockets on port in the namespace (ss -Htln). */
static bool
listening_on(const char *ns_path, unsigned port)
{
	return shell_out("nsenter --net=%s ss -Htln 'sport = :%u' 2>&1", ns_path,
	                 port)[0] != '\0';
}

/* ---- TCP connect ---- */

struct tcp_req {
	int err;
};

static chaos_err
tcp_connect_fn(void *arg)
{
	struct tcp_req    *r   = arg;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(PG_PORT)};
	int           fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	socklen_t     len = sizeof(r->err);

	inet_pton(AF_INET, db_ip, &sin.sin_addr);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		r->err = 0;
	else if (errno != EINPROGRESS)
		r->err = errno;
	else if (poll(&pfd, 1, 1000) == 0)
		r->err = ETIMEDOUT;
	else
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &r->err, &len);
	close(fd);
	return CHAOS_OK;
}

/* errno of a TCP connect from the client namespace to the server (1 s). */
static int
client_tcp_connect(void)
{
	struct tcp_req r = {0};

	netns_run(ns_cl, tcp_connect_fn, &r);
	return r.err;
}

/* ---- libpq connections ---- */

struct pg_req {
	const char         *conninfo;
	const char         *app;
	PGconn             *conn;
	struct pgconn_error e;
	int                 rv;
};

static chaos_err
pg_connect_fn(void *arg)
{
	struct pg_req *r = arg;

	r->rv = pgconn_connect(r->conninfo, r->app, clk_mono_us() + 10000000, -1,
	                       &r->conn, &r->e);
	return CHAOS_OK;
}

/* A connection made inside ns with application_name app (NULL on failure). */
static PGconn *
pg_open(const char *ns, const char *app)
{
	char          conninfo[600];
	struct pg_req r = {.conninfo = conninfo, .app = app};

	snprintf(conninfo, sizeof(conninfo), "%s application_name=%s", dsn, app);
	netns_run(ns, pg_connect_fn, &r);
	if (r.rv != CHAOS_OK)
		printf("  (connect from %s failed: %s)\n", ns, r.e.detail);
	return r.rv == CHAOS_OK ? r.conn : NULL;
}

/* Runs sql on c (10 s); CHAOS_OK or the error, with e filled. */
static int
pg_exec(PGconn *c, const char *sql, struct pgconn_error *e)
{
	return pgconn_query(c, sql, 0, NULL, clk_mono_us() + 10000000, -1, NULL, e);
}

/* ---- the probe, run inside the client namespace ---- */

struct probe_run {
	void               *state;
	uint32_t            timeout_ms;
	struct probe_result r;
	int64_t             took_us;
};

static chaos_err
probe_check_fn(void *arg)
{
	struct probe_run  *x = arg;
	struct probe_check c;
	int64_t            t0 = clk_mono_us();

	memset(&x->r, 0, sizeof(x->r));
	c.timeout_ms       = x->timeout_ms;
	c.deadline_mono_us = t0 + (int64_t)x->timeout_ms * 1000;
	c.stop_fd          = -1;
	probe_pg_ops.check(x->state, &c, &x->r);
	x->took_us = clk_mono_us() - t0;
	return CHAOS_OK;
}

static void *
probe_new(const char *query, bool keep)
{
	Chaos__V1__ProbeSpec spec = CHAOS__V1__PROBE_SPEC__INIT;
	void                *st   = NULL;
	chaos_why            why  = {{0}};

	spec.probe_id            = "pg";
	spec.kind                = CHAOS__V1__PROBE_KIND__PROBE_KIND_POSTGRES;
	spec.target              = dsn;
	spec.query               = (char *)query;
	spec.interval_ms         = 1000;
	spec.timeout_ms          = 5000;
	spec.has_keep_connection = keep;
	spec.keep_connection     = keep;
	if (probe_pg_ops.init(&spec, &st, &why) != CHAOS_OK)
		printf("probe init: %s\n", why.text);
	return st;
}

static struct probe_run
probe_once(void *st, uint32_t timeout_ms)
{
	struct probe_run x = {.state = st, .timeout_ms = timeout_ms};

	netns_run(ns_cl, probe_check_fn, &x);
	return x;
}

/* A fresh-connection probe's single check. */
static struct probe_run
probe_fresh(uint32_t timeout_ms)
{
	void            *st = probe_new(NULL, false);
	struct probe_run x  = probe_once(st, timeout_ms);

	probe_pg_ops.fini(st);
	return x;
}

/* Median query latency (us) of n healthy checks of a kept-connection probe;
 * -1 if a check failed. */
static int64_t
probe_median(void *st, int n)
{
	int64_t v[32];

	for (int i = 0; i < n && i < 32; i++) {
		struct probe_run x = probe_once(st, 5000);
		if (!x.r.healthy || !x.r.has_latency_us) {
			printf("  (check failed: %s)\n", x.r.detail);
			return -1;
		}
		v[i] = x.r.latency_us;
	}
	return median_i64(v, (size_t)n);
}

/* ------------------------------------------------------------------ */
/* The fault engines                                                   */

struct engine_req {
	struct fault_engine        *fe;
	const Chaos__V1__FaultSpec *spec;
	const char                 *id;
	chaos_why                   why;
	int                         rv;
};

static chaos_err
engine_new_fn(void *arg)
{
	struct engine_req *r = arg;

	r->rv = fault_engine_new(sink.ev, NULL, &r->fe);
	return CHAOS_OK;
}

static chaos_err
engine_apply_fn(void *arg)
{
	struct engine_req *r = arg;

	r->rv = fault_apply(r->fe, r->spec, 0, &r->why);
	return CHAOS_OK;
}

static chaos_err
engine_revert_fn(void *arg)
{
	struct engine_req *r = arg;

	fault_revert(r->fe, r->id);
	r->rv = CHAOS_OK;
	return CHAOS_OK;
}

static chaos_err
engine_free_fn(void *arg)
{
	fault_engine_free(((struct engine_req *)arg)->fe);
	return CHAOS_OK;
}

static struct fault_engine *
engine_new(const char *ns)
{
	struct engine_req r = {0};

	netns_run(ns, engine_new_fn, &r);
	return r.rv == CHAOS_OK ? r.fe : NULL;
}

static int
engine_apply(const char *ns, struct fault_engine *fe, Chaos__V1__FaultSpec *spec)
{
	struct engine_req r = {.fe = fe, .spec = spec};

	spec->lease_ms        = 60000;
	spec->hard_end_ctl_us = clk_now_us() + 120000000;
	netns_run(ns, engine_apply_fn, &r);
	if (r.rv != CHAOS_OK)
		printf("  (apply %s: %s)\n", spec->fault_id, r.why.text);
	return r.rv;
}

static void
engine_revert(const char *ns, struct fault_engine *fe, const char *id)
{
	struct engine_req r = {.fe = fe, .id = id};

	netns_run(ns, engine_revert_fn, &r);
}

/* The detail of the latest FaultState event for id with phase, or NULL. */
static const char *
fault_detail(const char *id, Chaos__V1__FaultPhase phase)
{
	static char detail[256];
	int64_t     deadline = clk_mono_us() + 2000000;

	while (clk_mono_us() < deadline) {
		Chaos__V1__Event *e = NULL;
		bool              hit;

		if (event_sink_recv(&sink, 200, &e, NULL) != CHAOS_OK)
			continue;
		hit = e->body_case == CHAOS__V1__EVENT__BODY_FAULT_STATE &&
		    strcmp(e->fault_state->fault_id, id) == 0 &&
		    e->fault_state->phase == phase;
		if (hit)
			snprintf(detail, sizeof(detail), "%s",
			         e->fault_state->detail ? e->fault_state->detail : "");
		wire_free(e);
		if (hit)
			return detail;
	}
	return NULL;
}

static Chaos__V1__FaultSpec
spec_port(const char *id, bool out, bool drop, Chaos__V1__PortFault *pf, uint32_t *port,
          char **peers)
{
	Chaos__V1__FaultSpec s = CHAOS__V1__FAULT_SPEC__INIT;

	chaos__v1__port_fault__init(pf);
	*port             = PG_PORT;
	peers[0]          = db_cidr;
	pf->ports         = port;
	pf->n_ports       = 1;
	pf->has_mode      = true;
	pf->mode          = drop ? CHAOS__V1__REJECT_MODE__REJECT_MODE_DROP
	                         : CHAOS__V1__REJECT_MODE__REJECT_MODE_RESET;
	pf->has_direction = true;
	pf->direction     = out ? CHAOS__V1__DIRECTION__DIRECTION_OUT
	                        : CHAOS__V1__DIRECTION__DIRECTION_IN;
	pf->peers         = out ? peers : NULL;
	pf->n_peers       = out ? 1 : 0;
	s.fault_id        = (char *)id;
	s.kind_case       = CHAOS__V1__FAULT_SPEC__KIND_PORT;
	s.port            = pf;
	return s;
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */

/* Whether the backend with pid still exists, asked over watch (a
 * connection made inside the server's namespace, over loopback, which no
 * fault touches); -1 when the question failed. */
static int
backend_exists(PGconn *watch, int pid)
{
	char      sql[96];
	PGresult *res;
	int       n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = %d",
	         pid);
	res = PQexec(watch, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

/* Waits up to 2 s for the backend with pid to go: whether it went. */
static bool
backend_gone(PGconn *watch, int pid)
{
	int64_t deadline = clk_mono_us() + 2000000;
	int     n;

	while ((n = backend_exists(watch, pid)) != 0 && clk_mono_us() < deadline)
		usleep(20000);
	return n == 0;
}

static void
port_fault(const char *ns, struct fault_engine *fe, bool out, bool drop)
{
	Chaos__V1__PortFault pf;
	uint32_t             port;
	char                *peers[1];
	const char          *side = out ? "client side" : "server side";
	char                 id[32];
	Chaos__V1__FaultSpec s;
	struct probe_run     x;
	PGconn              *held, *watch;
	int                  held_pid;
	const char          *detail;

	snprintf(id, sizeof(id), "port-%s-%s", out ? "out" : "in",
	         drop ? "drop" : "reject");
	/* a client connection open before the fault, and its backend */
	held     = pg_open(ns_cl, "held");
	watch    = pg_open(ns_db, "watch");
	held_pid = held != NULL ? PQbackendPID(held) : 0;
	s        = spec_port(id, out, drop, &pf, &port, peers);
	if (engine_apply(ns, fe, &s) != CHAOS_OK) {
		CHECK(false, "%s %s applied", side, drop ? "drop" : "reject");
		goto out;
	}
	detail = fault_detail(id, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_APPLIED);
	if (!out && !drop) {
		/* the refusal resets what is open, on the server's end too: the
		 * backend does not wait for a client that got a reset */
		CHECK(detail != NULL &&
		          strstr(detail, "open connection(s) reset") != NULL &&
		          atoi(detail + strlen("port: reject in, ")) >= 1,
		      "server side reject applied: \"%s\"",
		      detail ? detail : "(no event)");
		CHECK(
		    held_pid > 0 && watch != NULL && backend_gone(watch, held_pid),
		    "server side reject: the open connection's backend (pid %d) is gone "
		    "while the fault is in force",
		    held_pid);
	} else {
		/* a silent network, or the client's own refusal, tells the
		 * server nothing: its backend stays */
		usleep(200000);
		CHECK(held_pid > 0 && watch != NULL &&
		          backend_exists(watch, held_pid) == 1,
		      "%s %s: the open connection's backend (pid %d) is left alone "
		      "(\"%s\")",
		      side, drop ? "drop" : "reject", held_pid,
		      detail ? detail : "(no event)");
	}
	if (!drop) {
		int e = client_tcp_connect();
		CHECK(e == ECONNREFUSED,
		      "%s reject: client connect gets ECONNREFUSED (%s)", side,
		      strerror(e));
		x = probe_fresh(2000);
		CHECK(!x.r.healthy &&
		          x.r.error_class ==
		              CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED &&
		          x.took_us < 500000,
		      "%s reject: pg probe REFUSED in %.1f ms (%s)", side,
		      x.took_us / 1000.0, x.r.detail);
	} else {
		x = probe_fresh(600);
		CHECK(!x.r.healthy &&
		          x.r.error_class ==
		              CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT &&
		          x.took_us >= 600000 && x.took_us < 750000,
		      "%s drop: pg probe TIMEOUT at its 600 ms deadline (%.1f ms, %s)",
		      side, x.took_us / 1000.0, x.r.detail);
	}
	CHECK(strstr(nft_ruleset(ns), out ? "chain output" : "chain input") != NULL,
	      "%s: rule in the %s chain", side, out ? "output" : "input");
	engine_revert(ns, fe, id);
	x = probe_fresh(2000);
	CHECK(x.r.healthy, "%s %s reverted: pg probe healthy again", side,
	      drop ? "drop" : "reject");
	CHECK(strstr(nft_ruleset(ns), "chaos_agent") == NULL, "%s: no table of ours left",
	      side);
	if (held_pid > 0 && watch != NULL) /* the next check starts clean */
		PQclear(PQexec(watch,
		               "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
		               "WHERE application_name = 'held'"));
out:
	if (held != NULL)
		PQfinish(held);
	if (watch != NULL)
		PQfinish(watch);
}

/* Sockets of the proxy: count and its listener, found through the ruleset. */
static unsigned
redirect_port(const char *ns)
{
	const char *rs   = nft_ruleset(ns);
	const char *at   = strstr(rs, "redirect to :");
	unsigned    port = 0;

	if (at != NULL)
		sscanf(at, "redirect to :%u", &port);
	return port;
}

static void
latency_fault(const char *ns, struct fault_engine *fe, bool out)
{
	Chaos__V1__LatencyFault lf       = CHAOS__V1__LATENCY_FAULT__INIT;
	Chaos__V1__FaultSpec    s        = CHAOS__V1__FAULT_SPEC__INIT;
	const char             *side     = out ? "client side" : "server side";
	const char             *id       = out ? "latency-out" : "latency-in";
	char                   *peers[1] = {db_cidr};
	char                    term_dsn[600];
	struct pgconn_error     e = {0};
	PGconn                 *victim, *bystander = NULL;
	int                     sockets0 = fds_count_sockets(), sockets1;
	void                   *kept     = probe_new(NULL, true);
	int64_t                 base, slow, after;
	unsigned                pport = 0;
	const char             *detail;
	struct probe_run        first;

	base   = probe_median(kept, QUERIES);
	victim = pg_open(ns_cl, "victim");
	if (out) /* connected from the server's own address: not this pod's */
		bystander = pg_open(ns_db, "bystander");
	sockets1 = fds_count_sockets();
	CHECK(base > 0 && victim != NULL, "%s latency: baseline query latency %.2f ms",
	      side, base / 1000.0);

	snprintf(term_dsn, sizeof(term_dsn), "%s application_name=terminator", dsn);
	lf.port                   = PG_PORT;
	lf.delay_ms               = DELAY_MS;
	lf.has_jitter_ms          = true;
	lf.has_terminate_existing = lf.terminate_existing = true;
	lf.pg_dsn                                         = term_dsn;
	lf.has_direction                                  = true;
	lf.direction = out ? CHAOS__V1__DIRECTION__DIRECTION_OUT
	                   : CHAOS__V1__DIRECTION__DIRECTION_IN;
	lf.peers     = out ? peers : NULL;
	lf.n_peers   = out ? 1 : 0;
	s.fault_id   = (char *)id;
	s.kind_case  = CHAOS__V1__FAULT_SPEC__KIND_LATENCY;
	s.latency    = &lf;
	if (engine_apply(ns, fe, &s) != CHAOS_OK) {
		CHECK(false, "%s latency applied", side);
		goto out;
	}
	detail = fault_detail(id, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_APPLIED);
	CHECK(detail != NULL && strstr(detail, "existing backends terminated") != NULL,
	      "%s latency applied: \"%s\"", side, detail ? detail : "(no event)");
	pport = redirect_port(ns);
	CHECK(pport != 0 && listening_on(ns, pport),
	      "%s latency: redirect to the proxy on :%u", side, pport);

	/* the existing connections were terminated... */
	CHECK(victim != NULL && pg_exec(victim, "SELECT 1", &e) != CHAOS_OK,
	      "%s latency: an existing client connection was terminated (%s)", side,
	      e.detail);
	if (out)
		CHECK(bystander != NULL && pg_exec(bystander, "SELECT 1", &e) == CHAOS_OK,
		      "client side latency: another pod's connection was left alone");
	/* ...and the kept probe reconnects through the proxy */
	first = probe_once(kept, 8000);
	CHECK(!first.r.healthy, "%s latency: the kept probe saw its connection end (%s)",
	      side, first.r.detail);
	slow = probe_median(kept, QUERIES);
	CHECK(slow > 0 && llabs(slow - base - DELAY_MS * 1000) <= TOLERANCE_MS * 1000,
	      "%s latency: median query latency %.1f ms = baseline + %.1f ms (want %d +- "
	      "%d)",
	      side, slow / 1000.0, (slow - base) / 1000.0, DELAY_MS, TOLERANCE_MS);
	/* its listener, and both ends of the kept probe's proxied connection;
	 * the terminated victim's socket is gone (the engine's nftables socket
	 * may be one from an earlier fault, kept: not counted on) */
	CHECK(fds_count_sockets() >=
	          sockets1 + 3 - (victim != NULL && PQsocket(victim) < 0),
	      "%s latency: the proxy holds sockets (%d, %d before)", side,
	      fds_count_sockets(), sockets1);

	engine_revert(ns, fe, id);
	CHECK(strstr(nft_ruleset(ns), "chaos_agent") == NULL,
	      "%s latency reverted: no nat rule (no table of ours) left", side);
	CHECK(!listening_on(ns, pport), "%s latency reverted: nothing listens on :%u",
	      side, pport);
	first = probe_once(kept, 5000); /* its proxied connection was reset */
	after = probe_median(kept, QUERIES);
	CHECK(after > 0 && after < base + 20000,
	      "%s latency reverted: median query latency back to %.2f ms", side,
	      after / 1000.0);
out:
	if (victim != NULL)
		PQfinish(victim);
	if (bystander != NULL)
		PQfinish(bystander);
	probe_pg_ops.fini(kept);
	CHECK(fds_count_sockets() == sockets0,
	      "%s latency reverted: the proxy's sockets are gone (%d sockets, %d before)",
	      side, fds_count_sockets(), sockets0);
}

static void
pg_terminate_fault(struct fault_engine *fe)
{
	Chaos__V1__PgTerminateFault pt = CHAOS__V1__PG_TERMINATE_FAULT__INIT;
	Chaos__V1__FaultSpec        s  = CHAOS__V1__FAULT_SPEC__INIT;
	PGconn *v1 = pg_open(ns_cl, "victim-app"), *v2 = pg_open(ns_cl, "victim-app");
	PGconn *other         = pg_open(ns_cl, "other-app");
	struct pgconn_error e = {0};
	const char         *detail;

	pt.dsn              = dsn;
	pt.application_name = "victim-app";
	s.fault_id          = "pgterm";
	s.kind_case         = CHAOS__V1__FAULT_SPEC__KIND_PG_TERMINATE;
	s.pg_terminate      = &pt;
	CHECK(engine_apply(ns_db, fe, &s) == CHAOS_OK, "pg_terminate applied");
	detail = fault_detail("pgterm", CHAOS__V1__FAULT_PHASE__FAULT_PHASE_APPLIED);
	CHECK(detail != NULL &&
	          strcmp(detail, "pg_terminate: 2 backends terminated") == 0,
	      "pg_terminate reports \"%s\"", detail ? detail : "(no event)");
	CHECK(v1 && v2 && pg_exec(v1, "SELECT 1", &e) != CHAOS_OK &&
	          pg_exec(v2, "SELECT 1", &e) != CHAOS_OK,
	      "pg_terminate: both victim-app connections ended (%s%s%s)", e.detail,
	      e.sqlstate[0] ? ", SQLSTATE " : "", e.sqlstate);
	CHECK(other && pg_exec(other, "SELECT 1", &e) == CHAOS_OK,
	      "pg_terminate: the other application's connection is untouched");
	engine_revert(ns_db, fe, "pgterm");
	CHECK(fault_detail("pgterm", CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED) !=
	          NULL,
	      "pg_terminate reverted (nothing to undo)");
	PQfinish(v1);
	PQfinish(v2);
	PQfinish(other);
}

static void
sql_error_class(void)
{
	void            *st = probe_new("SELECT 1/0", false);
	struct probe_run x  = probe_once(st, 3000);

	probe_pg_ops.fini(st);
	CHECK(!x.r.healthy &&
	          x.r.error_class == CHAOS__V1__ERROR_CLASS__ERROR_CLASS_SQL &&
	          strcmp(x.r.sqlstate, "22012") == 0 && x.r.has_connect_us,
	      "pg probe: a failing query is SQL with SQLSTATE %s (%s)", x.r.sqlstate,
	      x.r.detail);
	x = probe_fresh(3000);
	CHECK(x.r.healthy && x.r.has_connect_us && x.r.connect_us > 0,
	      "pg probe: fresh check healthy, connect %u us of %.2f ms", x.r.connect_us,
	      x.took_us / 1000.0);
}

int
main(void)
{
	struct fault_engine *fe_db, *fe_cl;
	struct engine_req    r;
	chaos_why            why = {{0}};

	ns_db    = getenv("DBF_NS_DB");
	ns_cl    = getenv("DBF_NS_CL");
	db_ip    = getenv("DBF_DB_IP");
	password = getenv("DBF_PASSWORD");
	if (!ns_db || !ns_cl || !db_ip || !password) {
		fprintf(stderr, "run me from test_db_faults.sh\n");
		return 2;
	}
	log_init("db-faults", LOG_LEVEL_WARN);
	snprintf(dsn, sizeof(dsn),
	         "host=%s port=%d dbname=platform user=coordinator password=%s "
	         "sslmode=disable",
	         db_ip, PG_PORT, password);
	snprintf(db_cidr, sizeof(db_cidr), "%s/32", db_ip);
	if (event_sink_open(&sink, "db_faults", &why) != CHAOS_OK ||
	    (fe_db = engine_new(ns_db)) == NULL || (fe_cl = engine_new(ns_cl)) == NULL) {
		fprintf(stderr, "setup failed %s\n", why.text);
		return 1;
	}
	sql_error_class();
	port_fault(ns_db, fe_db, false, false);
	port_fault(ns_db, fe_db, false, true);
	port_fault(ns_cl, fe_cl, true, false);
	port_fault(ns_cl, fe_cl, true, true);
	latency_fault(ns_db, fe_db, false);
	latency_fault(ns_cl, fe_cl, true);
	pg_terminate_fault(fe_db);
	r.fe = fe_db;
	netns_run(ns_db, engine_free_fn, &r);
	r.fe = fe_cl;
	netns_run(ns_cl, engine_free_fn, &r);
	event_sink_close(&sink);
	printf(failures ? "FAILED: %d check(s)\n" : "PASS: database faults\n", failures);
	return failures ? 1 : 0;
}
