// SPDX-License-Identifier: MIT
#include "controller/chaosctl/orch.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/wire.h"
#include "controller/chaosctl/chaosctl.h"
#include "controller/chaosctl/orch_history.h"
#include "controller/report/report.h"
#include "controller/report/render.h"
#include "controller/chaosctl/runclient.h"

#define ORCH_BUSY_WAIT_US (10 * 60 * 1000000LL) /* for another run to finish */
#define ORCH_BUSY_POLL_S 2
#define ORCH_TICK_US 200000
#define ORCH_DRY_CYCLES 10 /* cycles a dry run lists */

void
orch_opts_fini(struct orch_opts *o)
{
	for (size_t i = 0; i < o->n_sc; i++) {
		json_decref(o->sc[i].params);
		json_decref(o->sc[i].run_params);
		json_decref(o->sc[i].shortened);
		o->sc[i].params = o->sc[i].run_params = o->sc[i].shortened = NULL;
	}
	exp_free(o->plan);
	o->plan = NULL;
}

/* Continuous mode shortens every duration a scenario has; one that the
 * scenario's mode does not use (a kill's --outage-duration) is taken back,
 * so that it is neither sent (the controller would refuse it) nor reported
 * as shortened. Sessions saved before that rule are resumed alike. */
static void
orch_unshorten(struct orch_scenario *sc)
{
	const char *key;
	json_t     *v;
	void       *tmp;

	json_object_foreach_safe(sc->shortened, tmp, key, v)
	{
		if (param_rule_check_key(sc->k->params, sc->k->rules, sc->run_params, key,
		                         NULL) != CHAOS_ENOENT)
			continue;
		json_object_del(sc->params, key);
		json_object_del(sc->run_params, key);
		json_object_del(sc->shortened, key);
	}
}

chaos_err
orch_finish_params(struct orch_scenario *sc, chaos_why *why)
{
	json_decref(sc->run_params);
	sc->run_params = json_deep_copy(sc->params);
	if (sc->run_params == NULL)
		return chaos_fail(why, CHAOS_ENOMEM, "out of memory");
	if (sc->k->finish != NULL && sc->k->finish(sc->run_params, why) != CHAOS_OK)
		return CHAOS_EINVAL;
	orch_unshorten(sc);
	return param_rules_check(sc->k->params, sc->k->rules, sc->run_params, why);
}

size_t
orch_pick(uint32_t seed, bool random, int64_t cycle, size_t n)
{
	uint64_t z;

	if (n == 0)
		return 0;
	if (!random)
		return (size_t)((uint64_t)(cycle - 1) % n);
	/* splitmix64 of (seed, cycle): no state to carry across a resume */
	z = ((uint64_t)seed << 32 ^ (uint64_t)cycle) + 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (size_t)(z % n);
}

static int
orch_write_json(const char *path, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	int   rv   = text ? fs_write_atomic(path, text, strlen(text)) : CHAOS_ENOMEM;

	free(text);
	return rv;
}

static int
orch_write_text(const char *dir, const char *name, char *text)
{
	char path[4096];
	int  rv;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rv = text ? fs_write_atomic(path, text, strlen(text)) : CHAOS_ENOMEM;
	if (rv != CHAOS_OK)
		fprintf(stderr, "chaosctl: orchestrate: cannot write %s: %s\n", path,
		        chaos_strerror(rv));
	free(text);
	return rv;
}

/* The session's orchestration object for the report; end_us 0: its end is
 * not known, end_why says why. */
