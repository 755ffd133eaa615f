/* SPDX-License-Identifier: MIT */
/*
 * A thread that does deadline work on time, whatever the thread that owns
 * the work is busy with. fn(arg, now) does what is due and returns its
 * next deadline (clk_mono_us() time; 0: none); the thread sleeps until
 * then, TICKER_IDLE_MS at most, or until kicked (a sooner deadline may
 * have appeared).
 *
 * The agent reverts its faults, and stops its probes and loads, at the
 * end of their leases on one
 * (agent/agent.c): its session thread applies a reply's commands one after
 * another, and some take seconds (pg_terminate gives PostgreSQL 3 s), so a
 * check made only between two polls could revert another fault seconds
 * after its lease ran out.
 *
 * Thread-safe: kick from any thread.
 */
#ifndef CHAOS_AGENT_TICKER_H
#define CHAOS_AGENT_TICKER_H

#include <stdint.h>

#include "common/err.h"

#define TICKER_IDLE_MS 1000

struct ticker;

typedef int64_t (*ticker_fn)(void *arg, int64_t now_mono_us);

/* Starts the thread, which runs fn once at once. fn and arg must stay
 * valid until ticker_free(). Returns CHAOS_OK, CHAOS_ENOMEM, or CHAOS_ESYS
 * with why. */
chaos_err ticker_new(ticker_fn fn, void *arg, struct ticker **out, chaos_why *why);

/* Makes the thread run fn again now (after the run under way, if any).
 * NULL ok. */
void ticker_kick(struct ticker *t);

/* Stops and joins the thread: fn is not running when it returns, and
 * never runs again. Frees t; NULL ok. */
void ticker_free(struct ticker *t);

#endif
