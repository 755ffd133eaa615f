/* SPDX-License-Identifier: MIT */
/*
 * `chaosctl run <scenario>` flags from the scenario's own parameter table
 * (controller/scenarios/param.h): each flag's value is turned into the JSON
 * the controller takes and checked by param_check(), the same check the
 * controller makes, so both refuse a value with the same message.
 */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_FLAGS_H
#define CHAOS_CONTROLLER_CHAOSCTL_FLAGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"
#include "controller/scenarios/scenario.h"

/* Flags every scenario takes. */
struct cli_common {
	bool        dry_run;
	const char *output; /* result directory */
};

enum cli_result {
	CLI_OK,    /* *params is new */
	CLI_HELP,  /* --help: the usage was printed */
	CLI_USAGE, /* bad usage: why holds one line (what is wrong, what is allowed) */
};

/* Parses argv[1..] against the scenario's table (plus --dry-run, --output
 * DIR and --help). A flag given twice: the last one wins. */
enum cli_result cli_parse(const struct scenario *sc, int argc, char **argv,
                          json_t **params, struct cli_common *common, chaos_why *why);

/* What chaosctl does with parsed params before anything is sent: the
 * scenario's finish step (which may fill in values, e.g. coordinator's
 * --method), then the rules of which given flags go together
 * (param.h), as the controller will check them. CHAOS_EINVAL with
 * why (one line). */
chaos_err cli_finish(const struct scenario *sc, json_t *params, chaos_why *why);

/* Prints `chaosctl run <word>`'s usage, from the table and its rules. */
void cli_usage(const struct scenario *sc, FILE *f);

/* Checks before the run is asked for that results can be written into dir,
 * leaving nothing behind: an existing dir gets a file written and removed;
 * a missing one needs its deepest existing ancestor to be a directory this
 * user may write in (the result's writer makes the rest). CHAOS_EINVAL with
 * why, errno's words included. */
chaos_err cli_check_output(const char *dir, chaos_why *why);

#endif
