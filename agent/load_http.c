// SPDX-License-Identifier: MIT
#include "agent/load_http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/base64.h>

#include "agent/http1.h"
#include "agent/probe.h"
#include "agent/tls_client.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/url.h"

#define LH_EVENTS 256
#define LH_RBUF (16u * 1024u)
#define LH_MAX_WAIT_US 1000000 /* wake at least this often */
#define LH_WATCH UINT64_MAX    /* epoll data of the watched fd */
#define LH_REQUEST                                                                       \
	"GET %s HTTP/1.1\r\nHost: %s\r\n%sUser-Agent: %s/%s\r\nAccept: */*\r\n\r\n"

enum lh_state {
	LH_CLOSED,     /* no socket */
	LH_CONNECTING, /* connect() in progress, request not sent */
	LH_HANDSHAKE,  /* https: connected, TLS handshake in progress */
	LH_SENDING,    /* part of the request sent */
	LH_WAITING,    /* request sent, reading the answer */
	LH_IDLE,       /* open, no request: kept for the next one */
};

struct lh_conn;

/* A doubly linked list of connections, for O(1) moves between states. */
struct lh_list {
	struct lh_conn *head, *tail;
};

struct lh_conn {
	int               fd;
	uint8_t           state;
	bool              reused;  /* the socket carried a request before this one */
	bool              retried; /* this request was sent again on a fresh socket */
	bool              tcp_up;  /* the TCP connect succeeded */
	uint32_t          gen; /* bumped per socket: stale epoll events are told apart */
	uint32_t          events; /* what the epoll set holds for fd; 0: not in it */
	size_t            sent;
	int64_t           tag, sched_us; /* the timeout counts from sched_us */
	struct lh_conn   *prev, *next;   /* in busy, idle or closed */
	struct http1_resp resp;
	struct load_http *h;
	struct tlsc      *tls;             /* https only */
	int               errnum, tls_err; /* why the request failed */
	uint32_t          tls_verify;
};

struct load_http {
	char                   *host, *port, *request;
	struct tlsc_config     *tls; /* https only */
	load_http_body_fn       body;
	void                   *body_arg;
	size_t                  request_len;
	uint32_t                concurrency;
	int64_t                 timeout_us;
	load_http_end_fn        end;
	void                   *arg;
	struct sockaddr_storage addr;
	socklen_t               addr_len; /* 0: not resolved */
	int                     epfd;
	struct lh_conn         *conns; /* concurrency of them */
	struct lh_list          busy;  /* in start order: the head times out first */
	struct lh_list          idle;  /* most recently used first */
	struct lh_list          closed;
	uint32_t                in_flight;
	char                    rbuf[LH_RBUF];
};

static void lh_connect(struct load_http *h, struct lh_conn *c);

/* ---- the URL and the request ---- */

struct lh_url {
	bool tls;
	char host[256], port[8], authority[300];
	char path[LIMIT_URL_LEN + 1]; /* room for the "/" before a bare "?query" */
	char credentials[LIMIT_URL_LEN * 4 / 3 + 64]; /* an Authorization line, or "" */
};

/* The Host header: the host (bracketed when an IPv6 literal) and the port
 * unless it is the scheme's default one. */
static void
lh_authority(const struct url_parts *p, struct lh_url *u)
{
	bool v6 = strchr(p->host, ':') != NULL;

	snprintf(u->authority, sizeof(u->authority), "%s%s%s", v6 ? "[" : "", p->host,
	         v6 ? "]" : "");
	if (p->port != (p->scheme == URL_HTTPS ? 443 : 80))
		snprintf(u->authority + strlen(u->authority),
		         sizeof(u->authority) - strlen(u->authority), ":%u", p->port);
}

static int
lh_hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	    : c >= 'a' && c <= 'f'  ? c - 'a' + 10
	    : c >= 'A' && c <= 'F'  ? c - 'A' + 10
	                            : -1;
}

/* The URL's user:password@, if any, as the Authorization line curl would
 * send: percent-decoded, then Basic. */
