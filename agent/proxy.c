// SPDX-License-Identifier: MIT
/*
 * The proxy's loop. Each connection has two sides (client, upstream) and two
 * directions (up: client -> upstream, down: upstream -> client), each
 * direction a proxy_queue. A direction is in one of four states: idle (queue
 * empty), waiting for its head's release time (in the timer heap), blocked
 * on a full socket (EPOLLOUT on its destination) or done (end of stream
 * delivered). Epoll interest is recomputed from that state after every
 * change; a side with no interest is taken out of epoll, so a hung-up socket
 * we are not reading cannot make a level-triggered loop spin.
 */
#include "agent/proxy.h"

#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent/proxy_queue.h"
#include "agent/worker.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"

#define PROXY_READ_MAX (64u * 1024u)
#define PROXY_EVENTS 64
#define PROXY_ACCEPTS_PER_ROUND 64
#define PROXY_BACKLOG 512
#define PROXY_ACCEPT_RETRY_US 100000 /* after EMFILE/ENFILE */

enum proxy_ep_kind {
	PROXY_EP_LISTEN,
	PROXY_EP_STOP,
	PROXY_EP_TIMER,
	PROXY_EP_CLIENT,
	PROXY_EP_UPSTREAM
};

/* Anything registered with epoll; epoll's data.ptr points at one. */
struct proxy_ep {
	enum proxy_ep_kind kind;
	int                fd;
	uint32_t           events; /* registered interest; 0 = not in epoll */
	struct proxy_conn *conn;   /* sides only */
};

struct proxy_dir {
	struct proxy_queue    q;
	struct proxy_ep      *src, *dst;
	struct proxy_conn    *conn;
	bool                  read_eof;      /* src said end of stream */
	bool                  write_blocked; /* dst is full: waiting for EPOLLOUT */
	bool                  done;          /* end of stream delivered to dst */
	size_t                heap_idx;      /* in the timer heap, or SIZE_MAX */
	int64_t               heap_due;
	atomic_uint_fast64_t *bytes;
};

struct proxy_conn {
	struct proxy_conn *prev, *next;
	struct proxy_ep    client, upstream;
	struct proxy_dir   up, down;
	bool               connecting; /* upstream connect in progress */
	bool               dead;       /* closed; freed after this round */
};

struct proxy {
	struct proxy_config  cfg;
	struct sockaddr_in   fixed_upstream;
	bool                 has_fixed_upstream;
	uint16_t             port;
	int                  epfd;
	struct proxy_ep      listen, stop, timer;
	struct worker        w; /* the loop's thread; stop is its stop fd */
	struct proxy_conn   *conns, *dead;
	struct proxy_dir   **heap;
	size_t               heap_n, heap_cap;
	int64_t              timer_at;     /* armed release time, -1 = disarmed */
	int64_t              accept_retry; /* listener paused until, 0 = not paused */
	uint64_t             rng;
	uint8_t             *rbuf;
	atomic_uint_fast64_t accepted, rejected, upstream_failed, active, bytes_up,
	    bytes_down;
};

/* ------------------------------------------------------------------ */
/* Timer heap: directions waiting for their head's release time        */

static void
proxy_heap_swap(struct proxy *p, size_t a, size_t b)
{
	struct proxy_dir *t = p->heap[a];

	p->heap[a]           = p->heap[b];
	p->heap[b]           = t;
	p->heap[a]->heap_idx = a;
	p->heap[b]->heap_idx = b;
}

