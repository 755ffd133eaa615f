// SPDX-License-Identifier: MIT
/*
 * report.html: one self-contained file (inline CSS and SVG; no fonts,
 * scripts or images fetched) with the summary, the SLO table, the
 * recommendations, MTTR trends and, per run, a timeline: one health lane per
 * probe from the result's samples, the fault window shaded and the recovery
 * point marked. Every string from a result is escaped.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "controller/report/render.h"
#include "controller/scenarios/scenario.h"

#define HTML_W 1200
#define HTML_LABEL_W 180
#define HTML_RIGHT 24
#define HTML_TOP 34
#define HTML_LANE_H 16
#define HTML_LANE_GAP 10
#define HTML_MAX_LANES 32
#define HTML_PLOT_W (HTML_W - HTML_LABEL_W - HTML_RIGHT)

struct html_lane {
	char          name[192];
	const json_t *samples; /* array of {t, ok, ...} */
};

struct html_axis {
	double t0, t1;
};

static const char html_css[] =
    "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px;"
    "color:#1f2328;background:#fff}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 "
    "8px;border-bottom:1px "
    "solid #d0d7de;padding-bottom:4px}h3{font-size:15px;margin:18px 0 4px}"
    ".meta{color:#57606a;font-size:13px}"
    "table{border-collapse:collapse;font-size:13px;margin:6px 0}"
    "th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}"
    ".na{color:#6e7781}.why{color:#6e7781;font-size:12px}"
    "li{margin:4px 0;font-size:14px}.sev-high{color:#cf222e}.sev-medium{color:#9a6700}"
    ".sev-info{color:#1a7f37}svg{display:block;margin:4px 0 12px}"
    ".legend span{display:inline-block;width:14px;height:10px;margin:0 4px 0 12px;"
    "vertical-align:middle}";

static const char *
html_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* before, then text escaped (NULL: nothing), then after: a string from a
 * result placed in markup. */
static void
html_wrap(FILE *f, const char *before, const char *text, const char *after)
{
	fputs(before, f);
	render_escape(f, text);
	fputs(after, f);
}

/* A measured value with its unit, or "not measured" with the reason. */
static void
html_figure(FILE *f, const json_t *o, const char *key, bool sign, const char *unit)
{
	const json_t *v = json_object_get(o, key);
	char          rkey[64];

	snprintf(rkey, sizeof(rkey), "%s_reason", key);
	if (json_is_number(v)) {
		fprintf(f,
		        sign ? "<td class=\"num\">%+.3f %s</td>"
		             : "<td class=\"num\">%.3f %s</td>",
		        json_number_value(v), unit);
		return;
	}
	html_wrap(f, "<td class=\"na\">not measured<div class=\"why\">",
	          html_str(o, rkey) ?: "", "</div></td>");
}

static void
html_header(FILE *f, const json_t *report)
{
	const json_t *orch = json_object_get(report, "orchestration");

	fprintf(f,
	        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	        "<meta name=\"viewport\" content=\"width=device-width\">"
	        "<title>Chaos test report</title><style>%s</style></head><body>\n",
	        html_css);
	html_wrap(f, "<h1>Chaos test report</h1><div class=\"meta\">generated ",
	          html_str(report, "report_generated"), "");
	html_wrap(f, " &middot; namespace ", html_str(report, "namespace") ?: "(all)",
	          "");
	html_wrap(f, " &middot; ", html_str(orch, "mode") ?: "", "");
	html_wrap(f, " from ", html_str(orch, "orchestration_start") ?: "?", "");
	if (html_str(orch, "orchestration_end") != NULL)
		html_wrap(f, " to ", html_str(orch, "orchestration_end"), "</div>\n");
	else /* not known: why, never a made-up end */
		html_wrap(f, " to (",
		          html_str(orch, "orchestration_end_reason") ?: "in progress",
		          ")</div>\n");
}

