// SPDX-License-Identifier: MIT
/* The orchestrator's report as pure functions: summary with null MTTRs,
 * empty sets, percentiles, SLOs, every recommendation rule on and off its
 * threshold, trend slopes, exit status, escaping of hostile strings in the
 * HTML and JUnit renderings; and the controller's /metrics text. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controller/metrics.h"
#include "controller/report/orch_report.h"
#include "controller/report/render.h"

#define T0 1795000000000000LL /* 2026-11-19, us */
#define HOUR 3600000000LL

static struct orch_slo_targets slo_t;

static int
setup(void **state)
{
	(void)state;
	orch_slo_defaults(&slo_t);
	return 0;
}

/* A result file as a scenario writes it: mttr (NAN = null), counts. */
static json_t *
result_new(const char *scenario, double mttr, json_int_t ok, json_int_t bad,
           int64_t start_us)
{
	char    iso[32];
	json_t *r = json_object();

	json_object_set_new(r, "scenario", json_string(scenario));
	json_object_set_new(r, "mttr", isnan(mttr) ? json_null() : json_real(mttr));
	json_object_set_new(r, "mttr_reason",
	                    isnan(mttr) ? json_string("no node recovered") : json_null());
	json_object_set_new(r, "recovery_time",
	                    isnan(mttr) ? json_null() : json_real(mttr));
	json_object_set_new(r, "success_count", json_integer(ok));
	json_object_set_new(r, "error_count", json_integer(bad));
	/* here every request counted is user-facing */
	json_object_set_new(r, "user_requests",
	                    json_pack("{s:I,s:I}", "ok", ok, "total", ok + bad));
	snprintf(iso, sizeof(iso), "2026-11-19T%02d:%02d:%02d.000Z",
	         (int)((start_us - T0) / HOUR) % 24 + 1,
	         (int)((start_us - T0) / 60000000) % 60,
	         (int)((start_us - T0) / 1000000) % 60);
	json_object_set_new(r, "test_start", json_string(iso));
	json_object_set_new(r, "test_end", json_string(iso));
	return r;
}

/* Appends an entry for result r (stolen) to entries. */
static void
add(json_t *entries, const char *state, json_t *r)
{
	const char *sc = json_string_value(json_object_get(r, "scenario"));

	json_array_append_new(
	    entries,
	    orch_entry_new((int)json_array_size(entries) + 1, "x", sc, state,
	                   strcmp(state, "succeeded") ? "it went wrong" : NULL,
	                   "chaos_test_x.json", T0, T0 + 1000, r));
	json_decref(r);
}

static void
add_mttr(json_t *entries, const char *scenario, double mttr)
{
	add(entries, "succeeded", result_new(scenario, mttr, 100000, 0, T0));
}

static double
num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	assert_true(json_is_number(v));
	return json_number_value(v);
}

/* The recommendation with this rule, or NULL. */
static const json_t *
find_rec(const json_t *recs, const char *rule)
{
	const json_t *r;
	size_t        i;

	json_array_foreach(recs, i,
	                   r) if (strcmp(json_string_value(json_object_get(r, "rule")),
	                                 rule) == 0) return r;
	return NULL;
}

static json_t *
recs_of(const json_t *entries)
{
	json_t *summary = orch_summary(entries), *slo = orch_slo(summary, &slo_t);
	json_t *trends = orch_trends(entries);
	json_t *recs   = orch_recommendations(entries, summary, slo, trends, &slo_t);

	json_decref(summary);
	json_decref(slo);
	json_decref(trends);
	return recs;
}

static void
test_summary_skips_null_mttr_instead_of_counting_zero(void **state)
{
	json_t *e = json_array(), *s;

	(void)state;
	add_mttr(e, "network_partition", 10);
	add(e, "failed", result_new("network_partition", NAN, 10, 5, T0));
	add_mttr(e, "network_partition", 20);
	s = orch_summary(e);
	assert_int_equal(json_integer_value(json_object_get(s, "measured_mttr_count")),
	                 2);
	assert_true(fabs(num(s, "average_mttr") - 15.0) < 1e-9);
	assert_true(fabs(num(s, "min_mttr") - 10.0) < 1e-9);
	assert_true(fabs(num(s, "max_mttr") - 20.0) < 1e-9);
	assert_int_equal(json_integer_value(json_object_get(s, "failed_scenarios")), 1);
	assert_int_equal(json_integer_value(json_object_get(s, "successful_scenarios")),
	                 2);
	json_decref(s);
	json_decref(e);
}

