/* SPDX-License-Identifier: MIT */
/*
 * The controller's side of the event stream, for tests and benches: a PULL
 * socket on a private ipc:// path and an agent events handle dialled to it,
 * so what a test asserts is what the controller would decode.
 */
#ifndef CHAOS_TESTS_EVENT_SINK_H
#define CHAOS_TESTS_EVENT_SINK_H

#include <nng/nng.h>

#include "agent/events.h"
#include "common/err.h"
#include "proto/chaos.pb-c.h"

struct event_sink {
	nng_socket     pull;
	struct events *ev; /* hand this to the code under test */
	char           path[96];
};

/* Listens on ipc:///tmp/<name>_<pid>.sock, opens s->ev dialled to it and
 * waits until an event gets through (events sent before are dropped).
 * Returns CHAOS_OK, or a failure with why. */
chaos_err event_sink_open(struct event_sink *s, const char *name, chaos_why *why);

/* Closes both ends and removes the socket file. */
void event_sink_close(struct event_sink *s);

/* The next event within timeout_ms: CHAOS_OK with *out (wire_free() it),
 * CHAOS_ETIMEDOUT, or CHAOS_EPROTO with why when the bytes did not decode. */
chaos_err event_sink_recv(struct event_sink *s, int timeout_ms, Chaos__V1__Event **out,
                          chaos_why *why);

#endif