static void
proxy_heap_up(struct proxy *p, size_t i)
{
	while (i > 0 && p->heap[(i - 1) / 2]->heap_due > p->heap[i]->heap_due) {
		proxy_heap_swap(p, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
proxy_heap_down(struct proxy *p, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < p->heap_n && p->heap[l]->heap_due < p->heap[m]->heap_due)
			m = l;
		if (r < p->heap_n && p->heap[r]->heap_due < p->heap[m]->heap_due)
			m = r;
		if (m == i)
			return;
		proxy_heap_swap(p, i, m);
		i = m;
	}
}

static void
proxy_heap_remove(struct proxy *p, struct proxy_dir *d)
{
	size_t i = d->heap_idx;

	if (i == SIZE_MAX)
		return;
	d->heap_idx = SIZE_MAX;
	if (i == --p->heap_n)
		return;
	p->heap[i]           = p->heap[p->heap_n];
	p->heap[i]->heap_idx = i;
	proxy_heap_up(p, i);
	proxy_heap_down(p, p->heap[i]->heap_idx);
}

/* The heap holds at most two entries per connection: sized at start. */
static void
proxy_heap_add(struct proxy *p, struct proxy_dir *d, int64_t due)
{
	proxy_heap_remove(p, d);
	d->heap_due          = due;
	d->heap_idx          = p->heap_n;
	p->heap[p->heap_n++] = d;
	proxy_heap_up(p, d->heap_idx);
}

/* ------------------------------------------------------------------ */
/* Epoll interest                                                      */

static void
proxy_ep_set(struct proxy *p, struct proxy_ep *ep, uint32_t want)
{
	struct epoll_event ev = {.events = want, .data.ptr = ep};
	int                op;

	if (want == ep->events)
		return;
	op = want == 0 ? EPOLL_CTL_DEL : ep->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(p->epfd, op, ep->fd, &ev) < 0) {
		/* Only ENOMEM can get here; the side then stalls until the
		 * connection is closed by its peer or by proxy_stop. */
		log_warn("proxy: epoll_ctl: %s", strerror(errno));
		return;
	}
	ep->events = want;
}

/* What side ep of c waits for, from the state of its two directions. */
static uint32_t
proxy_side_want(const struct proxy_conn *c, const struct proxy_ep *ep)
{
	bool                    client = ep == &c->client;
	const struct proxy_dir *rd     = client ? &c->up : &c->down; /* reads ep */
	const struct proxy_dir *wd     = client ? &c->down : &c->up; /* writes ep */
	uint32_t                want   = 0;

	if (!rd->read_eof && proxy_queue_room(&rd->q) > 0 && (client || !c->connecting))
		want |= EPOLLIN;
	if ((!client && c->connecting) || wd->write_blocked)
		want |= EPOLLOUT;
	return want;
}

