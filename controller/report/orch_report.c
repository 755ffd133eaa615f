// SPDX-License-Identifier: MIT
#include "controller/report/orch_report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "controller/report/entry.h"
#include "controller/report/mttr.h"
#include "controller/report/report.h"
#include "controller/scenarios/scenario.h"

/* Members of every result that are big or already lifted into the entry;
 * each scenario names its own (scenario_shape.bulky). */
static const char *const orch_not_details[] = {
    "scenario",
    "test_start",
    "test_end",
    "mttr",
    "mttr_reason",
    "recovery_time",
    "recovery_time_reason",
    "success_count",
    "error_count",
    "user_requests",
    "samples",
    "parameters",
    "run_id",
    "run_state",
    NULL,
};

#define ORCH_DETAIL_MAX 2048

void
orch_slo_defaults(struct orch_slo_targets *t)
{
	t->mttr_avg_s       = 120.0;
	t->mttr_max_s       = 300.0;
	t->success_rate_pct = 99.9;
}

bool
orch_parse_iso(const char *s, double *out)
{
	int64_t us;

	if (!clk_parse_iso8601(s, &us))
		return false;
	*out = (double)us / 1e6;
	return true;
}

const char *
orch_outcome(const char *state)
{
	if (state != NULL && strcmp(state, "succeeded") == 0)
		return "successful";
	if (state != NULL && strcmp(state, "skipped") == 0)
		return "skipped";
	return "failed";
}

static bool
orch_in(const char *const *list, const char *key)
{
	for (const char *const *k = list; k != NULL && *k != NULL; k++)
		if (strcmp(*k, key) == 0)
			return true;
	return false;
}

static bool
orch_is_skipped_key(const char *key, const struct scenario *sc)
{
	return orch_in(orch_not_details, key) ||
	    (sc != NULL && orch_in(sc->shape.bulky, key));
}

/* The result's small members, without what its scenario marks bulky, plus
 * the scenario's digest of those. */
static json_t *
orch_details(const json_t *result)
{
	const struct scenario *sc =
	    scenario_find(json_string_value(json_object_get(result, "scenario")));
	json_t     *d = json_object(), *v;
	const char *key;

	json_object_foreach((json_t *)result, key, v)
	{
		char *text;
		if (orch_is_skipped_key(key, sc))
			continue;
		text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (text != NULL && strlen(text) <= ORCH_DETAIL_MAX)
			json_object_set(d, key, v);
		free(text);
	}
	if (sc != NULL && sc->shape.digest != NULL)
		sc->shape.digest(result, d);
	return d;
}

/* The user-facing requests (the success-rate SLO's; result.user_requests). */
static void
orch_entry_user(json_t *e, const json_t *result, bool skipped)
{
	const json_t *u    = json_object_get(result, "user_requests");
	json_int_t    ok   = json_integer_value(json_object_get(u, "ok"));
	json_int_t    n    = json_integer_value(json_object_get(u, "total"));
	bool          have = json_is_integer(json_object_get(u, "ok")) &&
	    json_is_integer(json_object_get(u, "total")) && ok >= 0 && n >= ok;

	json_object_set_new(e, "user_success_count",
	                    have ? json_integer(ok) : json_null());
	json_object_set_new(e, "user_error_count",
	                    have ? json_integer(n - ok) : json_null());
	report_percent(e, "request_success_rate", have && !skipped && n > 0,
	               have && n > 0 ? 100.0 * (double)ok / (double)n : 0,
	               skipped    ? "skipped: not run"
	                   : have ? "no user-facing request was made"
	                          : "the result does not count user-facing requests");
}

static void
orch_entry_counts(json_t *e, const json_t *result, bool skipped)
{
	const json_t *s  = json_object_get(result, "success_count");
	const json_t *f  = json_object_get(result, "error_count");
	json_int_t    ok = json_integer_value(s), bad = json_integer_value(f);
	bool have = json_is_integer(s) && json_is_integer(f) && ok >= 0 && bad >= 0;

	json_object_set_new(e, "success_count", have ? json_integer(ok) : json_null());
	json_object_set_new(e, "error_count", have ? json_integer(bad) : json_null());
	report_percent(e, "success_rate", have && !skipped && ok + bad > 0,
	               have && ok + bad > 0 ? 100.0 * (double)ok / (double)(ok + bad) : 0,
	               skipped    ? "skipped: not run"
	                   : have ? "no request was made"
	                          : "the result has no success_count/error_count");
}

