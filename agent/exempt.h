/* SPDX-License-Identifier: MIT */
/*
 * The control channel's exemption: the addresses no fault may cut, because
 * the session that renews the leases and the event stream run over them.
 * It is the union of
 *   - the controller's host name resolved (IPv4 and IPv6), again at every
 *     new connection, on a thread of its own so the session never waits on
 *     DNS, and
 *   - the actual peer address of each channel's latest connection (NNG's
 *     NNG_OPT_REMADDR, read when the pipe is added: it is garbage once the
 *     pipe is gone), which is what the packets carry when the name led
 *     elsewhere (a Service address the connection was balanced away from,
 *     a name that did not resolve at start).
 * A channel keeps its last peer after the connection drops: the reconnect
 * to the same controller must get through the very fault it is exempt from.
 * Every change of the union bumps a generation; the fault engines compare
 * it and re-commit at once (agent/fault.c).
 *
 * Thread-safe: pipe callbacks (NNG threads), the resolver thread and the
 * fault engines' readers all take one lock.
 */
#ifndef CHAOS_AGENT_EXEMPT_H
#define CHAOS_AGENT_EXEMPT_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "common/err.h"

#define EXEMPT_MAX 16      /* addresses in the union */
#define EXEMPT_CIDR_LEN 56 /* "a.b.c.d/32" or "<IPv6>/128" and a NUL */

/* The connections whose peers are exempt. */
enum exempt_channel { EXEMPT_SESSION, EXEMPT_EVENTS, EXEMPT_CHANNELS };

/* Resolves host into out[0..cap) as host CIDRs ("10.0.0.1/32",
 * "fd00::1/128"); returns how many. The default is getaddrinfo (AF_UNSPEC);
 * tests pass their own. */
typedef size_t (*exempt_resolve_fn)(void *arg, const char               *host,
                                    char (*out)[EXEMPT_CIDR_LEN], size_t cap);

struct exempt;

/* A new exemption for the controller's host (NULL or "": none, e.g. an
 * ipc:// controller), resolved once before returning (a failure is logged:
 * the peers still count). resolve NULL: getaddrinfo. Starts the resolver
 * thread. Returns CHAOS_OK, CHAOS_ENOMEM or CHAOS_ESYS. */
chaos_err exempt_new(const char *host, exempt_resolve_fn resolve, void *arg,
                     struct exempt **out);

/* Stops the resolver thread and frees x (after the sockets whose pipes it
 * notes are closed); NULL ok. */
void exempt_free(struct exempt *x);

/* A pipe was added to channel ch's socket: records its peer address
 * (NNG_OPT_REMADDR; an ipc:// pipe has none) and asks for the name to be
 * resolved again. For the sockets' ADD_POST callbacks (NNG threads: it
 * takes the lock briefly and never waits on DNS). x NULL: no-op. */
void exempt_note_pipe(struct exempt *x, enum exempt_channel ch, nng_pipe p);

/* Channel ch's peer is now addr (an IPv4 or IPv6 literal, no prefix); an
 * address that does not parse is ignored. What exempt_note_pipe()
 * does with the pipe's address; exposed for tests. */
void exempt_note_peer(struct exempt *x, enum exempt_channel ch, const char *addr);

/* Asks the resolver thread to resolve the host again; returns at once. */
void exempt_renew(struct exempt *x);

/* Resolves the host now, on the calling thread (what the resolver thread
 * does on exempt_renew). */
void exempt_resolve_now(struct exempt *x);

/* The generation of the union: it changes whenever the union does. */
uint64_t exempt_generation(struct exempt *x);

/* Copies the union into out[0..cap), peers first, without duplicates;
 * returns the count and sets *gen (NULL ok) to its generation. */
size_t exempt_snapshot(struct exempt *x, char (*out)[EXEMPT_CIDR_LEN], size_t cap,
                       uint64_t *gen);

#endif