static chaos_err
lh_credentials(const char *userinfo, size_t n, struct lh_url *u, chaos_why *why)
{
	unsigned char plain[LIMIT_URL_LEN], b64[sizeof(u->credentials) - 32];
	size_t        k = 0, len;

	for (size_t i = 0; i < n && k < sizeof(plain); i++) {
		int hi = i + 2 < n && userinfo[i] == '%' ? lh_hex(userinfo[i + 1]) : -1;
		int lo = hi >= 0 ? lh_hex(userinfo[i + 2]) : -1;

		plain[k++] =
		    lo >= 0 ? (unsigned char)(hi * 16 + lo) : (unsigned char)userinfo[i];
		i += lo >= 0 ? 2 : 0;
	}
	if (mbedtls_base64_encode(b64, sizeof(b64), &len, plain, k) != 0)
		return chaos_fail(why, CHAOS_EINVAL, "url: user:password too long");
	snprintf(u->credentials, sizeof(u->credentials), "Authorization: Basic %s\r\n",
	         (const char *)b64);
	return CHAOS_OK;
}

/* for_load: a load's URL (no https, no user@), else a probe's. */
static chaos_err
lh_parse_url(const char *url, bool for_load, struct lh_url *u, chaos_why *why)
{
	struct url_parts p;
	const char      *auth, *at;

	if (url == NULL)
		return chaos_fail(why, CHAOS_EINVAL, "no url");
	if (url_parse(url, URL_WEB, &p, why) != CHAOS_OK)
		return chaos_fail_prefix(why, CHAOS_EINVAL, "url");
	if (p.scheme == URL_HTTPS && for_load)
		return chaos_fail(
		    why, CHAOS_EUNSUPPORTED,
		    "https:// is not supported by the load generator (plain HTTP/1.1)");
	auth              = strstr(url, "://") + 3;
	at                = memrchr(auth, '@', strcspn(auth, "/?#"));
	u->credentials[0] = '\0';
	/* a load: credentials would go out in the clear with every request */
	if (at != NULL && for_load)
		return chaos_fail(why, CHAOS_EINVAL, "url: user@ is not allowed");
	if (at != NULL && lh_credentials(auth, (size_t)(at - auth), u, why) != CHAOS_OK)
		return CHAOS_EINVAL;
	u->tls = p.scheme == URL_HTTPS;
	snprintf(u->host, sizeof(u->host), "%s", p.host);
	snprintf(u->port, sizeof(u->port), "%u", p.port);
	lh_authority(&p, u);
	p.path[strcspn(p.path, "#")] = '\0'; /* a fragment is not sent */
	snprintf(u->path, sizeof(u->path), "%s%s", p.path[0] == '/' ? "" : "/", p.path);
	return CHAOS_OK;
}

chaos_err
load_http_check_url(const char *url, chaos_why *why)
{
	struct lh_url *u = malloc(sizeof(*u));
	chaos_err      rv;

	if (u == NULL)
		return CHAOS_ENOMEM;
	rv = lh_parse_url(url, true, u, why);
	free(u);
	return rv;
}

/* ---- ending requests ---- */

static void
lh_unlink(struct lh_list *l, struct lh_conn *c)
{
	*(c->prev != NULL ? &c->prev->next : &l->head) = c->next;
	*(c->next != NULL ? &c->next->prev : &l->tail) = c->prev;
	c->prev = c->next = NULL;
}

static void
lh_push(struct lh_list *l, struct lh_conn *c, bool at_head)
{
	c->prev                                        = at_head ? NULL : l->tail;
	c->next                                        = at_head ? l->head : NULL;
	*(c->prev != NULL ? &c->prev->next : &l->head) = c;
	*(c->next != NULL ? &c->next->prev : &l->tail) = c;
}

/* Closes c's socket (and TLS session), leaving c in no list. */
static void
lh_drop_socket(struct lh_conn *c)
{
	tlsc_free(c->tls);
	c->tls = NULL;
	if (c->fd >= 0)
		close(c->fd); /* also takes it out of the epoll set */
	c->fd     = -1;
	c->events = 0;
}

