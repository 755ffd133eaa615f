// SPDX-License-Identifier: MIT
/*
 * chaosctl orchestrate [--scenarios NAME...] [--continuous [--duration H]
 * [--interval MIN] [--seed N]] [--resume] [--dry-run] [--output DIR]
 * [scenario flags]: parses the command line into orch_opts; orch.c runs it.
 * Each scenario flag goes to every selected scenario whose parameter table
 * (controller/scenarios/<name>.c) has it, and is checked by that table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"
#include "controller/chaosctl/chaosctl.h"
#include "controller/chaosctl/flags.h"
#include "controller/chaosctl/orch.h"
#include "controller/scenarios/param.h"

#define ORCH_MAX_PAIRS 64
#define ORCH_HELP 100 /* --help printed: exit 0 */

static const char orch_usage[] =
    "usage: chaosctl orchestrate [--scenarios NAME...] [--output DIR] [--dry-run]\n"
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
    "  scenario flags  go to every selected scenario that takes them; see chaosctl run "
    "NAME "
    "--help\n"
    "exit: 0 SLOs met, 1 a run failed or an SLO was missed, 2 bad usage, 3 environment "
    "not "
    "usable\n";

struct orch_args {
	const char *pairs[ORCH_MAX_PAIRS][2];
	size_t      n_pairs;
	size_t      n_sc_given;       /* scenarios named by --scenarios */
	bool        continuous_flags; /* --duration/--interval/--seed given */
	bool        other_flags;      /* anything --resume ignores */
};

