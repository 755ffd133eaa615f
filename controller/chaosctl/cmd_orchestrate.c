// SPDX-License-Identifier: MIT
/*
 * chaosctl orchestrate [--scenarios NAME...] [--continuous [--duration H]
 * [--interval MIN] [--seed N]] [--resume] [--dry-run] [--output DIR]
 * [-f PLAN] [scenario flags]: parses the plan (experiment.h) and then the
 * command line into orch_opts; orch.c runs it. Each scenario flag goes to
 * every selected scenario whose parameter table
 * (controller/scenarios/<name>.c) has it, and is checked by that table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"
#include "controller/chaosctl/chaosctl.h"
#include "controller/chaosctl/experiment.h"
#include "controller/chaosctl/flags.h"
#include "controller/chaosctl/orch.h"
#include "controller/scenarios/param.h"

#define ORCH_MAX_PAIRS 64

static const char orch_usage[] =
    "usage: chaosctl orchestrate [-f PLAN] [--scenarios NAME...] [--output DIR] "
    "[--dry-run]\n"
    "                            [--continuous [--duration HOURS] [--interval MINUTES] "
    "[--seed N]]\n"
    "                            [--resume] [--slo-mttr-avg S] [--slo-mttr-max S] "
    "[--slo-success-rate PCT]\n"
    "                            [scenario flags, e.g. --partition-duration 10]\n"
    "  --scenarios     one or more of: coordinator network database (default: all, in "
    "that "
    "order)\n"
    "  --continuous    one scenario per cycle, a cycle every --interval minutes (default "
    "60)\n"
    "                  until --duration hours (default 24) are over; in turn, or at "
    "random\n"
    "                  with --seed N (repeatable); fault and load durations default to\n"
    "                  " ORCH_SHORT_FAULT_S
    " s (--partition/--outage/--failure/--load-duration) "
    "unless given\n"
    "  --resume        continue the newest session in --output (same start, deadline "
    "and\n"
    "                  settings; cycle numbers continue)\n"
    "  --output DIR    results, chaos_test_report_<time>.json, report.html, junit.xml "
    "and\n"
    "                  the session history (default .)\n"
    "  --slo-*         SLO targets (defaults 120 s, 300 s, 99.9 %)\n"
    "  -f, --file PLAN the same settings in a YAML file (keys: these flags without "
    "--;\n"
    "                  mode: once|continuous; scenarios: a list, each with its "
    "params:);\n"
    "                  a flag given here wins over the file\n"
    "  scenario flags  go to every selected scenario that takes them; see chaosctl run "
    "NAME "
    "--help\n"
    "exit: 0 SLOs met, 1 a run failed or an SLO was missed, 2 bad usage, 3 environment "
    "not "
    "usable\n";

struct orch_args {
	const char *pairs[ORCH_MAX_PAIRS][2];
	size_t      n_pairs;
	size_t      n_sc_given;       /* scenarios named by --scenarios or a plan */
	bool        sc_from_plan;     /* o->sc is the plan's list */
	bool        continuous_flags; /* --duration/--interval/--seed given */
	bool        other_flags;      /* anything --resume ignores */
};

static chaos_err
orch_add_scenario(struct orch_opts *o, const char *name, chaos_why *why)
{
	const struct scenario *k  = scenario_find(name);
	struct orch_scenario  *sc = &o->sc[o->n_sc];
	char                   words[128];

	if (k == NULL)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "orchestrate: --scenarios: unknown scenario '%s'; "
		                  "allowed: %s",
		                  name, scenario_words(words, sizeof(words)));
	if (o->n_sc == ORCH_MAX_SCENARIOS)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "orchestrate: --scenarios: at most %d",
		                  ORCH_MAX_SCENARIOS);
	/* reports, trends and --resume key runs by scenario: each once */
	for (size_t i = 0; i < o->n_sc; i++)
		if (o->sc[i].k == k)
			return chaos_fail(why, CHAOS_EINVAL,
			                  "orchestrate: --scenarios: %s is named twice; "
			                  "name each scenario once (continuous mode "
			                  "repeats them)",
			                  k->cli);
	snprintf(sc->name, sizeof(sc->name), "%s", k->cli);
	snprintf(sc->scenario, sizeof(sc->scenario), "%s", k->name);
	sc->k = k;
	o->n_sc++;
	return CHAOS_OK;
}

