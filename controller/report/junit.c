// SPDX-License-Identifier: MIT
/* JUnit XML for CI, and the XML/HTML escaping shared with report_html.c. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "controller/report/render.h"

void
render_escape(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			/* XML 1.0 has no way to carry these, not even as references:
			 * C0 controls, DEL, and the non-characters U+FFFE and U+FFFF
			 * (EF BF BE, EF BF BF in UTF-8). */
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
			    c == 0x7f)
				fputs("\xef\xbf\xbd", f);
			else if (c == 0xef && (unsigned char)s[1] == 0xbf &&
			         ((unsigned char)s[2] & 0xfe) == 0xbe) {
				fputs("\xef\xbf\xbd", f);
				s += 2;
			} else
				fputc(c, f);
		}
	}
}

static const char *
junit_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Seconds between test_start and test_end; false when unknown (the
 * attribute is left out then: it is optional, and 0 would be made up). */
static bool
junit_time(const json_t *e, double *secs)
{
	double a, b;

	if (orch_parse_iso(junit_str(e, "test_start"), &a) &&
	    orch_parse_iso(junit_str(e, "test_end"), &b) && b >= a) {
		*secs = b - a;
		return true;
	}
	return false;
}

/* What a suite's header counts. */
struct junit_counts {
	int    tests, failures, errors, skipped;
	double time;
	bool   any_ran; /* a run that was not skipped: unknowns are errors */
};

/* <error> for what should have been measured and was not. */
static void
junit_error(FILE *f, const char *type, const char *msg)
{
	fprintf(f, "      <error type=\"%s\" message=\"", type);
	render_escape(f, msg);
	fputs("\">", f);
	render_escape(f, msg);
	fputs("</error>\n", f);
}

static void
junit_figure(FILE *f, const json_t *e, const char *key, const char *unit)
{
	const json_t *v = json_object_get(e, key);
	char          rkey[64];

	snprintf(rkey, sizeof(rkey), "%s_reason", key);
	if (json_is_number(v))
		fprintf(f, "%s: %.3f%s\n", key, json_number_value(v), unit);
	else {
		fprintf(f, "%s: null (", key);
		render_escape(f, junit_str(e, rkey) ?: "not measured");
		fputs(")\n", f);
	}
}

static void
junit_case(FILE *f, const json_t *e, const struct orch_slo_targets *t,
           struct junit_counts *c)
{
	char   why[1024];
	double secs;

	fputs("    <testcase classname=\"chaos.", f);
	render_escape(f, junit_str(e, "scenario") ?: "unknown");
	fprintf(
	    f, "\" name=\"cycle %lld: ", json_integer_value(json_object_get(e, "cycle")));
	render_escape(f, junit_str(e, "scenario") ?: "unknown");
	if (junit_time(e, &secs))
		fprintf(f, "\" time=\"%.3f", secs);
	fputs("\">\n", f);
	if (strcmp(junit_str(e, "outcome") ?: "", "skipped") == 0) {
		fputs("      <skipped message=\"", f);
		render_escape(f, junit_str(e, "reason") ?: "skipped");
		fputs("\"/>\n", f);
		c->skipped++;
	} else if (strcmp(junit_str(e, "state") ?: "", ORCH_STATE_UNKNOWN) == 0) {
		/* neither a pass nor a failure can be claimed for it */
		junit_error(f, "state_unknown",
		            junit_str(e, "reason") ?: "state unknown");
		c->errors++;
	} else if (orch_entry_failed(e, t, why, sizeof(why))) {
		fprintf(f, "      <failure type=\"%s\" message=\"",
		        strcmp(junit_str(e, "outcome") ?: "", "failed") == 0 ? "run"
		                                                             : "slo");
		render_escape(f, why);
		fputs("\">", f);
		render_escape(f, why);
		fputs("</failure>\n", f);
		c->failures++;
	} else if (!json_is_number(json_object_get(e, "mttr"))) {
		/* it ran and succeeded, yet its recovery is unknown: not a pass */
		snprintf(why, sizeof(why), "mttr not measured: %s",
		         junit_str(e, "mttr_reason") ?: "no reason given");
		junit_error(f, "not_measured", why);
		c->errors++;
	}
	fputs("      <system-out>", f);
	fputs("state: ", f);
	render_escape(f, junit_str(e, "state"));
	fputs("\nresult_file: ", f);
	render_escape(f, junit_str(e, "result_file") ?: "none");
	fputc('\n', f);
	junit_figure(f, e, "mttr", " s");
	junit_figure(f, e, "recovery_time", " s");
	junit_figure(f, e, "request_success_rate", " % (user-facing)");
	junit_figure(f, e, "success_rate", " % (every probe sample)");
	fputs("</system-out>\n    </testcase>\n", f);
}