static void
test_empty_set_gives_null_with_reason_never_infinity(void **state)
{
	json_t *e = json_array(), *s, *slo;
	char   *text;

	(void)state;
	s   = orch_summary(e);
	slo = orch_slo(s, &slo_t);
	assert_true(json_is_null(json_object_get(s, "average_mttr")));
	assert_non_null(json_string_value(json_object_get(s, "average_mttr_reason")));
	assert_true(json_is_null(json_object_get(s, "p95_mttr")));
	assert_true(json_is_null(json_object_get(s, "success_rate")));
	assert_true(json_is_null(json_object_get(slo, "all_met")));
	text = json_dumps(s, 0);
	assert_null(strstr(text, "nfinity"));
	assert_null(strstr(text, "NaN"));
	free(text);
	json_decref(slo);
	json_decref(s);
	/* only null MTTRs: still null, not 0 */
	add(e, "failed", result_new("network_partition", NAN, 0, 0, T0));
	s = orch_summary(e);
	assert_true(json_is_null(json_object_get(s, "average_mttr")));
	assert_true(json_is_null(json_object_get(s, "min_mttr")));
	json_decref(s);
	json_decref(e);
}

static void
test_skipped_runs_count_neither_mttr_nor_requests(void **state)
{
	json_t *e = json_array(), *s;

	(void)state;
	add_mttr(e, "network_partition", 4);
	add(e, "skipped", result_new("network_partition", 100, 0, 50, T0));
	s = orch_summary(e);
	assert_true(fabs(num(s, "average_mttr") - 4.0) < 1e-9);
	assert_int_equal(json_integer_value(json_object_get(s, "total_error_count")), 0);
	assert_int_equal(json_integer_value(json_object_get(s, "skipped_scenarios")), 1);
	assert_true(json_is_null(json_object_get(json_array_get(e, 1), "mttr")));
	json_decref(s);
	json_decref(e);
}

static void
test_percentiles_by_nearest_rank(void **state)
{
	json_t *e = json_array(), *s;

	(void)state;
	for (int i = 20; i >= 1; i--)
		add_mttr(e, "network_partition", i);
	s = orch_summary(e);
	assert_true(fabs(num(s, "p50_mttr") - 10.0) < 1e-9);
	assert_true(fabs(num(s, "p95_mttr") - 19.0) < 1e-9);
	assert_true(fabs(num(s, "average_mttr") - 10.5) < 1e-9);
	json_decref(s);
	json_decref(e);
}

static const json_t *
slo_target(const json_t *slo, const char *name)
{
	const json_t *x;
	size_t        i;

	json_array_foreach(json_object_get(slo, "targets"), i,
	                   x) if (strcmp(json_string_value(json_object_get(x, "name")),
	                                 name) == 0) return x;
	fail_msg("no SLO %s", name);
	return NULL;
}

static void
test_slo_pass_fail_and_not_measured(void **state)
{
	json_t *e = json_array(), *s, *slo;

	(void)state;
	add(e, "succeeded", result_new("network_partition", 100, 9990, 10, T0));
	add(e, "succeeded", result_new("network_partition", 150, 10000, 0, T0));
	s   = orch_summary(e);
	slo = orch_slo(s, &slo_t);
	assert_true(
	    json_is_false(json_object_get(slo_target(slo, "mttr_average"), "met")));
	assert_true(fabs(num(slo_target(slo, "mttr_average"), "measured") - 125.0) <
	            1e-9);
	assert_true(json_is_true(json_object_get(slo_target(slo, "mttr_max"), "met")));
	assert_true(json_is_true(
	    json_object_get(slo_target(slo, "request_success_rate"), "met")));
	assert_true(json_is_false(json_object_get(slo, "all_met")));
	json_decref(slo);
	json_decref(s);
	json_decref(e);
	e   = json_array();
	s   = orch_summary(e);
	slo = orch_slo(s, &slo_t);
	assert_true(json_is_null(json_object_get(slo_target(slo, "mttr_max"), "met")));
	assert_true(
	    json_is_null(json_object_get(slo_target(slo, "mttr_max"), "measured")));
	assert_non_null(strstr(
	    json_string_value(json_object_get(slo_target(slo, "mttr_max"), "reason")),
	    "not measured"));
	json_decref(slo);
	json_decref(s);
	json_decref(e);
}