static void
html_summary(FILE *f, const json_t *summary)
{
	static const char *const counts[] = {"total_scenarios", "successful_scenarios",
	                                     "failed_scenarios", "skipped_scenarios"};
	static const char *const mttrs[]  = {"average_mttr", "min_mttr", "max_mttr",
	                                     "p50_mttr", "p95_mttr"};

	fputs("<h2>Summary</h2><table><tr>", f);
	for (size_t i = 0; i < 4; i++)
		fprintf(f, "<th>%s</th>", counts[i]);
	for (size_t i = 0; i < 5; i++)
		fprintf(f, "<th>%s</th>", mttrs[i]);
	fputs("<th>request_success_rate (SLO: user-facing)</th><th>success_rate (every "
	      "probe sample)</th></tr><tr>",
	      f);
	for (size_t i = 0; i < 4; i++)
		fprintf(f, "<td class=\"num\">%lld</td>",
		        json_integer_value(json_object_get(summary, counts[i])));
	for (size_t i = 0; i < 5; i++)
		html_figure(f, summary, mttrs[i], false, "s");
	html_figure(f, summary, "request_success_rate", false, "%");
	html_figure(f, summary, "success_rate", false, "%");
	fputs("</tr></table>\n", f);
}

/* head, then one row per element of arr, then tail: a section that lists
 * an array of the report. */
static void
html_list(FILE *f, const char *head, const json_t *arr,
          void (*row)(FILE *f, const json_t *x), const char *tail)
{
	const json_t *x;
	size_t        i;

	fputs(head, f);
	json_array_foreach(arr, i, x) row(f, x);
	fputs(tail, f);
}

static const char html_slo_head[] =
    "<h2>SLO compliance</h2><table><tr><th>SLO</th><th>target</th><th>measured</th>"
    "<th>status</th></tr>\n";

static void
html_slo_row(FILE *f, const json_t *x)
{
	const json_t *met = json_object_get(x, "met");

	html_wrap(f, "<tr><td>", html_str(x, "description"), "</td><td>");
	html_wrap(f, "", html_str(x, "target"), "</td>");
	if (json_is_number(json_object_get(x, "measured")))
		fprintf(f, "<td class=\"num\">%.3f %s</td>",
		        json_number_value(json_object_get(x, "measured")),
		        strcmp(html_str(x, "unit") ?: "", "%") == 0 ? "%" : "s");
	else
		fputs("<td class=\"na\">&mdash;</td>", f);
	if (json_is_boolean(met))
		fprintf(f, "<td class=\"%s\">%s</td></tr>\n",
		        json_is_true(met) ? "pass" : "fail",
		        json_is_true(met) ? "PASS" : "FAIL");
	else
		html_wrap(f, "<td class=\"na\">", html_str(x, "reason") ?: "not measured",
		          "</td></tr>\n");
}

static void
html_rec_row(FILE *f, const json_t *r)
{
	html_wrap(f, "<li><b class=\"sev-", html_str(r, "severity"), "\">");
	html_wrap(f, "", html_str(r, "severity"), "</b> ");
	html_wrap(f, "", html_str(r, "message"), "</li>\n");
}

static const char html_runs_head[] =
    "<h2>Runs</h2><table><tr><th>cycle</th><th>scenario</th><th>state</th><th>mttr</th>"
    "<th>recovery_time</th><th>request success rate (user-facing)</th>"
    "<th>every probe sample</th><th>result</th><th>reason</th></tr>\n";

static void
html_run_row(FILE *f, const json_t *e)
{
	const char *outcome = html_str(e, "outcome") ?: "";

	fprintf(f, "<tr><td class=\"num\">%lld</td><td>",
	        json_integer_value(json_object_get(e, "cycle")));
	render_escape(f, html_str(e, "scenario"));
	fprintf(f, "</td><td class=\"%s\">",
	        strcmp(outcome, "successful") == 0   ? "pass"
	            : strcmp(outcome, "failed") == 0 ? "fail"
	                                             : "na");
	html_wrap(f, "", html_str(e, "state"), "</td>");
	html_figure(f, e, "mttr", false, "s");
	html_figure(f, e, "recovery_time", false, "s");
	html_figure(f, e, "request_success_rate", false, "%");
	html_figure(f, e, "success_rate", false, "%");
	fputs("<td>", f);
	if (html_str(e, "result_file") != NULL) {
		html_wrap(f, "<a href=\"", html_str(e, "result_file"), "\">");
		html_wrap(f, "", html_str(e, "result_file"), "</a>");
	}
	html_wrap(f, "</td><td>", html_str(e, "reason"), "</td></tr>\n");
}