/* Closes c's socket; c goes to the closed list (from none). */
static void
lh_close(struct load_http *h, struct lh_conn *c)
{
	lh_drop_socket(c);
	c->state = LH_CLOSED;
	lh_push(&h->closed, c, true);
}

/* The request on c ended: out of the busy list, the connection kept for
 * the next request or closed, then reported. */
static void
lh_end(struct load_http *h, struct lh_conn *c, Chaos__V1__ErrorClass cls, bool keep,
       bool cancelled)
{
	struct load_http_end e = {
	    .tag        = c->tag,
	    .sched_us   = c->sched_us,
	    .end_us     = clk_mono_us(),
	    .cls        = cls,
	    .cancelled  = cancelled,
	    .status     = http1_head_complete(&c->resp) ? c->resp.status : 0,
	    .connected  = c->tcp_up,
	    .errnum     = c->errnum,
	    .tls_err    = c->tls_err,
	    .tls_verify = c->tls_verify,
	};

	lh_unlink(&h->busy, c);
	h->in_flight--;
	if (keep) {
		c->state  = LH_IDLE;
		c->reused = true;
		lh_push(&h->idle, c, true);
	} else
		lh_close(h, c);
	h->end(h->arg, &e);
}

/* The socket failed (errnum) or closed (0) under the request. A reused
 * socket that the server closed while idle, before any byte of an answer:
 * send again, once, on a fresh one. */
static void
lh_fail(struct load_http *h, struct lh_conn *c, int errnum)
{
	Chaos__V1__ErrorClass cls;

	if (c->reused && !c->retried && !c->resp.got_bytes) {
		c->retried = true;
		lh_drop_socket(c);
		lh_connect(h, c);
		return;
	}
	c->errnum = errnum;
	if (c->tls_err != 0 && errnum == 0)
		cls = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER; /* TLS said no */
	else if (!c->resp.got_bytes || errnum == ECONNRESET)
		cls = errnum != 0 ? probe_class_errno(errnum)
		                  : CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED;
	else
		cls = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_PROTOCOL; /* cut short */
	lh_end(h, c, cls, false, false);
}

static Chaos__V1__ErrorClass
lh_class_status(int status)
{
	if (status >= 200 && status <= 299)
		return CHAOS__V1__ERROR_CLASS__ERROR_CLASS_NONE;
	return status >= 500 && status <= 599
	    ? CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_5XX
	    : CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_OTHER;
}

/* ---- the socket of one connection ---- */

/* Makes the epoll set watch events on c's socket (a syscall only when they
 * change). Returns false, having ended the request, if epoll refuses. */
static bool
lh_watch(struct load_http *h, struct lh_conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events,
	                         .data.u64 =
	                             ((uint64_t)c->gen << 32) | (uint64_t)(c - h->conns)};

	if (c->events == events)
		return true;
	if (epoll_ctl(h->epfd, c->events != 0 ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
	              &ev) != 0) {
		lh_end(h, c, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER, false, false);
		return false;
	}
	c->events = events;
	return true;
}

/* A TLS step's outcome as send()/recv() report theirs: the count, or -1
 * with errno EAGAIN (wait), the socket's errno, or 0 (TLS itself failed:
 * the reason is kept in c). */
static ssize_t
lh_tls_result(struct lh_conn *c, ssize_t n)
{
	if (n >= 0)
		return n;
	if (n == TLSC_FAILED) {
		tlsc_failure(c->tls, &c->errnum, &c->tls_err, &c->tls_verify);
		errno = c->errnum;
	} else {
		errno = EAGAIN;
	}
	return -1;
}

static ssize_t
lh_io_send(struct lh_conn *c, const char *buf, size_t len)
{
	if (c->tls != NULL)
		return lh_tls_result(c, tlsc_send(c->tls, buf, len));
	return send(c->fd, buf, len, MSG_NOSIGNAL);
}

static ssize_t
lh_io_recv(struct lh_conn *c, char *buf, size_t len)
{
	if (c->tls != NULL)
		return lh_tls_result(c, tlsc_recv(c->tls, buf, len));
	return recv(c->fd, buf, len, 0);
}

