/* SPDX-License-Identifier: MIT */
/*
 * Reading the orchestrator's entries (one JSON object per run, see
 * orch_report.h) and writing recommendations: the small kit that the
 * report and each scenario's recommendation rules share. Pure functions.
 */
#ifndef CHAOS_CONTROLLER_REPORT_ENTRY_H
#define CHAOS_CONTROLLER_REPORT_ENTRY_H

#include <jansson.h>
#include <stdbool.h>

/* Whether o[key] is the string value. */
bool entry_is(const json_t *o, const char *key, const char *value);

/* A finite number at o[key] into *out; false otherwise. */
bool entry_num(const json_t *o, const char *key, double *out);

/* The entry of scenario (NULL: any) that was not skipped with the largest
 * number at key, and that number; NULL when there is none. */
const json_t *entry_worst(const json_t *entries, const char *scenario, const char *key,
                          double *out);

/* Appends {rule, severity, scenario, value, threshold, message} to recs;
 * value and threshold are null when not finite. */
void entry_rec(json_t *recs, const char *rule, const char *severity, const char *scenario,
               double value, double threshold, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

#endif
