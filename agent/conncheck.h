/* SPDX-License-Identifier: MIT */
/*
 * Connectivity checks: one round of TCP connects from this agent to a list
 * of "ip:port" targets, all in parallel, answered by one ConnCheckResult
 * event. The controller uses a round per agent to map which pairs can talk
 * (before, during and after a partition).
 *
 * Each check runs on its own detached thread, at most CONNCHECK_MAX_RUNNING
 * at once in the process. Thread-safe.
 */
#ifndef CHAOS_AGENT_CONNCHECK_H
#define CHAOS_AGENT_CONNCHECK_H

#include "agent/events.h"
#include "common/err.h"
#include "common/limits.h"
#include "proto/chaos.pb-c.h"

#define CONNCHECK_MAX_RUNNING 8

/* Copies spec and starts the round; returns at once. ev must stay open until
 * conncheck_drain() has returned. A target that is not "a.b.c.d:port" is
 * reported as failed (ERROR_CLASS_OTHER), not refused here.
 * Returns CHAOS_OK; CHAOS_EINVAL (bad check_id, no targets or more than
 * LIMIT_CONNCHECK_MAX_TARGETS, timeout_ms not 1..LIMIT_TIMEOUT_MAX_MS),
 * CHAOS_EBUSY (too many rounds running), CHAOS_ECLOSED (during
 * conncheck_drain()), CHAOS_ENOMEM or CHAOS_ESYS; why says why. */
chaos_err conncheck_start(struct events *ev, const Chaos__V1__ConnCheckSpec *spec,
                          chaos_why *why);

/* Abandons the rounds in flight (they send nothing) and waits until every
 * check thread has let go of its events handle: call it before
 * events_close(). Returns within a few ms. */
void conncheck_drain(void);

#endif