static void
lh_send(struct load_http *h, struct lh_conn *c)
{
	while (c->sent < h->request_len) {
		ssize_t n = lh_io_send(c, h->request + c->sent, h->request_len - c->sent);

		if (n > 0) {
			c->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN) {
			lh_fail(h, c, n < 0 ? errno : 0);
			return;
		}
		/* The send buffer is full: finish when it drains. */
		c->state = LH_SENDING;
		lh_watch(h, c, EPOLLIN | EPOLLOUT);
		return;
	}
	c->state = LH_WAITING;
	lh_watch(h, c, EPOLLIN);
}

/* https: drives the handshake; sends the request once it is done. */
static void
lh_handshake(struct load_http *h, struct lh_conn *c)
{
	int rc = tlsc_handshake(c->tls);

	c->state = LH_HANDSHAKE;
	if (rc == 0)
		lh_send(h, c);
	else if (rc == TLSC_WANT_READ || rc == TLSC_WANT_WRITE)
		lh_watch(h, c, rc == TLSC_WANT_READ ? EPOLLIN : EPOLLOUT);
	else
		lh_fail(h, c, lh_tls_result(c, rc) < 0 ? errno : 0);
}

/* The TCP connection is up: TLS first for https, then the request. */
static void
lh_open(struct load_http *h, struct lh_conn *c)
{
	c->tcp_up = true;
	if (c->tls != NULL)
		lh_handshake(h, c);
	else
		lh_send(h, c);
}

static bool
lh_body(void *arg, const char *data, size_t len)
{
	struct lh_conn *c = arg;

	return c->h->body(c->h->body_arg, c->tag, data, len);
}

/* A new response on c: the parser reset, the request's failure forgotten. */
static void
lh_reset(struct load_http *h, struct lh_conn *c)
{
	c->sent   = 0;
	c->errnum = c->tls_err = 0;
	c->tls_verify          = 0;
	http1_reset(&c->resp);
	if (h->body != NULL)
		http1_set_body(&c->resp, lh_body, c);
}

/* Starts the request on c: at once on an open socket, else after connect. */
static void
lh_begin(struct load_http *h, struct lh_conn *c)
{
	lh_reset(h, c);
	if (c->fd >= 0)
		lh_send(h, c);
	else
		lh_connect(h, c);
}