static json_t *
orch_orchestration(const struct orch_opts *o, const struct orch_session *s,
                   int64_t end_us, const char *end_why)
{
	json_t *orch = json_object(), *settings = json_object(),
	       *shortened = json_object();

	for (size_t i = 0; i < o->n_sc; i++) {
		json_object_set(settings, o->sc[i].scenario,
		                o->sc[i].params ?: json_null());
		if (o->continuous && json_object_size(o->sc[i].shortened) > 0)
			json_object_set(shortened, o->sc[i].scenario, o->sc[i].shortened);
	}
	json_object_set_new(orch, "orchestration_start", orch_iso(s->start_us));
	json_object_set_new(orch, "orchestration_end", orch_iso(end_us));
	json_object_set_new(orch, "orchestration_end_reason",
	                    end_us > 0 ? json_null() : json_string(end_why));
	json_object_set_new(orch, "mode",
	                    json_string(o->continuous ? "continuous" : "once"));
	json_object_set_new(orch, "selection", json_string(orch_selection(o)));
	json_object_set_new(orch, "seed",
	                    o->random ? json_integer(o->seed) : json_null());
	json_object_set_new(orch, "duration_hours",
	                    o->continuous ? json_real(o->duration_h) : json_null());
	json_object_set_new(orch, "interval_minutes",
	                    o->continuous ? json_real(o->interval_min) : json_null());
	json_object_set_new(orch, "deadline", orch_iso(s->deadline_us));
	json_object_set_new(orch, "settings", settings);
	json_object_set_new(orch, "shortened_in_continuous_mode", shortened);
	return orch;
}

/* Results for the timelines: the newest RENDER_MAX_TIMELINES per scenario. */
static const json_t **
orch_load_results(const struct orch_opts *o, const json_t *entries)
{
	size_t         n = json_array_size(entries), per[ORCH_MAX_SCENARIOS] = {0};
	const json_t **res = calloc(n + 1, sizeof(*res));

	for (size_t i = n; res != NULL && i-- > 0;) {
		const json_t *e    = json_array_get(entries, i);
		const char   *file = json_string_value(json_object_get(e, "result_file"));
		const char   *sc   = json_string_value(json_object_get(e, "scenario"));
		char          path[4096];
		size_t        k = 0;
		while (k < o->n_sc && strcmp(o->sc[k].scenario, sc ?: "") != 0)
			k++;
		if (file == NULL || k == o->n_sc || per[k] >= RENDER_MAX_TIMELINES)
			continue;
		snprintf(path, sizeof(path), "%s/%s", o->output, file);
		if ((res[i] = json_load_file(path, 0, NULL)) != NULL)
			per[k]++;
	}
	return res;
}

/* Rewrites the report, report.html and junit.xml; returns the exit status
 * the report implies. end_us 0: the session's end is not known (end_why). */
static int
orch_write_outputs(const struct orch_opts *o, const struct orch_session *s,
                   int64_t end_us, const char *end_why)
{
	json_t *orch = orch_orchestration(o, s, end_us, end_why);
	json_t *report =
	    orch_report_build(s->entries, o->namespace_, clk_now_us(), orch, &o->slo);
	const json_t **res = orch_load_results(o, s->entries);
	size_t         n   = json_array_size(s->entries);
	int            rv;

	json_object_set_new(json_object_get(report, "orchestration"), "history_file",
	                    json_string(strrchr(s->history, '/') + 1));
	json_object_set_new(json_object_get(report, "orchestration"), "output_dir",
	                    json_string(o->output));
	if ((rv = orch_write_json(s->report, report)) != CHAOS_OK)
		fprintf(stderr, "chaosctl: orchestrate: cannot write %s: %s\n", s->report,
		        chaos_strerror(rv));
	orch_write_text(o->output, "report.html",
	                report_html_render(report, res, res ? n : 0, &o->slo));
	orch_write_text(o->output, "junit.xml", report_junit_render(report, &o->slo));
	rv = orch_report_exit(s->entries, json_object_get(report, "slo"), &o->slo);
	for (size_t i = 0; res != NULL && i < n; i++)
		json_decref((json_t *)res[i]);
	free(res);
	json_decref(report);
	json_decref(orch);
	return rv;
}

/* ---- talking to the controller ---- */

/* Distinct namespaces of the connected agents into ns; exit status 3 with
 * one line when the controller is unreachable or has no connected agent. */
