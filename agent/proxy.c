// SPDX-License-Identifier: MIT
/*
 * The latency proxy's life: start (listener, SO_MARK check, epoll set, the
 * worker thread), the epoll loop that thread runs, stop and the counters.
 * The connections and their directions are in proxy_conn.c and proxy_dir.c;
 * agent/proxy_int.h says how the pieces fit.
 */
#include "agent/proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent/proxy_int.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"

/* ------------------------------------------------------------------ */
/* The loop                                                            */

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
