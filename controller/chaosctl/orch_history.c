// SPDX-License-Identifier: MIT
#include "controller/chaosctl/orch_history.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "controller/report/report.h"

json_t *
orch_iso(int64_t us)
{
	char buf[CLK_ISO_LEN];

	if (us <= 0)
		return json_null();
	clk_iso8601(us, buf, sizeof(buf));
	return json_string(buf);
}

const char *
orch_selection(const struct orch_opts *o)
{
	return o->random ? "random" : "in turn";
}

/* ---- the session header: everything --resume needs ---- */

static json_t *
orch_header_new(const struct orch_opts *o, const struct orch_session *s, const char *ns)
{
	json_t *h = json_object(), *list = json_array();

	for (size_t i = 0; i < o->n_sc; i++)
		json_array_append_new(
		    list,
		    json_pack("{s:s,s:s,s:b,s:O?,s:O?}", "name", o->sc[i].name,
		              "scenario", o->sc[i].scenario, "available",
		              o->sc[i].k != NULL, "params", o->sc[i].params, "shortened",
		              o->sc[i].shortened));
	json_object_set_new(h, "type", json_string("session"));
	json_object_set_new(h, "version", json_integer(1));
	json_object_set_new(h, "session_start", orch_iso(s->start_us));
	json_object_set_new(h, "start_us", json_integer(s->start_us));
	json_object_set_new(h, "mode",
	                    json_string(o->continuous ? "continuous" : "once"));
	json_object_set_new(h, "duration_hours",
	                    o->continuous ? json_real(o->duration_h) : json_null());
	json_object_set_new(h, "interval_minutes",
	                    o->continuous ? json_real(o->interval_min) : json_null());
	json_object_set_new(h, "deadline", orch_iso(s->deadline_us));
	json_object_set_new(h, "deadline_us",
	                    s->deadline_us ? json_integer(s->deadline_us) : json_null());
	json_object_set_new(h, "selection", json_string(orch_selection(o)));
	json_object_set_new(h, "seed", o->random ? json_integer(o->seed) : json_null());
	json_object_set_new(h, "namespace", ns ? json_string(ns) : json_null());
	json_object_set_new(h, "scenarios", list);
	json_object_set_new(h, "slo_targets",
	                    json_pack("{s:f,s:f,s:f}", "mttr_average_s",
	                              o->slo.mttr_avg_s, "mttr_max_s", o->slo.mttr_max_s,
	                              "success_rate_percent", o->slo.success_rate_pct));
	return h;
}

chaos_err
orch_opts_from_header(struct orch_opts *o, const json_t *h)
{
	const json_t *list = json_object_get(h, "scenarios"), *x, *slo;
	size_t        i;

	orch_opts_fini(o);
	o->n_sc       = 0;
	o->continuous = strcmp(json_string_value(json_object_get(h, "mode")) ?: "",
	                       "continuous") == 0;
	o->duration_h     = json_number_value(json_object_get(h, "duration_hours"));
	o->interval_min   = json_number_value(json_object_get(h, "interval_minutes"));
	o->random         = json_is_integer(json_object_get(h, "seed"));
	o->seed           = (uint32_t)json_integer_value(json_object_get(h, "seed"));
	o->namespace_     = json_string_value(json_object_get(h, "namespace"));
	slo               = json_object_get(h, "slo_targets");
	o->slo.mttr_avg_s = json_number_value(json_object_get(slo, "mttr_average_s"));
	o->slo.mttr_max_s = json_number_value(json_object_get(slo, "mttr_max_s"));
	o->slo.success_rate_pct =
	    json_number_value(json_object_get(slo, "success_rate_percent"));
	if (!(o->slo.mttr_avg_s > 0 && o->slo.mttr_max_s > 0 &&
	      o->slo.success_rate_pct >= 0))
		orch_slo_defaults(&o->slo); /* a record without targets: DESIGN's */
	json_array_foreach(list, i, x)
	{
		struct orch_scenario *sc = &o->sc[o->n_sc];
		if (o->n_sc == ORCH_MAX_SCENARIOS ||
		    !json_is_string(json_object_get(x, "name")) ||
		    !json_is_string(json_object_get(x, "scenario")))
			return CHAOS_EPROTO;
		snprintf(sc->name, sizeof(sc->name), "%s",
		         json_string_value(json_object_get(x, "name")));
		snprintf(sc->scenario, sizeof(sc->scenario), "%s",
		         json_string_value(json_object_get(x, "scenario")));
		sc->k         = scenario_find(sc->name);
		sc->params    = json_deep_copy(json_object_get(x, "params"));
		sc->shortened = json_deep_copy(json_object_get(x, "shortened"));
		o->n_sc++;
		if (sc->k != NULL && !json_is_object(sc->params))
			sc->k =
			    NULL; /* became available since: no parsed settings saved */
		if (sc->k != NULL && orch_finish_params(sc, NULL) != CHAOS_OK)
			return CHAOS_EINVAL;
	}
	return o->n_sc > 0 ? CHAOS_OK : CHAOS_EPROTO;
}

