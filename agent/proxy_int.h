/* SPDX-License-Identifier: MIT */
/*
 * Private to the latency proxy (agent/proxy*.c); callers use agent/proxy.h.
 *
 * Each connection has two sides (client, upstream) and two directions (up:
 * client -> upstream, down: upstream -> client), each direction a
 * proxy_queue. A direction is in one of four states: idle (queue empty),
 * waiting for its head's release time (in the timer heap), blocked on a
 * full socket (EPOLLOUT on its destination) or done (end of stream
 * delivered). Epoll interest is recomputed from that state after every
 * change; a side with no interest is taken out of epoll, so a hung-up
 * socket we are not reading cannot make a level-triggered loop spin.
 *
 *   proxy.c       start, stop, counters, and the epoll loop
 *   proxy_conn.c  connections: accept, upstream connect, epoll interest,
 *                 events on a side, close
 *   proxy_dir.c   directions: reading into the delay queue, writing what
 *                 is due, the timer heap of release times
 *
 * Everything here runs on the proxy's own thread.
 */
#ifndef CHAOS_AGENT_PROXY_INT_H
#define CHAOS_AGENT_PROXY_INT_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/proxy.h"
#include "agent/proxy_queue.h"
#include "agent/worker.h"

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

/* ---- connections (proxy_conn.c) ---- */

/* Sets ep's epoll interest to want (0: out of epoll). */
void proxy_ep_set(struct proxy *p, struct proxy_ep *ep, uint32_t want);

/* Recomputes both sides' interest from the state of c's directions. */
void proxy_conn_update(struct proxy *p, struct proxy_conn *c);

/* Closes c (with a reset when reset): out of epoll, the timer heap and the
 * list; freed by proxy_free_dead() after this round. */
void proxy_conn_close(struct proxy *p, struct proxy_conn *c, bool reset);
void proxy_free_dead(struct proxy *p);

/* Accepts what the listener has (a bounded number per round). */
void proxy_accept(struct proxy *p, int64_t now);

/* An epoll event on a client or upstream side. */
void proxy_side_event(struct proxy *p, struct proxy_ep *ep, uint32_t events, int64_t now);

/* ---- directions (proxy_dir.c) ---- */

void proxy_dir_init(struct proxy *p, struct proxy_dir *d, struct proxy_conn *c,
                    struct proxy_ep *src, struct proxy_ep *dst,
                    atomic_uint_fast64_t *bytes);

/* Moves d on: writes what is due, then waits for the next release time or
 * for room on the socket; closes the connection once both directions have
 * delivered their end of stream. */
void proxy_dir_kick(struct proxy *p, struct proxy_dir *d, int64_t now);

/* One read from d's source into its queue. */
void proxy_dir_read(struct proxy *p, struct proxy_dir *d, int64_t now);

/* Takes d out of the timer heap (if it is in). */
void proxy_heap_remove(struct proxy *p, struct proxy_dir *d);

/* Arms the timerfd for the earliest release time (or the accept retry). */
void proxy_timer_arm(struct proxy *p);

/* Kicks every direction whose release time has come. */
void proxy_timers_run(struct proxy *p, int64_t now);

#endif
