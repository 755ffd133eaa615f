/* SPDX-License-Identifier: MIT */
/*
 * chaosctl orchestrate: runs several scenarios in a row, or one per cycle
 * until a deadline (continuous mode), through the controller, one at a time.
 *
 * Nothing finished is lost: runclient writes each result file atomically
 * as soon as its run ends, then the run is appended (fsync'd) as one JSON
 * line to the session's history, chaos_orchestration_<stamp>.jsonl in the
 * output directory, and the report files are rewritten atomically. After a
 * crash or kill -9, --resume reads the newest history there and continues
 * the same session: same start, same deadline, same settings, cycle
 * numbers continuing, one report over every cycle.
 */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_ORCH_H
#define CHAOS_CONTROLLER_CHAOSCTL_ORCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/chaosctl/client.h"
#include "controller/chaosctl/experiment.h"
#include "controller/report/orch_report.h"
#include "controller/scenarios/scenario.h"

#define ORCH_MAX_SCENARIOS 8

/* Fault and load durations in continuous mode unless given: each cycle is a
 * short experiment, so a 24 h session samples recovery many times. */
#define ORCH_SHORT_FAULT_S "20"

struct orch_scenario {
	char                   name[32];     /* "network" */
	char                   scenario[64]; /* "network_partition" */
	const struct scenario *k;            /* NULL: not available in this build */
	json_t                *params;       /* owned; NULL when not available */
	json_t                *run_params;   /* owned: params after the scenario's finish
	                                      * step (may hold secrets read from files,
	                                      * e.g. a DSN: sent, never written) */
	json_t *shortened;    /* owned: {key: value} set by continuous mode */
	char    missing[256]; /* why k is NULL, when known */
};

struct orch_opts {
	struct orch_scenario    sc[ORCH_MAX_SCENARIOS];
	size_t                  n_sc;
	bool                    continuous;
	double                  duration_h;   /* continuous: session length */
	double                  interval_min; /* continuous: between cycle starts */
	bool                    random;       /* continuous: pick at random (--seed) */
	uint32_t                seed;
	bool                    resume;
	bool                    dry_run;
	const char             *output;     /* directory */
	const char             *namespace_; /* --namespace, or NULL */
	struct orch_slo_targets slo;
	struct exp             *plan; /* owned: the -f plan, or NULL; output and
	                               * namespace_ may point into it */
};

/* Frees what the scenarios and the plan own. */
void orch_opts_fini(struct orch_opts *o);

/* Reads `chaosctl orchestrate`'s arguments (argv[0] is its name) into o,
 * which holds the defaults: the plan named by -f FILE first (experiment.h),
 * then the command line over it, then each scenario's params. Returns
 * CHAOS_EXIT_OK when o is ready for orch_run, or with *help set after
 * --help printed the usage; otherwise prints one line and returns
 * CHAOS_EXIT_USAGE. Contacts nothing. (cmd_orchestrate.c) */
int orch_cli(struct orch_opts *o, int argc, char **argv, bool *help);

/* sc->run_params from sc->params and the scenario's finish step, less the
 * shortened durations its mode does not use (taken out of sc->params and
 * sc->shortened too); CHAOS_EINVAL with why when that step or the rules of
 * which parameters go together (param.h) refuse them. */
chaos_err orch_finish_params(struct orch_scenario *sc, chaos_why *why);

/* Runs the orchestration (or, with resume, continues the newest session in
 * o->output) and writes its report, report.html and junit.xml there.
 * Returns the exit status: 0 ran and met the SLOs, 1 missed an SLO or a
 * run failed, 2 bad usage, 3 environment not usable. */
int orch_run(const struct ctl_target *t, struct orch_opts *o);

/* Index of the scenario for a cycle (1-based) among n: in turn, or, when
 * random, drawn from the seed and the cycle number alone, so a resumed
 * session draws the same sequence. */
size_t orch_pick(uint32_t seed, bool random, int64_t cycle, size_t n);

#endif
