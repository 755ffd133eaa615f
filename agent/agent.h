/* SPDX-License-Identifier: MIT */
/*
 * The agent's state, owned by the session thread: which commands were
 * applied (so a repeated command is acked again, not applied twice), the
 * faults in force, the probes and loads running, and their leases
 * (agent/lease.h): a probe or load stops, as a fault is reverted, when no
 * reply from the controller instance that started it came within its
 * lease or a reply came from another instance. Plugs into the session as
 * its handler.
 *
 * The faults' leases and hard ends are also watched by a thread of the
 * agent's own (agent/ticker.h), so that a fault is reverted when its time
 * runs out even while the session thread is busy: applying another fault
 * can take seconds (pg_terminate), and a send to the controller up to one.
 */
#ifndef CHAOS_AGENT_AGENT_H
#define CHAOS_AGENT_AGENT_H

#include <stdbool.h>

#include "agent/events.h"
#include "agent/session.h"
#include "common/err.h"

struct agent;
struct exempt;

/* ev and ex must outlive the agent. ex's addresses (the controller's) are
 * exempt from every fault (NULL: none). node_mode: the agent also finds the pods' network
 * namespaces on its node (agent/node.h), reports them as targets and acts
 * in the one a command names. Returns CHAOS_OK, CHAOS_ENOMEM, or (node
 * mode) the error of starting discovery with why. */
chaos_err agent_new(struct events *ev, struct exempt *ex, bool node_mode,
                    struct agent **out, chaos_why *why);

/* Reverts everything still in force, stops probes, then frees a; NULL ok. */
void agent_free(struct agent *a);

/* The session handler that routes commands and timers to a. The session is
 * remembered for its clock offset. */
void agent_session_handler(struct agent *a, struct session_handler *h);
void agent_set_session(struct agent *a, struct session *s);

#endif
