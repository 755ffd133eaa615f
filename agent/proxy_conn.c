// SPDX-License-Identifier: MIT
/*
 * The proxy's connections: accepting a redirected client, connecting to its
 * original destination (with the skip mark, so nat leaves it alone),
 * following each side's epoll events, and closing with a reset when the
 * proxy gives up.
 */
#include "agent/proxy_int.h"

#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

void
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

void
proxy_conn_update(struct proxy *p, struct proxy_conn *c)
{
	if (c->dead)
		return;
	proxy_ep_set(p, &c->client, proxy_side_want(c, &c->client));
	proxy_ep_set(p, &c->upstream, proxy_side_want(c, &c->upstream));
}

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

void
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

void
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

void
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

void
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
