// SPDX-License-Identifier: MIT
/*
 * chaos-coordinator: the sandbox's stand-in for the platform's coordinator API.
 *
 * One thread per client connection (capped by --threads) serves HTTP/1.1 with
 * keep-alive; the DB routes borrow from a small libpq pool whose every call
 * ends within --db-timeout-ms, so readiness turns 503 quickly when the
 * database is refused, dropped or slow. The main thread accepts and waits for
 * SIGTERM/SIGINT on a signalfd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "coord_db.h"
#include "coord_http.h"

#define COORD_USAGE                                                                      \
	"usage: chaos-coordinator --listen IP:PORT --dsn-file FILE [--events-log FILE] " \
	"[--threads 1..4096] [--db-timeout-ms 50..60000] [--pool-size 1..64] "           \
	"[--log-level error|warn|info|debug]"

#define COORD_IDLE_MS 60000 /* close a keep-alive connection idle this long */
#define COORD_SLICE_MS 500  /* how often a waiting connection checks for shutdown */
#define COORD_DSN_MAX 4096
#define COORD_STACK (256 * 1024)

struct coord_opts {
	struct sockaddr_storage addr;
	socklen_t               addr_len;
	const char             *listen;
	const char             *dsn_file;
	const char             *events_log;
	int                     threads;
	int                     db_timeout_ms;
	int                     pool_size;
	enum log_level          log_level;
};

struct coord {
	struct coord_opts opt;
	struct db_pool   *pool;
	atomic_bool       stopping;
	pthread_mutex_t   lock;
	pthread_cond_t    done;       /* a connection thread ended */
	int               active;     /* connection threads alive */
	int               db_healthy; /* last DB outcome: 1 ok, 0 failed, -1 unknown */
};

struct coord_conn {
	struct coord *c;
	int           fd;
};

/* Exit status 2 with one line on stderr: what is wrong and what is allowed. */
static void __attribute__((noreturn, format(printf, 1, 2)))
coord_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("chaos-coordinator: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; " COORD_USAGE "\n", stderr);
	exit(2);
}

static int
coord_parse_int(const char *flag, const char *s, int lo, int hi)
{
	char *end;
	long  v;

	errno = 0;
	v     = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		coord_usage_error("%s must be an integer in %d..%d, got '%s'", flag, lo,
		                  hi, s);
	return (int)v;
}

