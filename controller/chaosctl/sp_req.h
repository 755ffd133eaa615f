/* SPDX-License-Identifier: MIT */
/*
 * chaosctl's control client: one REQ/REP exchange in NNG's wire format
 * (common/spframe.h) over a plain stream socket, Unix (ipc://PATH) or TCP
 * (tcp://HOST:PORT), every step bounded by a deadline; and the TCP connect
 * that tls+tcp:// makes first (client.c), so that its reasons are as clear.
 *
 * It stands in for an NNG REQ socket because NNG 1.5.2's nng_dial() is not
 * bounded by any timeout of ours: over ipc it can block for good, its poller
 * thread spinning, when the server closes the connection during the SP
 * handshake (seen in CI: the controller closed one slow control connection
 * while 1,000 agents kept both cores busy, and chaosctl never returned); over
 * tcp it waits 10 s for a peer that accepts and says nothing, whatever
 * --timeout-ms says. Here no step waits past its deadline, and an address
 * nobody listens on is known at once from connect(). tls+tcp:// still goes
 * through NNG (client.c): TLS is NNG's.
 */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_SP_REQ_H
#define CHAOS_CONTROLLER_CHAOSCTL_SP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* One open connection: the socket and how its frames are written. */
struct spreq_conn {
	int  fd; /* -1: none */
	bool tcp;
};

/* Connects to path and exchanges the SP hellos within timeout_ms. On
 * CHAOS_OK *fd is the caller's (close it). CHAOS_ECONN: nothing listens
 * there, or the peer left; CHAOS_EPERM: the socket is not ours to use;
 * CHAOS_ETIMEDOUT: no hello in time; CHAOS_EPROTO: the peer is not an SP
 * REP server. why says which. On CHAOS_OK *c is open: spreq_close() it. */
chaos_err spreq_open_ipc(const char *path, int timeout_ms, struct spreq_conn *c,
                         chaos_why *why);

/* spreq_open_ipc() over TCP to host (a name or an address) and port, the
 * connect tried on each address the resolver gives (name resolution itself
 * is the system resolver's, not bounded here). CHAOS_ECONN: cannot resolve,
 * nothing listens, no route; CHAOS_ETIMEDOUT: no connection or no hello in
 * time. */
chaos_err spreq_open_tcp(const char *host, uint16_t port, int timeout_ms,
                         struct spreq_conn *c, chaos_why *why);

/* Only the TCP connect of spreq_open_tcp(), with its reasons: on CHAOS_OK
 * *fd is a connected non-blocking socket, the caller's. */
chaos_err spreq_connect_tcp(const char *host, uint16_t port, int timeout_ms, int *fd,
                            chaos_why *why);

/* Sends one request of len bytes over c and waits at most timeout_ms for
 * its answer of at most max_resp bytes. On CHAOS_OK *resp (malloc'd, the
 * caller's) holds *resp_len bytes. CHAOS_ETIMEDOUT, CHAOS_ECONN (the peer
 * left), CHAOS_EPROTO (a frame not for this request), CHAOS_ETOOBIG. */
chaos_err spreq_roundtrip(const struct spreq_conn *c, const void *req, size_t len,
                          int timeout_ms, size_t max_resp, uint8_t **resp,
                          size_t *resp_len, chaos_why *why);

/* The second half of spreq_roundtrip(): reads the answer to the request
 * whose id (top bit set) was sent on c, within timeout_ms. Results and
 * errors as spreq_roundtrip's. Its own entry so that the fuzz target
 * (tests/fuzz/fuzz_spframe.c) can feed it any bytes as the answer. */
chaos_err spreq_recv_answer(const struct spreq_conn *c, uint32_t id, int timeout_ms,
                            size_t max_resp, uint8_t **resp, size_t *resp_len,
                            chaos_why *why);

/* Closes c (again is harmless). */
void spreq_close(struct spreq_conn *c);

#endif