/* ---- timelines ---- */

static bool
html_is_sample_array(const json_t *a)
{
	const json_t *first = json_array_get(a, 0);

	return json_is_object(first) && json_is_string(json_object_get(first, "t")) &&
	    json_is_boolean(json_object_get(first, "ok"));
}

/* The lanes the result's scenario declares (scenario_shape.lanes): one per
 * member of each lane object, named by the member. A result of a scenario
 * this build does not know has none. */
static void
html_find_lanes(const json_t *res, const struct scenario *sc, struct html_lane *lanes,
                size_t *n)
{
	const char   *name;
	const json_t *arr;

	for (const char *const *k = sc != NULL ? sc->shape.lanes : NULL; k != NULL && *k;
	     k++)
		json_object_foreach(json_object_get(res, *k), name, arr)
		{
			if (*n >= HTML_MAX_LANES || !html_is_sample_array(arr))
				continue;
			/* a long name is cut: it is a label */
			snprintf(lanes[*n].name, sizeof(lanes[*n].name), "%.180s", name);
			lanes[(*n)++].samples = arr;
		}
}

struct html_pt {
	double t;
	double dur; /* how long the check took (a timeout stands for its wait) */
	bool   ok;
};

static int
html_pt_cmp(const void *a, const void *b)
{
	double x = ((const struct html_pt *)a)->t, y = ((const struct html_pt *)b)->t;

	return (x > y) - (x < y);
}

static size_t
html_lane_points(const struct html_lane *l, struct html_pt **out)
{
	size_t        i, n = 0;
	const json_t *s;

	*out = malloc((json_array_size(l->samples) + 1) * sizeof(**out));
	if (*out == NULL)
		return 0;
	json_array_foreach(l->samples, i, s)
	{
		double t;
		if (!json_is_boolean(json_object_get(s, "ok")) ||
		    !orch_parse_iso(html_str(s, "t"), &t))
			continue;
		(*out)[n].t   = t;
		(*out)[n].ok  = json_is_true(json_object_get(s, "ok"));
		(*out)[n].dur = json_is_number(json_object_get(s, "ms"))
		    ? fmax(json_number_value(json_object_get(s, "ms")) / 1000.0, 0)
		    : 0;
		n++;
	}
	qsort(*out, n, sizeof(**out), html_pt_cmp);
	return n;
}

static double
html_x(const struct html_axis *ax, double t)
{
	double x = (t - ax->t0) / (ax->t1 - ax->t0);

	x = x < 0 ? 0 : x > 1 ? 1 : x;
	return HTML_LABEL_W + x * HTML_PLOT_W;
}

static int
html_double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median gap between samples: how long one sample stands for. */
static double
html_step(const struct html_pt *p, size_t n)
{
	double *gaps, step = 0.2;
	size_t  k = 0;

	if (n < 2 || (gaps = malloc(n * sizeof(*gaps))) == NULL)
		return step;
	for (size_t i = 1; i < n; i++)
		if (p[i].t > p[i - 1].t)
			gaps[k++] = p[i].t - p[i - 1].t;
	if (k > 0) {
		qsort(gaps, k, sizeof(*gaps), html_double_cmp);
		step = gaps[k / 2];
	}
	free(gaps);
	return step;
}

/* Does sample j stand until sample j + 1? */
static bool
html_joined(const struct html_pt *p, size_t j, double step)
{
	return p[j + 1].t - p[j].t <= 3 * step + p[j].dur;
}