/* IP:PORT, or [IPv6]:PORT; numeric only, the sandbox has no DNS. */
static void
coord_parse_listen(const char *s, struct coord_opts *o)
{
	char            host[INET6_ADDRSTRLEN + 2];
	const char     *colon = strrchr(s, ':');
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
	                         .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai   = NULL;
	size_t           hlen;

	if (colon == NULL || colon == s || colon[1] == '\0')
		coord_usage_error("--listen wants IP:PORT, got '%s'", s);
	hlen = (size_t)(colon - s);
	if (s[0] == '[' && hlen >= 2 && s[hlen - 1] == ']') {
		s++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		coord_usage_error("--listen wants IP:PORT, got '%s'", o->listen);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	coord_parse_int("--listen port", colon + 1, 1, 65535);
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || ai == NULL)
		coord_usage_error("--listen wants a numeric IP:PORT, got '%s'",
		                  o->listen);
	memcpy(&o->addr, ai->ai_addr, ai->ai_addrlen);
	o->addr_len = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void
coord_parse_args(int argc, char **argv, struct coord_opts *o)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"dsn-file", required_argument, NULL, 'd'},
	    {"events-log", required_argument, NULL, 'e'},
	    {"threads", required_argument, NULL, 't'},
	    {"db-timeout-ms", required_argument, NULL, 'T'},
	    {"pool-size", required_argument, NULL, 'p'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch, lvl;

	*o     = (struct coord_opts) {.threads       = 256,
	                              .db_timeout_ms = 1000,
	                              .pool_size     = 8,
	                              .log_level     = LOG_LEVEL_INFO};
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			o->listen = optarg;
			break;
		case 'd':
			o->dsn_file = optarg;
			break;
		case 'e':
			o->events_log = optarg;
			break;
		case 't':
			o->threads = coord_parse_int("--threads", optarg, 1, 4096);
			break;
		case 'T':
			o->db_timeout_ms =
			    coord_parse_int("--db-timeout-ms", optarg, 50, 60000);
			break;
		case 'p':
			o->pool_size = coord_parse_int("--pool-size", optarg, 1, 64);
			break;
		case 'L':
			lvl = log_level_parse(optarg);
			if (lvl < 0)
				coord_usage_error("unknown --log-level '%s'", optarg);
			o->log_level = (enum log_level)lvl;
			break;
		case 'h':
			puts(COORD_USAGE);
			exit(0);
		case ':':
			coord_usage_error("%s needs a value", argv[optind - 1]);
		default:
			coord_usage_error("unknown flag '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		coord_usage_error("unexpected argument '%s'", argv[optind]);
	if (o->listen == NULL || o->dsn_file == NULL)
		coord_usage_error("--listen and --dsn-file are required");
	coord_parse_listen(o->listen, o);
}

/* Reads the DSN file (the password lives there, never on the command line). */
static int
coord_read_dsn(const char *path, char *dsn, size_t cap)
{
	int     fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n  = -1;

	if (fd >= 0) {
		n = read(fd, dsn, cap - 1);
		close(fd);
	}
	if (n < 0) {
		log_error("cannot read --dsn-file %s: %s", path, strerror(errno));
		return CHAOS_ENOENT;
	}
	while (n > 0 && (dsn[n - 1] == '\n' || dsn[n - 1] == '\r' || dsn[n - 1] == ' '))
		n--;
	dsn[n] = '\0';
	if (n == 0) {
		log_error("--dsn-file %s is empty", path);
		return CHAOS_EINVAL;
	}
	return CHAOS_OK;
}

/* Appends one event line with a single O_APPEND write, so concurrent writers
 * (the sandbox supervisor) never interleave inside a line. */
static void
coord_event(const char *path, const char *event)
{
	char    line[128];
	int64_t us = clk_now_us();
	int     fd, n;

	if (path == NULL)
		return;
	n  = snprintf(line, sizeof(line),
	              "{\"event\":\"%s\",\"t\":%" PRId64 ".%03" PRId64 "}\n", event,
	              us / 1000000, (us % 1000000) / 1000);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		log_warn("cannot append to --events-log %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Logs only changes of DB health, so a fault does not flood the log. */
static void
coord_note_db(struct coord *c, bool ok, const char *err)
{
	pthread_mutex_lock(&c->lock);
	int was       = c->db_healthy;
	c->db_healthy = ok;
	pthread_mutex_unlock(&c->lock);
	if (ok && was != 1)
		log_info("database reachable");
	else if (!ok && was != 0)
		log_warn("database unavailable: %s", err);
}

/* Copies s into a JSON string body without its quotes. */
static void
coord_json_escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s != '\0' && o + 7 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
}

static int
coord_db_unavailable(struct coord *c, const char *err, char *body, size_t cap)
{
	char esc[2 * DB_ERR_LEN];

	coord_note_db(c, false, err);
	coord_json_escape(err, esc, sizeof(esc));
	snprintf(body, cap, "{\"status\":\"unavailable\",\"error\":\"%s\"}", esc);
	return 503;
}

static int
coord_route_ready(struct coord *c, char *body, size_t cap)
{
	char      err[DB_ERR_LEN];
	PGresult *r = NULL;

	if (db_pool_query(c->pool, "SELECT 1", &r, err, sizeof(err)) != CHAOS_OK)
		return coord_db_unavailable(c, err, body, cap);
	PQclear(r);
	coord_note_db(c, true, NULL);
	snprintf(body, cap, "{\"status\":\"ready\"}");
	return 200;
}

static bool
coord_is_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int
coord_route_stats(struct coord *c, char *body, size_t cap)
{
	static const char sql[] = "SELECT count(*), coalesce(sum(price_cents), 0), "
	                          "to_char(max(created_at) AT TIME ZONE 'UTC', "
	                          "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
	                          "FROM listings";
	char              err[DB_ERR_LEN], latest[64];
	PGresult         *r = NULL;

	if (db_pool_query(c->pool, sql, &r, err, sizeof(err)) != CHAOS_OK)
		return coord_db_unavailable(c, err, body, cap);
	coord_note_db(c, true, NULL);
	if (PQntuples(r) != 1 || PQnfields(r) != 3 ||
	    !coord_is_digits(PQgetvalue(r, 0, 0)) ||
	    !coord_is_digits(PQgetvalue(r, 0, 1))) {
		PQclear(r);
		snprintf(body, cap, "{\"error\":\"unexpected result shape\"}");
		return 500;
	}
	if (PQgetisnull(r, 0, 2))
		snprintf(latest, sizeof(latest), "null");
	else
		snprintf(latest, sizeof(latest), "\"%.40s\"", PQgetvalue(r, 0, 2));
	snprintf(body, cap, "{\"listings\":%s,\"volume_cents\":%s,\"latest\":%s}",
	         PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), latest);
	PQclear(r);
	return 200;
}

/* Fills body and returns the status for one parsed request. */
static int
coord_route(struct coord *c, const struct http_request *req, char *body, size_t cap,
            const char **extra)
{
	enum { R_NONE, R_HEALTH, R_READY, R_STATS } route = R_NONE;

	if (strcmp(req->path, "/v1/health") == 0)
		route = R_HEALTH;
	else if (strcmp(req->path, "/health/ready") == 0)
		route = R_READY;
	else if (strcmp(req->path, "/v1/marketplace/stats") == 0)
		route = R_STATS;
	if (route == R_NONE) {
		snprintf(body, cap, "{\"error\":\"not found\"}");
		return 404;
	}
	if (strcmp(req->method, "GET") != 0) {
		*extra = "Allow: GET\r\n";
		snprintf(body, cap, "{\"error\":\"method not allowed\"}");
		return 405;
	}
	if (route == R_READY)
		return coord_route_ready(c, body, cap);
	if (route == R_STATS)
		return coord_route_stats(c, body, cap);
	snprintf(body, cap, "{\"status\":\"ok\"}");
	return 200;
}

static bool
coord_send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static bool
coord_respond(int fd, int status, const char *body, bool keep_alive, const char *extra)
{
	char   out[1024];
	size_t n =
	    http_format_response(out, sizeof(out), status, body, keep_alive, extra);

	return n > 0 && coord_send_all(fd, out, n);
}

/* Waits for input in short slices so shutdown is noticed; false on idle
 * timeout or shutdown. */
static bool
coord_wait_input(struct coord *c, int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	for (int waited = 0; waited < COORD_IDLE_MS; waited += COORD_SLICE_MS) {
		if (atomic_load(&c->stopping))
			return false;
		int n = poll(&pfd, 1, COORD_SLICE_MS);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
	return false;
}

/* Serves requests on one connection until it closes, errs or idles out.
 * Returns true when unread request bytes may remain (an error answer, or a
 * body never read): closing on them would send a reset that can destroy the
 * answer in flight, so the caller lingers. */
static bool
coord_serve(struct coord *c, int fd)
{
	char   buf[HTTP_MAX_HEAD];
	size_t have = 0;

	for (;;) {
		struct http_request    req;
		enum http_parse_result pr = http_parse_request(buf, have, &req);
		char                   body[768];
		const char            *extra = NULL;

		if (pr == HTTP_PARSE_MORE) {
			if (have == sizeof(buf) || !coord_wait_input(c, fd))
				return false;
			ssize_t n = recv(fd, buf + have, sizeof(buf) - have, 0);
			if (n <= 0)
				return false;
			have += (size_t)n;
			continue;
		}
		if (pr == HTTP_PARSE_BAD || pr == HTTP_PARSE_TOO_BIG) {
			bool bad = pr == HTTP_PARSE_BAD;
			coord_respond(
			    fd, bad ? 400 : 431,
			    bad ? "{\"error\":\"bad request\"}"
			        : "{\"error\":\"request head over 8192 bytes\"}",
			    false, NULL);
			return true;
		}
		int status = coord_route(c, &req, body, sizeof(body), &extra);
		/* A body we do not read would be taken for the next request. */
		bool keep = req.keep_alive && !req.has_body && !atomic_load(&c->stopping);
		if (!coord_respond(fd, status, body, keep, extra) || !keep)
			return req.has_body;
		have -= req.head_len;
		memmove(buf, buf + req.head_len, have);
	}
}

/* Discards what the peer still sends, bounded in bytes and time, until it
 * closes too (a lingering close). */
static void
coord_linger(int fd)
{
	char          sink[4096];
	struct pollfd pfd   = {.fd = fd, .events = POLLIN};
	size_t        total = 0;

	for (int i = 0; i < 10 && total < 256 * 1024; i++) {
		if (poll(&pfd, 1, 100) <= 0)
			return;
		ssize_t n = recv(fd, sink, sizeof(sink), 0);
		if (n <= 0)
			return;
		total += (size_t)n;
	}
}

static void *
coord_conn_main(void *arg)
{
	struct coord_conn *cc = arg;
	struct coord      *c  = cc->c;

	bool linger = coord_serve(c, cc->fd);

	shutdown(cc->fd, SHUT_WR);
	if (linger)
		coord_linger(cc->fd);
	close(cc->fd);
	free(cc);
	pthread_mutex_lock(&c->lock);
	c->active--;
	pthread_cond_signal(&c->done);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static int
coord_listen(const struct coord_opts *o)
{
	int one = 1;
	int fd  = socket(o->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)&o->addr, o->addr_len) < 0 ||
	    listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Starts a detached thread for the accepted fd; closes it on failure. */
static void
coord_spawn(struct coord *c, pthread_attr_t *attr, int fd)
{
	struct coord_conn *cc = malloc(sizeof(*cc));
	pthread_t          tid;
	int                one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cc == NULL) {
		close(fd);
		return;
	}
	*cc = (struct coord_conn) {.c = c, .fd = fd};
	pthread_mutex_lock(&c->lock);
	c->active++;
	pthread_mutex_unlock(&c->lock);
	int rc = pthread_create(&tid, attr, coord_conn_main, cc);
	if (rc != 0) {
		log_warn("cannot start a connection thread: %s", strerror(rc));
		close(fd);
		free(cc);
		pthread_mutex_lock(&c->lock);
		c->active--;
		pthread_mutex_unlock(&c->lock);
	}
}

/* Accepts until a signal arrives on sfd. At the --threads cap the listening
 * socket is not polled, so new clients wait in the backlog. */
static void
coord_accept_loop(struct coord *c, int lfd, int sfd)
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, COORD_STACK);
	for (;;) {
		struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN},
		                        {.fd = lfd, .events = POLLIN}};

		pthread_mutex_lock(&c->lock);
		bool full = c->active >= c->opt.threads;
		pthread_mutex_unlock(&c->lock);
		int n = poll(pfd, full ? 1 : 2, full ? 50 : -1);
		if (n < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				log_info("signal %u: shutting down", si.ssi_signo);
			break;
		}
		if (!full && (pfd[1].revents & POLLIN)) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				coord_spawn(c, &attr, fd);
			else if (errno == EMFILE || errno == ENFILE)
				usleep(
				    10000); /* out of fds: let connections close first */
		}
	}
	pthread_attr_destroy(&attr);
}

