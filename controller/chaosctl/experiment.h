/* SPDX-License-Identifier: MIT */
/*
 * Experiment files: `chaosctl run -f exp.yaml` and `chaosctl orchestrate -f
 * plan.yaml`. A file holds the same settings as the command line, with the
 * flag names as keys (without the dashes), and is turned into those flags:
 * a file's values come first and the command line's after them, so a flag
 * given on the command line wins (cli_parse: the last one wins). Every
 * scenario value goes through the scenario's own row (param_from_text, the
 * one validator of chaosctl and the controller) as the file is read, and a
 * refusal says where: "exp.yaml:4:23: --partition-duration
 * (partition_duration_s) 0: allowed a number in 0.1..86400".
 *
 * An experiment (run):              A plan (orchestrate):
 *   scenario: network                 mode: continuous     # or once
 *   output: results/                  duration: 24         # any orchestrate
 *   params:                           interval: 60         #   option with a
 *     partition-duration: 10          seed: 7              #   value, as --KEY
 *     partition-ratio: 0.34           slo-mttr-avg: 120
 *                                     output: results/
 *                                     params:              # every scenario
 *                                       namespace: staging #   that takes it
 *                                     scenarios:           # in this order
 *                                       - scenario: network
 *                                         params:
 *                                           partition-duration: 10
 *                                       - database         # no params
 *
 * Refused with file:line:column: text that is not YAML, unknown keys (with
 * what is allowed), duplicate keys, a mapping or list where a value goes
 * (and the reverse), bad values, files over EXP_MAX_BYTES. Nothing in a
 * file is sent anywhere until the whole file and the command line are good.
 */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_EXPERIMENT_H
#define CHAOS_CONTROLLER_CHAOSCTL_EXPERIMENT_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "controller/chaosctl/flags.h"
#include "controller/chaosctl/yamldoc.h"
#include "controller/scenarios/scenario.h"

#define EXP_MAX_BYTES (64 * 1024) /* an experiment file is a page or two */
#define EXP_MAX_VALUES 96         /* values of one set (more than any table has) */
#define EXP_MAX_SCENARIOS 8

enum exp_kind {
	EXP_RUN,  /* chaosctl run -f */
	EXP_PLAN, /* chaosctl orchestrate -f */
};

/* One value of the file as the flag it stands for. */
struct exp_value {
	const char *flag; /* "--partition-duration", "--output" (static) */
	const char *text; /* as written; NULL for a flag without a value
	                   * (--continuous); owned by the experiment */
	unsigned line, col;
};

struct exp_set {
	struct exp_value v[EXP_MAX_VALUES];
	size_t           n;
};

struct exp_scenario {
	const struct scenario *sc;
	unsigned               line, col; /* where it is named */
	struct exp_set         params;    /* checked against sc's table */
};

struct exp {
	char          *name;   /* the path as given, for messages */
	struct ydoc   *doc;    /* the texts live here */
	struct exp_set opts;   /* run: --output; plan: orchestrate's options */
	struct exp_set shared; /* plan: params for every scenario that takes them,
	                        * each checked against every row that has it */
	struct exp_scenario sc[EXP_MAX_SCENARIOS]; /* run: one; plan: in order, maybe
	                                            * none (then the command line's or
	                                            * all) */
	size_t n_sc;
};

/* Reads the file at path (at most EXP_MAX_BYTES) as an experiment or a plan
 * into *out (new; exp_free). CHAOS_EINVAL with why as "path:LINE:COL: what
 * is wrong and what is allowed" (or "path: ..." when it cannot be read);
 * CHAOS_ENOMEM. */
chaos_err exp_load(const char *path, enum exp_kind kind, struct exp **out,
                   chaos_why *why);

/* exp_load on bytes in memory; name stands for the path in messages. */
chaos_err exp_parse(const char *name, const char *buf, size_t len, enum exp_kind kind,
                    struct exp **out, chaos_why *why);

/* Frees an experiment; NULL is fine. */
void exp_free(struct exp *e);

/* The value of set with this flag ("--namespace"); NULL when none. */
const struct exp_value *exp_set_find(const struct exp_set *set, const char *flag);

/* Appends the values of set to argv[*argc] as flags ("--flag", "text"),
 * leaving out the ones sc's table lacks when sc is set. CHAOS_ETOOBIG when
 * more than max entries would be needed (argv then holds a prefix). */
chaos_err exp_flags(const struct exp_set *set, const struct scenario *sc, char **argv,
                    int *argc, int max);

/* Where -f/--file is in a command line: 0 when it is not there; its index
 * (the path follows) otherwise. CHAOS_EINVAL with why when it is given
 * twice or without a path. */
chaos_err exp_file_arg(int argc, char **argv, int *at, chaos_why *why);

/* Prefixes why (what a check said of v) with v's place in e:
 * "path:LINE:COL: ". Returns code. */
chaos_err exp_fail_at(const struct exp *e, const struct exp_value *v, chaos_err code,
                      chaos_why *why);

/* `chaosctl run [WORD] -f FILE [flags]` (argv[0] is "run"): the file's
 * scenario, its values as flags, then the command line's flags, all through
 * cli_parse, so the params are those of the same flags typed out. WORD, when
 * given, must be the file's scenario. *file (new, even on CLI_HELP) owns
 * what common->output may point to; free it after. CLI_USAGE with why. */
enum cli_result exp_run_cli(int argc, char **argv, struct exp **file,
                            const struct scenario **sc, json_t **params,
                            struct cli_common *common, chaos_why *why);

#endif
