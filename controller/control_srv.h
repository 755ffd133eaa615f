/* SPDX-License-Identifier: MIT */
/*
 * The control API that chaosctl speaks: REP on ipc:// (owner-only socket
 * file) or tls+tcp://. One thread answers requests in turn.
 */
#ifndef CHAOS_CONTROLLER_CONTROL_SRV_H
#define CHAOS_CONTROLLER_CONTROL_SRV_H

#include "common/transport.h"
#include "controller/epstats.h"
#include "controller/registry.h"

/* The endpoints whose counters the stats request reports. */
struct control_endpoints {
	struct epstats *session;
	struct epstats *events;
	struct epstats *control;
};

struct control_srv;

int  control_srv_start(const char *url, const struct transport_tls *tls, struct registry *reg,
                       const struct control_endpoints *eps, struct control_srv **out,
                       const char **why);
void control_srv_stop(struct control_srv *s);

#endif