static void
html_lane(FILE *f, const struct html_axis *ax, const struct html_lane *l, double y)
{
	struct html_pt *p    = NULL;
	size_t          n    = html_lane_points(l, &p);
	double          step = html_step(p, n);

	fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">",
	        HTML_LABEL_W - 8, y + HTML_LANE_H - 4);
	render_escape(f, l->name);
	fprintf(f,
	        "</text><rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" "
	        "fill=\"#e8e8e8\"/>\n",
	        HTML_LABEL_W, y, HTML_PLOT_W, HTML_LANE_H);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double end;
		/* merge a run of equal, contiguous samples into one rectangle; a gap
		 * longer than a few periods (plus the check's own wait) is shown
		 * as "no sample" */
		while (j + 1 < n && p[j + 1].ok == p[i].ok && html_joined(p, j, step))
			j++;
		end = j + 1 < n && html_joined(p, j, step) ? p[j + 1].t : p[j].t + step;
		fprintf(f,
		        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
		        "fill=\"%s\"/>\n",
		        html_x(ax, p[i].t), y,
		        fmax(html_x(ax, end) - html_x(ax, p[i].t), 1.0), HTML_LANE_H,
		        p[i].ok ? RENDER_HEALTHY : RENDER_UNHEALTHY);
		i = j + 1;
	}
	free(p);
}

enum html_window { HTML_WIN_NONE, HTML_WIN_FULL, HTML_WIN_OPEN };

/* The fault window the scenario declares: <window>_start/<window>_end.
 * OPEN: it started and its end was not measured (a revert no agent
 * confirmed); *b is then the axis' end, for drawing only. */
static enum html_window
html_fault_window(const json_t *res, const struct scenario *sc,
                  const struct html_axis *ax, double *a, double *b)
{
	char k1[64], k2[64];

	if (sc == NULL || sc->shape.window == NULL)
		return HTML_WIN_NONE;
	snprintf(k1, sizeof(k1), "%s_start", sc->shape.window);
	snprintf(k2, sizeof(k2), "%s_end", sc->shape.window);
	if (!orch_parse_iso(html_str(res, k1), a))
		return HTML_WIN_NONE;
	if (orch_parse_iso(html_str(res, k2), b) && *b >= *a)
		return HTML_WIN_FULL;
	*b = ax->t1 > *a ? ax->t1 : *a;
	return HTML_WIN_OPEN;
}

/* When the scenario recovered: recovered_at, else the fault's end plus
 * recovery_time. */
static bool
html_recovered_at(const json_t *res, bool have_fault, double fault_end, double *t)
{
	const json_t *rt = json_object_get(res, "recovery_time");

	if (orch_parse_iso(html_str(res, "recovered_at"), t))
		return true;
	if (!have_fault || !json_is_number(rt))
		return false;
	*t = fault_end + json_number_value(rt);
	return true;
}

static void
html_axis_ticks(FILE *f, const struct html_axis *ax, double y)
{
	static const double steps[] = {0.5, 1,   2,   5,   10,   15,  30,
	                               60,  120, 300, 600, 1800, 3600};
	double              span = ax->t1 - ax->t0, step = 7200;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / steps[i] <= 12) {
			step = steps[i];
			break;
		}
	for (double s = 0; s <= span + 1e-9; s += step) {
		double x = html_x(ax, ax->t0 + s);
		fprintf(
		    f,
		    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		    "stroke=\"#8c959f\"/>"
		    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
		    "fill=\"#57606a\">+%gs</text>\n",
		    x, y, x, y + 4, x, y + 16, s);
	}
}