/* Whether any scenario of this build takes flag; its word in *owner. */
static bool
orch_known_flag(const char *flag, const char **owner)
{
	for (size_t i = 0; scenario_list[i] != NULL; i++)
		if (param_by_flag(scenario_list[i]->params, flag) != NULL) {
			if (owner != NULL)
				*owner = scenario_list[i]->cli;
			return true;
		}
	return false;
}

static chaos_err
orch_number(const char *flag, const char *v, double min, double max, double *out,
            chaos_why *why)
{
	if (v == NULL)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "orchestrate: %s needs a value; allowed is a number in "
		                  "%g..%g",
		                  flag, min, max);
	if (flags_parse_double(v, min, max, out) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "orchestrate: %s '%s': allowed is a number in %g..%g",
		                  flag, v, min, max);
	return CHAOS_OK;
}

/* --scenarios NAME...: replaces a plan's list. */
static chaos_err
orch_scenarios(struct orch_opts *o, struct orch_args *a, int argc, char **argv, int *i,
               chaos_why *why)
{
	chaos_err rv;

	if (a->sc_from_plan)
		o->n_sc = 0;
	a->sc_from_plan = false;
	for (; *i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0; (*i)++)
		if ((rv = orch_add_scenario(o, argv[*i + 1], why)) != CHAOS_OK)
			return rv;
	a->n_sc_given = o->n_sc;
	return o->n_sc ? CHAOS_OK
	               : chaos_fail(why, CHAOS_EINVAL,
	                            "orchestrate: --scenarios needs at least one "
	                            "scenario; see chaosctl orchestrate --help");
}

/* An orchestrator option with a number: --seed, --duration, --interval,
 * --slo-*. CHAOS_ENOENT when f is none of them. */
static chaos_err
orch_valued(struct orch_opts *o, struct orch_args *a, const char *f, const char *v,
            chaos_why *why)
{
	uint32_t seed;

	if (strcmp(f, "--seed") == 0) {
		if (v == NULL || flags_parse_u32(v, 0, UINT32_MAX, &seed) != CHAOS_OK)
			return chaos_fail(
			    why, CHAOS_EINVAL,
			    "orchestrate: --seed %s%s%s: allowed is a whole "
			    "number in 0..4294967295",
			    v ? "'" : "needs a value", v ? v : "", v ? "'" : "");
		a->continuous_flags = o->random = true;
		o->seed                         = seed;
		return CHAOS_OK;
	}
	if (strcmp(f, "--duration") == 0 || strcmp(f, "--interval") == 0) {
		a->continuous_flags = true;
		return f[2] == 'd'
		    ? orch_number(f, v, 0.0001, 8760, &o->duration_h, why)
		    : orch_number(f, v, 0.001, 10080, &o->interval_min, why);
	}
	if (strcmp(f, "--slo-mttr-avg") == 0)
		return orch_number(f, v, 0.001, 86400, &o->slo.mttr_avg_s, why);
	if (strcmp(f, "--slo-mttr-max") == 0)
		return orch_number(f, v, 0.001, 86400, &o->slo.mttr_max_s, why);
	if (strcmp(f, "--slo-success-rate") == 0)
		return orch_number(f, v, 0, 100, &o->slo.success_rate_pct, why);
	return CHAOS_ENOENT;
}

/* One orchestrator option at argv[*i] (its value, if any, after it);
 * CHAOS_ENOENT when it is not one, CHAOS_EINVAL with why when it is bad. */
static chaos_err
orch_option(struct orch_opts *o, struct orch_args *a, int argc, char **argv, int *i,
            chaos_why *why)
{
	const char *f = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	chaos_err   rv;

	if (strcmp(f, "-f") == 0 || strcmp(f, "--file") == 0) {
		(*i)++; /* read before the rest: orch_plan */
		return CHAOS_OK;
	}
	if (strcmp(f, "--resume") == 0 || strcmp(f, "--dry-run") == 0) {
		*(f[2] == 'r' ? &o->resume : &o->dry_run) = true;
		return CHAOS_OK;
	}
	if (strcmp(f, "--output") == 0) {
		if (v == NULL)
			return chaos_fail(why, CHAOS_EINVAL,
			                  "orchestrate: --output needs a directory");
		o->output = v;
		(*i)++;
		return CHAOS_OK;
	}
	a->other_flags = true; /* what --resume ignores */
	if (strcmp(f, "--scenarios") == 0)
		return orch_scenarios(o, a, argc, argv, i, why);
	if (strcmp(f, "--continuous") == 0) {
		o->continuous = true;
		return CHAOS_OK;
	}
	if ((rv = orch_valued(o, a, f, v, why)) != CHAOS_ENOENT)
		(*i)++;
	return rv;
}

