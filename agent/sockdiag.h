/* SPDX-License-Identifier: MIT */
/*
 * Aborting open TCP connections through NETLINK_SOCK_DIAG (SOCK_DESTROY,
 * what `ss -K` does), without shelling out.
 *
 * Why: a fault that refuses a local port stops new connections, but the
 * connections already open stay open on this side. Their clients learn of
 * the fault from the reset their next packet gets, while this side (a
 * database backend) waits for a client that has gone, until its TCP
 * keepalive ends it (2 h by default): runs of a refusing fault pile those
 * backends up until the server refuses everyone. Aborting them makes the
 * fault what it says, a reset on both ends.
 *
 * A socket is opened in the calling thread's network namespace and acts
 * there for its whole life (see agent/netns.h), so it may then be used from
 * any thread; one thread at a time. Aborting needs CAP_NET_ADMIN in that
 * namespace and a kernel built with CONFIG_INET_DIAG_DESTROY.
 *
 * Errors: CHAOS_OK or a CHAOS_E* (common/err.h) with why filled.
 */
#ifndef CHAOS_AGENT_SOCKDIAG_H
#define CHAOS_AGENT_SOCKDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Which connections: local port one of ports (host byte order, required)
 * and, when n_peers > 0, remote address in one of peers (IPv4 "a.b.c.d" or
 * "a.b.c.d/n"; an IPv4-mapped IPv6 remote counts as IPv4, other IPv6
 * remotes match only when there are no peers). Listening and TIME_WAIT
 * sockets never match, nor do connections from loopback or from the
 * namespace's own addresses (they go through `lo`, which the rules leave
 * alone). */
struct sockdiag_filter {
	const uint16_t    *ports;
	size_t             n_ports;
	const char *const *peers;
	size_t             n_peers;
};

struct sockdiag;

/* Opens a NETLINK_SOCK_DIAG socket in the calling thread's namespace and
 * notes the namespace's addresses. Errors: CHAOS_ENOMEM, CHAOS_ESYS. */
chaos_err sockdiag_open(struct sockdiag **out, chaos_why *why);

/* Closes; NULL is fine. */
void sockdiag_close(struct sockdiag *sd);

/*
 * Aborts the TCP connections (IPv4 and IPv6 sockets) that f matches: the
 * kernel sends each peer a reset, and the local owner's next call fails
 * with ECONNABORTED. *aborted counts the sockets aborted; one that closed
 * meanwhile is not an error. Gives up at deadline_mono (clk_mono_us() time;
 * 0: none). Errors: CHAOS_EINVAL (no ports, a peer that is not an IPv4
 * CIDR), CHAOS_EUNSUPPORTED (the kernel cannot destroy sockets), CHAOS_EPERM
 * (no CAP_NET_ADMIN), CHAOS_ETIMEDOUT, CHAOS_ENOMEM, CHAOS_ESYS; *aborted
 * then counts what was done before.
 */
chaos_err sockdiag_abort_tcp(struct sockdiag *sd, const struct sockdiag_filter *f,
                             int64_t deadline_mono, unsigned *aborted, chaos_why *why);

/* Whether a socket with local port lport (host order), remote address
 * raddr (AF_INET: 4 bytes, AF_INET6: 16, network order) and TCP state
 * (TCP_ESTABLISHED...) matches f: the test sockdiag_abort_tcp applies to
 * each socket, for unit tests; of the namespace's own addresses only
 * loopback is known here. A peer that does not parse matches nothing. */
bool sockdiag_match(const struct sockdiag_filter *f, uint16_t lport, int family,
                    const uint8_t *raddr, uint8_t state);

#endif
