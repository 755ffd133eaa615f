/* SPDX-License-Identifier: MIT */
/*
 * The agent's HTTP/1.1 client: a pool of at most `concurrency` keep-alive
 * connections to one http:// or https:// target, one request in flight per
 * connection, all on one epoll set driven by its user's thread. The load
 * generator (agent/load.c) runs a load through one pool; the HTTP probe
 * (agent/probe_http.c) runs each check through a pool of one connection,
 * made for that check, with the body handed to it and the address it
 * resolved itself.
 *
 * Why not libcurl's multi interface, which the first version used: per
 * request it made six system calls (two poll()s of its own, an
 * epoll_ctl() pair, send, recv) and several allocations, and on one core
 * reached 0.24-0.50 (typically 0.4) of wrk's rate against the same server;
 * the bar is 0.5.
 * This pool makes two (send, recv) plus a share of one epoll_pwait2(), as
 * wrk does, and keeps up with wrk (tests/bench/bench_load.c). The probe
 * used libcurl too, which brought 20 shared objects (GnuTLS, Kerberos, LDAP,
 * SSH, RTMP) and 4 MiB of RSS into every agent; now the agent has this one
 * client. https:// goes through agent/tls_client.h (mbedTLS, which NNG
 * already loads); loads refuse it (load_http_check_url) and stay plain
 * HTTP. A pool resolves its host once (load_http_resolve) or is given an
 * address (load_http_set_addr).
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
#include <sys/socket.h>

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
	/* For a caller that says why (the probe): */
	int      status;    /* the answer's status once its head was read, else 0 */
	bool     connected; /* the TCP connect succeeded */
	int      errnum;    /* the socket's errno when it failed, else 0 */
	int      tls_err;   /* https: TLS failed (see tlsc_describe()), else 0 */
	uint32_t tls_verify;
};

typedef void (*load_http_end_fn)(void *arg, const struct load_http_end *e);

/* Takes len bytes of the body of request tag (de-chunked), as they come;
 * returns false to give up on it (the request then ends as
 * ERROR_CLASS_PROTOCOL, with its status). */
typedef bool (*load_http_body_fn)(void *arg, int64_t tag, const char *data, size_t len);

/* Checks that url is one we can load (http://host[:port][/path], parsed by
 * common/url.h; no user@). Returns CHAOS_OK, CHAOS_EINVAL or
 * CHAOS_EUNSUPPORTED (https), with why. */
chaos_err load_http_check_url(const char *url, chaos_why *why);

/* A pool for url (http:// or https://; a user:password@ in it is sent as
 * Basic authorization) calling end for every request that ends; user_agent
 * names the caller in the User-Agent header ("chaos-agent-load"). Connects
 * nowhere yet. Returns CHAOS_OK,
 * CHAOS_EINVAL, CHAOS_ENOMEM, the epoll error, or for https the TLS
 * setup's (CHAOS_ENOENT: no CA certificates), with why. */
chaos_err load_http_new(const char *url, const char *user_agent, uint32_t concurrency,
                        uint32_t timeout_ms, load_http_end_fn end, void *arg,
                        struct load_http **out, chaos_why *why);

/* Closes every connection (requests in flight end uncounted, without a
 * call to end) and frees h. NULL is fine. */
void load_http_free(struct load_http *h);

/* Resolves the host (blocking). Until it succeeds, requests end at once as
 * ERROR_CLASS_DNS. Returns CHAOS_OK or CHAOS_ENOENT. */
chaos_err load_http_resolve(struct load_http *h);

/* Connects the next connections to sa instead (resolved by the caller,
 * within its own deadline). */
void load_http_set_addr(struct load_http *h, const struct sockaddr *sa, socklen_t len);

/* Hands every body to fn (NULL: bodies are skipped unread). */
void load_http_on_body(struct load_http *h, load_http_body_fn fn, void *arg);

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
