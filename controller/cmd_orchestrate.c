// SPDX-License-Identifier: MIT
/*
 * chaosctl orchestrate [--scenarios NAME...] [--continuous [--duration H]
 * [--interval MIN] [--seed N]] [--resume] [--dry-run] [--output DIR]
 * [scenario flags]: parses the command line into orch_opts; orch.c runs it.
 * Each scenario flag goes to every selected scenario whose flag table
 * (cli_<scenario>.c) has it, and is validated by that table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"
#include "controller/chaosctl.h"
#include "controller/cli_opts.h"
#include "controller/orch.h"

#define ORCH_MAX_PAIRS 64
#define ORCH_HELP 100 /* --help printed: exit 0 */

/* The core scenarios (DESIGN section 1), whether or not this build has
 * them, in the default order. */
static const struct {
	const char *cli, *scenario;
} orch_core[] = {
    {"coordinator", "coordinator_outage"},
    {"network", "network_partition"},
    {"database", "database_failure"},
};
#define ORCH_N_CORE (sizeof(orch_core) / sizeof(orch_core[0]))

/* Continuous mode's shorter fault and load durations (flags of whichever scenario
 * has them), unless given on the command line. */
static const char *const orch_shortened[] = {"--partition-duration", "--outage-duration",
                                             "--failure-duration", "--load-duration"};

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
	bool        continuous_flags; /* --duration/--interval/--seed given */
	bool        other_flags;      /* anything --resume ignores */
};

static int
orch_add_scenario(struct orch_opts *o, const char *name)
{
	const struct cli_scenario *k  = cli_find_scenario(name);
	struct orch_scenario      *sc = &o->sc[o->n_sc];
	size_t                     i  = 0;

	while (k == NULL && i < ORCH_N_CORE && strcmp(name, orch_core[i].cli) != 0 &&
	       strcmp(name, orch_core[i].scenario) != 0)
		i++;
	if (k == NULL && i == ORCH_N_CORE)
		return flags_usage_error(
		    "chaosctl",
		    "orchestrate: --scenarios: unknown scenario '%s'; "
		    "allowed: coordinator network database",
		    name);
	if (o->n_sc == ORCH_MAX_SCENARIOS)
		return flags_usage_error("chaosctl",
		                         "orchestrate: --scenarios: at most %d",
		                         ORCH_MAX_SCENARIOS);
	snprintf(sc->name, sizeof(sc->name), "%s", k ? k->cli : orch_core[i].cli);
	snprintf(sc->scenario, sizeof(sc->scenario), "%s",
	         k ? k->scenario : orch_core[i].scenario);
	sc->k = k;
	o->n_sc++;
	return 0;
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
		return o->n_sc
		    ? 0
		    : flags_usage_error("chaosctl",
		                        "orchestrate: --scenarios needs "
		                        "at least one of coordinator network database");
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

static bool
orch_table_has(const struct cli_opt *table, const char *flag, const struct cli_opt **out)
{
	for (const struct cli_opt *x = table; x->flag != NULL; x++)
		if (strcmp(x->flag, flag) == 0) {
			if (out != NULL)
				*out = x;
			return true;
		}
	return false;
}

/* Checks that every scenario flag reaches a selected scenario. */
static int
orch_route_check(const struct orch_opts *o, const struct orch_args *a)
{
	bool some_missing = false;

	for (size_t i = 0; i < o->n_sc; i++)
		some_missing = some_missing || o->sc[i].k == NULL;
	for (size_t p = 0; p < a->n_pairs; p++) {
		const char *flag = a->pairs[p][0], *owner = NULL;
		bool        used = false;
		for (size_t i = 0; i < o->n_sc && !used; i++)
			used = o->sc[i].k && orch_table_has(o->sc[i].k->opts, flag, NULL);
		for (size_t c = 0; c < ORCH_N_CORE && !used && owner == NULL; c++) {
			const struct cli_scenario *k =
			    cli_find_scenario(orch_core[c].cli);
			owner = k && orch_table_has(k->opts, flag, NULL) ? k->cli : NULL;
		}
		if (used)
			continue;
		if (owner != NULL || some_missing)
			fprintf(stderr, "chaosctl: orchestrate: %s ignored: %s%s\n", flag,
			        owner ? "it is a flag of "
			              : "no scenario of this build takes it",
			        owner ? owner : "");
		else
			return flags_usage_error("chaosctl",
			                         "orchestrate: unknown option '%s'; see "
			                         "chaosctl orchestrate --help",
			                         flag);
		if (owner != NULL)
			fprintf(stderr,
			        "chaosctl: orchestrate: (%s is not among --scenarios)\n",
			        owner);
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

/* The scenario's params from its own flag table: continuous mode's shorter
 * durations first, then the user's flags (later ones win). */
static int
orch_params(struct orch_opts *o, struct orch_scenario *sc, const struct orch_args *a)
{
	char                 *argv[2 * ORCH_MAX_PAIRS + 8] = {"orchestrate"};
	int                   argc                         = 1, rv;
	struct cli_common     common;
	const struct cli_opt *opt;

	sc->shortened = json_object();
	for (size_t s = 0;
	     o->continuous && s < sizeof(orch_shortened) / sizeof(orch_shortened[0]);
	     s++) {
		if (!orch_table_has(sc->k->opts, orch_shortened[s], &opt) ||
		    orch_given(a, orch_shortened[s]))
			continue;
		argv[argc++] = (char *)orch_shortened[s];
		argv[argc++] = (char *)ORCH_SHORT_FAULT_S;
		json_object_set_new(sc->shortened, opt->key,
		                    json_real(strtod(ORCH_SHORT_FAULT_S, NULL)));
	}
	for (size_t p = 0; p < a->n_pairs; p++)
		if (orch_table_has(sc->k->opts, a->pairs[p][0], NULL)) {
			argv[argc++] = (char *)a->pairs[p][0];
			argv[argc++] = (char *)a->pairs[p][1];
		}
	if ((rv = cli_parse(sc->name, argc, argv, sc->k->opts, &sc->params, &common)) !=
	    0)
		return rv == 1 ? CHAOSCTL_USAGE : rv;
	return orch_finish_params(sc);
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
		if (strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc ||
		    a->n_pairs == ORCH_MAX_PAIRS)
			return flags_usage_error("chaosctl",
			                         "orchestrate: %s '%s'; see chaosctl "
			                         "orchestrate --help",
			                         strncmp(argv[i], "--", 2)
			                             ? "unexpected argument"
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
	for (size_t c = 0; o.n_sc == 0 && c < ORCH_N_CORE; c++)
		orch_add_scenario(&o, orch_core[c].cli);
	if ((rv = orch_route_check(&o, &a)) != 0)
		goto out;
	for (size_t i = 0; i < o.n_sc; i++)
		if (o.sc[i].k != NULL && (rv = orch_params(&o, &o.sc[i], &a)) != 0)
			goto out;
	rv = orch_run(t, &o);
out:
	orch_opts_fini(&o);
	return rv == ORCH_HELP ? CHAOSCTL_OK : rv;
}