/* ---- files ---- */

void
orch_paths(struct orch_session *s, const char *dir)
{
	snprintf(s->history, sizeof(s->history),
	         "%s/" ORCH_HISTORY_PREFIX "%s" ORCH_HISTORY_SUFFIX, dir, s->stamp);
	snprintf(s->report, sizeof(s->report), "%s/chaos_test_report_%s.json", dir,
	         s->stamp);
}

chaos_err
orch_append(const struct orch_session *s, const json_t *line)
{
	char *text = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(10));
	int   rv   = text ? fs_append_line(s->history, text) : CHAOS_ENOMEM;

	if (rv != CHAOS_OK)
		fprintf(stderr,
		        "chaosctl: orchestrate: cannot append to %s: %s; stopping (every "
		        "result so far is in its own file)\n",
		        s->history, chaos_strerror(rv));
	free(text);
	return rv;
}

/* Newest history file in dir; false when there is none. */
bool
orch_find_history(const char *dir, char *stamp, size_t len)
{
	struct dirent **names = NULL;
	int             n     = scandir(dir, &names, NULL, alphasort);
	size_t pl = strlen(ORCH_HISTORY_PREFIX), sl = strlen(ORCH_HISTORY_SUFFIX);
	bool   found = false;

	for (int i = n - 1; i >= 0; i--) {
		const char *nm = names[i]->d_name;
		size_t      l  = strlen(nm);
		if (!found && l > pl + sl && strncmp(nm, ORCH_HISTORY_PREFIX, pl) == 0 &&
		    strcmp(nm + l - sl, ORCH_HISTORY_SUFFIX) == 0 && l - pl - sl < len) {
			snprintf(stamp, len, "%.*s", (int)(l - pl - sl), nm + pl);
			found = true;
		}
		free(names[i]);
	}
	free(names);
	return found;
}

bool
orch_is_attempt(const json_t *e)
{
	/* A scenario missing from the build takes no slot in the schedule. */
	return json_object_get(e, "result_file") != NULL &&
	    (json_is_string(json_object_get(e, "result_file")) ||
	     strcmp(json_string_value(json_object_get(e, "state")) ?: "", "skipped") !=
	         0);
}

int64_t
orch_iso_us(const json_t *v)
{
	double t;

	return orch_parse_iso(json_string_value(v), &t) ? (int64_t)(t * 1e6) : 0;
}

void
orch_note_start(struct orch_session *s, const json_t *e)
{
	int64_t started = orch_iso_us(json_object_get(e, "started"));

	/* an adopted run's start may be unknown: the interval keeps the last
	 * known one rather than a made-up one */
	if (orch_is_attempt(e) && started > 0)
		s->last_started_us = started;
}

int
orch_session_new(const struct orch_opts *o, struct orch_session *s)
{
	int rv;

	s->start_us = clk_now_us();
	report_file_stamp(s->start_us, s->stamp, sizeof(s->stamp));
	orch_paths(s, o->output);
	if (access(s->history, F_OK) == 0) {
		/* a session started within the same second: take the next one */
		sleep(1);
		s->start_us = clk_now_us();
		report_file_stamp(s->start_us, s->stamp, sizeof(s->stamp));
		orch_paths(s, o->output);
	}
	s->deadline_us =
	    o->continuous ? s->start_us + (int64_t)(o->duration_h * 3600e6) : 0;
	s->entries    = json_array();
	s->next_cycle = 1;
	s->header     = orch_header_new(o, s, o->namespace_);
	if ((rv = fs_mkdirs(o->output)) != CHAOS_OK) {
		/* orch_cli checked it could be: it changed since */
		fprintf(stderr,
		        "chaosctl: orchestrate: --output %s: cannot create it: %s\n",
		        o->output, strerror(errno));
		return CHAOS_EXIT_ENV;
	}
	if (orch_append(s, s->header) != CHAOS_OK)
		return CHAOS_EXIT_ENV;
	printf("session %s: history %s\n", s->stamp, s->history);
	return CHAOS_EXIT_OK;
}