/* Waits a bounded time for connection threads to finish their request. */
static bool
coord_drain(struct coord *c)
{
	struct timespec until;
	bool            drained;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += c->opt.db_timeout_ms / 1000 + 2;
	pthread_mutex_lock(&c->lock);
	while (c->active > 0)
		if (pthread_cond_timedwait(&c->done, &c->lock, &until) == ETIMEDOUT)
			break;
	drained = c->active == 0;
	pthread_mutex_unlock(&c->lock);
	return drained;
}

static int
coord_init(struct coord *c)
{
	char               dsn[COORD_DSN_MAX];
	char               err[DB_ERR_LEN];
	pthread_condattr_t ca;
	int                rc;

	rc = coord_read_dsn(c->opt.dsn_file, dsn, sizeof(dsn));
	if (rc != CHAOS_OK)
		return rc;
	rc = db_pool_new(&c->pool, dsn, c->opt.pool_size, c->opt.db_timeout_ms, err,
	                 sizeof(err));
	explicit_bzero(dsn, sizeof(dsn));
	if (rc != CHAOS_OK) {
		log_error("--dsn-file %s: %s", c->opt.dsn_file,
		          rc == CHAOS_EINVAL ? err : chaos_strerror(rc));
		return rc;
	}
	c->db_healthy = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done, &ca);
	pthread_condattr_destroy(&ca);
	return CHAOS_OK;
}