/* Whether a selected scenario takes flag. */
static bool
orch_used(const struct orch_opts *o, const char *flag)
{
	for (size_t i = 0; i < o->n_sc; i++)
		if (o->sc[i].k && param_by_flag(o->sc[i].k->params, flag) != NULL)
			return true;
	return false;
}

/* Every scenario flag must reach a selected scenario; one that only a
 * scenario left out takes is ignored with a warning (a plan's too). */
static chaos_err
orch_route_check(const struct orch_opts *o, const struct orch_args *a, chaos_why *why)
{
	const struct exp *e = o->plan;
	const char       *owner;

	for (size_t p = 0; p < a->n_pairs; p++) {
		if (orch_used(o, a->pairs[p][0]))
			continue;
		if (!orch_known_flag(a->pairs[p][0], &owner))
			return chaos_fail(
			    why, CHAOS_EINVAL,
			    "orchestrate: unknown option '%s'; see chaosctl "
			    "orchestrate --help",
			    a->pairs[p][0]);
		fprintf(stderr,
		        "chaosctl: orchestrate: %s ignored: it is a flag of %s, which is "
		        "not among --scenarios\n",
		        a->pairs[p][0], owner);
	}
	for (size_t i = 0; e != NULL && i < e->shared.n; i++)
		if (!orch_used(o, e->shared.v[i].flag) &&
		    orch_known_flag(e->shared.v[i].flag, &owner))
			fprintf(
			    stderr,
			    "chaosctl: orchestrate: %s:%u:%u: %s ignored: it is a flag "
			    "of %s, which is not among the scenarios\n",
			    e->name, e->shared.v[i].line, e->shared.v[i].col,
			    e->shared.v[i].flag + 2, owner);
	return CHAOS_OK;
}

/* The plan's entry for scenario k; NULL when it has none. */
static const struct exp_scenario *
orch_plan_entry(const struct orch_opts *o, const struct scenario *k)
{
	for (size_t i = 0; o->plan != NULL && i < o->plan->n_sc; i++)
		if (o->plan->sc[i].sc == k)
			return &o->plan->sc[i];
	return NULL;
}

/* Whether flag is among the command line's scenario flags. */
static bool
orch_on_command_line(const struct orch_args *a, const char *flag)
{
	for (size_t p = 0; p < a->n_pairs; p++)
		if (strcmp(a->pairs[p][0], flag) == 0)
			return true;
	return false;
}

/* Whether the user set flag for sc: on the command line or in the plan. */
static bool
orch_given(const struct orch_opts *o, const struct orch_args *a,
           const struct orch_scenario *sc, const char *flag)
{
	const struct exp_scenario *entry = orch_plan_entry(o, sc->k);

	return orch_on_command_line(a, flag) ||
	    (o->plan != NULL && exp_set_find(&o->plan->shared, flag) != NULL) ||
	    (entry != NULL && exp_set_find(&entry->params, flag) != NULL);
}

/* A scenario flag goes to every selected scenario that takes it; one that
 * the mode a scenario runs in does not use (--outage-duration with
 * coordinator's --method kill) is left out for that scenario with a
 * warning, so that a flag meant for one mode does not get the whole
 * orchestration refused. The plan's own params of that scenario are its
 * alone: there such a flag is refused, as `chaosctl run` refuses it. */