/* One history line into the session; false when it is not valid JSON. */
static bool
orch_take_line(struct orch_session *s, const char *line)
{
	json_t     *j    = json_loads(line, 0, NULL);
	const char *type = json_string_value(json_object_get(j, "type"));

	if (j == NULL || type == NULL) {
		json_decref(j);
		return false;
	}
	if (strcmp(type, "session") == 0 && s->header == NULL) {
		s->header = j;
		return true;
	}
	if (strcmp(type, "start") == 0) {
		json_decref(s->inflight);
		s->inflight = j;
		return true;
	}
	if (strcmp(type, "cycle") == 0) {
		json_int_t n = json_integer_value(json_object_get(j, "cycle"));
		int        cycle;
		/* no cycle we write: the one after it would overflow an int */
		if (n < 0 || n >= INT_MAX) {
			json_decref(j);
			return false;
		}
		cycle = (int)n;
		json_object_del(j, "type");
		if (s->inflight != NULL &&
		    json_integer_value(json_object_get(s->inflight, "cycle")) == cycle) {
			json_decref(s->inflight);
			s->inflight = NULL;
		}
		orch_note_start(s, j);
		s->next_cycle = cycle >= s->next_cycle ? cycle + 1 : s->next_cycle;
		json_array_append_new(s->entries, j);
		return true;
	}
	if (strcmp(type, "end") == 0)
		s->finished = true;
	json_decref(j);
	return true;
}

int
orch_load_history(struct orch_session *s)
{
	FILE   *f    = fopen(s->history, "r");
	char   *line = NULL;
	size_t  cap = 0, lineno = 0;
	ssize_t n;

	if (f == NULL) {
		fprintf(stderr, "chaosctl: orchestrate: cannot read %s: %s\n", s->history,
		        strerror(errno));
		return CHAOS_EXIT_ENV;
	}
	s->entries    = json_array();
	s->next_cycle = 1;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		/* Only a crash during the very last append can leave a torn line. */
		if (line[0] != '\0' && !orch_take_line(s, line))
			fprintf(
			    stderr,
			    "chaosctl: orchestrate: %s:%zu: not a JSON record; ignored\n",
			    s->history, lineno);
	}
	free(line);
	fclose(f);
	if (s->header == NULL) {
		fprintf(
		    stderr,
		    "chaosctl: orchestrate: %s has no session record; cannot resume\n",
		    s->history);
		return CHAOS_EXIT_USAGE;
	}
	return CHAOS_EXIT_OK;
}

/* Why a finished session has no end: it has no end record, and the last
 * recorded run's end says how far it is known to have gone. */
static void
orch_no_end_why(const struct orch_session *s, char *why, size_t len)
{
	const json_t *last  = json_array_get(s->entries, json_array_size(s->entries) - 1);
	const char   *ended = json_string_value(json_object_get(last, "ended"));

	snprintf(why, len, "no end record: chaosctl stopped before writing it%s%s%s",
	         ended ? " (the last recorded run ended " : "", ended ? ended : "",
	         ended ? ")" : "");
}

int64_t
orch_end_time(const struct orch_session *s, char *why, size_t len)
{
	FILE   *f    = fopen(s->history, "r");
	char   *line = NULL;
	size_t  cap  = 0;
	int64_t end  = 0;

	while (f != NULL && getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		if (strcmp(json_string_value(json_object_get(j, "type")) ?: "", "end") ==
		    0)
			end = json_integer_value(json_object_get(j, "end_us"));
		json_decref(j);
	}
	free(line);
	if (f != NULL)
		fclose(f);
	if (end <= 0) {
		orch_no_end_why(s, why, len);
		return 0;
	}
	return end;
}

/* The orchestrator's start of the adopted run: the "start" record of the
 * same run id, when the history has it. */
static int64_t
orch_adopted_start(const json_t *result, const json_t *inflight)
{
	const json_t *id = json_object_get(result, "run_id");

	if (!json_is_integer(id) ||
	    json_integer_value(id) !=
	        json_integer_value(json_object_get(inflight, "run_id")))
		return 0;
	return orch_iso_us(json_object_get(inflight, "started"));
}

json_t *
orch_adopted_entry(const json_t *result, const json_t *inflight, int cycle,
                   const char *name, const char *scenario, const char *file)
{
	const char *state   = json_string_value(json_object_get(result, "run_state"));
	const char *failure = json_string_value(json_object_get(result, "failure"));
	int64_t     started = orch_adopted_start(result, inflight);
	char        why[700];
	json_t     *e;

	if (state == NULL || state[0] == '\0') {
		snprintf(why, sizeof(why),
		         "the result file does not say how the run ended (no run_state: "
		         "written by an older chaosctl)%s%s",
		         failure ? "; its failure: " : "", failure ? failure : "");
		failure = why;
		state   = ORCH_STATE_UNKNOWN;
	}
	e = orch_entry_new(cycle, name, scenario, state, failure, file, started, 0,
	                   result);
	if (started == 0)
		json_object_set_new(e, "started_reason",
		                    json_string("not recorded: the history has no start "
		                                "record of this run"));
	json_object_set_new(e, "ended_reason",
	                    json_string("not recorded: chaosctl stopped before "
	                                "recording the run; its result file was "
	                                "found on --resume (test_end is the "
	                                "controller's)"));
	return e;
}
