/* SPDX-License-Identifier: MIT */
/*
 * The agent's session with the controller: a REQ socket that long-polls the
 * controller's REP. Each Poll carries the acks of the previous commands and
 * the previous exchange's four timestamps (clock offset); each Reply carries
 * new commands or is a keepalive within the heartbeat period, and names the
 * controller instance and the faults it wants kept (leases). The loop is the
 * agent's event loop: it runs on the calling thread, hands commands to the
 * handler and wakes the handler's timers (leases) even when the controller
 * is gone.
 */
#ifndef CHAOS_AGENT_SESSION_H
#define CHAOS_AGENT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/events.h"
#include "agent/identity.h"
#include "common/transport.h"
#include "proto/chaos.pb-c.h"
#include "common/err.h"

#define SESSION_MAX_ACTIVE 64

#define SESSION_MAX_COMMANDS 256 /* commands taken from one reply */

/* What the session calls back into; all on the session thread. */
struct session_handler {
	/* Applies cmd (idempotently by command_id) and fills ack->status,
	 * ack->error (static or handler-owned text) and applied time. */
	void (*command)(void *arg, const Chaos__V1__Command *cmd, Chaos__V1__Ack *ack);
	/* Instead of command when set: all n commands of one reply at once
	 * (so that independent ones may run side by side), filling acks[i]
	 * for cmds[i] as command does. The reply is freed after the call: the
	 * handler may take a sub-message out of a command (leaving NULL). */
	void (*commands)(void *arg, Chaos__V1__Command *const *cmds, size_t n,
	                 Chaos__V1__Ack *const *acks);
	/* Optional: a new connection to the controller was made (its first
	 * poll carried the identity and a Hello went out). */
	void (*connected)(void *arg);
	/* After the commands of each valid reply: the controller instance that
	 * sent it (0: it named none) and the faults it wants kept (leases). */
	void (*leases)(void *arg, int64_t now_mono_us, uint64_t instance,
	               char *const *live, size_t n_live);
	/* Runs timers (expired leases). Returns the next monotonic deadline
	 * (us) the loop must wake for, or 0 for none. */
	int64_t (*tick)(void *arg, int64_t now_mono_us);
	/* Writes up to max ids of faults in force; returns the count. */
	size_t (*active)(void *arg, const char **ids, size_t max);
	void *arg;
};

struct session;

struct exempt;

/* Opens the REQ socket and dials url in the background. Each connection's
 * peer address goes to ex (NULL: none). id, ev and ex must outlive the
 * session. */
chaos_err session_open(const char *url, const struct transport_tls *tls,
                       const struct identity *id, struct events *ev, struct exempt *ex,
                       const struct session_handler *h, struct session **out,
                       chaos_why *why);

/* Runs the poll loop until session_stop(). Returns CHAOS_OK. */
chaos_err session_run(struct session *s);

/* Makes session_run() return soon; safe from another thread. */
void session_stop(struct session *s);

/* Closes the socket and frees s (after session_run() returned). */
void session_close(struct session *s);

/* Last heartbeat period the controller announced, in ms. */
uint32_t session_heartbeat_ms(const struct session *s);

/* Agent clock - controller clock in us, from the best recent exchange; 0
 * before the first reply. Session thread only. */
int64_t session_clock_offset_us(const struct session *s);

/* Counters for logs and tests. */
struct session_stats {
	uint64_t polls;
	uint64_t replies;
	uint64_t timeouts;
	uint64_t bad_replies;
	uint64_t reconnects;
};
void session_get_stats(const struct session *s, struct session_stats *st);

#endif
