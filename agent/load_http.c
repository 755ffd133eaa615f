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

#include "agent/http1.h"
#include "agent/probe.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/url.h"

#define LH_EVENTS 256
#define LH_RBUF (16u * 1024u)
#define LH_MAX_WAIT_US 1000000 /* wake at least this often */
#define LH_WATCH UINT64_MAX    /* epoll data of the watched fd */
#define LH_REQUEST                                                                       \
	"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: chaos-agent-load/%s\r\n"             \
	"Accept: */*\r\n\r\n"

enum lh_state {
	LH_CLOSED,     /* no socket */
	LH_CONNECTING, /* connect() in progress, request not sent */
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
	uint32_t          gen; /* bumped per socket: stale epoll events are told apart */
	uint32_t          events; /* what the epoll set holds for fd; 0: not in it */
	size_t            sent;
	int64_t           tag, sched_us; /* the timeout counts from sched_us */
	struct lh_conn   *prev, *next;   /* in busy, idle or closed */
	struct http1_resp resp;
};

struct load_http {
	char                   *host, *port, *request;
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
	char host[256], port[8], authority[300];
	char path[LIMIT_URL_LEN + 1]; /* room for the "/" before a bare "?query" */
};

/* The Host header: the host (bracketed when an IPv6 literal) and the port
 * unless it is the default one. */
static void
lh_authority(const struct url_parts *p, struct lh_url *u)
{
	bool v6 = strchr(p->host, ':') != NULL;

	snprintf(u->authority, sizeof(u->authority), "%s%s%s", v6 ? "[" : "", p->host,
	         v6 ? "]" : "");
	if (p->port != 80)
		snprintf(u->authority + strlen(u->authority),
		         sizeof(u->authority) - strlen(u->authority), ":%u", p->port);
}

static chaos_err
lh_parse_url(const char *url, struct lh_url *u, chaos_why *why)
{
	struct url_parts p;
	const char      *auth;

	if (url == NULL)
		return chaos_fail(why, CHAOS_EINVAL, "no url");
	if (url_parse(url, URL_WEB, &p, why) != CHAOS_OK)
		return chaos_fail_prefix(why, CHAOS_EINVAL, "url");
	if (p.scheme == URL_HTTPS)
		return chaos_fail(
		    why, CHAOS_EUNSUPPORTED,
		    "https:// is not supported by the load generator (plain HTTP/1.1)");
	/* credentials would go out in the clear, and we would not send them */
	auth = strstr(url, "://") + 3;
	if (memchr(auth, '@', strcspn(auth, "/?#")) != NULL)
		return chaos_fail(why, CHAOS_EINVAL, "url: user@ is not allowed");
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
	rv = lh_parse_url(url, u, why);
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

/* Closes c's socket; c goes to the closed list (from none). */
static void
lh_close(struct load_http *h, struct lh_conn *c)
{
	if (c->fd >= 0)
		close(c->fd); /* also takes it out of the epoll set */
	c->fd     = -1;
	c->events = 0;
	c->state  = LH_CLOSED;
	lh_push(&h->closed, c, true);
}

/* The request on c ended: out of the busy list, the connection kept for
 * the next request or closed, then reported. */
static void
lh_end(struct load_http *h, struct lh_conn *c, Chaos__V1__ErrorClass cls, bool keep,
       bool cancelled)
{
	struct load_http_end e = {.tag       = c->tag,
	                          .sched_us  = c->sched_us,
	                          .end_us    = clk_mono_us(),
	                          .cls       = cls,
	                          .cancelled = cancelled};

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
		if (c->fd >= 0)
			close(c->fd);
		c->fd     = -1;
		c->events = 0;
		lh_connect(h, c);
		return;
	}
	if (!c->resp.got_bytes || errnum == ECONNRESET)
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

static void
lh_send(struct load_http *h, struct lh_conn *c)
{
	while (c->sent < h->request_len) {
		ssize_t n = send(c->fd, h->request + c->sent, h->request_len - c->sent,
		                 MSG_NOSIGNAL);

		if (n > 0) {
			c->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			lh_fail(h, c, errno);
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

/* Starts the request on c: at once on an open socket, else after connect. */
static void
lh_begin(struct load_http *h, struct lh_conn *c)
{
	c->sent = 0;
	http1_reset(&c->resp);
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
	c->sent   = 0;
	http1_reset(&c->resp);
	if (fd < 0) {
		lh_end(h, c, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER, false, false);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd     = fd;
	c->events = 0;
	c->gen++;
	if (connect(fd, (const struct sockaddr *)&h->addr, h->addr_len) == 0) {
		lh_send(h, c);
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
		lh_send(h, c);
}

static void
lh_readable(struct load_http *h, struct lh_conn *c)
{
	for (;;) {
		ssize_t           n = recv(c->fd, h->rbuf, sizeof(h->rbuf), 0);
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
		if ((size_t)n < sizeof(h->rbuf))
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

chaos_err
load_http_new(const char *url, uint32_t concurrency, uint32_t timeout_ms,
              load_http_end_fn end, void *arg, struct load_http **out, chaos_why *why)
{
	struct lh_url    *u = malloc(sizeof(*u));
	struct load_http *h = calloc(1, sizeof(*h));
	chaos_err         rv;
	int               n;

	if (u == NULL || h == NULL) {
		free(u);
		free(h);
		return CHAOS_ENOMEM;
	}
	h->epfd = -1;
	if ((rv = lh_parse_url(url, u, why)) != CHAOS_OK)
		goto fail;
	n  = snprintf(NULL, 0, LH_REQUEST, u->path, u->authority, CHAOS_VERSION);
	rv = CHAOS_ENOMEM;
	if ((h->host = strdup(u->host)) == NULL || (h->port = strdup(u->port)) == NULL ||
	    (h->request = malloc((size_t)n + 1)) == NULL ||
	    (h->conns = calloc(concurrency, sizeof(h->conns[0]))) == NULL)
		goto fail;
	snprintf(h->request, (size_t)n + 1, LH_REQUEST, u->path, u->authority,
	         CHAOS_VERSION);
	h->request_len = (size_t)n;
	h->concurrency = concurrency;
	h->timeout_us  = (int64_t)timeout_ms * 1000;
	h->end         = end;
	h->arg         = arg;
	for (uint32_t i = concurrency; i-- > 0;) {
		h->conns[i].fd = -1;
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
		if (h->conns[i].fd >= 0)
			close(h->conns[i].fd);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h->conns);
	free(h->request);
	free(h->host);
	free(h->port);
	free(h);
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