/* mttr / recovery_time from the result, with its reason when null. */
static void
orch_entry_figure(json_t *e, const json_t *result, const char *key, const char *why)
{
	char   rkey[64];
	double v;

	snprintf(rkey, sizeof(rkey), "%s_reason", key);
	if (entry_num(result, key, &v)) {
		report_seconds(e, key, true, v, NULL);
		return;
	}
	report_seconds(e, key, false, 0,
	         json_string_value(json_object_get(result, rkey)) ?: why ?: "not measured");
}

json_t *
orch_entry_new(int cycle, const char *name, const char *scenario, const char *state,
               const char *reason, const char *result_file, int64_t started_us,
               int64_t ended_us, const json_t *result)
{
	json_t *e = json_object();
	bool    skipped;
	char    why[256];

	state   = state != NULL ? state : "failed";
	skipped = strcmp(orch_outcome(state), "skipped") == 0;
	snprintf(why, sizeof(why), "%s%s%s", state, reason ? ": " : "",
	         reason ? reason : "");
	json_object_set_new(e, "cycle", json_integer(cycle));
	json_object_set_new(e, "name", json_string(name));
	json_object_set_new(e, "scenario", json_string(scenario));
	json_object_set_new(e, "state", json_string(state));
	json_object_set_new(e, "outcome", json_string(orch_outcome(state)));
	json_object_set_new(e, "reason", reason ? json_string(reason) : json_null());
	json_object_set_new(e, "result_file",
	                    result_file ? json_string(result_file) : json_null());
	report_time(e, "started", started_us);
	report_time(e, "ended", ended_us);
	json_object_set(e, "test_start",
	                json_object_get(result, "test_start") ?: json_null());
	json_object_set(e, "test_end",
	                json_object_get(result, "test_end") ?: json_null());
	if (skipped) {
		report_seconds(e, "mttr", false, 0, why);
		report_seconds(e, "recovery_time", false, 0, why);
	} else {
		orch_entry_figure(e, result, "mttr", result ? NULL : why);
		orch_entry_figure(e, result, "recovery_time", result ? NULL : why);
	}
	orch_entry_counts(e, result, skipped);
	orch_entry_user(e, result, skipped);
	json_object_set_new(e, "details", result ? orch_details(result) : json_object());
	return e;
}

/* The MTTRs of the runs that were not skipped; *out is malloc'd. */
static size_t
orch_mttrs(const json_t *entries, double **out)
{
	size_t        i, n = 0;
	const json_t *e;
	double        v;

	*out = malloc((json_array_size(entries) + 1) * sizeof(double));
	json_array_foreach(entries, i, e) if (!entry_is(e, "outcome", "skipped") &&
	                                      entry_num(e, "mttr", &v))(*out)[n++] = v;
	return n;
}

/* The runs that ran but measured no MTTR: their count, and the first one
 * named with its reason (null when none). A statistic over the others says
 * nothing about them, so the MTTR SLOs cannot be met while there are any. */
static void
orch_unmeasured(json_t *s, const json_t *entries)
{
	size_t        i, n = 0;
	const json_t *e;
	double        v;
	char          first[512] = "";

	json_array_foreach(entries, i, e)
	{
		if (entry_is(e, "outcome", "skipped") || entry_num(e, "mttr", &v))
			continue;
		if (n++ == 0)
			snprintf(
			    first, sizeof(first), "%s, cycle %lld: %s",
			    json_string_value(json_object_get(e, "scenario"))
			        ?: "unnamed",
			    (long long)json_integer_value(json_object_get(e, "cycle")),
			    json_string_value(json_object_get(e, "mttr_reason"))
			        ?: "no reason given");
	}
	json_object_set_new(s, "unmeasured_mttr_count", json_integer((json_int_t)n));
	json_object_set_new(s, "unmeasured_mttr_first",
	                    n > 0 ? json_string(first) : json_null());
}

/* A sum over the runs that counted (n of them): null with a reason when
 * none did, never a 0 nobody measured. */
static void
orch_total(json_t *s, const char *key, json_int_t n, json_int_t sum)
{
	char rkey[64];

	snprintf(rkey, sizeof(rkey), "%s_reason", key);
	json_object_set_new(s, key, n > 0 ? json_integer(sum) : json_null());
	json_object_set_new(s, rkey,
	                    n > 0 ? json_null()
	                          : json_string("no run that was not skipped counted "
	                                        "these requests"));
}