static int
orch_add_scenario(struct orch_opts *o, const char *name)
{
	const struct scenario *k  = scenario_find(name);
	struct orch_scenario  *sc = &o->sc[o->n_sc];
	char                   words[128];

	if (k == NULL)
		return flags_usage_error(
		    "chaosctl",
		    "orchestrate: --scenarios: unknown scenario '%s'; "
		    "allowed: %s",
		    name, scenario_words(words, sizeof(words)));
	if (o->n_sc == ORCH_MAX_SCENARIOS)
		return flags_usage_error("chaosctl",
		                         "orchestrate: --scenarios: at most %d",
		                         ORCH_MAX_SCENARIOS);
	snprintf(sc->name, sizeof(sc->name), "%s", k->cli);
	snprintf(sc->scenario, sizeof(sc->scenario), "%s", k->name);
	sc->k = k;
	o->n_sc++;
	return 0;
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

static int
orch_number(const char *flag, const char *v, double min, double max, double *out)
{
	if (v == NULL || flags_parse_double(v, min, max, out) != CHAOS_OK)
		return flags_usage_error("chaosctl",
		                         "orchestrate: %s '%s': allowed is a number in "
		                         "%g..%g",
		                         flag, v ? v : "", min, max);
	return 0;
}

/* One orchestrator option at argv[*i]; -1 when it is not one. */
static int
orch_option(struct orch_opts *o, struct orch_args *a, int argc, char **argv, int *i)
{
	const char *f = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	int         rv;

	if (strcmp(f, "--scenarios") == 0) {
		a->other_flags = true;
		for (; *i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0; (*i)++)
			if ((rv = orch_add_scenario(o, argv[*i + 1])) != 0)
				return rv;
		a->n_sc_given = o->n_sc;
		return o->n_sc
		    ? 0
		    : flags_usage_error("chaosctl",
		                        "orchestrate: --scenarios needs at least "
		                        "one scenario; see chaosctl orchestrate "
		                        "--help");
	}
	if (strcmp(f, "--continuous") == 0) {
		a->other_flags = o->continuous = true;
		return 0;
	}
	if (strcmp(f, "--resume") == 0 || strcmp(f, "--dry-run") == 0) {
		*(f[2] == 'r' ? &o->resume : &o->dry_run) = true;
		return 0;
	}
	if (strcmp(f, "--output") == 0 && v != NULL) {
		o->output = v;
		(*i)++;
		return 0;
	}
	if (strcmp(f, "--seed") == 0) {
		uint32_t seed;
		if (v == NULL || flags_parse_u32(v, 0, UINT32_MAX, &seed) != CHAOS_OK)
			return flags_usage_error("chaosctl",
			                         "orchestrate: --seed '%s': allowed is a "
			                         "whole number in 0..4294967295",
			                         v ? v : "");
		a->continuous_flags = a->other_flags = o->random = true;
		o->seed                                          = seed;
		(*i)++;
		return 0;
	}
	if (strcmp(f, "--duration") == 0 || strcmp(f, "--interval") == 0) {
		bool dur            = f[2] == 'd';
		a->continuous_flags = a->other_flags = true;
		(*i)++;
		return dur ? orch_number(f, v, 0.0001, 8760, &o->duration_h)
		           : orch_number(f, v, 0.001, 10080, &o->interval_min);
	}
	if (strcmp(f, "--slo-mttr-avg") == 0 || strcmp(f, "--slo-mttr-max") == 0 ||
	    strcmp(f, "--slo-success-rate") == 0) {
		a->other_flags = true;
		(*i)++;
		return strcmp(f, "--slo-mttr-avg") == 0
		    ? orch_number(f, v, 0.001, 86400, &o->slo.mttr_avg_s)
		    : strcmp(f, "--slo-mttr-max") == 0
		    ? orch_number(f, v, 0.001, 86400, &o->slo.mttr_max_s)
		    : orch_number(f, v, 0, 100, &o->slo.success_rate_pct);
	}
	return -1;
}

/* Every scenario flag must reach a selected scenario; one that only a
 * scenario left out takes is ignored with a warning. */
static int
orch_route_check(const struct orch_opts *o, const struct orch_args *a)
{
	for (size_t p = 0; p < a->n_pairs; p++) {
		const char *flag = a->pairs[p][0], *owner = NULL;
		bool        used = false;
		for (size_t i = 0; i < o->n_sc && !used; i++)
			used =
			    o->sc[i].k && param_by_flag(o->sc[i].k->params, flag) != NULL;
		if (used)
			continue;
		if (!orch_known_flag(flag, &owner))
			return flags_usage_error("chaosctl",
			                         "orchestrate: unknown option '%s'; see "
			                         "chaosctl orchestrate --help",
			                         flag);
		fprintf(stderr,
		        "chaosctl: orchestrate: %s ignored: it is a flag of %s, which is "
		        "not among --scenarios\n",
		        flag, owner);
	}
	return 0;
}

static bool
orch_given(const struct orch_args *a, const char *flag)
{
	for (size_t p = 0; p < a->n_pairs; p++)
		if (strcmp(a->pairs[p][0], flag) == 0)
			return true;
	return false;
}

/* The scenario's params from its own parameter table: continuous mode's
 * shorter durations first, then the user's flags (later ones win). */
static int
orch_params(struct orch_opts *o, struct orch_scenario *sc, const struct orch_args *a)
{
	char             *argv[2 * ORCH_MAX_PAIRS + 16] = {"orchestrate"};
	int               argc                          = 1;
	struct cli_common common;
	chaos_why         why = {{0}};

	sc->shortened = json_object();
	for (const struct param *p = sc->k->params; o->continuous && p->key != NULL;
	     p++) {
		if (!(p->flags & PARAM_SHORTEN) || orch_given(a, p->flag) ||
		    argc + 2 > (int)(sizeof(argv) / sizeof(argv[0])))
			continue;
		argv[argc++] = (char *)p->flag;
		argv[argc++] = (char *)ORCH_SHORT_FAULT_S;
		json_object_set_new(sc->shortened, p->key,
		                    json_real(strtod(ORCH_SHORT_FAULT_S, NULL)));
	}
	for (size_t p = 0; p < a->n_pairs; p++)
		if (param_by_flag(sc->k->params, a->pairs[p][0]) != NULL) {
			argv[argc++] = (char *)a->pairs[p][0];
			argv[argc++] = (char *)a->pairs[p][1];
		}
	if (cli_parse(sc->k, argc, argv, &sc->params, &common, &why) != CLI_OK ||
	    orch_finish_params(sc, &why) != CHAOS_OK)
		return flags_usage_error("chaosctl", "orchestrate: %s: %s", sc->name,
		                         why.text);
	return 0;
}

static int
orch_parse(struct orch_opts *o, struct orch_args *a, int argc, char **argv)
{
	int rv;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(orch_usage, stdout);
			return ORCH_HELP;
		}
		if ((rv = orch_option(o, a, argc, argv, &i)) >= 0) {
			if (rv != 0)
				return rv;
			continue;
		}
		if (strncmp(argv[i], "--", 2) != 0 || !orch_known_flag(argv[i], NULL) ||
		    i + 1 >= argc || a->n_pairs == ORCH_MAX_PAIRS)
			return flags_usage_error(
			    "chaosctl",
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
		return flags_usage_error("chaosctl",
		                         "orchestrate: --duration, --interval and --seed "
		                         "need --continuous");
	return 0;
}

int
cmd_orchestrate(const struct ctl_target *t, int argc, char **argv)
{
	struct orch_opts o = {.duration_h = 24, .interval_min = 60, .output = "."};
	struct orch_args a = {0};
	int              rv;

	orch_slo_defaults(&o.slo);
	if ((rv = orch_parse(&o, &a, argc, argv)) != 0)
		goto out;
	if (o.resume) {
		if (a.other_flags)
			fprintf(stderr,
			        "chaosctl: orchestrate: --resume continues with the "
			        "session's "
			        "saved settings; the other flags given are ignored\n");
		rv = orch_run(t, &o);
		goto out;
	}
	/* default: every scenario of this build, in the list's order */
	for (size_t c = 0; a.n_sc_given == 0 && scenario_list[c] != NULL; c++)
		orch_add_scenario(&o, scenario_list[c]->cli);
	if ((rv = orch_route_check(&o, &a)) != 0)
		goto out;
	for (size_t i = 0; i < o.n_sc; i++)
		if (o.sc[i].k != NULL && (rv = orch_params(&o, &o.sc[i], &a)) != 0)
			goto out;
	rv = orch_run(t, &o);
out:
	orch_opts_fini(&o);
	return rv == ORCH_HELP ? CHAOS_EXIT_OK : rv;
}
