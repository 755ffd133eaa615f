/* SPDX-License-Identifier: MIT */
/*
 * The agent's event stream: a PUSH socket dialled to the controller's PULL.
 * Sends never block: with no controller or a full queue an event is dropped
 * and counted, because a stalled probe would measure the agent, not the
 * target. Sequence numbers make every drop visible on the controller.
 * Thread-safe: probes on other threads may send.
 */
#ifndef CHAOS_AGENT_EVENTS_H
#define CHAOS_AGENT_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/transport.h"
#include "proto/chaos.pb-c.h"
#include "common/err.h"

#define EVENTS_MAX_HELD 512 /* two per command of a full reply */

struct events;

struct exempt;

/* Dials url in the background. Each connection's peer address goes to ex
 * (NULL: none), which must outlive ev, as tls must (events_redial_if_down
 * dials with it again). Returns CHAOS_OK or CHAOS_E* with
 * *why. */
chaos_err events_open(const char *url, const char *agent_id,
                      const struct transport_tls *tls, struct exempt *ex,
                      struct events **out, chaos_why *why);

void events_close(struct events *ev);

/* Stamps ev (agent_id, seq, time, version) and sends it without blocking.
 * The body oneof must already be set. Returns CHAOS_OK, or CHAOS_ETIMEDOUT
 * when it was dropped (no peer or queue full). */
chaos_err events_send(struct events *ev, Chaos__V1__Event *e);

/* While held (holds nest, each released once), events are stamped and
 * packed as usual but kept, up to EVENTS_MAX_HELD (past that they go out
 * at once); the last release sends them in order. A node agent holds them
 * while a reply's commands run: each send wakes NNG's threads, and on a
 * small node those wake-ups take the CPU the next target's apply needs. */
void events_hold(struct events *ev);
void events_release(struct events *ev);

/* When no connection to the controller's events endpoint is up, closes the
 * dialer and dials again now, and returns true; false when one is up. The
 * session calls it once the controller took its identity: both channels
 * back off on their own (100 ms doubling to 2 s) and the events one may be
 * in a long wait when the session gets through, and probe samples sent
 * meanwhile reach the controller only when it connects. tls (events_open's)
 * must still be valid. */
bool events_redial_if_down(struct events *ev);

/* Events dropped so far. */
uint64_t events_dropped(const struct events *ev);

#endif