static void
orch_summary_counts(json_t *s, const json_t *entries)
{
	json_int_t ok = 0, failed = 0, skipped = 0, succ = 0, err = 0, usucc = 0,
	           uerr = 0, counted = 0, ucounted = 0;
	size_t        i;
	const json_t *e;

	json_array_foreach(entries, i, e)
	{
		ok += entry_is(e, "outcome", "successful");
		failed += entry_is(e, "outcome", "failed");
		skipped += entry_is(e, "outcome", "skipped");
		if (entry_is(e, "outcome", "skipped"))
			continue;
		counted += json_is_integer(json_object_get(e, "success_count"));
		ucounted += json_is_integer(json_object_get(e, "user_success_count"));
		succ += json_integer_value(json_object_get(e, "success_count"));
		err += json_integer_value(json_object_get(e, "error_count"));
		usucc += json_integer_value(json_object_get(e, "user_success_count"));
		uerr += json_integer_value(json_object_get(e, "user_error_count"));
	}
	json_object_set_new(s, "total_scenarios",
	                    json_integer((json_int_t)json_array_size(entries)));
	json_object_set_new(s, "successful_scenarios", json_integer(ok));
	json_object_set_new(s, "failed_scenarios", json_integer(failed));
	json_object_set_new(s, "skipped_scenarios", json_integer(skipped));
	orch_total(s, "total_success_count", counted, succ);
	orch_total(s, "total_error_count", counted, err);
	json_object_set_new(s, "counted_runs", json_integer(counted));
	report_percent(s, "success_rate", succ + err > 0,
	               succ + err > 0 ? 100.0 * (double)succ / (double)(succ + err) : 0,
	               "no request was counted in a run that was not skipped");
	orch_total(s, "total_user_success_count", ucounted, usucc);
	orch_total(s, "total_user_error_count", ucounted, uerr);
	json_object_set_new(s, "user_counted_runs", json_integer(ucounted));
	report_percent(
	    s, "request_success_rate", usucc + uerr > 0,
	    usucc + uerr > 0 ? 100.0 * (double)usucc / (double)(usucc + uerr) : 0,
	    "no user-facing request was counted in a run that was not skipped");
}

json_t *
orch_summary(const json_t *entries)
{
	json_t     *s = json_object();
	double     *v = NULL, avg = 0, lo = 0, hi = 0, p50 = 0, p95 = 0;
	size_t      n    = orch_mttrs(entries, &v);
	bool        have = mttr_mean(v, n, &avg);
	const char *why  = "no run measured an MTTR";

	mttr_percentile(v, n, 0, &lo);
	mttr_percentile(v, n, 100, &hi);
	mttr_percentile(v, n, 50, &p50);
	mttr_percentile(v, n, 95, &p95);
	free(v);
	orch_summary_counts(s, entries);
	json_object_set_new(s, "measured_mttr_count", json_integer((json_int_t)n));
	orch_unmeasured(s, entries);
	report_seconds(s, "average_mttr", have, avg, why);
	report_seconds(s, "max_mttr", have, hi, why);
	report_seconds(s, "min_mttr", have, lo, why);
	report_seconds(s, "p50_mttr", have, p50, why);
	report_seconds(s, "p95_mttr", have, p95, why);
	return s;
}

/* Why an MTTR statistic cannot be judged although it has a value: some
 * runs measured none. False when every run that ran measured one. */
static bool
orch_slo_partial(const json_t *summary, char *buf, size_t len)
{
	json_int_t n =
	    json_integer_value(json_object_get(summary, "unmeasured_mttr_count"));
	json_int_t m =
	    json_integer_value(json_object_get(summary, "measured_mttr_count"));

	if (n <= 0)
		return false;
	snprintf(buf, len, "%lld of %lld runs that ran measured no MTTR (first: %s)",
	         (long long)n, (long long)(n + m),
	         json_string_value(json_object_get(summary, "unmeasured_mttr_first"))
	             ?: "unnamed");
	return true;
}

/* One target from summary[key]. partial (may be NULL): the value covers
 * only some runs, and why; then it is unknown, except that a maximum
 * (is_max) already past the target is missed whatever the others were. */
