/* SPDX-License-Identifier: MIT */
/*
 * The local control endpoint (ipc://PATH): a Unix socket that speaks NNG's
 * own wire protocol (SP over IPC, the REP side of REQ/REP), served by this
 * module instead of NNG. NNG 1.5.2's ipc listener stops accepting for good
 * after one client disconnects during the SP handshake (nng issue 1518,
 * fixed after 1.5.2, which Debian 12 ships): one `chaosctl` killed
 * mid-connect, or any local process that connects and closes, used to wedge
 * the control socket until the controller restarted. Here no client can
 * hold up another: every socket is non-blocking, each connection has
 * deadlines, and a bad one is dropped, counted and logged. The bytes are
 * NNG's (common/spframe.h), so an NNG REQ socket is served as before;
 * chaosctl's own client (chaosctl/sp_req.c) speaks them without NNG too.
 *
 * One thread runs the poll loop and calls the handler for each request.
 */
#ifndef CHAOS_CONTROLLER_CONTROL_IPC_H
#define CHAOS_CONTROLLER_CONTROL_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/epstats.h"

/* Answers one request body: *resp (malloc'd, handed to the server) and
 * *resp_len, or *resp NULL to send nothing back. */
typedef void (*ctl_ipc_handler)(void *arg, const void *req, size_t len, uint8_t **resp,
                                size_t *resp_len);

struct ctl_ipc;

/* Listens on path (a stale socket file is replaced; the file is owner-only)
 * and serves requests up to max_msg bytes. CHAOS_EBUSY when another process
 * serves path; why says which step failed. */
chaos_err ctl_ipc_start(const char *path, size_t max_msg, struct epstats *stats,
                        ctl_ipc_handler handler, void *arg, struct ctl_ipc **out,
                        chaos_why *why);

/* Stops the thread, closes every connection, removes the socket file. */
void ctl_ipc_stop(struct ctl_ipc *s);

#endif