/* An SLO that could not be measured is an error once something ran (CI
 * must not read it as a pass), and skipped when nothing did. */
static void
junit_slo_case(FILE *f, const json_t *x, struct junit_counts *c)
{
	const json_t *met = json_object_get(x, "met");
	char          msg[1024];

	fputs("    <testcase classname=\"chaos.slo\" name=\"", f);
	render_escape(f, junit_str(x, "name"));
	fputs("\">\n", f);
	if ((json_is_null(met) || met == NULL) && c->any_ran) {
		junit_error(f, "not_measured", junit_str(x, "reason") ?: "not measured");
		c->errors++;
	} else if (json_is_null(met) || met == NULL) {
		fputs("      <skipped message=\"", f);
		render_escape(f, junit_str(x, "reason") ?: "not measured");
		fputs("\"/>\n", f);
		c->skipped++;
	} else if (json_is_false(met)) {
		snprintf(msg, sizeof(msg), "%s: measured %.3f %s, target %s",
		         junit_str(x, "description") ?: "",
		         json_number_value(json_object_get(x, "measured")),
		         junit_str(x, "unit") ?: "", junit_str(x, "target") ?: "");
		fputs("      <failure type=\"slo\" message=\"", f);
		render_escape(f, msg);
		fputs("\">", f);
		render_escape(f, msg);
		fputs("</failure>\n", f);
		c->failures++;
	}
	fputs("    </testcase>\n", f);
}

static bool
junit_any_ran(const json_t *report)
{
	const json_t *list =
	    json_object_get(json_object_get(report, "orchestration"), "scenarios");
	const json_t *x;
	size_t        i;

	json_array_foreach(list, i, x) if (strcmp(junit_str(x, "outcome") ?: "",
	                                          "skipped") != 0) return true;
	return false;
}

/* Writes one suite into its own buffer so the counts can lead. */
static char *
junit_suite(const json_t *report, const struct orch_slo_targets *t, bool slo,
            struct junit_counts *c)
{
	const json_t *orch = json_object_get(report, "orchestration");
	const json_t *list = slo
	    ? json_object_get(json_object_get(report, "slo"), "targets")
	    : json_object_get(orch, "scenarios");
	char         *body = NULL;
	size_t        len  = 0, i;
	FILE         *f    = open_memstream(&body, &len);
	const json_t *x;
	double        secs;

	if (f == NULL)
		return NULL;
	*c         = (struct junit_counts) {0};
	c->any_ran = junit_any_ran(report);
	json_array_foreach(list, i, x)
	{
		c->tests++;
		if (slo)
			junit_slo_case(f, x, c);
		else {
			junit_case(f, x, t, c);
			c->time += junit_time(x, &secs) ? secs : 0;
		}
	}
	if (fclose(f) != 0) {
		free(body);
		return NULL;
	}
	return body;
}

char *
report_junit_render(const json_t *report, const struct orch_slo_targets *t)
{
	struct junit_counts c[2];
	char               *body[2], *out = NULL;
	size_t              len = 0;
	FILE               *f;

	body[0]               = junit_suite(report, t, false, &c[0]);
	body[1]               = junit_suite(report, t, true, &c[1]);
	const char *gen       = junit_str(report, "report_generated");
	char        stamp[20] = "1970-01-01T00:00:00";

	if (gen != NULL && strlen(gen) >= 19 && strspn(gen, "0123456789-T:") >= 19)
		memcpy(stamp, gen, 19);
	if (body[0] != NULL && body[1] != NULL &&
	    (f = open_memstream(&out, &len)) != NULL) {
		fprintf(f,
		        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		        "<testsuites name=\"chaos\" tests=\"%d\" failures=\"%d\" "
		        "errors=\"%d\" skipped=\"%d\" time=\"%.3f\">\n",
		        c[0].tests + c[1].tests, c[0].failures + c[1].failures,
		        c[0].errors + c[1].errors, c[0].skipped + c[1].skipped,
		        c[0].time);
		for (int k = 0; k < 2; k++) {
			fprintf(f,
			        "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" "
			        "errors=\"%d\" skipped=\"%d\" time=\"%.3f\" timestamp=\"",
			        k ? "chaos.slo" : "chaos.scenarios", c[k].tests,
			        c[k].failures, c[k].errors, c[k].skipped, c[k].time);
			/* JUnit's schema wants local time without a zone or fraction. */
			fprintf(f, "%.19s\">\n%s  </testsuite>\n", stamp, body[k]);
		}
		fputs("</testsuites>\n", f);
		if (fclose(f) != 0) {
			free(out);
			out = NULL;
		}
	}
	free(body[0]);
	free(body[1]);
	return out;
}