static json_t *
orch_slo_target(const char *name, const char *desc, const char *cmp, double threshold,
                const char *unit, const json_t *summary, const char *key,
                const char *partial, bool is_max)
{
	char    target[64], rkey[64];
	double  v     = 0;
	bool    known = entry_num(summary, key, &v);
	bool    met   = strcmp(cmp, "<=") == 0 ? v <= threshold : v >= threshold;
	json_t *o;

	if (partial != NULL && known && (met || !is_max))
		known = false;
	else
		partial = NULL;

	snprintf(target, sizeof(target), "%s %g %s", cmp, threshold, unit);
	snprintf(rkey, sizeof(rkey), "%s_reason", key);
	o = json_pack("{s:s,s:s,s:s,s:f,s:s,s:s}", "name", name, "description", desc,
	              "target", target, "threshold", threshold, "unit", unit,
	              "comparison", cmp);
	json_object_set_new(o, "measured", known ? json_real(v) : json_null());
	json_object_set_new(o, "met", known ? json_boolean(met) : json_null());
	if (known) {
		json_object_set_new(o, "reason", json_null());
	} else {
		char why[768];
		snprintf(why, sizeof(why), "not measured: %s",
		         partial ? partial
		                 : json_string_value(json_object_get(summary, rkey))
		                 ?: "no value");
		json_object_set_new(o, "reason", json_string(why));
	}
	return o;
}

json_t *
orch_slo(const json_t *summary, const struct orch_slo_targets *t)
{
	json_t       *targets = json_array(), *slo = json_object();
	size_t        i, n_true = 0, n_false = 0;
	const json_t *x;
	char          buf[640];
	const char   *partial = orch_slo_partial(summary, buf, sizeof(buf)) ? buf : NULL;

	json_array_append_new(targets,
	                      orch_slo_target("mttr_average",
	                                      "MTTR, average over scenarios",
	                                      "<=", t->mttr_avg_s, "s", summary,
	                                      "average_mttr", partial, false));
	json_array_append_new(targets,
	                      orch_slo_target("mttr_max", "MTTR, maximum",
	                                      "<=", t->mttr_max_s, "s", summary,
	                                      "max_mttr", partial, true));
	json_array_append_new(
	    targets,
	    orch_slo_target("request_success_rate",
	                    "success rate of the user-facing requests during the "
	                    "experiments (each result's user_requests: the "
	                    "coordinator load, the API requests during a database "
	                    "failure, the probes of the side that keeps serving "
	                    "in a partition); probes of nodes cut off on purpose "
	                    "are not counted: every probe sample is in "
	                    "summary.success_rate",
	                    ">=", t->success_rate_pct, "%", summary,
	                    "request_success_rate", NULL, false));
	json_array_foreach(targets, i, x)
	{
		n_true += json_is_true(json_object_get(x, "met"));
		n_false += json_is_false(json_object_get(x, "met"));
	}
	json_object_set_new(slo, "all_met",
	                    n_false                                  ? json_false()
	                        : n_true == json_array_size(targets) ? json_true()
	                                                             : json_null());
	json_object_set_new(slo, "targets", targets);
	return slo;
}

/* Least squares slope of y over x; false when undefined. */
static bool
orch_slope(const double *x, const double *y, size_t n, double *out)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0;

	if (n < 2)
		return false;
	for (size_t i = 0; i < n; i++)
		mx += x[i], my += y[i];
	mx /= (double)n, my /= (double)n;
	for (size_t i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	if (!(sxx > 0))
		return false;
	*out = sxy / sxx;
	return isfinite(*out);
}

/* Point time of an entry: its test_start, else when it was started. */
static bool
orch_entry_time(const json_t *e, double *t)
{
	return orch_parse_iso(json_string_value(json_object_get(e, "test_start")), t) ||
	    orch_parse_iso(json_string_value(json_object_get(e, "started")), t);
}

