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
			/* XML 1.0 has no way to carry these, not even as references. */
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
			    c == 0x7f)
				fputs("\xef\xbf\xbd", f);
			else
				fputc(c, f);
		}
	}
}

static const char *
junit_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Seconds between test_start and test_end, 0 when unknown. */
static double
junit_time(const json_t *e)
{
	double a, b;

	if (orch_parse_iso(junit_str(e, "test_start"), &a) &&
	    orch_parse_iso(junit_str(e, "test_end"), &b) && b >= a)
		return b - a;
	return 0;
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
junit_case(FILE *f, const json_t *e, const struct orch_slo_targets *t, int *failures,
           int *skipped)
{
	char why[1024];

	fputs("    <testcase classname=\"chaos.", f);
	render_escape(f, junit_str(e, "scenario") ?: "unknown");
	fprintf(
	    f, "\" name=\"cycle %lld: ", json_integer_value(json_object_get(e, "cycle")));
	render_escape(f, junit_str(e, "scenario") ?: "unknown");
	fprintf(f, "\" time=\"%.3f\">\n", junit_time(e));
	if (strcmp(junit_str(e, "outcome") ?: "", "skipped") == 0) {
		fputs("      <skipped message=\"", f);
		render_escape(f, junit_str(e, "reason") ?: "skipped");
		fputs("\"/>\n", f);
		(*skipped)++;
	} else if (orch_entry_failed(e, t, why, sizeof(why))) {
		fprintf(f, "      <failure type=\"%s\" message=\"",
		        strcmp(junit_str(e, "outcome") ?: "", "failed") == 0 ? "run"
		                                                             : "slo");
		render_escape(f, why);
		fputs("\">", f);
		render_escape(f, why);
		fputs("</failure>\n", f);
		(*failures)++;
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

static void
junit_slo_case(FILE *f, const json_t *x, int *failures, int *skipped)
{
	const json_t *met = json_object_get(x, "met");
	char          msg[512];

	fputs("    <testcase classname=\"chaos.slo\" name=\"", f);
	render_escape(f, junit_str(x, "name"));
	fputs("\" time=\"0\">\n", f);
	if (json_is_null(met) || met == NULL) {
		fputs("      <skipped message=\"", f);
		render_escape(f, junit_str(x, "reason") ?: "not measured");
		fputs("\"/>\n", f);
		(*skipped)++;
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
		(*failures)++;
	}
	fputs("    </testcase>\n", f);
}

/* Writes one suite into its own buffer so the counts can lead. */
static char *
junit_suite(const json_t *report, const struct orch_slo_targets *t, bool slo, int *tests,
            int *failures, int *skipped, double *time)
{
	const json_t *orch = json_object_get(report, "orchestration");
	const json_t *list = slo
	    ? json_object_get(json_object_get(report, "slo"), "targets")
	    : json_object_get(orch, "scenarios");
	char         *body = NULL;
	size_t        len  = 0, i;
	FILE         *f    = open_memstream(&body, &len);
	const json_t *x;

	if (f == NULL)
		return NULL;
	*tests = *failures = *skipped = 0;
	*time                         = 0;
	json_array_foreach(list, i, x)
	{
		(*tests)++;
		if (slo)
			junit_slo_case(f, x, failures, skipped);
		else {
			junit_case(f, x, t, failures, skipped);
			*time += junit_time(x);
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
	int    tests[2], failures[2], skipped[2];
	double time[2];
	char  *body[2], *out = NULL;
	size_t len = 0;
	FILE  *f;

	body[0] =
	    junit_suite(report, t, false, &tests[0], &failures[0], &skipped[0], &time[0]);
	body[1] =
	    junit_suite(report, t, true, &tests[1], &failures[1], &skipped[1], &time[1]);
	const char *gen       = junit_str(report, "report_generated");
	char        stamp[20] = "1970-01-01T00:00:00";

	if (gen != NULL && strlen(gen) >= 19 && strspn(gen, "0123456789-T:") >= 19)
		memcpy(stamp, gen, 19);
	if (body[0] != NULL && body[1] != NULL &&
	    (f = open_memstream(&out, &len)) != NULL) {
		fprintf(f,
		        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		        "<testsuites name=\"chaos\" tests=\"%d\" failures=\"%d\" "
		        "errors=\"0\" "
		        "skipped=\"%d\" time=\"%.3f\">\n",
		        tests[0] + tests[1], failures[0] + failures[1],
		        skipped[0] + skipped[1], time[0]);
		for (int k = 0; k < 2; k++) {
			fprintf(f,
			        "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" "
			        "errors=\"0\" "
			        "skipped=\"%d\" time=\"%.3f\" timestamp=\"",
			        k ? "chaos.slo" : "chaos.scenarios", tests[k],
			        failures[k], skipped[k], time[k]);
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