static void
test_the_slo_counts_user_requests_not_probes_of_nodes_cut_off(void **state)
{
	json_t *e = json_array(), *r, *s, *slo;

	(void)state;
	/* a partition: the isolated node's probes fail (500 of 3000 samples), the
	 * serving side's 2000 all succeed */
	r = result_new("network_partition", 2, 2500, 500, T0);
	json_object_set_new(r, "user_requests",
	                    json_pack("{s:i,s:i}", "ok", 2000, "total", 2000));
	add(e, "succeeded", r);
	s   = orch_summary(e);
	slo = orch_slo(s, &slo_t);
	assert_true(fabs(num(s, "request_success_rate") - 100.0) < 1e-9);
	assert_true(fabs(num(s, "success_rate") - 2500.0 / 30.0) < 1e-3);
	assert_true(json_is_true(
	    json_object_get(slo_target(slo, "request_success_rate"), "met")));
	assert_non_null(
	    strstr(json_string_value(json_object_get(
	               slo_target(slo, "request_success_rate"), "description")),
	           "cut off on purpose"));
	json_decref(slo);
	json_decref(s);
	json_decref(e);
}

/* rule fires on entries and its message cites text; with other entries it
 * does not fire. */
static void
assert_rule(json_t *on, json_t *off, const char *rule, const char *text)
{
	json_t       *r1 = recs_of(on), *r2 = recs_of(off);
	const json_t *r = find_rec(r1, rule);

	if (r == NULL)
		fail_msg("rule %s did not fire", rule);
	if (strstr(json_string_value(json_object_get(r, "message")), text) == NULL)
		fail_msg("rule %s: '%s' lacks '%s'", rule,
		         json_string_value(json_object_get(r, "message")), text);
	if (find_rec(r2, rule) != NULL)
		fail_msg("rule %s fired below its threshold", rule);
	json_decref(r1);
	json_decref(r2);
	json_decref(on);
	json_decref(off);
}

static void
test_rule_average_mttr_above_slo(void **state)
{
	json_t *on = json_array(), *off = json_array();

	(void)state;
	add_mttr(on, "network_partition", 125);
	add_mttr(on, "network_partition", 135);
	add_mttr(off, "network_partition", 119);
	assert_rule(on, off, "mttr_average_above_slo", "130.0 s");
}

static void
test_rule_max_mttr_above_slo(void **state)
{
	json_t *on = json_array(), *off = json_array();

	(void)state;
	add_mttr(on, "network_partition", 1);
	add_mttr(on, "network_partition", 310.5);
	add_mttr(off, "network_partition", 299);
	assert_rule(on, off, "mttr_max_above_slo", "310.5 s");
}

static void
test_rule_success_rate_below_slo(void **state)
{
	json_t *on = json_array(), *off = json_array();

	(void)state;
	add(on, "succeeded", result_new("network_partition", 1, 998, 2, T0));
	add(off, "succeeded", result_new("network_partition", 1, 9990, 10, T0));
	assert_rule(on, off, "success_rate_below_slo", "99.800 %");
}

static void
test_rule_coordinator_recovery_slow(void **state)
{
	json_t *on = json_array(), *off = json_array();

	(void)state;
	add_mttr(on, "coordinator_outage", 61.5);
	add_mttr(off, "coordinator_outage", 59);
	add_mttr(off, "network_partition", 90); /* slow, but not the coordinator */
	assert_rule(on, off, "coordinator_recovery_slow", "61.5 s");
}

static void
test_rule_database_api_error_rate(void **state)
{
	json_t *on = json_array(), *off = json_array(), *r;

	(void)state;
	r = result_new("database_failure", 5, 100000, 0, T0);
	json_object_set_new(r, "api_error_rate", json_real(0.052));
	json_object_set_new(r, "failure_type", json_string("connection"));
	add(on, "succeeded", r);
	r = result_new("database_failure", 5, 100000, 0, T0);
	json_object_set_new(r, "api_error_rate", json_real(0.004));
	add(off, "succeeded", r);
	assert_rule(on, off, "database_api_error_rate_high", "5.2 %");
	/* api_error_rate not measured (no fault applied): no rate at all, never
	 * the run's own counts (they cover the whole run and the PostgreSQL
	 * probes too) */
	on  = json_array();
	off = json_array();
	r   = result_new("database_failure", 5, 90, 10, T0);
	json_object_set_new(r, "api_error_rate", json_real(0.1));
	add(on, "succeeded", r);
	r = result_new("database_failure", 5, 50, 50, T0);
	json_object_set_new(r, "api_error_rate", json_null());
	json_object_set_new(r, "api_error_rate_reason",
	                    json_string("no fault was applied"));
	add(off, "succeeded", r);
	add(off, "succeeded", result_new("database_failure", 5, 90, 10, T0));
	assert_rule(on, off, "database_api_error_rate_high", "10.0 %");
}

