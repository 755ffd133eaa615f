/* SPDX-License-Identifier: MIT */
/*
 * The controller's PULL end of the agents' event streams (hello, probe
 * samples, fault state changes). One receive at a time, completed on an
 * NNG thread, validates each event in order and hands it to the registry
 * and, when set, to a sink.
 */
#ifndef CHAOS_CONTROLLER_EVENTS_SRV_H
#define CHAOS_CONTROLLER_EVENTS_SRV_H

#include "common/err.h"
#include "common/transport.h"
#include "controller/epstats.h"
#include "controller/identity_check.h"
#include "controller/registry.h"

/* Receives every valid event with its arrival time on the controller clock.
 * Runs on an NNG thread, one event at a time; must not block. */
typedef void (*events_sink_fn)(void *arg, const Chaos__V1__Event *e, int64_t t_ctl_us);

struct events_srv;

/* Listens on url. With idc (mutual TLS), a Hello registers or refreshes an
 * agent only when a session connection proved that identity
 * (idcheck_hello_backed()); others are dropped and counted, so a
 * certificate cannot name one pod and register another here. reg, stats
 * and idc must outlive the server. */
chaos_err events_srv_start(const char *url, const struct transport_tls *tls,
                           struct registry *reg, struct epstats *stats,
                           struct idcheck *idc, events_sink_fn sink, void *sink_arg,
                           struct events_srv **out, chaos_why *why);
void      events_srv_stop(struct events_srv *s);

#endif
