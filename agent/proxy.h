/* SPDX-License-Identifier: MIT */
/*
 * The latency fault's delaying TCP proxy.
 *
 * nftables redirects the connections to delay into the proxy's listening
 * port (nat `redirect`); for each one the proxy reads the original
 * destination (getsockopt SO_ORIGINAL_DST), connects there itself with
 * SO_MARK set to the fault's skip mark (so its own connection is not
 * redirected again) and relays both ways. Every chunk read is stamped and
 * written out later, in order: half the delay later on the way up and half
 * on the way down (each +- half the jitter, uniform), so a round trip (a
 * query and its answer) takes delay_ms +- jitter_ms longer, which is what
 * "the database answers 500 ms slower" means to its clients. The TCP
 * handshake itself is not delayed: a client sees the latency on every
 * exchange of data, which is where a database client or pool notices it.
 *
 * One thread per proxy runs one epoll loop for all its connections, with a
 * timerfd for the next release time; nothing blocks in it. Bounded: at most
 * max_conns connections (more are reset at once) and max_buffered bytes per
 * direction of each (a full queue stops reading that side: TCP backpressure).
 *
 * Threads and namespaces: proxy_start() opens the listener in the calling
 * thread's network namespace, and its thread, created there, inherits that
 * namespace for the upstream connections. The functions are for one owner
 * thread (the agent's loop); only proxy_get_stats() may be called from any.
 */
#ifndef CHAOS_AGENT_PROXY_H
#define CHAOS_AGENT_PROXY_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"

#define PROXY_DEFAULT_MAX_CONNS 1024u
#define PROXY_DEFAULT_BUFFER (1024u * 1024u) /* bytes per direction */

struct proxy_config {
	uint32_t       delay_ms;     /* added to a round trip; <= LIMIT_DELAY_MAX_MS */
	uint32_t       jitter_ms;    /* <= delay_ms; half of it +- on each direction */
	uint32_t       mark;         /* SO_MARK of upstream sockets; 0 = none */
	uint32_t       max_conns;    /* 0 = PROXY_DEFAULT_MAX_CONNS */
	uint32_t       max_buffered; /* per direction; 0 = PROXY_DEFAULT_BUFFER */
	struct in_addr bind_addr;    /* INADDR_ANY (zero) as nat redirect needs */
	uint16_t       port;         /* 0 = ephemeral */
	/* NULL: each connection goes to its SO_ORIGINAL_DST (redirected
	 * connections only; others are reset). Set: every connection goes
	 * there (tests and benches without nftables). Copied. */
	const struct sockaddr_in *upstream;
};

/* Counters since start. */
struct proxy_stats {
	uint64_t accepted;        /* relayed (an upstream connect was started) */
	uint64_t rejected;        /* reset at once: over max_conns, not redirected */
	uint64_t upstream_failed; /* upstream connect failed: client reset */
	uint64_t active;          /* connections open now */
	uint64_t bytes_up;        /* client -> upstream, written */
	uint64_t bytes_down;      /* upstream -> client, written */
};

struct proxy;

/* Listens and starts the proxy's thread. On success *out owns the proxy
 * (proxy_stop frees it). Errors: CHAOS_EINVAL (delay or jitter out of
 * range), CHAOS_ENOMEM, CHAOS_EPERM (SO_MARK needs CAP_NET_ADMIN: checked
 * here, not per connection), CHAOS_ESYS; why says why. */
chaos_err proxy_start(const struct proxy_config *cfg, struct proxy **out, chaos_why *why);

/* The port the proxy listens on (host byte order). */
uint16_t proxy_port(const struct proxy *p);

/* Stops the thread, resets every relayed connection (both sides get a TCP
 * RST), closes every socket and frees p. Returns once all is gone. NULL ok. */
void proxy_stop(struct proxy *p);

/* Reads the counters; any thread. */
void proxy_get_stats(const struct proxy *p, struct proxy_stats *out);

#endif