static void
html_timeline_marks(FILE *f, const json_t *res, const struct scenario *sc,
                    const struct html_axis *ax, double bottom)
{
	double           a = 0, b = 0, rec;
	enum html_window win   = html_fault_window(res, sc, ax, &a, &b);
	bool             fault = win == HTML_WIN_FULL;
	char             len[48];

	if (win != HTML_WIN_NONE) {
		double x0 = html_x(ax, a), x1 = html_x(ax, b);
		if (fault)
			snprintf(len, sizeof(len), "%.1f s", b - a);
		else
			snprintf(len, sizeof(len), "(end not measured)");
		fprintf(f,
		        "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" "
		        "fill=\"%s\"%s/>"
		        "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" fill=\"#9a6700\">%s "
		        "%s</text>\n",
		        x0, HTML_TOP - 8, fmax(x1 - x0, 1.0), bottom - HTML_TOP + 8,
		        RENDER_FAULT, fault ? "" : " fill-opacity=\"0.4\"", x0 + 2,
		        HTML_TOP - 12, sc->shape.window, len);
	}
	if (html_recovered_at(res, fault, b, &rec)) {
		double        x  = html_x(ax, rec);
		const json_t *rt = json_object_get(res, "recovery_time");
		char          what[64];

		/* the result's figure, or say there is none: never one made up
		 * from the drawing's own times */
		if (json_is_number(rt))
			snprintf(what, sizeof(what), "recovery_time %.2f s",
			         json_number_value(rt));
		else
			snprintf(what, sizeof(what), "recovery_time not measured");
		fprintf(
		    f,
		    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		    "stroke-width=\"3\"/><text x=\"%.1f\" y=\"%d\" font-size=\"12\" "
		    "fill=\"%s\">recovered (%s)</text>\n",
		    x, HTML_TOP - 22, x, bottom, RENDER_RECOVERY, x + 4, HTML_TOP - 24,
		    RENDER_RECOVERY, what);
	}
}

static void
html_timeline(FILE *f, const json_t *entry, const json_t *res)
{
	struct html_lane       lanes[HTML_MAX_LANES];
	struct html_axis       ax;
	size_t                 n = 0;
	double                 bottom, height;
	const struct scenario *sc =
	    scenario_find(json_string_value(json_object_get(res, "scenario")));

	html_find_lanes(res, sc, lanes, &n);
	fprintf(f,
	        "<h3>cycle %lld: ", json_integer_value(json_object_get(entry, "cycle")));
	html_wrap(f, "", html_str(entry, "scenario"), " (");
	html_wrap(f, "", html_str(entry, "state"), ")</h3>\n");
	if (!orch_parse_iso(html_str(res, "test_start"), &ax.t0) ||
	    !orch_parse_iso(html_str(res, "test_end"), &ax.t1) || n == 0) {
		fputs("<p class=\"na\">no samples or no test_start/test_end in the "
		      "result: no "
		      "timeline</p>\n",
		      f);
		return;
	}
	if (ax.t1 <= ax.t0)
		ax.t1 = ax.t0 + 1;
	bottom = HTML_TOP + (double)n * (HTML_LANE_H + HTML_LANE_GAP);
	height = bottom + 24;
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
	        "viewBox=\"0 0 %d %.0f\" role=\"img\">\n",
	        HTML_W, height, HTML_W, height);
	html_timeline_marks(f, res, sc, &ax, bottom);
	for (size_t i = 0; i < n; i++)
		html_lane(f, &ax, &lanes[i],
		          HTML_TOP + (double)i * (HTML_LANE_H + HTML_LANE_GAP));
	html_axis_ticks(f, &ax, bottom);
	fputs("</svg>\n", f);
}

static void
html_timelines(FILE *f, const json_t *entries, const json_t *const *results, size_t n)
{
	const json_t *e;
	size_t        i, omitted = 0;

	fputs("<h2>Timelines</h2><div class=\"legend meta\">"
	      "<span style=\"background:" RENDER_HEALTHY "\"></span>healthy"
	      "<span style=\"background:" RENDER_UNHEALTHY "\"></span>unhealthy"
	      "<span style=\"background:#e8e8e8\"></span>no sample"
	      "<span style=\"background:" RENDER_FAULT "\"></span>fault window"
	      "<span style=\"background:" RENDER_RECOVERY "\"></span>recovered</div>\n",
	      f);
	json_array_foreach(entries, i, e)
	{
		if (i < n && results[i] != NULL)
			html_timeline(f, e, results[i]);
		else if (html_str(e, "result_file") != NULL)
			omitted++;
	}
	if (omitted > 0)
		fprintf(f,
		        "<p class=\"meta\">%zu older runs have no picture here (at most "
		        "%d per "
		        "scenario); their result files hold every sample.</p>\n",
		        omitted, RENDER_MAX_TIMELINES);
}