int
main(int argc, char **argv)
{
	static struct coord c;
	sigset_t            sigs;
	int                 lfd = -1, sfd = -1, status = 3;

	coord_parse_args(argc, argv, &c.opt);
	log_init("coordinator", c.opt.log_level);
	/* Block the stop signals in every thread; the main thread reads them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0 || coord_init(&c) != CHAOS_OK)
		goto out;
	lfd = coord_listen(&c.opt);
	if (lfd < 0) {
		log_error("cannot listen on %s: %s", c.opt.listen, strerror(errno));
		goto out;
	}
	log_info("listening on %s (threads %d, pool %d, db timeout %d ms)", c.opt.listen,
	         c.opt.threads, c.opt.pool_size, c.opt.db_timeout_ms);
	coord_event(c.opt.events_log, "up");
	coord_accept_loop(&c, lfd, sfd);
	close(lfd);
	lfd = -1;
	atomic_store(&c.stopping, true);
	status = 0;
	if (coord_drain(&c))
		db_pool_free(c.pool);
	else
		log_warn("connections still busy at exit");
	c.pool = NULL;
out:
	if (lfd >= 0)
		close(lfd);
	if (sfd >= 0)
		close(sfd);
	if (status != 0)
		db_pool_free(c.pool);
	return status;
}
