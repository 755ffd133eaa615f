/* SPDX-License-Identifier: MIT */
/*
 * The orchestrator's report, as pure functions on JSON: one entry per run
 * (built from the scenario's result file), then summary, SLO compliance,
 * recommendations and MTTR trends over the entries. No clocks, no I/O, so
 * every rule is tested exactly (tests/unit/test_orch_report.c).
 *
 * A figure that could not be measured is null with a "<name>_reason" beside
 * it: a null MTTR is never counted as 0, an empty set gives null, never
 * Infinity or NaN.
 *
 * An entry is a JSON object:
 *   cycle, name ("network"), scenario ("network_partition"),
 *   state ("succeeded", "failed", "aborted", "interrupted", "refused",
 *          "unusable", "unreachable", "skipped", or "unknown": a result file
 *          found on --resume that does not record how its run ended),
 *   outcome ("successful", "failed", "skipped"), reason (string or null),
 *   result_file (name inside the output directory, or null),
 *   started, ended (when the orchestrator started and finished the run;
 *   null with started_reason / ended_reason when it did not record it),
 *   test_start, test_end, mttr (+ mttr_reason), recovery_time
 *   (+ recovery_time_reason), success_count, error_count, success_rate
 *   (percent, or null + success_rate_reason), details (the result's other
 *   small fields, without what its scenario's shape marks bulky, plus the
 *   scenario's digest of those, e.g. the partition's sides as {name:
 *   {nodes, kept_serving, healthy, total}}).
 */
#ifndef CHAOS_CONTROLLER_REPORT_ORCH_REPORT_H
#define CHAOS_CONTROLLER_REPORT_ORCH_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* SLO targets; defaults from DESIGN section 1. */
struct orch_slo_targets {
	double mttr_avg_s;       /* MTTR average over scenarios <= this */
	double mttr_max_s;       /* MTTR maximum <= this */
	double success_rate_pct; /* request success rate >= this */
};

/* 120 s, 300 s, 99.9 %. */
void orch_slo_defaults(struct orch_slo_targets *t);

/* Thresholds of the trend rule; each scenario's own rules are in its file
 * (scenario.recommend). */
#define ORCH_TREND_MIN_POINTS 3    /* points before a trend may raise an alarm */
#define ORCH_TREND_RISE_SHARE 0.25 /* rise over the span, as a share of the mean */

/* The state of a run whose end state was not recorded. */
#define ORCH_STATE_UNKNOWN "unknown"

/* "2026-11-26T21:10:01.768Z" (also without milliseconds) to seconds since
 * the epoch. False for anything else. */
bool orch_parse_iso(const char *s, double *out);

/* "succeeded" -> "successful", "skipped" -> "skipped", else "failed". */
const char *orch_outcome(const char *state);

/* A new entry for one run. result (may be NULL) is the scenario's result;
 * reason (may be NULL) says why it failed or was skipped; result_file is the
 * file's name inside the output directory (may be NULL); times in us since
 * the epoch. */
json_t *orch_entry_new(int cycle, const char *name, const char *scenario,
                       const char *state, const char *reason, const char *result_file,
                       int64_t started_us, int64_t ended_us, const json_t *result);

/* Counts and MTTR statistics over entries (array): the MTTR figures over
 * the runs that measured one (measured_mttr_count), with the runs that ran
 * and measured none counted beside them (unmeasured_mttr_count, and
 * unmeasured_mttr_first naming the first with its reason); request totals
 * over the runs that counted them (counted_runs, user_counted_runs), null
 * with a reason when none did. New object. */
json_t *orch_summary(const json_t *entries);

/* SLO compliance: {all_met, targets: [{name, description, target,
 * threshold, unit, comparison, measured, met, reason}]}. measured and met
 * are null ("not measured") when there is no value, and for an MTTR target
 * when some run that ran measured no MTTR (summary.unmeasured_mttr_count),
 * except a maximum already above its target, which is missed. New object. */
json_t *orch_slo(const json_t *summary, const struct orch_slo_targets *t);

/* Per scenario name: {points: [{cycle, t, mttr}], count, p50, p95,
 * slope_seconds_per_hour, span_hours}, nulls with *_reason when there are
 * too few points (< 1 for percentiles, < 2 for the slope). New object. */
json_t *orch_trends(const json_t *entries);

/* Recommendations from rules on measured values; each cites the number
 * that triggered it: [{rule, severity, scenario, value, threshold,
 * message}]. One "all_clear" item when all is well. New array. */
json_t *orch_recommendations(const json_t *entries, const json_t *summary,
                             const json_t *slo, const json_t *trends,
                             const struct orch_slo_targets *t);

/* What a JUnit testcase or the HTML needs for one entry: why it failed its
 * SLOs (run failure or its own MTTR above the maximum or success rate below
 * the target). Writes a message into buf and returns true when it failed. */
bool orch_entry_failed(const json_t *entry, const struct orch_slo_targets *t, char *buf,
                       size_t len);

/* Exit status of an orchestration (DESIGN section 4): 1 when a run failed
 * or missed an SLO (its own or the aggregate in slo), else 2 when a run was
 * refused, else 3 (inconclusive) when the environment was unusable, a
 * run's end state is unknown (ORCH_STATE_UNKNOWN), nothing ran (everything
 * skipped) or an SLO could not be measured (all_met null), else 0. */
int orch_report_exit(const json_t *entries, const json_t *slo,
                     const struct orch_slo_targets *t);

/* The whole report: {report_generated, namespace, orchestration:
 * {orchestration_start, orchestration_end, ..., scenarios: entries, summary},
 * slo, recommendations, trends}. orchestration is an object with the
 * session's own fields (mode, deadline, settings...), copied. New object. */
json_t *orch_report_build(const json_t *entries, const char *namespace_,
                          int64_t generated_us, const json_t *orchestration,
                          const struct orch_slo_targets *t);

#endif