static json_t *
partition_result(bool majority_kept, json_int_t healthy, const char *side_b, int n_b)
{
	json_t *r     = result_new("network_partition", 3, 100000, 0, T0),
	       *nodes = json_array();

	for (int i = 0; i < 2 + n_b; i++)
		json_array_append_new(
		    nodes, json_pack("{s:s}", "side", i < 2 ? "kept" : side_b));
	json_object_set_new(r, "nodes", nodes);
	json_object_set_new(r, "sides",
	                    json_pack("{s:{s:b,s:I,s:I},s:{s:b,s:I,s:I}}", "kept",
	                              "kept_serving", majority_kept, "healthy", healthy,
	                              "total", (json_int_t)30, side_b, "kept_serving", 0,
	                              "healthy", (json_int_t)0, "total", (json_int_t)15));
	return r;
}

static void
test_rule_majority_lost_consensus_in_minority_partition(void **state)
{
	json_t *on = json_array(), *off = json_array();

	(void)state;
	add(on, "succeeded", partition_result(false, 26, "isolated", 1));
	add(off, "succeeded", partition_result(true, 30, "isolated", 1));
	assert_rule(on, off, "majority_lost_consensus", "26 of 30");
	/* 2 against 2: no majority side, nothing to say about it */
	on  = json_array();
	off = json_array();
	add(on, "succeeded", partition_result(false, 26, "isolated", 1));
	add(off, "succeeded", partition_result(false, 26, "b", 2));
	assert_rule(on, off, "majority_lost_consensus", "1 of 3 nodes");
}

static void
test_rule_mttr_rising_and_trend_slope(void **state)
{
	json_t       *on = json_array(), *off = json_array(), *tr;
	const json_t *n;

	(void)state;
	for (int i = 0; i < 3; i++) {
		add(on, "succeeded",
		    result_new("network_partition", 10 + 10 * i, 1000000, 0,
		               T0 + i * HOUR));
		add(off, "succeeded",
		    result_new("network_partition", 10, 1000000, 0, T0 + i * HOUR));
	}
	tr = orch_trends(on);
	n  = json_object_get(tr, "network_partition");
	assert_true(fabs(num(n, "slope_seconds_per_hour") - 10.0) < 1e-6);
	assert_true(fabs(num(n, "p50") - 20.0) < 1e-9);
	assert_true(fabs(num(n, "span_hours") - 2.0) < 1e-9);
	assert_int_equal(json_array_size(json_object_get(n, "points")), 3);
	json_decref(tr);
	tr = orch_trends(off);
	assert_true(fabs(num(json_object_get(tr, "network_partition"),
	                     "slope_seconds_per_hour")) < 1e-9);
	json_decref(tr);
	assert_rule(on, off, "mttr_rising", "10.0 s per hour");
}

static void
test_trend_of_one_point_is_null_with_reason(void **state)
{
	json_t       *e = json_array(), *tr;
	const json_t *n;

	(void)state;
	add_mttr(e, "network_partition", 3);
	tr = orch_trends(e);
	n  = json_object_get(tr, "network_partition");
	assert_true(json_is_null(json_object_get(n, "slope_seconds_per_hour")));
	assert_string_equal(
	    json_string_value(json_object_get(n, "slope_seconds_per_hour_reason")),
	    "fewer than 2 measured runs");
	json_decref(tr);
	json_decref(e);
}

static void
test_all_clear_only_when_nothing_else_fires(void **state)
{
	json_t *e = json_array(), *recs;

	(void)state;
	add_mttr(e, "network_partition", 3);
	recs = recs_of(e);
	assert_int_equal(json_array_size(recs), 1);
	assert_non_null(find_rec(recs, "all_clear"));
	json_decref(recs);
	add(e, "failed", result_new("network_partition", NAN, 1000, 0, T0));
	recs = recs_of(e);
	assert_null(find_rec(recs, "all_clear"));
	assert_non_null(find_rec(recs, "runs_failed"));
	json_decref(recs);
	json_decref(e);
}

