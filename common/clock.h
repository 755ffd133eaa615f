/* SPDX-License-Identifier: MIT */
/*
 * Clocks and the NTP-style offset arithmetic of the session exchange.
 *
 * All wall times are int64 microseconds since the Unix epoch (CLOCK_REALTIME).
 * Intervals that must not jump use clk_mono_us() (CLOCK_MONOTONIC).
 */
#ifndef CHAOS_COMMON_CLOCK_H
#define CHAOS_COMMON_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLK_ISO_LEN 32 /* "2026-11-26T20:35:17.123Z" + NUL, with room */

/* Wall clock, microseconds since the epoch. */
int64_t clk_now_us(void);

/* Monotonic clock, microseconds since an arbitrary start. */
int64_t clk_mono_us(void);

/* Formats us as ISO 8601 UTC with milliseconds ("...T20:35:17.123Z") into buf. */
void clk_iso8601(int64_t us, char *buf, size_t len);

/* Parses an RFC 3339 / ISO 8601 time ("2026-11-26T20:35:17.123Z", any
 * number of fraction digits, "Z" or "+hh:mm") into us since the epoch; false
 * (us untouched) for anything else. The one parser of times in the project:
 * the Kubernetes API's, our own results' and the orchestrator history's. */
bool clk_parse_iso8601(const char *s, int64_t *us);

/* One session exchange: t1 agent send, t2 controller receive, t3 controller
 * send, t4 agent receive. Agent times on the agent's clock, the others on the
 * controller's. */
struct clk_exchange {
	int64_t t1, t2, t3, t4;
};

/* Computes offset = agent clock - controller clock and its error bound (half
 * the round-trip delay without the controller's hold time), both in us.
 * Returns false (outputs untouched) when the times are inconsistent: t4 < t1,
 * t3 < t2, a negative network delay, or differences beyond 64 bits. */
bool clk_offset(const struct clk_exchange *x, int64_t *offset_us, int64_t *error_us);

#define CLK_FILTER_SIZE 8

/* Keeps the last CLK_FILTER_SIZE valid exchanges and reports the offset of
 * the one with the smallest error, as NTP's clock filter does: queuing
 * delays only ever add error, so the tightest exchange is the best estimate. */
struct clk_filter {
	int64_t offset[CLK_FILTER_SIZE];
	int64_t error[CLK_FILTER_SIZE];
	int     count;
	int     next;
};

void clk_filter_init(struct clk_filter *f);

/* Adds an exchange; returns false if it was inconsistent and ignored. */
bool clk_filter_add(struct clk_filter *f, const struct clk_exchange *x);

/* Best estimate; returns false when no exchange has been added yet. */
bool clk_filter_best(const struct clk_filter *f, int64_t *offset_us, int64_t *error_us);

#endif
