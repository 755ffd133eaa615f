/* SPDX-License-Identifier: MIT */
/*
 * Per-endpoint counters: messages received, dropped (malformed, oversize,
 * invalid) with the last reason, and pipes closed. Malformed input from the
 * network is dropped, counted and logged; the process lives on.
 */
#ifndef CHAOS_CONTROLLER_EPSTATS_H
#define CHAOS_CONTROLLER_EPSTATS_H

#include "common/err.h"
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "proto/chaos.pb-c.h"

struct epstats {
	const char *name;
	nng_mtx    *mtx;
	uint64_t    received;
	uint64_t    dropped;
	uint64_t    pipes_closed;
	char        last_reason[160];
};

chaos_err epstats_init(struct epstats *s, const char *name);
void      epstats_fini(struct epstats *s);

void epstats_received(struct epstats *s);

/* Counts a drop; logs the first and then every 100th so a flood of garbage
 * cannot flood the log. */
void epstats_dropped(struct epstats *s, const char *reason);

/* Counts one closed connection. */
void epstats_pipe_closed(struct epstats *s);

/* Counts closed pipes of sock (registers a pipe-event callback). */
void epstats_watch_pipes(struct epstats *s, nng_socket sock);

/* Fills m (strings point into s->name and a copy held in m's buffer). */
void epstats_fill(struct epstats *s, Chaos__V1__EndpointStats *m, char *reason_buf,
                  size_t reason_len);

#endif