static int
exit_of(const json_t *e)
{
	json_t *s = orch_summary(e), *slo = orch_slo(s, &slo_t);
	int     rv = orch_report_exit(e, slo, &slo_t);

	json_decref(s);
	json_decref(slo);
	return rv;
}

static void
test_exit_status_follows_design(void **state)
{
	json_t *e = json_array();

	(void)state;
	add_mttr(e, "network_partition", 3);
	assert_int_equal(exit_of(e), 0);
	add(e, "skipped", result_new("coordinator_outage", NAN, 0, 0, T0));
	assert_int_equal(exit_of(e), 0); /* a skip alone fails nothing */
	add(e, "failed", result_new("network_partition", NAN, 10, 0, T0));
	assert_int_equal(exit_of(e), 1);
	json_decref(e);
	e = json_array();
	add(e, "skipped", result_new("coordinator_outage", NAN, 0, 0, T0));
	assert_int_equal(exit_of(e), 3); /* nothing ran */
	json_decref(e);
	/* a run whose end state was not recorded is neither passed nor failed */
	e = json_array();
	add_mttr(e, "network_partition", 3);
	add(e, ORCH_STATE_UNKNOWN, result_new("network_partition", NAN, 10, 0, T0));
	assert_int_equal(exit_of(e), 3);
	add(e, "refused", result_new("network_partition", NAN, 0, 0, T0));
	assert_int_equal(exit_of(e), 2);
	json_decref(e);
	e = json_array();
	add(e, "succeeded", result_new("network_partition", 301, 1000, 0, T0));
	assert_int_equal(exit_of(e), 1); /* missed the MTTR maximum */
	json_decref(e);
}

/* A run that ran and measured no MTTR: the MTTR SLOs are unknown, not met
 * from the others, and the exit is not 0; a maximum already past its
 * target is missed whatever the unknown run was. */
static void
test_slo_unjudged_while_a_run_measured_no_mttr(void **state)
{
	json_t       *e = json_array(), *s, *slo, *recs;
	const json_t *avg;

	(void)state;
	add_mttr(e, "network_partition", 5);
	add_mttr(e, "database_failure", NAN);
	s   = orch_summary(e);
	slo = orch_slo(s, &slo_t);
	assert_int_equal(json_integer_value(json_object_get(s, "unmeasured_mttr_count")),
	                 1);
	assert_non_null(
	    strstr(json_string_value(json_object_get(s, "unmeasured_mttr_first")),
	           "database_failure, cycle 2: no node recovered"));
	avg = slo_target(slo, "mttr_average");
	assert_true(json_is_null(json_object_get(avg, "met")));
	assert_true(json_is_null(json_object_get(avg, "measured")));
	assert_non_null(strstr(json_string_value(json_object_get(avg, "reason")),
	                       "not measured: 1 of 2 runs that ran measured no MTTR"));
	assert_true(json_is_null(json_object_get(slo_target(slo, "mttr_max"), "met")));
	assert_true(json_is_null(json_object_get(slo, "all_met")));
	assert_int_equal(exit_of(e), 3);
	recs = recs_of(e);
	assert_non_null(find_rec(recs, "mttr_not_measured"));
	assert_null(find_rec(recs, "all_clear"));
	json_decref(recs);
	json_decref(slo);
	json_decref(s);
	add_mttr(e, "network_partition", 400); /* above the 300 s maximum */
	s   = orch_summary(e);
	slo = orch_slo(s, &slo_t);
	assert_true(json_is_false(json_object_get(slo_target(slo, "mttr_max"), "met")));
	assert_true(fabs(num(slo_target(slo, "mttr_max"), "measured") - 400.0) < 1e-9);
	assert_true(
	    json_is_null(json_object_get(slo_target(slo, "mttr_average"), "met")));
	assert_true(json_is_false(json_object_get(slo, "all_met")));
	assert_int_equal(exit_of(e), 1);
	json_decref(slo);
	json_decref(s);
	json_decref(e);
}

/* 99.8996 % is below a 99.9 % target even though it prints as 99.900 with
 * three decimals: the verdict must not come from a rounded figure. */
