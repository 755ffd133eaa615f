/* SPDX-License-Identifier: MIT */
/*
 * Prometheus /metrics (text exposition format 0.0.4) for the controller,
 * served by NNG's HTTP server on --metrics ADDR. Agent counts, active faults
 * and endpoint counters are read from the registry and the epstats at
 * scrape time; probe samples, finished runs and the last MTTR of each
 * scenario are counted here through the metrics_on_* hooks, which are
 * cheap, thread-safe and work whether or not the server runs.
 */
#ifndef CHAOS_CONTROLLER_METRICS_H
#define CHAOS_CONTROLLER_METRICS_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"

#include "controller/epstats.h"
#include "controller/registry.h"
#include "proto/chaos.pb-c.h"

struct metrics;

/* Checks an --metrics address: "HOST:PORT" (IPv4, name, or [IPv6]) with a
 * port in 1..65535. Returns CHAOS_OK or CHAOS_EINVAL with *why set. */
chaos_err metrics_check_addr(const char *addr, chaos_why *why);

/* Serves GET /metrics on http://addr. reg and eps (n of them) must outlive
 * the server. On error *why says what failed. */
chaos_err metrics_start(const char *addr, struct registry *reg,
                        struct epstats *const *eps, size_t n, struct metrics **out,
                        chaos_why *why);
/* Stops serving and frees m; NULL is fine. */
void metrics_stop(struct metrics *m);

/* The exposition text (malloc'd) from reg and eps (either may be NULL/0)
 * and the counters. NULL when out of memory. */
char *metrics_render(struct registry *reg, struct epstats *const *eps, size_t n);

/* Hooks. Every event the controller accepted (samples are counted). */
void metrics_on_event(const Chaos__V1__Event *e);
/* A session connection was refused because its agent did not prove the
 * identity it claims (chaos_agents_refused_total{reason="identity"}). */
void metrics_on_identity_refused(void);
/* A run ended in state (Chaos__V1__RunState); result (may be NULL) gives
 * the scenario's MTTR when measured. */
void metrics_on_run_end(const char *scenario, int state, const json_t *result);

#endif