static int
orch_preflight(const struct ctl_target *t, char *ns, size_t len)
{
	Chaos__V1__ControlRequest    req       = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__ListAgentsRequest list      = CHAOS__V1__LIST_AGENTS_REQUEST__INIT;
	Chaos__V1__ControlResponse  *resp      = NULL;
	chaos_why                    why       = {{0}};
	size_t                       connected = 0;

	req.body_case   = CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS;
	req.list_agents = &list;
	if (ctl_call(t, &req, &resp, &why) != CHAOS_OK) {
		fprintf(stderr, "chaosctl: orchestrate: %s\n", why.text);
		return CHAOS_EXIT_ENV;
	}
	ns[0] = '\0';
	for (size_t i = 0; resp->error == NULL && i < resp->n_agents; i++) {
		const char *n = resp->agents[i]->identity->namespace_;
		size_t      l = strlen(ns), k = n ? strlen(n) : 0;
		const char *p = ns;
		if (resp->agents[i]->state !=
		    CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED)
			continue;
		connected++;
		/* a whole name of the comma-separated list, not a part of one */
		while ((p = k ? strstr(p, n) : NULL) != NULL &&
		       !((p == ns || p[-1] == ',') && (p[k] == ',' || p[k] == '\0')))
			p += k;
		if (k > 0 && p == NULL)
			snprintf(ns + l, len - l, "%s%s", l ? "," : "", n);
	}
	if (resp->error != NULL || connected == 0)
		fprintf(stderr, "chaosctl: orchestrate: %s%s\n",
		        resp->error ? "controller: "
		                    : "no agent is connected to the controller; "
		                      "start the agents (sandbox: deploy/sandbox/"
		                      "sandbox up)",
		        resp->error ? resp->error : "");
	wire_free(resp);
	return connected > 0 ? CHAOS_EXIT_OK : CHAOS_EXIT_ENV;
}

static bool
orch_busy(int state, const char *error)
{
	return state == CHAOS__V1__RUN_STATE__RUN_STATE_UNUSABLE && error != NULL &&
	    strstr(error, "another run is in progress") != NULL;
}

/* Sleeps up to us, waking early on a signal. */
static void
orch_nap(int64_t us)
{
	for (; us > 0 && !runclient_interrupted(); us -= ORCH_TICK_US)
		usleep((useconds_t)(us < ORCH_TICK_US ? us : ORCH_TICK_US));
}

/* Every available scenario's plan, before any fault: a refusal is bad
 * usage (2), an unusable environment 3. A dry run never waits for a run in
 * progress on the controller. */
static int
orch_check_plans(const struct ctl_target *t, struct orch_opts *o)
{
	for (size_t i = 0; i < o->n_sc && !runclient_interrupted(); i++) {
		struct runclient_result res;
		int                     rv;
		if (o->sc[i].k == NULL)
			continue;
		rv = runclient_plan(t, o->sc[i].scenario, o->sc[i].run_params, &res);
		json_decref(res.result);
		if (rv == CHAOS_EXIT_OK)
			continue;
		/* chaosctl knows it, the controller (an older build?) does not */
		if (res.state == CHAOS__V1__RUN_STATE__RUN_STATE_REFUSED &&
		    strstr(res.error, "unknown scenario") != NULL) {
			snprintf(o->sc[i].missing, sizeof(o->sc[i].missing),
			         "not available on the controller (%.200s)", res.error);
			o->sc[i].k = NULL;
			continue;
		}
		fprintf(stderr, "chaosctl: orchestrate: %s: %s\n", o->sc[i].name,
		        res.error);
		return rv;
	}
	return runclient_interrupted() ? CHAOS_EXIT_FAILED : CHAOS_EXIT_OK;
}

/* The history entry for a run that ended (or was lost: state 0). */
static json_t *
orch_entry_of(const struct runclient_result *res, int cycle, const char *name,
              const char *scenario, int64_t started)
{
	char        reason[700], state[32];
	const char *why;
	json_t     *e;

	why = res->error[0] ? res->error
	                    : json_string_value(json_object_get(res->result, "failure"));
	snprintf(reason, sizeof(reason), "%s", why ? why : "");
	e = orch_entry_new(
	    cycle, name, scenario,
	    res->state ? runclient_state_name(res->state, state, sizeof(state))
	               : "unreachable",
	    reason[0] ? reason : NULL, res->path[0] ? strrchr(res->path, '/') + 1 : NULL,
	    started, clk_now_us(), res->result);
	if (res->run_id != 0)
		json_object_set_new(e, "run_id", json_integer((json_int_t)res->run_id));
	return e;
}

/* What the history needs to follow a run chaosctl may not live to see end. */
struct orch_start {
	const struct orch_session  *s;
	const struct orch_scenario *sc;
	int                         cycle;
	int64_t                     started;
};