static void
test_success_rate_is_not_rounded_into_the_target(void **state)
{
	json_t *e = json_array(), *s, *slo;

	(void)state;
	add(e, "succeeded", result_new("network_partition", 2, 998996, 1004, T0));
	s   = orch_summary(e);
	slo = orch_slo(s, &slo_t);
	assert_true(num(s, "request_success_rate") < 99.9);
	assert_true(json_is_false(
	    json_object_get(slo_target(slo, "request_success_rate"), "met")));
	assert_int_equal(exit_of(e), 1);
	json_decref(slo);
	json_decref(s);
	json_decref(e);
}

/* No run counted requests: the totals are unknown, not 0. */
static void
test_request_totals_null_when_no_run_counted(void **state)
{
	json_t *e = json_array(), *s, *r = result_new("network_partition", 2, 0, 0, T0);

	(void)state;
	json_object_del(r, "success_count");
	json_object_del(r, "error_count");
	json_object_del(r, "user_requests");
	add(e, "succeeded", r);
	s = orch_summary(e);
	assert_true(json_is_null(json_object_get(s, "total_success_count")));
	assert_non_null(
	    json_string_value(json_object_get(s, "total_success_count_reason")));
	assert_true(json_is_null(json_object_get(s, "total_user_error_count")));
	assert_int_equal(json_integer_value(json_object_get(s, "counted_runs")), 0);
	json_decref(s);
	add_mttr(e, "network_partition", 3);
	s = orch_summary(e);
	assert_int_equal(json_integer_value(json_object_get(s, "total_success_count")),
	                 100000);
	assert_int_equal(json_integer_value(json_object_get(s, "counted_runs")), 1);
	json_decref(s);
	json_decref(e);
}

/* JUnit: a run that succeeded with no MTTR, and the SLOs it leaves
 * unjudged, are errors (not a pass, not skipped); an unknown duration is
 * left out rather than written as 0. */
static void
test_junit_unmeasured_is_an_error_not_a_pass(void **state)
{
	json_t *e = json_array(), *r = result_new("database_failure", NAN, 10, 0, T0);
	json_t *report;
	char   *junit;

	(void)state;
	json_object_del(r, "test_end");
	add(e, "succeeded", r);
	report = orch_report_build(e, "ns", T0, NULL, &slo_t);
	junit  = report_junit_render(report, &slo_t);
	assert_non_null(junit);
	assert_non_null(strstr(junit,
	                       "<error type=\"not_measured\" message=\"mttr not "
	                       "measured: no node recovered"));
	assert_non_null(strstr(junit, "name=\"mttr_max\">\n      <error"));
	assert_non_null(strstr(junit,
	                       "<testsuites name=\"chaos\" tests=\"4\" "
	                       "failures=\"0\" errors=\"3\""));
	assert_non_null(strstr(junit, "name=\"cycle 1: database_failure\">"));
	assert_null(strstr(junit, "<skipped"));
	free(junit);
	json_decref(report);
	json_decref(e);
}

static void
test_parse_iso(void **state)
{
	double t;

	(void)state;
	assert_true(orch_parse_iso("2026-11-26T21:10:01.768Z", &t));
	assert_true(fabs(t - 1795727401.768) < 1e-6);
	assert_true(orch_parse_iso("2026-11-26T21:10:01Z", &t));
	assert_true(fabs(t - 1795727401.0) < 1e-6);
	assert_false(orch_parse_iso("2026-11-26 21:10:01", &t));
	assert_true(orch_parse_iso("2026-11-26T22:10:01.5+01:00", &t));
	assert_true(fabs(t - 1795727401.5) < 1e-6);
	assert_false(orch_parse_iso("2026-11-26T21:10:01.5+1", &t));
	assert_false(orch_parse_iso(NULL, &t));
}

/* with U+FFFF, which is UTF-8 but no XML character */
#define HOSTILE "<script>alert(\"x\")</script>' & \x01 \xef\xbf\xbf"

/* A report whose strings are hostile: a pod (lane) name, a reason. */
static json_t *
hostile_report(json_t **result)
{
	json_t *e = json_array(), *r = result_new("network_partition", 2, 10, 1, T0),
	       *report;
	json_t *samples = json_object();

	json_object_set_new(samples, HOSTILE,
	                    json_pack("[{s:s,s:b},{s:s,s:b}]", "t",
	                              "2026-11-19T01:00:00.000Z", "ok", 1, "t",
	                              "2026-11-19T01:00:00.200Z", "ok", 0));
	json_object_set_new(r, "samples", samples);
	json_object_set_new(r, "test_end", json_string("2026-11-19T01:00:01.000Z"));
	*result = json_incref(r);
	add(e, "failed", r);
	json_object_set_new(json_array_get(e, 0), "reason", json_string(HOSTILE));
	report = orch_report_build(e, HOSTILE, T0, NULL, &slo_t);
	json_decref(e);
	return report;
}

