/* SPDX-License-Identifier: MIT */
/*
 * Small JSON helpers shared by the scenarios' results: times as ISO 8601 UTC
 * with milliseconds, durations in seconds, and measured-or-null values that
 * carry the reason when null (numbers are measured, never assumed).
 */
#ifndef CHAOS_CONTROLLER_REPORT_REPORT_H
#define CHAOS_CONTROLLER_REPORT_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* o[key] = ISO time of us, or null when us <= 0. */
void report_time(json_t *o, const char *key, int64_t us);

/* o[key] = seconds (3 decimals) when known, else null and o[key_reason] =
 * reason. */
void report_seconds(json_t *o, const char *key, bool known, double seconds,
                    const char *reason);

/* The same for a percentage, with 6 decimals: a rate is compared with an
 * SLO target after it is written, and 3 decimals would round 99.8996 up to
 * a met 99.9. Exact against a target with fewer decimals for fewer than
 * 10^8 requests. */
void report_percent(json_t *o, const char *key, bool known, double pct,
                    const char *reason);

/* Name of a Chaos__V1__ErrorClass ("refused", "timeout"...) into buf,
 * returned; NULL for none (or a value the enum lacks). */
const char *report_error_class(int error_class, char *buf, size_t len);

/* "20261126T204512Z" for file names. */
void report_file_stamp(int64_t us, char *buf, size_t len);

#endif