static void
orch_started(void *arg, uint64_t run_id)
{
	const struct orch_start *st = arg;
	json_t                  *line =
	    json_pack("{s:s,s:i,s:s,s:s,s:I,s:o}", "type", "start", "cycle", st->cycle,
	              "name", st->sc->name, "scenario", st->sc->scenario, "run_id",
	              (json_int_t)run_id, "started", orch_iso(st->started));

	if (line != NULL)
		orch_append(st->s, line); /* says why itself; the run goes on */
	json_decref(line);
}

/* One run; NULL when it never started (the controller stayed busy). */
static json_t *
orch_run_one(const struct ctl_target *t, const struct orch_opts *o,
             const struct orch_session *s, const struct orch_scenario *sc, int cycle,
             int64_t deadline_us)
{
	struct runclient_result res;
	int64_t started = clk_now_us(), give_up = clk_mono_us() + ORCH_BUSY_WAIT_US;
	char    reason[700], words[128];
	struct orch_start st = {s, sc, cycle, started};
	json_t           *e;

	printf("== cycle %d: %s (%s)\n", cycle, sc->name, sc->scenario);
	fflush(stdout);
	if (sc->k == NULL) {
		if (sc->missing[0] != '\0')
			snprintf(reason, sizeof(reason), "%s", sc->missing);
		else
			snprintf(reason, sizeof(reason),
			         "not available in this build (this chaosctl runs: %s)",
			         scenario_words(words, sizeof(words)));
		printf("skipped: %s %s\n", sc->scenario, reason);
		return orch_entry_new(cycle, sc->name, sc->scenario, "skipped", reason,
		                      NULL, started, clk_now_us(), NULL);
	}
	for (bool said = false;; said = true) {
		st.started = started;
		runclient_run(t, sc->scenario, sc->run_params, false, o->output,
		              orch_started, &st, &res);
		if (!orch_busy(res.state, res.error))
			break;
		json_decref(res.result);
		if (runclient_interrupted() || clk_mono_us() > give_up ||
		    (deadline_us > 0 && clk_now_us() >= deadline_us))
			return NULL;
		if (!said)
			printf("waiting: another run is in progress on the controller\n");
		fflush(stdout);
		orch_nap(ORCH_BUSY_POLL_S * 1000000LL);
		started = clk_now_us();
	}
	e = orch_entry_of(&res, cycle, sc->name, sc->scenario, started);
	json_decref(res.result);
	return e;
}

/* ---- the session ---- */

/* Appends the run to the history (fsync'd), then rewrites the reports. */
static int
orch_record(const struct orch_opts *o, struct orch_session *s, json_t *entry)
{
	json_t *line = json_deep_copy(entry);
	int     rv;

	json_object_set_new(line, "type", json_string("cycle"));
	rv = orch_append(s, line);
	json_decref(line);
	if (s->inflight != NULL &&
	    json_integer_value(json_object_get(entry, "cycle")) ==
	        json_integer_value(json_object_get(s->inflight, "cycle"))) {
		json_decref(s->inflight);
		s->inflight = NULL;
	}
	orch_note_start(s, entry);
	json_array_append_new(s->entries, entry);
	s->next_cycle++;
	orch_write_outputs(o, s, 0, "in progress");
	return rv;
}

static bool
orch_recorded(const struct orch_session *s, const char *file)
{
	const json_t *e;
	size_t        i;

	json_array_foreach(
	    s->entries, i,
	    e) if (strcmp(json_string_value(json_object_get(e, "result_file")) ?: "",
	                  file) == 0) return true;
	return false;
}

/* A result file written after the session started but missing from its
 * history: chaosctl died between writing it and appending its record. */