static void
assert_escaped(const char *doc)
{
	assert_null(strstr(doc, "<script>"));
	assert_null(strstr(doc, "alert(\"x\")"));
	assert_null(strstr(doc, "\x01"));
	assert_null(strstr(doc, "\xef\xbf\xbf"));
	assert_non_null(
	    strstr(doc, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; &amp; "));
}

static void
test_html_and_junit_escape_hostile_names(void **state)
{
	json_t       *result, *report = hostile_report(&result);
	const json_t *res[1] = {result};
	char         *html   = report_html_render(report, res, 1, &slo_t);
	char         *junit  = report_junit_render(report, &slo_t);

	(void)state;
	assert_non_null(html);
	assert_non_null(junit);
	assert_escaped(html);
	assert_escaped(junit);
	/* the lane was drawn, with both colours */
	assert_non_null(strstr(html, RENDER_HEALTHY));
	assert_non_null(strstr(html, RENDER_UNHEALTHY));
	/* self-contained: nothing fetched */
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "@import"));
	assert_non_null(strstr(junit, "<testcase classname=\"chaos.network_partition\""));
	assert_non_null(strstr(junit, "<failure type=\"run\""));
	free(html);
	free(junit);
	json_decref(result);
	json_decref(report);
}

/* A fault window whose end no agent confirmed is drawn open and labelled
 * so, and no recovery time is computed from the drawing. */
static void
test_html_open_fault_window_says_end_not_measured(void **state)
{
	json_t *e = json_array(), *r = result_new("network_partition", NAN, 10, 1, T0);
	json_t *samples = json_object(), *report;
	const json_t *res[1];
	char         *html;

	(void)state;
	json_object_set_new(samples, "node-0",
	                    json_pack("[{s:s,s:b},{s:s,s:b}]", "t",
	                              "2026-11-19T01:00:00.000Z", "ok", 1, "t",
	                              "2026-11-19T01:00:02.000Z", "ok", 0));
	json_object_set_new(r, "samples", samples);
	json_object_set_new(r, "test_end", json_string("2026-11-19T01:00:03.000Z"));
	json_object_set_new(r, "partition_start",
	                    json_string("2026-11-19T01:00:01.000Z"));
	json_object_set_new(r, "partition_end", json_null());
	res[0] = json_incref(r);
	add(e, "failed", r);
	report = orch_report_build(e, "ns", T0, NULL, &slo_t);
	html   = report_html_render(report, res, 1, &slo_t);
	assert_non_null(html);
	assert_non_null(strstr(html, ">partition (end not measured)</text>"));
	assert_null(strstr(html, "recovered ("));
	free(html);
	json_decref((json_t *)res[0]);
	json_decref(report);
	json_decref(e);
}

/* A session whose end is not known says why in report.html and in the
 * JSON, never "in progress" for a session that ended without its record;
 * a run of unknown state is a JUnit error, not a failure. */
static void
test_html_says_why_the_session_end_is_unknown(void **state)
{
	json_t *e = json_array();
	json_t *orch =
	    json_pack("{s:s,s:n,s:s}", "orchestration_start", "2026-11-19T01:00:00.000Z",
	              "orchestration_end", "orchestration_end_reason",
	              "no end record: chaosctl stopped before writing it");
	json_t *report;
	char   *html, *junit;

	(void)state;
	add(e, ORCH_STATE_UNKNOWN, result_new("network_partition", NAN, 10, 0, T0));
	report = orch_report_build(e, "ns", T0, orch, &slo_t);
	html   = report_html_render(report, NULL, 0, &slo_t);
	junit  = report_junit_render(report, &slo_t);
	assert_non_null(html);
	assert_non_null(strstr(
	    html, " to (no end record: chaosctl stopped before writing it)</div>"));
	assert_null(strstr(html, "in progress"));
	assert_non_null(junit);
	assert_non_null(strstr(junit, "<error type=\"state_unknown\""));
	assert_null(strstr(junit, "<failure type=\"run\""));
	free(html);
	free(junit);
	json_decref(report);
	json_decref(orch);
	json_decref(e);
}

