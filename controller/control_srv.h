/* SPDX-License-Identifier: MIT */
/*
 * The control API that chaosctl speaks: REQ/REP on ipc:// (an owner-only
 * socket file, served by control_ipc.c) or on tcp:// / tls+tcp:// (NNG).
 * One thread answers requests in turn; none of them waits on a scenario
 * (plans run on the run's own thread).
 */
#ifndef CHAOS_CONTROLLER_CONTROL_SRV_H
#define CHAOS_CONTROLLER_CONTROL_SRV_H

#include "common/err.h"
#include "common/transport.h"
#include "controller/epstats.h"
#include "controller/registry.h"
#include "controller/run.h"

/* The endpoints whose counters the stats request reports. */
struct control_endpoints {
	struct epstats *session;
	struct epstats *events;
	struct epstats *control;
};

struct control_srv;

/* runs may be NULL (no scenarios: run requests are answered with an error). */
chaos_err control_srv_start(const char *url, const struct transport_tls *tls,
                            struct registry *reg, struct run_mgr *runs,
                            const struct control_endpoints *eps, struct control_srv **out,
                            chaos_why *why);
void      control_srv_stop(struct control_srv *s);

#endif