static void
orch_adopt_one(const struct orch_opts *o, struct orch_session *s, const char *file)
{
	char                        path[4096];
	json_t                     *r;
	int64_t                     t0;
	const struct orch_scenario *sc = NULL;

	snprintf(path, sizeof(path), "%s/%s", o->output, file);
	if ((r = json_load_file(path, 0, NULL)) == NULL)
		return;
	t0 = orch_iso_us(json_object_get(r, "test_start"));
	for (size_t i = 0; i < o->n_sc && sc == NULL; i++)
		if (strcmp(o->sc[i].scenario,
		           json_string_value(json_object_get(r, "scenario")) ?: "") == 0)
			sc = &o->sc[i];
	/* report_file_stamp has whole seconds: allow the one the session began in */
	if (sc != NULL && t0 >= s->start_us - 1000000 &&
	    (s->deadline_us == 0 || t0 <= s->deadline_us)) {
		printf("recorded %s: its run ended but chaosctl stopped before recording "
		       "it\n",
		       file);
		orch_record(o, s,
		            orch_adopted_entry(r, s->inflight, s->next_cycle, sc->name,
		                               sc->scenario, file));
	}
	json_decref(r);
}

static void
orch_adopt(const struct orch_opts *o, struct orch_session *s)
{
	struct dirent **names = NULL;
	int             n     = scandir(o->output, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t      l  = strlen(nm);
		if (strncmp(nm, "chaos_test_", 11) == 0 &&
		    strncmp(nm, "chaos_test_report_", 18) != 0 && l > 5 &&
		    strcmp(nm + l - 5, ".json") == 0 && !orch_recorded(s, nm))
			orch_adopt_one(o, s, nm);
		free(names[i]);
	}
	free(names);
}

static int
orch_session_resume(struct orch_opts *o, struct orch_session *s)
{
	char start[CLK_ISO_LEN], deadline[CLK_ISO_LEN] = "none (the list runs once)";
	int  rv;

	if (!orch_find_history(o->output, s->stamp, sizeof(s->stamp))) {
		fprintf(stderr,
		        "chaosctl: orchestrate: --resume: no session in %s "
		        "(no " ORCH_HISTORY_PREFIX "*" ORCH_HISTORY_SUFFIX
		        "); give the --output of the "
		        "session to continue\n",
		        o->output);
		return CHAOS_EXIT_USAGE;
	}
	orch_paths(s, o->output);
	if ((rv = orch_load_history(s)) != CHAOS_EXIT_OK)
		return rv;
	if (orch_opts_from_header(o, s->header) != CHAOS_OK) {
		fprintf(stderr,
		        "chaosctl: orchestrate: %s: the session record is not valid\n",
		        s->history);
		return CHAOS_EXIT_USAGE;
	}
	s->start_us    = json_integer_value(json_object_get(s->header, "start_us"));
	s->deadline_us = json_integer_value(json_object_get(s->header, "deadline_us"));
	clk_iso8601(s->start_us, start, sizeof(start));
	if (s->deadline_us > 0)
		clk_iso8601(s->deadline_us, deadline, sizeof(deadline));
	printf("resuming session %s (started %s, deadline %s): %zu runs recorded, next "
	       "cycle %d\n",
	       s->stamp, start, deadline, json_array_size(s->entries), s->next_cycle);
	if (!o->dry_run)
		orch_adopt(o, s);
	if (s->inflight != NULL)
		printf("run %lld (cycle %lld, %s) was in flight when chaosctl stopped\n",
		       json_integer_value(json_object_get(s->inflight, "run_id")),
		       json_integer_value(json_object_get(s->inflight, "cycle")),
		       json_string_value(json_object_get(s->inflight, "name")) ?: "?");
	else if (!o->continuous && json_array_size(s->entries) >= o->n_sc)
		s->finished = true;
	else if (o->continuous && clk_now_us() >= s->deadline_us)
		s->finished = true;
	return CHAOS_EXIT_OK;
}

/* Follows the run that was in flight when an earlier chaosctl stopped to its
 * end and records it. A controller that no longer knows the run (restarted
 * without its state directory) leaves it recorded as interrupted, with what
 * it did unknown; an unreachable one leaves it for the next --resume. */
