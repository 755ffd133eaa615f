// SPDX-License-Identifier: MIT
/*
 * The proxy's directions: a read is stamped with its release time and
 * queued; what is due is written out in order; a direction waiting for its
 * head's release time sits in a binary heap keyed on that time, whose top
 * arms the loop's timerfd.
 */
#include "agent/proxy_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/err.h"

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

void
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
void
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
void
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

void
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

void
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

void
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