static json_t *
orch_trend_one(const json_t *entries, const char *scenario)
{
	size_t        i, n = 0, cap = json_array_size(entries) + 1;
	double       *x = malloc(cap * sizeof(double)), *y = malloc(cap * sizeof(double));
	double        t0 = 0, p50 = 0, p95 = 0, slope = 0, t, v;
	json_t       *o = json_object(), *points = json_array();
	const json_t *e;
	bool          have_slope;

	json_array_foreach(entries, i, e)
	{
		if (!entry_is(e, "scenario", scenario) ||
		    entry_is(e, "outcome", "skipped") || !entry_num(e, "mttr", &v) ||
		    !orch_entry_time(e, &t))
			continue;
		if (n == 0)
			t0 = t;
		x[n] = (t - t0) / 3600.0, y[n++] = v;
		json_array_append_new(
		    points,
		    json_pack("{s:O,s:O,s:f}", "cycle", json_object_get(e, "cycle"), "t",
		              json_object_get(e, "test_start") ?: json_null(), "mttr",
		              v));
	}
	mttr_percentile(y, n, 50, &p50);
	mttr_percentile(y, n, 95, &p95);
	have_slope = orch_slope(x, y, n, &slope);
	json_object_set_new(o, "points", points);
	json_object_set_new(o, "count", json_integer((json_int_t)n));
	report_seconds(o, "p50", n > 0, p50, "no measured MTTR");
	report_seconds(o, "p95", n > 0, p95, "no measured MTTR");
	report_seconds(o, "span_hours", n > 0, n > 0 ? x[n - 1] : 0, "no measured MTTR");
	/* 6 decimals: a slope in s/hour over a short session is small. */
	if (have_slope) {
		json_object_set_new(o, "slope_seconds_per_hour",
		                    json_real(round(slope * 1e6) / 1e6));
		json_object_set_new(o, "slope_seconds_per_hour_reason", json_null());
	} else {
		json_object_set_new(o, "slope_seconds_per_hour", json_null());
		json_object_set_new(
		    o, "slope_seconds_per_hour_reason",
		    json_string(n < 2 ? "fewer than 2 measured runs"
		                      : "all measured runs started at the same time"));
	}
	free(x);
	free(y);
	return o;
}

json_t *
orch_trends(const json_t *entries)
{
	json_t       *o = json_object();
	size_t        i;
	const json_t *e;

	json_array_foreach(entries, i, e)
	{
		const char *s = json_string_value(json_object_get(e, "scenario"));
		if (s != NULL && json_object_get(o, s) == NULL &&
		    !entry_is(e, "outcome", "skipped"))
			json_object_set_new(o, s, orch_trend_one(entries, s));
	}
	return o;
}

static const json_t *
orch_slo_get(const json_t *slo, const char *name)
{
	size_t        i;
	const json_t *x;

	json_array_foreach(json_object_get(slo, "targets"), i,
	                   x) if (entry_is(x, "name", name)) return x;
	return NULL;
}

static void
orch_rules_slo(json_t *recs, const json_t *entries, const json_t *summary,
               const json_t *slo, const struct orch_slo_targets *t)
{
	const json_t *x, *w;
	double        v = 0, worst = 0;

	x = orch_slo_get(slo, "mttr_average");
	if (json_is_false(json_object_get(x, "met")) && entry_num(x, "measured", &v) &&
	    (w = entry_worst(entries, NULL, "mttr", &worst)) != NULL)
		entry_rec(
		    recs, "mttr_average_above_slo", "high", NULL, v, t->mttr_avg_s,
		    "Average MTTR %.1f s is above the %g s SLO (slowest: %s, cycle %lld, "
		    "%.1f s): shorten detection (probe and readiness periods) and "
		    "restart or "
		    "failover time.",
		    v, t->mttr_avg_s, json_string_value(json_object_get(w, "scenario")),
		    json_integer_value(json_object_get(w, "cycle")), worst);
	x = orch_slo_get(slo, "mttr_max");
	if (json_is_false(json_object_get(x, "met")) && entry_num(x, "measured", &v) &&
	    (w = entry_worst(entries, NULL, "mttr", &worst)) != NULL)
		entry_rec(
		    recs, "mttr_max_above_slo", "high",
		    json_string_value(json_object_get(w, "scenario")), v, t->mttr_max_s,
		    "Slowest recovery %.1f s (%s, cycle %lld) is above the %g s maximum: "
		    "find "
		    "what the service waits for after the fault (timeouts, backoff caps, "
		    "leader election) and bound it.",
		    v, json_string_value(json_object_get(w, "scenario")),
		    json_integer_value(json_object_get(w, "cycle")), t->mttr_max_s);
	x = orch_slo_get(slo, "request_success_rate");
	if (json_is_false(json_object_get(x, "met")) && entry_num(x, "measured", &v))
		entry_rec(
		    recs, "success_rate_below_slo", "high", NULL, v, t->success_rate_pct,
		    "Request success rate %.3f %% (%lld of %lld user-facing requests "
		    "failed) is below the %g %% SLO: clients need timeouts and retries "
		    "with backoff, and the service replicas in more than one failure "
		    "domain.",
		    v,
		    json_integer_value(
		        json_object_get(summary, "total_user_error_count")),
		    json_integer_value(
		        json_object_get(summary, "total_user_error_count")) +
		        json_integer_value(
		            json_object_get(summary, "total_user_success_count")),
		    t->success_rate_pct);
}