static int
orch_settle(const struct ctl_target *t, struct orch_opts *o, struct orch_session *s)
{
	struct runclient_result res;
	const json_t           *in = s->inflight;
	uint64_t    id   = (uint64_t)json_integer_value(json_object_get(in, "run_id"));
	const char *name = json_string_value(json_object_get(in, "name")) ?: "?";
	const char *scenario = json_string_value(json_object_get(in, "scenario")) ?: "?";
	int64_t     started  = orch_iso_us(json_object_get(in, "started"));
	int         cycle    = (int)json_integer_value(json_object_get(in, "cycle"));
	int         rv;
	json_t     *e;

	if (in == NULL)
		return CHAOS_EXIT_OK;
	printf("== cycle %d: %s (%s): following run %llu\n", cycle, name, scenario,
	       (unsigned long long)id);
	rv = runclient_follow(t, id, scenario, o->output, started, &res);
	if (rv == CHAOS_EXIT_ENV && res.state == 0) {
		fprintf(stderr,
		        "chaosctl: orchestrate: run %llu: %s; resume again once the "
		        "controller answers\n",
		        (unsigned long long)id, res.error);
		return CHAOS_EXIT_ENV;
	}
	if (res.state == 0) {
		char lost[sizeof(res.error)];
		snprintf(lost, sizeof(lost),
		         "the controller no longer knows this run (%.300s): it restarted "
		         "without its --state-dir or pruned the record; what the run "
		         "did is unknown",
		         res.error);
		snprintf(res.error, sizeof(res.error), "%s", lost);
		res.state = CHAOS__V1__RUN_STATE__RUN_STATE_INTERRUPTED;
	}
	e = orch_entry_of(&res, cycle, name, scenario, started);
	json_decref(res.result);
	s->next_cycle = cycle;
	return orch_record(o, s, e) == CHAOS_OK ? CHAOS_EXIT_OK : CHAOS_EXIT_ENV;
}

/* ---- the two modes ---- */

static int
orch_loop_once(const struct ctl_target *t, struct orch_opts *o, struct orch_session *s)
{
	for (size_t i = json_array_size(s->entries);
	     i < o->n_sc && !runclient_interrupted(); i++) {
		json_t *e = orch_run_one(t, o, s, &o->sc[i], s->next_cycle, 0);
		if (e == NULL) {
			fprintf(stderr,
			        "chaosctl: orchestrate: the controller stayed busy with "
			        "another "
			        "run; continue later with --resume\n");
			return CHAOS_EXIT_ENV;
		}
		if (orch_record(o, s, e) != CHAOS_OK)
			return CHAOS_EXIT_ENV;
	}
	s->finished = json_array_size(s->entries) >= o->n_sc;
	return CHAOS_EXIT_OK;
}

/* Whether the session already reported sc as missing from the build. */
static bool
orch_recorded_skip(const struct orch_session *s, const struct orch_scenario *sc)
{
	const json_t *e;
	size_t        i;

	json_array_foreach(
	    s->entries, i,
	    e) if (!orch_is_attempt(e) &&
	           strcmp(json_string_value(json_object_get(e, "scenario")) ?: "",
	                  sc->scenario) == 0) return true;
	return false;
}

static int
orch_loop_continuous(const struct ctl_target *t, struct orch_opts *o,
                     struct orch_session *s)
{
	size_t  avail[ORCH_MAX_SCENARIOS], n_avail = 0;
	int64_t interval_us = (int64_t)(o->interval_min * 60e6);

	for (size_t i = 0; i < o->n_sc; i++) {
		if (o->sc[i].k != NULL)
			avail[n_avail++] = i;
		else if (!orch_recorded_skip(s, &o->sc[i]) &&
		         orch_record(
		             o, s, orch_run_one(t, o, s, &o->sc[i], s->next_cycle, 0)) !=
		             CHAOS_OK)
			return CHAOS_EXIT_ENV;
	}
	while (n_avail > 0 && !runclient_interrupted()) {
		int64_t now = clk_now_us();
		int64_t next =
		    s->last_started_us > 0 ? s->last_started_us + interval_us : now;
		json_t *e;
		if (now >= s->deadline_us)
			break;
		if (now < next) {
			orch_nap(next - now < ORCH_TICK_US ? next - now : ORCH_TICK_US);
			continue;
		}
		printf("-- %.1f min left in the session\n",
		       (double)(s->deadline_us - now) / 60e6);
		e = orch_run_one(
		    t, o, s,
		    &o->sc[avail[orch_pick(o->seed, o->random, s->next_cycle, n_avail)]],
		    s->next_cycle, s->deadline_us);
		if (e == NULL)
			continue; /* busy until the deadline or interrupted: the loop ends
			           */
		if (orch_record(o, s, e) != CHAOS_OK)
			return CHAOS_EXIT_ENV;
	}
	s->finished = clk_now_us() >= s->deadline_us || n_avail == 0;
	return CHAOS_EXIT_OK;
}