static void
lh_connect(struct load_http *h, struct lh_conn *c)
{
	int one = 1;
	int fd = socket(h->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	c->reused = false;
	c->tcp_up = false;
	lh_reset(h, c);
	if (fd < 0) {
		lh_end(h, c, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER, false, false);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd     = fd;
	c->events = 0;
	c->gen++;
	if (h->tls != NULL && tlsc_new(h->tls, h->host, fd, &c->tls) != CHAOS_OK) {
		lh_end(h, c, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER, false, false);
		return;
	}
	if (connect(fd, (const struct sockaddr *)&h->addr, h->addr_len) == 0) {
		lh_open(h, c);
		return;
	}
	if (errno != EINPROGRESS) {
		lh_fail(h, c, errno);
		return;
	}
	c->state = LH_CONNECTING;
	lh_watch(h, c, EPOLLOUT);
}

static void
lh_connected(struct load_http *h, struct lh_conn *c)
{
	int       soerr = 0;
	socklen_t len   = sizeof(soerr);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		soerr = errno;
	if (soerr != 0)
		lh_fail(h, c, soerr);
	else
		lh_open(h, c);
}

/* Whether more bytes may be read now: a full buffer leaves more in the
 * socket, and TLS may hold decrypted bytes the socket no longer signals. */
static bool
lh_more(const struct lh_conn *c, size_t n, size_t cap)
{
	return n == cap || (c->tls != NULL && tlsc_pending(c->tls));
}

static void
lh_readable(struct load_http *h, struct lh_conn *c)
{
	for (;;) {
		ssize_t           n = lh_io_recv(c, h->rbuf, sizeof(h->rbuf));
		size_t            used;
		enum http1_result r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				lh_fail(h, c, errno);
			return;
		}
		if (n == 0) {
			if (http1_eof(&c->resp) == HTTP1_DONE)
				lh_end(h, c, lh_class_status(c->resp.status), false,
				       false);
			else
				lh_fail(h, c, 0);
			return;
		}
		r = http1_parse(&c->resp, h->rbuf, (size_t)n, &used);
		if (r == HTTP1_DONE) {
			/* Reusable only in step: the whole request sent, nothing
			 * past the answer. */
			lh_end(h, c, lh_class_status(c->resp.status),
			       c->resp.keep_alive && used == (size_t)n &&
			           c->state == LH_WAITING,
			       false);
			return;
		}
		if (r == HTTP1_ERROR) {
			lh_end(h, c, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_PROTOCOL, false,
			       false);
			return;
		}
		if (!lh_more(c, (size_t)n, sizeof(h->rbuf)))
			return; /* level-triggered: the rest wakes us again */
	}
}

static void
lh_event(struct load_http *h, uint64_t data, uint32_t events)
{
	struct lh_conn *c;

	if ((data & 0xffffffffu) >= h->concurrency)
		return;
	c = &h->conns[data & 0xffffffffu];
	if (c->fd < 0 || c->gen != (uint32_t)(data >> 32))
		return; /* for a socket closed since */
	switch (c->state) {
	case LH_CONNECTING:
		lh_connected(h, c);
		break;
	case LH_HANDSHAKE:
		lh_handshake(h, c);
		break;
	case LH_SENDING:
		if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			lh_readable(h, c);
		else
			lh_send(h, c);
		break;
	case LH_WAITING:
		lh_readable(h, c);
		break;
	default: /* LH_IDLE: the server closed it, or talks out of turn */
		lh_unlink(&h->idle, c);
		lh_close(h, c);
		break;
	}
}

/* ---- the pool ---- */

/* The one request every connection sends, and the host's copies. */
static chaos_err
lh_prepare(struct load_http *h, const struct lh_url *u, const char *user_agent)
{
	int n = snprintf(NULL, 0, LH_REQUEST, u->path, u->authority, u->credentials,
	                 user_agent, CHAOS_VERSION);

	if ((h->host = strdup(u->host)) == NULL || (h->port = strdup(u->port)) == NULL ||
	    (h->request = malloc((size_t)n + 1)) == NULL)
		return CHAOS_ENOMEM;
	snprintf(h->request, (size_t)n + 1, LH_REQUEST, u->path, u->authority,
	         u->credentials, user_agent, CHAOS_VERSION);
	h->request_len = (size_t)n;
	return CHAOS_OK;
}

chaos_err
load_http_new(const char *url, const char *user_agent, uint32_t concurrency,
              uint32_t timeout_ms, load_http_end_fn end, void *arg,
              struct load_http **out, chaos_why *why)
{
	struct lh_url    *u = malloc(sizeof(*u));
	struct load_http *h = calloc(1, sizeof(*h));
	chaos_err         rv;

	if (u == NULL || h == NULL) {
		free(u);
		free(h);
		return CHAOS_ENOMEM;
	}
	h->epfd = -1;
	if ((rv = lh_parse_url(url, false, u, why)) != CHAOS_OK ||
	    (rv = lh_prepare(h, u, user_agent)) != CHAOS_OK ||
	    (u->tls && (rv = tlsc_config_get(&h->tls, why)) != CHAOS_OK))
		goto fail;
	rv = CHAOS_ENOMEM;
	if ((h->conns = calloc(concurrency, sizeof(h->conns[0]))) == NULL)
		goto fail;
	h->concurrency = concurrency;
	h->timeout_us  = (int64_t)timeout_ms * 1000;
	h->end         = end;
	h->arg         = arg;
	for (uint32_t i = concurrency; i-- > 0;) {
		h->conns[i].fd = -1;
		h->conns[i].h  = h;
		lh_close(h, &h->conns[i]);
	}
	if ((h->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		rv = chaos_fail(why, chaos_err_from_errno(errno), "epoll: %s",
		                strerror(errno));
		goto fail;
	}
	free(u);
	*out = h;
	return CHAOS_OK;
fail:
	free(u);
	load_http_free(h);
	return rv;
}

void
load_http_free(struct load_http *h)
{
	if (h == NULL)
		return;
	for (uint32_t i = 0; h->conns != NULL && i < h->concurrency; i++)
		lh_drop_socket(&h->conns[i]);
	if (h->epfd >= 0)
		close(h->epfd);
	tlsc_config_put(h->tls);
	free(h->conns);
	free(h->request);
	free(h->host);
	free(h->port);
	free(h);
}

void
load_http_set_addr(struct load_http *h, const struct sockaddr *sa, socklen_t len)
{
	if (len > sizeof(h->addr))
		len = 0; /* not an address we could connect to: as unresolved */
	memcpy(&h->addr, sa, len);
	h->addr_len = len;
}

void
load_http_on_body(struct load_http *h, load_http_body_fn fn, void *arg)
{
	h->body     = fn;
	h->body_arg = arg;
}

chaos_err
load_http_resolve(struct load_http *h)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM},
	                *res  = NULL;

	if (getaddrinfo(h->host, h->port, &hints, &res) != 0 || res == NULL)
		return CHAOS_ENOENT;
	memcpy(&h->addr, res->ai_addr, res->ai_addrlen);
	h->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return CHAOS_OK;
}