/* Runs that ran and measured no MTTR leave the MTTR SLOs unjudged. */
static void
orch_rule_unmeasured(json_t *recs, const json_t *summary)
{
	char why[640];

	if (orch_slo_partial(summary, why, sizeof(why)))
		entry_rec(recs, "mttr_not_measured", "high", NULL,
		          (double)json_integer_value(
		              json_object_get(summary, "unmeasured_mttr_count")),
		          0,
		          "%s: the MTTR SLOs cannot be judged until every run measures "
		          "its recovery; read those runs' results for why (a target "
		          "lost, no recovery within the timeout, no probe samples).",
		          why);
}

/* "first: <scenario>, cycle <n>: <reason>" for the first entry with this
 * outcome, into buf. */
static void
orch_first_with(const json_t *entries, const char *outcome, char *buf, size_t len)
{
	const json_t *e;
	size_t        i;

	json_array_foreach(entries, i, e)
	{
		if (!entry_is(e, "outcome", outcome))
			continue;
		snprintf(buf, len, "first: %s, cycle %lld: %s",
		         json_string_value(json_object_get(e, "scenario")) ?: "unnamed",
		         (long long)json_integer_value(json_object_get(e, "cycle")),
		         json_string_value(json_object_get(e, "reason"))
		             ?: "no reason given");
		return;
	}
	snprintf(buf, len, "no entry says %s", outcome);
}

/* The runs the statistics leave out, by outcome, and what that means. */
static const struct orch_runs_rule {
	const char *outcome; /* an entry's "outcome" */
	const char *count;   /* the summary's count of them */
	const char *rule, *severity, *verb, *meaning;
} orch_runs_rules[] = {
    {"failed", "failed_scenarios", "runs_failed", "high", "failed",
     "their figures are missing from the statistics; read their result files"},
    {"skipped", "skipped_scenarios", "runs_skipped", "medium", "were skipped",
     "the results do not cover them"},
};

static void
orch_rules_runs(json_t *recs, const json_t *entries, const json_t *summary)
{
	long long total = json_integer_value(json_object_get(summary, "total_scenarios"));
	char      first[1024];

	for (size_t k = 0; k < sizeof(orch_runs_rules) / sizeof(orch_runs_rules[0]);
	     k++) {
		const struct orch_runs_rule *r = &orch_runs_rules[k];
		long long n = json_integer_value(json_object_get(summary, r->count));

		if (n <= 0)
			continue;
		orch_first_with(entries, r->outcome, first, sizeof(first));
		entry_rec(recs, r->rule, r->severity, NULL, (double)n, 0,
		          "%lld of %lld runs %s (%s): %s.", n, total, r->verb, first,
		          r->meaning);
	}
}

static void
orch_rule_trends(json_t *recs, const json_t *trends)
{
	const json_t *tr, *p;
	const char   *name;
	size_t        i;

	json_object_foreach((json_t *)trends, name, tr)
	{
		double slope, span, sum = 0, rise, mean;
		size_t n = json_array_size(json_object_get(tr, "points"));
		if (n < ORCH_TREND_MIN_POINTS ||
		    !entry_num(tr, "slope_seconds_per_hour", &slope) ||
		    !entry_num(tr, "span_hours", &span))
			continue;
		json_array_foreach(json_object_get(tr, "points"), i, p) sum +=
		    json_number_value(json_object_get(p, "mttr"));
		mean = sum / (double)n;
		rise = slope * span;
		if (rise > ORCH_TREND_RISE_SHARE * mean && rise > 1.0)
			entry_rec(recs, "mttr_rising", "medium", name, slope, 0,
			          "MTTR of %s rises by %.1f s per hour (%.1f s over %.2f "
			          "h, %zu runs, mean "
			          "%.1f s): recovery degrades over time; look for leaks, "
			          "growing state or "
			          "backoff timers that grow.",
			          name, slope, rise, span, n, mean);
	}
}