static chaos_err
orch_fit(const struct orch_opts *o, const struct orch_args *a, struct orch_scenario *sc,
         chaos_why *why)
{
	const struct exp_scenario *entry = orch_plan_entry(o, sc->k);
	json_t                    *done  = json_deep_copy(sc->params);
	const char                *key;
	json_t                    *v;
	void                      *tmp;
	chaos_why                  unused;
	chaos_err                  rv = CHAOS_OK;

	/* the mode as the run will have it: finish may choose it */
	if (done == NULL ||
	    (sc->k->finish != NULL && sc->k->finish(done, why) != CHAOS_OK))
		goto out; /* orch_finish_params says why */
	json_object_foreach_safe(sc->params, tmp, key, v)
	{
		const char *flag = param_by_key(sc->k->params, key)->flag;
		if (json_object_get(sc->shortened, key) != NULL ||
		    param_rule_check_key(sc->k->params, sc->k->rules, done, key,
		                         &unused) != CHAOS_ENOENT)
			continue;
		if (entry != NULL && exp_set_find(&entry->params, flag) != NULL &&
		    !orch_on_command_line(a, flag)) {
			rv = chaos_fail(why, CHAOS_EINVAL, "%s", unused.text);
			goto out;
		}
		fprintf(stderr, "chaosctl: orchestrate: not passed to %s: %s\n", sc->name,
		        unused.text);
		json_object_del(sc->params, key);
	}
out:
	json_decref(done);
	return rv;
}

/* Room for the shortened durations, a plan's shared and own params, and
 * the command line's pairs, each a flag and a value. */
#define ORCH_ARGV_MAX (1 + 2 * (ORCH_MAX_PAIRS + 3 * EXP_MAX_VALUES))

/* The scenario's params from its own parameter table: continuous mode's
 * shorter durations first, then the plan's params for every scenario, the
 * plan's for this one, and the command line's flags (later ones win). */
static chaos_err
orch_params(struct orch_opts *o, struct orch_scenario *sc, const struct orch_args *a,
            chaos_why *why)
{
	const struct exp_scenario *entry               = orch_plan_entry(o, sc->k);
	char                      *argv[ORCH_ARGV_MAX] = {"orchestrate"};
	int                        argc                = 1;
	struct cli_common          common;

	sc->shortened = json_object();
	for (const struct param *p = sc->k->params; o->continuous && p->key != NULL;
	     p++) {
		if (!(p->flags & PARAM_SHORTEN) || orch_given(o, a, sc, p->flag) ||
		    argc + 2 > 1 + 2 * EXP_MAX_VALUES)
			continue;
		argv[argc++] = (char *)p->flag;
		argv[argc++] = (char *)ORCH_SHORT_FAULT_S;
		json_object_set_new(sc->shortened, p->key,
		                    json_real(strtod(ORCH_SHORT_FAULT_S, NULL)));
	}
	/* within ORCH_ARGV_MAX: a set holds at most EXP_MAX_VALUES values */
	if (o->plan != NULL) {
		exp_flags(&o->plan->shared, sc->k, argv, &argc, ORCH_ARGV_MAX);
		if (entry != NULL)
			exp_flags(&entry->params, NULL, argv, &argc, ORCH_ARGV_MAX);
	}
	for (size_t p = 0; p < a->n_pairs; p++)
		if (param_by_flag(sc->k->params, a->pairs[p][0]) != NULL) {
			argv[argc++] = (char *)a->pairs[p][0];
			argv[argc++] = (char *)a->pairs[p][1];
		}
	if (cli_parse(sc->k, argc, argv, &sc->params, &common, why) != CLI_OK ||
	    orch_fit(o, a, sc, why) != CHAOS_OK ||
	    orch_finish_params(sc, why) != CHAOS_OK)
		return chaos_fail_prefix(why, CHAOS_EINVAL, "orchestrate: %s", sc->name);
	return CHAOS_OK;
}

/* The plan named by -f, under the command line: its options as if given
 * first, its scenarios as the list (until --scenarios replaces it). */
static chaos_err
orch_plan(struct orch_opts *o, struct orch_args *a, const char *path, chaos_why *why)
{
	const struct exp_value *v, *ns;
	chaos_err               rv;
	int                     at;

	if ((rv = exp_load(path, EXP_PLAN, &o->plan, why)) != CHAOS_OK)
		return rv;
	for (size_t i = 0; i < o->plan->opts.n; i++) {
		v  = &o->plan->opts.v[i];
		at = 0;
		rv = orch_option(o, a, v->text != NULL ? 2 : 1,
		                 (char *[]) {(char *)v->flag, (char *)v->text}, &at, why);
		if (rv != CHAOS_OK)
			return exp_fail_at(o->plan, v, CHAOS_EINVAL, why);
	}
	for (size_t i = 0; i < o->plan->n_sc; i++)
		if ((rv = orch_add_scenario(o, o->plan->sc[i].sc->cli, why)) != CHAOS_OK)
			return rv;
	a->n_sc_given   = o->n_sc;
	a->sc_from_plan = o->n_sc > 0;
	a->other_flags  = true;
	if ((ns = exp_set_find(&o->plan->shared, "--namespace")) != NULL)
		o->namespace_ = ns->text;
	return CHAOS_OK;
}