/* ---- dry run, summary, entry point ---- */

static void
orch_print_settings(const struct orch_opts *o)
{
	for (size_t i = 0; i < o->n_sc; i++) {
		char *p  = o->sc[i].params
		     ? json_dumps(o->sc[i].params,
		                  JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6))
		     : NULL;
		char *sh = o->sc[i].shortened && json_object_size(o->sc[i].shortened)
		    ? json_dumps(o->sc[i].shortened,
		                 JSON_COMPACT | JSON_REAL_PRECISION(6))
		    : NULL;
		printf("  %-12s %-20s %s%s%s\n", o->sc[i].name, o->sc[i].scenario,
		       o->sc[i].k ? (p ? p : "{}")
		                  : "not available in this build: will be skipped",
		       sh ? "  shortened for continuous mode: " : "", sh ? sh : "");
		free(p);
		free(sh);
	}
}

static int
orch_dry_run(const struct ctl_target *t, const struct orch_opts *o)
{
	size_t avail[ORCH_MAX_SCENARIOS], n_avail = 0;
	int    worst = CHAOS_EXIT_OK;

	printf("dry run: no fault is applied and no file is written\n");
	if (o->continuous)
		printf(
		    "mode: continuous for %g h, a cycle every %g min, scenarios %s%s\n",
		    o->duration_h, o->interval_min, orch_selection(o),
		    o->random ? " (seeded)" : "");
	else
		printf("mode: each scenario once, in this order\n");
	orch_print_settings(o);
	for (size_t i = 0; i < o->n_sc; i++)
		if (o->sc[i].k != NULL)
			avail[n_avail++] = i;
	if (o->continuous && n_avail > 0) {
		/* cycles start every interval while the deadline is ahead; a run
		 * longer than the interval only makes them fewer */
		int64_t n = (int64_t)ceil(o->duration_h * 60.0 / o->interval_min - 1e-9);
		printf(
		    "  at most %lld cycle%s (a cycle starts every %g min while the %g h "
		    "last)\n",
		    (long long)n, n == 1 ? "" : "s", o->interval_min, o->duration_h);
		for (int64_t c = 1; c <= n && c <= ORCH_DRY_CYCLES; c++)
			printf(
			    "  cycle %lld at +%g min: %s\n", (long long)c,
			    (double)(c - 1) * o->interval_min,
			    o->sc[avail[orch_pick(o->seed, o->random, c, n_avail)]].name);
		if (n > ORCH_DRY_CYCLES)
			printf("  ... and %lld more\n", (long long)(n - ORCH_DRY_CYCLES));
	}
	for (size_t i = 0; i < n_avail; i++) {
		struct runclient_result res;
		int                     rv;
		printf("plan of %s:\n", o->sc[avail[i]].name);
		rv =
		    runclient_run(t, o->sc[avail[i]].scenario, o->sc[avail[i]].run_params,
		                  true, NULL, NULL, NULL, &res);
		if (res.error[0] != '\0')
			fprintf(stderr, "chaosctl: orchestrate: %s: %s\n",
			        o->sc[avail[i]].name, res.error);
		json_decref(res.result);
		worst = rv > worst ? rv : worst;
	}
	return worst;
}

