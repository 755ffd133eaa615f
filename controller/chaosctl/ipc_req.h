/* SPDX-License-Identifier: MIT */
/*
 * chaosctl's client for the local control socket (ipc://PATH): one REQ/REP
 * exchange in NNG's wire format (common/spframe.h) over a plain Unix socket,
 * every step bounded by a deadline.
 *
 * It stands in for an NNG REQ socket there because NNG 1.5.2's nng_dial()
 * over ipc can block for good, its poller thread spinning, when the server
 * closes the connection during the SP handshake (seen in CI: the controller
 * closed one slow control connection while 1,000 agents kept both cores busy,
 * and chaosctl never returned). Here no step waits past its deadline, and a
 * socket nobody listens on is known at once from connect(). tcp:// and
 * tls+tcp:// control URLs still go through NNG (client.c).
 */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_IPC_REQ_H
#define CHAOS_CONTROLLER_CHAOSCTL_IPC_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Connects to path and exchanges the SP hellos within timeout_ms. On
 * CHAOS_OK *fd is the caller's (close it). CHAOS_ECONN: nothing listens
 * there, or the peer left; CHAOS_EPERM: the socket is not ours to use;
 * CHAOS_ETIMEDOUT: no hello in time; CHAOS_EPROTO: the peer is not an SP
 * REP server. why says which. */
chaos_err ipcreq_open(const char *path, int timeout_ms, int *fd, chaos_why *why);

/* Sends one request of len bytes and waits at most timeout_ms for its
 * answer of at most max_resp bytes. On CHAOS_OK *resp (malloc'd, the
 * caller's) holds *resp_len bytes. CHAOS_ETIMEDOUT, CHAOS_ECONN (the peer
 * left), CHAOS_EPROTO (a frame not for this request), CHAOS_ETOOBIG. */
chaos_err ipcreq_roundtrip(int fd, const void *req, size_t len, int timeout_ms,
                           size_t max_resp, uint8_t **resp, size_t *resp_len,
                           chaos_why *why);

#endif