static void
test_metrics_last_mttr_only_once_measured(void **state)
{
	json_t                *measured = json_pack("{s:f}", "mttr", 2.5);
	json_t                *unknown  = json_pack("{s:n}", "mttr");
	Chaos__V1__ProbeSample smp      = CHAOS__V1__PROBE_SAMPLE__INIT;
	Chaos__V1__Event       ev       = CHAOS__V1__EVENT__INIT;
	char                  *text;

	(void)state;
	text = metrics_render(NULL, NULL, 0);
	assert_null(strstr(text, "chaos_last_mttr_seconds{"));
	assert_non_null(strstr(text, "# TYPE chaos_last_mttr_seconds gauge"));
	free(text);
	metrics_on_run_end("x_\"quoted\"", 3, unknown); /* failed, MTTR null: no series */
	text = metrics_render(NULL, NULL, 0);
	assert_null(strstr(text, "chaos_last_mttr_seconds{"));
	assert_non_null(strstr(text, "chaos_runs_total{state=\"failed\"} 1\n"));
	free(text);
	metrics_on_run_end("network_partition", 2, measured);
	ev.body_case = CHAOS__V1__EVENT__BODY_SAMPLE;
	ev.sample    = &smp;
	smp.healthy  = false;
	metrics_on_event(&ev);
	text = metrics_render(NULL, NULL, 0);
	assert_non_null(strstr(
	    text, "chaos_last_mttr_seconds{scenario=\"network_partition\"} 2.5\n"));
	assert_non_null(strstr(text, "chaos_probe_samples_total{result=\"error\"} 1\n"));
	assert_non_null(strstr(
	    text, "chaos_last_run_mttr_measured{scenario=\"network_partition\"} 1\n"));
	assert_non_null(strstr(
	    text, "chaos_last_run_mttr_measured{scenario=\"x_\\\"quoted\\\"\"} 0\n"));
	free(text);
	/* a newer run that measured none: the old figure stays, flagged */
	metrics_on_run_end("network_partition", 3, unknown);
	text = metrics_render(NULL, NULL, 0);
	assert_non_null(strstr(
	    text, "chaos_last_mttr_seconds{scenario=\"network_partition\"} 2.5\n"));
	assert_non_null(strstr(
	    text, "chaos_last_run_mttr_measured{scenario=\"network_partition\"} 0\n"));
	free(text);
	json_decref(measured);
	json_decref(unknown);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_summary_skips_null_mttr_instead_of_counting_zero),
	    cmocka_unit_test(test_html_says_why_the_session_end_is_unknown),
	    cmocka_unit_test(test_empty_set_gives_null_with_reason_never_infinity),
	    cmocka_unit_test(test_skipped_runs_count_neither_mttr_nor_requests),
	    cmocka_unit_test(test_percentiles_by_nearest_rank),
	    cmocka_unit_test(test_slo_pass_fail_and_not_measured),
	    cmocka_unit_test(
	        test_the_slo_counts_user_requests_not_probes_of_nodes_cut_off),
	    cmocka_unit_test(test_rule_average_mttr_above_slo),
	    cmocka_unit_test(test_rule_max_mttr_above_slo),
	    cmocka_unit_test(test_rule_success_rate_below_slo),
	    cmocka_unit_test(test_rule_coordinator_recovery_slow),
	    cmocka_unit_test(test_rule_database_api_error_rate),
	    cmocka_unit_test(test_rule_majority_lost_consensus_in_minority_partition),
	    cmocka_unit_test(test_rule_mttr_rising_and_trend_slope),
	    cmocka_unit_test(test_trend_of_one_point_is_null_with_reason),
	    cmocka_unit_test(test_all_clear_only_when_nothing_else_fires),
	    cmocka_unit_test(test_exit_status_follows_design),
	    cmocka_unit_test(test_slo_unjudged_while_a_run_measured_no_mttr),
	    cmocka_unit_test(test_success_rate_is_not_rounded_into_the_target),
	    cmocka_unit_test(test_request_totals_null_when_no_run_counted),
	    cmocka_unit_test(test_junit_unmeasured_is_an_error_not_a_pass),
	    cmocka_unit_test(test_parse_iso),
	    cmocka_unit_test(test_html_and_junit_escape_hostile_names),
	    cmocka_unit_test(test_html_open_fault_window_says_end_not_measured),
	    cmocka_unit_test(test_metrics_last_mttr_only_once_measured),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
