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

/* Scenario flag tables (cli_<scenario>.c). */
extern const struct cli_opt cli_network_opts[];

#endif
