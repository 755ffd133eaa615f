/* SPDX-License-Identifier: MIT */
/*
 * The orchestrator's report rendered for people and for CI: one
 * self-contained HTML file (inline CSS and SVG, nothing fetched) and JUnit
 * XML. Pure: they take the report JSON (orch_report_build) and return text.
 */
#ifndef CHAOS_CONTROLLER_REPORT_RENDER_H
#define CHAOS_CONTROLLER_REPORT_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "controller/report/orch_report.h"

/* Colours of the timeline, also checked by tests/integration/test_report_html.sh
 * in a screenshot: keep them in step. */
#define RENDER_HEALTHY "#2da44e"   /* rgb(45,164,78) */
#define RENDER_UNHEALTHY "#cf222e" /* rgb(207,34,46) */
#define RENDER_FAULT "#ffd8a8"     /* rgb(255,216,168): the fault window */
#define RENDER_RECOVERY "#1f6feb"  /* rgb(31,111,235): the recovery point */

/* Runs per scenario that get a timeline picture (the newest ones); older
 * runs are listed without one. */
#define RENDER_MAX_TIMELINES 12

/* Writes s escaped for XML/HTML text and attribute values: & < > " ' as
 * entities, control characters that XML forbids as U+FFFD. NULL writes
 * nothing. */
void render_escape(FILE *f, const char *s);

/* The HTML document (malloc'd, NUL-terminated) or NULL when out of memory.
 * results[i] is the result file of report.orchestration.scenarios[i], or
 * NULL (not loaded: no timeline for it); n is the length of results. */
char *report_html_render(const json_t *report, const json_t *const *results, size_t n,
                         const struct orch_slo_targets *t);

/* The JUnit XML (malloc'd) or NULL: suite chaos.scenarios with one testcase
 * per run (classname chaos.<scenario>; failure when it failed or missed an
 * SLO, skipped when skipped, with the reason), and suite chaos.slo with one
 * testcase per SLO target. */
char *report_junit_render(const json_t *report, const struct orch_slo_targets *t);

#endif