static void
orch_print_summary(const struct orch_opts *o, const struct orch_session *s)
{
	json_t *summary = orch_summary(s->entries);
	json_t *slo     = orch_slo(summary, &o->slo);
	json_t *trends  = orch_trends(s->entries);
	json_t *recs    = orch_recommendations(s->entries, summary, slo, trends, &o->slo);
	const json_t *x;
	size_t        i;

	printf("report: %s\nhtml:   %s/report.html\njunit:  %s/junit.xml\n", s->report,
	       o->output, o->output);
	printf("runs: %lld (successful %lld, failed %lld, skipped %lld)\n",
	       json_integer_value(json_object_get(summary, "total_scenarios")),
	       json_integer_value(json_object_get(summary, "successful_scenarios")),
	       json_integer_value(json_object_get(summary, "failed_scenarios")),
	       json_integer_value(json_object_get(summary, "skipped_scenarios")));
	json_array_foreach(json_object_get(slo, "targets"), i, x)
	{
		const json_t *met = json_object_get(x, "met");
		if (json_is_boolean(met))
			printf("SLO %-22s %s: %.3f (target %s)\n",
			       json_string_value(json_object_get(x, "name")),
			       json_is_true(met) ? "met   " : "MISSED",
			       json_number_value(json_object_get(x, "measured")),
			       json_string_value(json_object_get(x, "target")));
		else
			printf("SLO %-22s %s\n",
			       json_string_value(json_object_get(x, "name")),
			       json_string_value(json_object_get(x, "reason")));
	}
	json_array_foreach(recs, i, x) printf(
	    "recommendation: %s\n", json_string_value(json_object_get(x, "message")));
	json_decref(recs);
	json_decref(trends);
	json_decref(slo);
	json_decref(summary);
}

static int
orch_execute(const struct ctl_target *t, struct orch_opts *o, struct orch_session *s)
{
	int rv;

	if (!o->resume && (rv = orch_session_new(o, s)) != CHAOS_EXIT_OK)
		return rv;
	if ((rv = orch_settle(t, o, s)) != CHAOS_EXIT_OK)
		return rv;
	rv = o->continuous ? orch_loop_continuous(t, o, s) : orch_loop_once(t, o, s);
	if (rv != CHAOS_EXIT_OK)
		return rv;
	if (s->finished) {
		int64_t now = clk_now_us();
		json_t *end =
		    json_pack("{s:s,s:o,s:I}", "type", "end", "orchestration_end",
		              orch_iso(now), "end_us", (json_int_t)now);
		orch_append(s, end);
		json_decref(end);
	} else {
		printf("interrupted: continue this session with: chaosctl orchestrate "
		       "--resume "
		       "--output %s\n",
		       o->output);
	}
	return CHAOS_EXIT_OK;
}

/* When the session ended, from its end record; 0 with why when it did not
 * end (interrupted) or its end was not recorded. */
static int64_t
orch_session_end(const struct orch_session *s, char *why, size_t len)
{
	snprintf(why, len,
	         "interrupted before the session ended; continue it with --resume");
	return s->finished ? orch_end_time(s, why, len) : 0;
}

int
orch_run(const struct ctl_target *t, struct orch_opts *o)
{
	struct orch_session s = {0};
	char                ns[512], end_why[256];
	bool                was_finished;
	int64_t             end_us = 0;
	int                 rv;

	runclient_catch_signals();
	if (o->resume && (rv = orch_session_resume(o, &s)) != CHAOS_EXIT_OK)
		goto out;
	was_finished = s.finished;
	if (o->dry_run) {
		rv = was_finished ? CHAOS_EXIT_OK : orch_dry_run(t, o);
		goto out;
	}
	if (!was_finished) {
		if ((rv = orch_preflight(t, ns, sizeof(ns))) != CHAOS_EXIT_OK)
			goto out;
		if (o->namespace_ == NULL && ns[0] != '\0')
			o->namespace_ = ns;
		if ((rv = orch_check_plans(t, o)) != CHAOS_EXIT_OK)
			goto out;
		if ((rv = orch_execute(t, o, &s)) != CHAOS_EXIT_OK)
			goto out;
	} else {
		printf("the session is complete; its reports are written again\n");
	}
	end_us = orch_session_end(&s, end_why, sizeof(end_why));
	rv     = orch_write_outputs(o, &s, end_us, end_why);
	orch_print_summary(o, &s);
	printf("exit %d: %s\n", rv,
	       rv == CHAOS_EXIT_OK           ? "every run succeeded and the SLOs were met"
	           : rv == CHAOS_EXIT_FAILED ? "a run failed or an SLO was missed"
	           : rv == CHAOS_EXIT_USAGE
	           ? "a run was refused (bad parameters)"
	           : "inconclusive: nothing ran, the environment was not usable, a "
	             "run's end state is unknown, or an SLO could not be measured "
	             "(see above)");
out:
	json_decref(s.header);
	json_decref(s.entries);
	json_decref(s.inflight);
	return rv;
}