chaos_err
load_http_watch(struct load_http *h, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LH_WATCH};

	return epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) == 0
	    ? CHAOS_OK
	    : chaos_err_from_errno(errno);
}

bool
load_http_send(struct load_http *h, int64_t sched_us, int64_t tag)
{
	struct lh_list *from = h->idle.head != NULL ? &h->idle : &h->closed;
	struct lh_conn *c    = from->head;

	if (c == NULL)
		return false;
	lh_unlink(from, c);
	lh_push(&h->busy, c, false);
	h->in_flight++;
	c->tag      = tag;
	c->sched_us = sched_us;
	c->retried  = false;
	if (h->addr_len == 0)
		lh_end(h, c, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_DNS, false, false);
	else
		lh_begin(h, c);
	return true;
}

static int
lh_epoll_wait(int epfd, struct epoll_event *evs, int max, int64_t wait_us)
{
	static int      no_pwait2;
	struct timespec ts = {.tv_sec  = wait_us / 1000000,
	                      .tv_nsec = (wait_us % 1000000) * 1000};

	if (!__atomic_load_n(&no_pwait2, __ATOMIC_RELAXED)) {
		int n = epoll_pwait2(epfd, evs, max, &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		__atomic_store_n(&no_pwait2, 1,
		                 __ATOMIC_RELAXED); /* kernel before 5.11 */
	}
	return epoll_wait(epfd, evs, max, (int)((wait_us + 999) / 1000));
}

/* Ends the requests whose timeout has passed (the busy list's head first). */
static void
lh_expire(struct load_http *h, int64_t now)
{
	while (h->busy.head != NULL && h->busy.head->sched_us + h->timeout_us <= now)
		lh_end(h, h->busy.head, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT,
		       false, false);
}

bool
load_http_wait(struct load_http *h, int64_t until_us)
{
	struct epoll_event evs[LH_EVENTS];
	int64_t            now = clk_mono_us(), wait;
	int                n;

	if (h->busy.head != NULL && h->busy.head->sched_us + h->timeout_us < until_us)
		until_us = h->busy.head->sched_us + h->timeout_us;
	wait = until_us <= now ? 0 : until_us - now;
	n    = lh_epoll_wait(h->epfd, evs, LH_EVENTS,
                          wait > LH_MAX_WAIT_US ? LH_MAX_WAIT_US : wait);
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == LH_WATCH)
			return false;
		lh_event(h, evs[i].data.u64, evs[i].events);
	}
	lh_expire(h, clk_mono_us());
	return true;
}

uint32_t
load_http_in_flight(const struct load_http *h)
{
	return h->in_flight;
}

void
load_http_cancel_all(struct load_http *h)
{
	while (h->busy.head != NULL)
		lh_end(h, h->busy.head, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_NONE, false,
		       true);
}
