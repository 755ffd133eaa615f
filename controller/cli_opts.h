/* SPDX-License-Identifier: MIT */
/*
 * Table-driven flags for `chaosctl run <scenario>`: each scenario declares
 * its flags, their JSON parameter key, type and allowed range; this parser
 * turns argv into the scenario's params object or one usage line.
 */
#ifndef CHAOS_CONTROLLER_CLI_OPTS_H
#define CHAOS_CONTROLLER_CLI_OPTS_H

#include <jansson.h>
#include <stdbool.h>

enum cli_type { CLI_DOUBLE, CLI_UINT, CLI_STRING, CLI_GROUPS, CLI_CHOICE };

struct cli_opt {
	const char   *flag; /* "--partition-duration" */
	const char   *key;  /* "partition_duration_s" */
	enum cli_type type;
	double        min, max;
	const char   *choices; /* CLI_CHOICE: "a|b|c" */
	const char   *help;
};

/* Flags every scenario takes. */
struct cli_common {
	bool        dry_run;
	const char *output; /* result directory */
};

/* Parses argv[1..] against table (plus --dry-run, --output DIR and --help).
 * On success *params is a new object. Returns 0, or 2 after printing one
 * line "chaosctl: <flag>: <what is wrong>; allowed: <range>", or 1 for --help
 * (usage printed). */
int cli_parse(const char *scenario, int argc, char **argv, const struct cli_opt *table,
              json_t **params, struct cli_common *common);

/* A scenario as chaosctl knows it: its short name, the controller's name
 * (also the result file tag), its flags, and an optional check run on the
 * parsed params (e.g. reading a DSN file): returns 0 or the exit status
 * after printing one line. */
struct cli_scenario {
	const char           *cli;
	const char           *scenario;
	const struct cli_opt *opts;
	int (*finish)(json_t *params);
};

/* By short name ("network") or controller name ("network_partition"). */
const struct cli_scenario *cli_find_scenario(const char *name);

/* "network database coordinator" for messages. */
const char *cli_scenario_names(void);

/* Scenario flag tables (cli_<scenario>.c). */
extern const struct cli_opt cli_network_opts[];
extern const struct cli_opt cli_database_opts[];
int                         cli_database_finish(json_t *params);
extern const struct cli_opt cli_coordinator_opts[];
int                         cli_coordinator_finish(json_t *params);

#endif