static void
proxy_conn_update(struct proxy *p, struct proxy_conn *c)
{
	if (c->dead)
		return;
	proxy_ep_set(p, &c->client, proxy_side_want(c, &c->client));
	proxy_ep_set(p, &c->upstream, proxy_side_want(c, &c->upstream));
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

/* Closes fd so that the peer gets a RST, not a FIN: a proxy that gives up
 * must not look like an orderly end of the stream. */
static void
proxy_close_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void
proxy_conn_close(struct proxy *p, struct proxy_conn *c, bool reset)
{
	struct proxy_ep *sides[2] = {&c->client, &c->upstream};

	if (c->dead)
		return;
	c->dead = true;
	proxy_heap_remove(p, &c->up);
	proxy_heap_remove(p, &c->down);
	for (int i = 0; i < 2; i++) {
		proxy_ep_set(p, sides[i], 0);
		if (reset)
			proxy_close_reset(sides[i]->fd);
		else if (sides[i]->fd >= 0)
			close(sides[i]->fd);
		sides[i]->fd = -1;
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = p->dead;
	p->dead = c;
	atomic_fetch_sub(&p->active, 1);
}

static void
proxy_free_dead(struct proxy *p)
{
	while (p->dead != NULL) {
		struct proxy_conn *c = p->dead;

		p->dead = c->next;
		proxy_queue_fini(&c->up.q);
		proxy_queue_fini(&c->down.q);
		free(c);
	}
}

/* Release time of a chunk read at now. The configured delay is what a
 * round trip gains (a query, a request and its answer), so each direction
 * takes half of it, and half of the jitter: up rounds down, down gets the
 * rest, and the two add up to delay_ms +- jitter_ms. */
static int64_t
proxy_due(struct proxy *p, const struct proxy_dir *d, int64_t now)
{
	bool    up    = d == &d->conn->up;
	int64_t delay = (int64_t)p->cfg.delay_ms * 1000;
	int64_t j     = (int64_t)p->cfg.jitter_ms * 1000;

	delay = up ? delay / 2 : delay - delay / 2;
	j     = up ? j / 2 : j - j / 2;
	if (j > 0) {
		/* xorshift64*: uniform enough for jitter, no locks, no syscalls */
		p->rng ^= p->rng >> 12;
		p->rng ^= p->rng << 25;
		p->rng ^= p->rng >> 27;
		delay +=
		    (int64_t)((p->rng * 2685821657736338717ull) % (uint64_t)(2 * j + 1)) -
		    j;
	}
	return now + delay;
}

/* Writes what is due of d to its destination. Returns false when the
 * connection was closed. */
static bool
proxy_dir_flush(struct proxy *p, struct proxy_dir *d, int64_t now)
{
	const uint8_t *data;
	size_t         len;
	bool           eof;

	while (proxy_queue_peek(&d->q, now, &data, &len, &eof)) {
		if (eof) {
			proxy_queue_consume(&d->q, 0);
			shutdown(d->dst->fd, SHUT_WR);
			d->done = true;
			break;
		}
		ssize_t n = send(d->dst->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			proxy_queue_consume(&d->q, (size_t)n);
			atomic_fetch_add(d->bytes, (uint64_t)n);
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			d->write_blocked = true;
			break;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			proxy_conn_close(p, d->conn, true);
			return false;
		}
	}
	return true;
}

/* Moves d on: writes what is due, then waits for the next release time or
 * for room on the socket. Closes the connection once both directions have
 * delivered their end of stream. */
static void
proxy_dir_kick(struct proxy *p, struct proxy_dir *d, int64_t now)
{
	struct proxy_conn *c = d->conn;

	if (c->dead)
		return;
	/* blocked or still connecting: EPOLLOUT calls again */
	if (!d->write_blocked && !(d == &c->up && c->connecting)) {
		proxy_heap_remove(p, d);
		if (!proxy_dir_flush(p, d, now))
			return;
		if (!d->write_blocked && !proxy_queue_empty(&d->q))
			proxy_heap_add(p, d, proxy_queue_next_due(&d->q));
		if (c->up.done && c->down.done) {
			proxy_conn_close(p, c, false);
			return;
		}
	}
	/* always: a read may have filled the queue (stop reading) */
	proxy_conn_update(p, c);
}

/* One read from d's source into its queue. */
static void
proxy_dir_read(struct proxy *p, struct proxy_dir *d, int64_t now)
{
	size_t  room      = proxy_queue_room(&d->q);
	bool    was_empty = proxy_queue_empty(&d->q);
	ssize_t n;

	if (d->read_eof || room == 0)
		return;
	n = recv(d->src->fd, p->rbuf, room < PROXY_READ_MAX ? room : PROXY_READ_MAX,
	         MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		proxy_conn_close(p, d->conn, true);
		return;
	}
	if (n == 0) {
		d->read_eof = true;
		if (proxy_queue_push_eof(&d->q, proxy_due(p, d, now)) != CHAOS_OK) {
			proxy_conn_close(p, d->conn, true);
			return;
		}
	} else if (proxy_queue_push(&d->q, p->rbuf, (size_t)n, proxy_due(p, d, now)) !=
	           CHAOS_OK) {
		proxy_conn_close(p, d->conn, true);
		return;
	}
	if (was_empty)
		proxy_dir_kick(p, d, now);
	else
		proxy_conn_update(p, d->conn);
}

static void
proxy_upstream_connected(struct proxy *p, struct proxy_conn *c, int64_t now)
{
	int       e   = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(c->upstream.fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e == EINPROGRESS || e == EALREADY)
		return;
	if (e != 0) {
		atomic_fetch_add(&p->upstream_failed, 1);
		proxy_conn_close(p, c, true);
		return;
	}
	c->connecting = false;
	proxy_dir_kick(p, &c->up, now);
	proxy_conn_update(p, c);
}

static void
proxy_side_event(struct proxy *p, struct proxy_ep *ep, uint32_t events, int64_t now)
{
	struct proxy_conn *c      = ep->conn;
	bool               client = ep == &c->client;
	struct proxy_dir  *rd     = client ? &c->up : &c->down;
	struct proxy_dir  *wd     = client ? &c->down : &c->up;

	if (c->dead)
		return;
	if (!client && c->connecting) {
		proxy_upstream_connected(p, c, now);
		return;
	}
	if ((events & EPOLLOUT) && wd->write_blocked) {
		wd->write_blocked = false;
		proxy_dir_kick(p, wd, now);
	}
	/* A reset or error shows up as a failed recv; EPOLLHUP alone (both
	 * ends shut) is read as end of stream. */
	if (!c->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		proxy_dir_read(p, rd, now);
}

/* The destination of a new connection: fixed, or where nat sent it from. */
static int
proxy_upstream_addr(const struct proxy *p, int fd, struct sockaddr_in *dst)
{
	socklen_t len = sizeof(*dst);

	if (p->has_fixed_upstream) {
		*dst = p->fixed_upstream;
		return 0;
	}
	if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst, &len) < 0)
		return -errno;
	/* No nat entry gives back the local address itself: a direct
	 * connection to the proxy port would loop into the proxy. */
	if (dst->sin_port == htons(p->port))
		return -ELOOP;
	return 0;
}

static int
proxy_upstream_connect(const struct proxy *p, const struct sockaddr_in *dst, int *fd_out,
                       bool *connecting)
{
	int one = 1;
	int fd  = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (p->cfg.mark != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &p->cfg.mark, sizeof(p->cfg.mark)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*connecting = false;
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0) {
		if (errno != EINPROGRESS) {
			int e = errno;
			close(fd);
			return -e;
		}
		*connecting = true;
	}
	*fd_out = fd;
	return 0;
}

static void
proxy_dir_init(struct proxy *p, struct proxy_dir *d, struct proxy_conn *c,
               struct proxy_ep *src, struct proxy_ep *dst, atomic_uint_fast64_t *bytes)
{
	proxy_queue_init(&d->q, p->cfg.max_buffered);
	d->src      = src;
	d->dst      = dst;
	d->conn     = c;
	d->heap_idx = SIZE_MAX;
	d->bytes    = bytes;
}

/* Takes over an accepted client socket. */
static void
proxy_conn_open(struct proxy *p, int cfd)
{
	struct proxy_conn *c = NULL;
	struct sockaddr_in dst;
	int                ufd = -1, one = 1, e;
	bool               connecting = false;

	if (atomic_load(&p->active) >= p->cfg.max_conns ||
	    proxy_upstream_addr(p, cfd, &dst) < 0) {
		atomic_fetch_add(&p->rejected, 1);
		proxy_close_reset(cfd);
		return;
	}
	atomic_fetch_add(&p->accepted, 1);
	if ((e = proxy_upstream_connect(p, &dst, &ufd, &connecting)) < 0 ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		if (e < 0 && e != -ECONNREFUSED)
			log_debug("proxy: upstream connect: %s", strerror(-e));
		atomic_fetch_add(&p->upstream_failed, 1);
		proxy_close_reset(cfd);
		if (ufd >= 0)
			close(ufd);
		return;
	}
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->client   = (struct proxy_ep) {.kind = PROXY_EP_CLIENT, .fd = cfd, .conn = c};
	c->upstream = (struct proxy_ep) {.kind = PROXY_EP_UPSTREAM, .fd = ufd, .conn = c};
	c->connecting = connecting;
	proxy_dir_init(p, &c->up, c, &c->client, &c->upstream, &p->bytes_up);
	proxy_dir_init(p, &c->down, c, &c->upstream, &c->client, &p->bytes_down);
	c->next = p->conns;
	if (p->conns != NULL)
		p->conns->prev = c;
	p->conns = c;
	atomic_fetch_add(&p->active, 1);
	proxy_conn_update(p, c);
}

static void
proxy_accept(struct proxy *p, int64_t now)
{
	for (int i = 0; i < PROXY_ACCEPTS_PER_ROUND; i++) {
		int fd = accept4(p->listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			proxy_conn_open(p, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* level-triggered: pause rather than spin on it */
			log_warn("proxy: accept: %s; pausing 100 ms", strerror(errno));
			p->accept_retry = now + PROXY_ACCEPT_RETRY_US;
			proxy_ep_set(p, &p->listen, 0);
		}
		return;
	}
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

static void
proxy_timer_arm(struct proxy *p)
{
	int64_t           at  = p->heap_n > 0 ? p->heap[0]->heap_due : -1;
	struct itimerspec its = {0};

	if (p->accept_retry != 0 && (at < 0 || p->accept_retry < at))
		at = p->accept_retry;
	if (at == p->timer_at)
		return;
	if (at >= 0) {
		/* 0 would disarm: a time already past is at least 1 ns */
		its.it_value.tv_sec  = at / 1000000;
		its.it_value.tv_nsec = (at % 1000000) * 1000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(p->timer.fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		p->timer_at = at;
}

static void
proxy_timers_run(struct proxy *p, int64_t now)
{
	uint64_t expirations;

	if (read(p->timer.fd, &expirations, sizeof(expirations)) > 0)
		p->timer_at = -1; /* fired: re-armed from the heap by the loop */
	while (p->heap_n > 0 && p->heap[0]->heap_due <= now) {
		struct proxy_dir *d = p->heap[0];

		proxy_heap_remove(p, d);
		proxy_dir_kick(p, d, now);
	}
	if (p->accept_retry != 0 && p->accept_retry <= now) {
		p->accept_retry = 0;
		proxy_ep_set(p, &p->listen, EPOLLIN);
	}
}

static void *
proxy_main(void *arg)
{
	struct proxy      *p = arg;
	struct epoll_event evs[PROXY_EVENTS];
	bool               running = true;

	while (running) {
		proxy_timer_arm(p);
		int n = epoll_wait(p->epfd, evs, PROXY_EVENTS, -1);
		if (n < 0 && errno != EINTR) {
			log_error("proxy :%u: epoll_wait: %s; stopping", p->port,
			          strerror(errno));
			break;
		}
		int64_t now = clk_mono_us();
		for (int i = 0; i < n; i++) {
			struct proxy_ep *ep = evs[i].data.ptr;

			if (ep->kind == PROXY_EP_STOP)
				running = false;
			else if (ep->kind == PROXY_EP_LISTEN)
				proxy_accept(p, now);
			else if (ep->kind != PROXY_EP_TIMER)
				proxy_side_event(p, ep, evs[i].events, now);
		}
		proxy_timers_run(p, clk_mono_us());
		proxy_free_dead(p);
	}
	while (p->conns != NULL)
		proxy_conn_close(p, p->conns, true);
	proxy_free_dead(p);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                      */

static chaos_err
proxy_listen(struct proxy *p, chaos_why *why)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port   = htons(p->cfg.port),
	                          .sin_addr   = p->cfg.bind_addr};
	socklen_t          len = sizeof(sin);
	int                one = 1;

	p->listen.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->listen.fd < 0 ||
	    setsockopt(p->listen.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(p->listen.fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(p->listen.fd, PROXY_BACKLOG) < 0 ||
	    getsockname(p->listen.fd, (struct sockaddr *)&sin, &len) < 0)
		return chaos_fail(why, chaos_err_from_errno(errno), "proxy: listen: %s",
		                  strerror(errno));
	p->port = ntohs(sin.sin_port);
	return CHAOS_OK;
}

/* SO_MARK needs CAP_NET_ADMIN: find out now, not on the first client. */
static chaos_err
proxy_check_mark(const struct proxy *p, chaos_why *why)
{
	chaos_err rv = CHAOS_OK;
	int       fd;

	if (p->cfg.mark == 0)
		return CHAOS_OK;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return chaos_fail(why, chaos_err_from_errno(errno), "proxy: socket: %s",
		                  strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &p->cfg.mark, sizeof(p->cfg.mark)) < 0)
		rv = chaos_fail(why, chaos_err_from_errno(errno),
		                "proxy: SO_MARK: %s (needs CAP_NET_ADMIN)",
		                strerror(errno));
	close(fd);
	return rv;
}

/* The stop fd is the worker's: stopping wakes the loop through epoll. */
static chaos_err
proxy_register(struct proxy *p, chaos_why *why)
{
	p->epfd     = epoll_create1(EPOLL_CLOEXEC);
	p->stop.fd  = p->w.stop_fd;
	p->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->epfd < 0 || p->timer.fd < 0)
		return chaos_fail(why, chaos_err_from_errno(errno), "proxy: %s",
		                  strerror(errno));
	proxy_ep_set(p, &p->listen, EPOLLIN);
	proxy_ep_set(p, &p->stop, EPOLLIN);
	proxy_ep_set(p, &p->timer, EPOLLIN);
	if (p->listen.events == 0 || p->stop.events == 0 || p->timer.events == 0)
		return chaos_fail(why, CHAOS_ESYS, "proxy: epoll_ctl failed");
	return CHAOS_OK;
}

static void
proxy_free(struct proxy *p)
{
	int fds[3] = {p->listen.fd, p->timer.fd, p->epfd};

	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	worker_fini(&p->w);
	free(p->heap);
	free(p->rbuf);
	free(p);
}

static chaos_err
proxy_alloc(const struct proxy_config *cfg, struct proxy **out, chaos_why *why)
{
	struct proxy *p = calloc(1, sizeof(*p));
	chaos_err     rv;

	if (p == NULL)
		return chaos_fail(why, CHAOS_ENOMEM, "proxy: out of memory");
	p->epfd   = -1;
	p->listen = (struct proxy_ep) {.kind = PROXY_EP_LISTEN, .fd = -1};
	p->stop   = (struct proxy_ep) {.kind = PROXY_EP_STOP, .fd = -1};
	p->timer  = (struct proxy_ep) {.kind = PROXY_EP_TIMER, .fd = -1};
	if ((rv = worker_init(&p->w, "proxy", why)) != CHAOS_OK) {
		proxy_free(p);
		return chaos_fail_prefix(why, rv, "proxy");
	}
	p->cfg          = *cfg;
	p->cfg.upstream = NULL;
	if (p->cfg.max_conns == 0)
		p->cfg.max_conns = PROXY_DEFAULT_MAX_CONNS;
	if (p->cfg.max_buffered == 0)
		p->cfg.max_buffered = PROXY_DEFAULT_BUFFER;
	if (cfg->upstream != NULL) {
		p->fixed_upstream     = *cfg->upstream;
		p->has_fixed_upstream = true;
	}
	p->timer_at = -1;
	p->rng      = (uint64_t)clk_mono_us() ^ ((uint64_t)(uintptr_t)p << 16) ^
	    0x9e3779b97f4a7c15ull;
	p->heap_cap = 2 * (size_t)p->cfg.max_conns;
	p->heap     = calloc(p->heap_cap, sizeof(*p->heap));
	p->rbuf     = malloc(PROXY_READ_MAX);
	if (p->heap == NULL || p->rbuf == NULL) {
		proxy_free(p);
		return chaos_fail(why, CHAOS_ENOMEM, "proxy: out of memory");
	}
	*out = p;
	return CHAOS_OK;
}

chaos_err
proxy_start(const struct proxy_config *cfg, struct proxy **out, chaos_why *why)
{
	struct proxy *p = NULL;
	chaos_err     rv;

	if (cfg == NULL || cfg->delay_ms > LIMIT_DELAY_MAX_MS ||
	    cfg->jitter_ms > cfg->delay_ms)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "proxy: delay must be 0..%u ms and jitter <= delay",
		                  LIMIT_DELAY_MAX_MS);
	if ((rv = proxy_alloc(cfg, &p, why)) != CHAOS_OK)
		return rv;
	if ((rv = proxy_check_mark(p, why)) != CHAOS_OK ||
	    (rv = proxy_listen(p, why)) != CHAOS_OK ||
	    (rv = proxy_register(p, why)) != CHAOS_OK ||
	    (rv = worker_start(&p->w, "chaos-proxy", proxy_main, p, why)) != CHAOS_OK) {
		proxy_free(p);
		return rv;
	}
	log_debug("proxy listening on :%u, delay %u ms +- %u ms, mark 0x%x", p->port,
	          p->cfg.delay_ms, p->cfg.jitter_ms, p->cfg.mark);
	*out = p;
	return CHAOS_OK;
}

uint16_t
proxy_port(const struct proxy *p)
{
	return p->port;
}

void
proxy_stop(struct proxy *p)
{
	if (p == NULL)
		return;
	worker_stop(&p->w);
	proxy_free(p);
}

void
proxy_get_stats(const struct proxy *p, struct proxy_stats *out)
{
	struct proxy *q = (struct proxy *)p; /* atomics are read-only here */

	out->accepted        = atomic_load(&q->accepted);
	out->rejected        = atomic_load(&q->rejected);
	out->upstream_failed = atomic_load(&q->upstream_failed);
	out->active          = atomic_load(&q->active);
	out->bytes_up        = atomic_load(&q->bytes_up);
	out->bytes_down      = atomic_load(&q->bytes_down);
}
