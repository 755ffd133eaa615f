/* SPDX-License-Identifier: MIT */
/*
 * The HTTP/1.1 client side of one load (agent/load.c): a pool of at most
 * `concurrency` keep-alive connections to one http:// target, one request in
 * flight per connection, all on one epoll set driven by the load's thread.
 *
 * Why not libcurl's multi interface, which the first version used: per
 * request it made six system calls (two poll()s of its own, an
 * epoll_ctl() pair, send, recv) and several allocations, and on one core
 * reached 0.24-0.50 (typically 0.4) of wrk's rate against the same server;
 * the bar is 0.5.
 * This pool makes two (send, recv) plus a share of one epoll_pwait2(), as
 * wrk does, and keeps up with wrk (tests/bench/bench_load.c). What it gives
 * up: https:// (refused at load_start), and resolving the host more than
 * once (it is resolved when the load starts).
 *
 * A request that finds its reused connection closed by the server before
 * any byte of an answer is sent again once on a fresh connection, as curl
 * and browsers do: an idle keep-alive connection closing is not a failure
 * of the target.
 *
 * Not thread-safe: only the load's thread uses a pool.
 */
#ifndef CHAOS_AGENT_LOAD_HTTP_H
#define CHAOS_AGENT_LOAD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/chaos.pb-c.h"

struct load_http;

/* How one request ended. */
struct load_http_end {
	int64_t               tag;       /* as given to load_http_send() */
	int64_t               sched_us;  /* monotonic, as given */
	int64_t               end_us;    /* monotonic */
	Chaos__V1__ErrorClass cls;       /* ERROR_CLASS_NONE: a 2xx answer */
	bool                  cancelled; /* load_http_cancel_all(): no outcome */
};

typedef void (*load_http_end_fn)(void *arg, const struct load_http_end *e);

/* Checks that url is one we can load (http://host[:port][/path], parsed by
 * common/url.h; no user@). Returns CHAOS_OK, CHAOS_EINVAL or
 * CHAOS_EUNSUPPORTED (https), with why. */
chaos_err load_http_check_url(const char *url, chaos_why *why);

/* A pool for url (checked as above) calling end for every request that
 * ends. Connects nowhere yet. Returns CHAOS_OK, CHAOS_EINVAL, CHAOS_ENOMEM
 * or the epoll error, with why. */
chaos_err load_http_new(const char *url, uint32_t concurrency, uint32_t timeout_ms,
                        load_http_end_fn end, void *arg, struct load_http **out,
                        chaos_why *why);

/* Closes every connection (requests in flight end uncounted, without a
 * call to end) and frees h. NULL is fine. */
void load_http_free(struct load_http *h);

/* Resolves the host (blocking). Until it succeeds, requests end at once as
 * ERROR_CLASS_DNS. Returns CHAOS_OK or CHAOS_ENOENT. */
chaos_err load_http_resolve(struct load_http *h);

/* Adds fd (an eventfd, say) to the wait: load_http_wait() returns false
 * when it becomes readable. */
chaos_err load_http_watch(struct load_http *h, int fd);

/* Sends a request now, scheduled at sched_us (monotonic, in the past or
 * now; not before that of the request sent last). Its timeout counts from
 * sched_us, as its latency does. Returns false, sending nothing, when
 * `concurrency` are in flight. */
bool load_http_send(struct load_http *h, int64_t sched_us, int64_t tag);

/* Waits until the monotonic time until_us (or less: a request's timeout),
 * handling whatever the connections bring, and ends timed-out requests.
 * Returns false when the watched fd became readable. */
bool load_http_wait(struct load_http *h, int64_t until_us);

/* Requests in flight. */
uint32_t load_http_in_flight(const struct load_http *h);

/* Ends every request in flight with cancelled = true, closing their
 * connections. */
void load_http_cancel_all(struct load_http *h);

#endif