/* The command line after the plan; a flag given twice: the last one wins. */
static chaos_err
orch_args_parse(struct orch_opts *o, struct orch_args *a, int argc, char **argv,
                chaos_why *why)
{
	chaos_err rv;

	for (int i = 1; i < argc; i++) {
		if ((rv = orch_option(o, a, argc, argv, &i, why)) != CHAOS_ENOENT) {
			if (rv != CHAOS_OK)
				return rv;
			continue;
		}
		if (strncmp(argv[i], "--", 2) != 0 || !orch_known_flag(argv[i], NULL) ||
		    i + 1 >= argc || a->n_pairs == ORCH_MAX_PAIRS)
			return chaos_fail(
			    why, CHAOS_EINVAL,
			    "orchestrate: %s '%s'; see chaosctl orchestrate --help",
			    strncmp(argv[i], "--", 2)             ? "unexpected argument"
			        : !orch_known_flag(argv[i], NULL) ? "unknown option"
			        : a->n_pairs == ORCH_MAX_PAIRS    ? "too many options at"
			                                          : "missing value for",
			    argv[i]);
		if (strcmp(argv[i], "--namespace") == 0)
			o->namespace_ = argv[i + 1];
		a->pairs[a->n_pairs][0]   = argv[i];
		a->pairs[a->n_pairs++][1] = argv[++i];
		a->other_flags            = true;
	}
	if (a->continuous_flags && !o->continuous && !o->resume)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "orchestrate: --duration, --interval and --seed need "
		                  "--continuous (mode: continuous in a plan)");
	return CHAOS_OK;
}

/* Everything orch_run needs, from the plan and the command line. */
static chaos_err
orch_settings(struct orch_opts *o, struct orch_args *a, int argc, char **argv,
              chaos_why *why)
{
	chaos_err rv;
	int       at;

	if ((rv = exp_file_arg(argc, argv, &at, why)) != CHAOS_OK)
		return chaos_fail_prefix(why, rv, "orchestrate");
	if (at != 0 && (rv = orch_plan(o, a, argv[at + 1], why)) != CHAOS_OK)
		return rv;
	if ((rv = orch_args_parse(o, a, argc, argv, why)) != CHAOS_OK || o->resume)
		return rv;
	/* default: every scenario of this build, in the list's order */
	for (size_t c = 0; a->n_sc_given == 0 && scenario_list[c] != NULL; c++)
		orch_add_scenario(o, scenario_list[c]->cli, NULL);
	if ((rv = orch_route_check(o, a, why)) != CHAOS_OK)
		return rv;
	for (size_t i = 0; i < o->n_sc; i++)
		if (o->sc[i].k != NULL &&
		    (rv = orch_params(o, &o->sc[i], a, why)) != CHAOS_OK)
			return rv;
	return CHAOS_OK;
}

int
orch_cli(struct orch_opts *o, int argc, char **argv, bool *help)
{
	struct orch_args a   = {0};
	chaos_why        why = {{0}};

	*help = false;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0) {
			fputs(orch_usage, stdout);
			*help = true;
			return CHAOS_EXIT_OK;
		}
	if (orch_settings(o, &a, argc, argv, &why) != CHAOS_OK ||
	    (!o->dry_run && cli_check_output(o->output, &why) != CHAOS_OK))
		return flags_usage_error("chaosctl", "%s", why.text);
	if (o->resume && a.other_flags)
		fprintf(stderr,
		        "chaosctl: orchestrate: --resume continues with the "
		        "session's saved settings; the other flags given are "
		        "ignored\n");
	return CHAOS_EXIT_OK;
}

int
cmd_orchestrate(const struct ctl_target *t, int argc, char **argv)
{
	struct orch_opts o = {.duration_h = 24, .interval_min = 60, .output = "."};
	bool             help;
	int              rv;

	orch_slo_defaults(&o.slo);
	if ((rv = orch_cli(&o, argc, argv, &help)) == CHAOS_EXIT_OK && !help)
		rv = orch_run(t, &o);
	orch_opts_fini(&o);
	return rv;
}