static void
html_trend_chart(FILE *f, const json_t *tr)
{
	const json_t *pts = json_object_get(tr, "points"), *p;
	double        t0 = 0, t1 = 0, hi = 0, t;
	size_t        i, n = json_array_size(pts);

	if (n < 2)
		return;
	json_array_foreach(pts, i, p)
	{
		double v = json_number_value(json_object_get(p, "mttr"));
		if (!orch_parse_iso(html_str(p, "t"), &t))
			return;
		t0 = i == 0 ? t : t0, t1 = t;
		hi = v > hi ? v : hi;
	}
	hi = hi > 0 ? hi * 1.1 : 1;
	t1 = t1 > t0 ? t1 : t0 + 1;
	fprintf(
	    f,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"620\" height=\"150\" "
	    "viewBox=\"0 0 620 150\"><rect x=\"50\" y=\"10\" width=\"560\" "
	    "height=\"110\" "
	    "fill=\"#f6f8fa\"/><text x=\"4\" y=\"20\" font-size=\"11\">%.1f s</text>"
	    "<text x=\"4\" y=\"120\" font-size=\"11\">0 s</text><polyline fill=\"none\" "
	    "stroke=\"" RENDER_RECOVERY "\" stroke-width=\"2\" points=\"",
	    hi);
	json_array_foreach(pts, i, p)
	{
		orch_parse_iso(html_str(p, "t"), &t);
		fprintf(f, "%.1f,%.1f ", 50 + 560 * (t - t0) / (t1 - t0),
		        120 - 110 * json_number_value(json_object_get(p, "mttr")) / hi);
	}
	fprintf(f,
	        "\"/><text x=\"50\" y=\"140\" font-size=\"11\">%zu runs over %.2f "
	        "h</text></svg>\n",
	        n, (t1 - t0) / 3600.0);
}

static void
html_trends(FILE *f, const json_t *trends)
{
	const json_t *tr;
	const char   *name;

	fputs("<h2>MTTR "
	      "trends</h2><table><tr><th>scenario</th><th>runs</th><th>p50</th><th>p95"
	      "</th><th>slope</th></tr>\n",
	      f);
	json_object_foreach((json_t *)trends, name, tr)
	{
		fputs("<tr><td>", f);
		render_escape(f, name);
		fprintf(f, "</td><td class=\"num\">%lld</td>",
		        json_integer_value(json_object_get(tr, "count")));
		html_figure(f, tr, "p50", false, "s");
		html_figure(f, tr, "p95", false, "s");
		html_figure(f, tr, "slope_seconds_per_hour", true, "s/h");
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	json_object_foreach((json_t *)trends, name, tr) html_trend_chart(f, tr);
}

char *
report_html_render(const json_t *report, const json_t *const *results, size_t n,
                   const struct orch_slo_targets *t)
{
	const json_t *orch = json_object_get(report, "orchestration");
	char         *out  = NULL;
	size_t        len  = 0;
	FILE         *f    = open_memstream(&out, &len);

	(void)t;
	if (f == NULL)
		return NULL;
	html_header(f, report);
	html_summary(f, json_object_get(orch, "summary"));
	html_list(f, html_slo_head,
	          json_object_get(json_object_get(report, "slo"), "targets"),
	          html_slo_row, "</table>\n");
	html_list(f, "<h2>Recommendations</h2><ul>\n",
	          json_object_get(report, "recommendations"), html_rec_row, "</ul>\n");
	html_list(f, html_runs_head, json_object_get(orch, "scenarios"), html_run_row,
	          "</table>\n");
	html_trends(f, json_object_get(report, "trends"));
	html_timelines(f, json_object_get(orch, "scenarios"), results, n);
	fputs("</body></html>\n", f);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