json_t *
orch_recommendations(const json_t *entries, const json_t *summary, const json_t *slo,
                     const json_t *trends, const struct orch_slo_targets *t)
{
	json_t *recs = json_array();
	double  avg, max, rate;

	orch_rules_slo(recs, entries, summary, slo, t);
	orch_rule_unmeasured(recs, summary);
	for (size_t i = 0; scenario_list[i] != NULL; i++)
		if (scenario_list[i]->recommend != NULL)
			scenario_list[i]->recommend(entries, recs);
	orch_rule_trends(recs, trends);
	orch_rules_runs(recs, entries, summary);
	if (json_array_size(recs) > 0)
		return recs;
	if (entry_num(summary, "average_mttr", &avg) &&
	    entry_num(summary, "max_mttr", &max) &&
	    entry_num(summary, "request_success_rate", &rate))
		entry_rec(recs, "all_clear", "info", NULL, avg, t->mttr_avg_s,
		          "All SLOs met: average MTTR %.1f s, maximum %.1f s, request "
		          "success rate "
		          "%.3f %%; no action needed.",
		          avg, max, rate);
	else
		entry_rec(recs, "nothing_measured", "info", NULL, NAN, NAN,
		          "No run measured an MTTR, so no SLO could be checked.");
	return recs;
}

bool
orch_entry_failed(const json_t *e, const struct orch_slo_targets *t, char *buf,
                  size_t len)
{
	double v;
	int    n = 0;

	buf[0] = '\0';
	if (entry_is(e, "outcome", "skipped"))
		return false;
	if (entry_is(e, "outcome", "failed"))
		n += snprintf(
		    buf, len, "%s: %s", json_string_value(json_object_get(e, "state")),
		    json_string_value(json_object_get(e, "reason")) ?: "no reason given");
	if (entry_num(e, "mttr", &v) && v > t->mttr_max_s && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n,
		              "%sMTTR %.3f s above the %g s maximum", n ? "; " : "", v,
		              t->mttr_max_s);
	if (entry_num(e, "request_success_rate", &v) && v < t->success_rate_pct &&
	    (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n,
		              "%srequest success rate %.3f %% below the %g %% target",
		              n ? "; " : "", v, t->success_rate_pct);
	return n > 0;
}

int
orch_report_exit(const json_t *entries, const json_t *slo,
                 const struct orch_slo_targets *t)
{
	bool          ran_bad = json_is_false(json_object_get(slo, "all_met"));
	bool          refused = false, unusable = false, any_ok = false;
	const json_t *e;
	size_t        i;
	char          why[16];

	json_array_foreach(entries, i, e)
	{
		/* unknown: how the run ended was not recorded, so neither a
		 * failure nor a success can be claimed for it */
		bool unsure = entry_is(e, "state", "unusable") ||
		    entry_is(e, "state", "unreachable") ||
		    entry_is(e, "state", ORCH_STATE_UNKNOWN);
		bool setup = unsure || entry_is(e, "state", "refused");
		refused    = refused || entry_is(e, "state", "refused");
		unusable   = unusable || unsure;
		any_ok     = any_ok || entry_is(e, "outcome", "successful");
		if (!setup && orch_entry_failed(e, t, why, sizeof(why)))
			ran_bad = true;
	}
	if (ran_bad)
		return 1;
	if (refused)
		return 2;
	/* an SLO nobody could check is not met: inconclusive, never 0 */
	return unusable || !any_ok || !json_is_true(json_object_get(slo, "all_met")) ? 3
	                                                                             : 0;
}

json_t *
orch_report_build(const json_t *entries, const char *namespace_, int64_t generated_us,
                  const json_t *orchestration, const struct orch_slo_targets *t)
{
	json_t *r       = json_object();
	json_t *orch    = orchestration ? json_deep_copy(orchestration) : json_object();
	json_t *summary = orch_summary(entries);
	json_t *slo     = orch_slo(summary, t);
	json_t *trends  = orch_trends(entries);

	report_time(r, "report_generated", generated_us);
	json_object_set_new(r, "namespace",
	                    namespace_ ? json_string(namespace_) : json_null());
	if (orch == NULL)
		orch = json_object();
	json_object_set(orch, "scenarios", (json_t *)entries);
	json_object_set_new(orch, "summary", summary);
	json_object_set_new(r, "orchestration", orch);
	json_object_set_new(r, "slo", slo);
	json_object_set_new(r, "recommendations",
	                    orch_recommendations(entries, summary, slo, trends, t));
	json_object_set_new(r, "trends", trends);
	return r;
}
