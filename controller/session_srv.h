/* SPDX-License-Identifier: MIT */
/*
 * The controller's end of the agent sessions: a REP listener with one
 * context per parked poll. A poll is answered at once when commands wait for
 * the agent, else parked for one heartbeat and answered with a keepalive, so
 * every agent polls about once per heartbeat and a missing poll means a lost
 * agent.
 *
 * Parked polls are indexed by agent id (a queued command finds its agent's
 * poll at once) and queued in the order they fall due; one keepalive thread
 * answers the due ones every few milliseconds, so an idle agent costs no
 * timer of its own. A kick (a command queued, registry_set_kick) answers the
 * poll on the kicking thread. Contexts are made as agents arrive, in chunks,
 * up to max_agents plus spares: an empty controller allowed 65536 agents does
 * not hold 65536 contexts.
 */
#ifndef CHAOS_CONTROLLER_SESSION_SRV_H
#define CHAOS_CONTROLLER_SESSION_SRV_H

#include "common/err.h"
#include <stddef.h>

#include "common/transport.h"
#include "controller/epstats.h"
#include "controller/identity_check.h"
#include "controller/registry.h"

struct session_srv;

/* Listens on url with room for max_agents parked polls (plus spares). With
 * idc (mutual TLS), each connection must prove its identity before its polls
 * are taken (controller/identity_check.h); NULL takes identities as
 * declared. reg, stats and idc must outlive the server. Returns CHAOS_OK or
 * CHAOS_E* with *why. */
chaos_err session_srv_start(const char *url, const struct transport_tls *tls,
                            struct registry *reg, struct epstats *stats,
                            struct idcheck *idc, size_t max_agents,
                            struct session_srv **out, chaos_why *why);

/* Closes the socket, waits for callbacks to finish, frees everything. */
void session_srv_stop(struct session_srv *s);

#endif
