// SPDX-License-Identifier: MIT
#include "controller/cli_opts.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/wire.h"

static void
cli_usage(const char *scenario, const struct cli_opt *table)
{
	printf("usage: chaosctl run %s [options]\n", scenario);
	for (const struct cli_opt *o = table; o->flag != NULL; o++)
		printf("  %-26s %s\n", o->flag, o->help);
	printf("  %-26s %s\n", "--dry-run",
	       "print the plan (agents, sides, rules); change nothing");
	printf("  %-26s %s\n", "--output DIR", "where the result file goes (default .)");
}

/* "a,b/c,d" -> [["a","b"],["c","d"]] */
static json_t *
cli_groups(const char *s)
{
	json_t     *groups = json_array(), *side = json_array();
	const char *p = s;
	char        name[256];
	size_t      n = 0;

	for (;; p++) {
		if (*p == ',' || *p == '/' || *p == '\0') {
			name[n] = '\0';
			if (n == 0 || wire_check_id(name) != CHAOS_OK)
				goto bad;
			json_array_append_new(side, json_string(name));
			n = 0;
			if (*p == '/' || *p == '\0') {
				json_array_append_new(groups, side);
				side = *p ? json_array() : NULL;
			}
			if (*p == '\0')
				break;
			continue;
		}
		if (n + 1 >= sizeof(name))
			goto bad;
		name[n++] = *p;
	}
	if (json_array_size(groups) != 2)
		goto bad;
	return groups;
bad:
	json_decref(side);
	json_decref(groups);
	return NULL;
}

static bool
cli_choice_ok(const char *choices, const char *v)
{
	size_t      len = strlen(v);
	const char *p   = choices;

	while ((p = strstr(p, v)) != NULL) {
		if ((p == choices || p[-1] == '|') && (p[len] == '|' || p[len] == '\0'))
			return true;
		p += len;
	}
	return false;
}

static int
cli_value(const struct cli_opt *o, const char *v, json_t *params)
{
	double   d;
	uint32_t u;
	json_t  *g;

	switch (o->type) {
	case CLI_DOUBLE:
		if (flags_parse_double(v, o->min, o->max, &d) != CHAOS_OK)
			return flags_usage_error("chaosctl",
			                         "%s '%s': allowed is a number in %g..%g",
			                         o->flag, v, o->min, o->max);
		json_object_set_new(params, o->key, json_real(d));
		return 0;
	case CLI_UINT:
		if (flags_parse_u32(v, (uint32_t)o->min, (uint32_t)o->max, &u) !=
		    CHAOS_OK)
			return flags_usage_error("chaosctl",
			                         "%s '%s': allowed is a whole number in "
			                         "%.0f..%.0f",
			                         o->flag, v, o->min, o->max);
		json_object_set_new(params, o->key, json_integer(u));
		return 0;
	case CLI_GROUPS:
		if ((g = cli_groups(v)) == NULL)
			return flags_usage_error("chaosctl",
			                         "%s '%s': allowed is two sides of pod "
			                         "names, e.g. chain-0,chain-1/chain-2",
			                         o->flag, v);
		json_object_set_new(params, o->key, g);
		return 0;
	case CLI_CHOICE:
		if (!cli_choice_ok(o->choices, v))
			return flags_usage_error("chaosctl", "%s '%s': allowed: %s",
			                         o->flag, v, o->choices);
		json_object_set_new(params, o->key, json_string(v));
		return 0;
	default:
		if (*v == '\0' || strlen(v) > 1000)
			return flags_usage_error(
			    "chaosctl", "%s: value must be 1..1000 characters", o->flag);
		json_object_set_new(params, o->key, json_string(v));
		return 0;
	}
}

int
cli_parse(const char *scenario, int argc, char **argv, const struct cli_opt *table,
          json_t **params, struct cli_common *common)
{
	json_t *p = json_object();
	int     rv;

	common->dry_run = false;
	common->output  = ".";
	for (int i = 1; i < argc; i++) {
		const struct cli_opt *o   = table;
		const char           *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--help") == 0) {
			cli_usage(scenario, table);
			json_decref(p);
			return 1;
		}
		if (strcmp(argv[i], "--dry-run") == 0) {
			common->dry_run = true;
			continue;
		}
		if (strcmp(argv[i], "--output") == 0 && val != NULL) {
			common->output = val;
			i++;
			continue;
		}
		while (o->flag != NULL && strcmp(o->flag, argv[i]) != 0)
			o++;
		if (o->flag == NULL || val == NULL) {
			json_decref(p);
			return flags_usage_error("chaosctl",
			                         "run %s: %s '%s'; see chaosctl run %s "
			                         "--help",
			                         scenario,
			                         o->flag == NULL ? "unknown option"
			                                         : "missing value for",
			                         argv[i], scenario);
		}
		if ((rv = cli_value(o, val, p)) != 0) {
			json_decref(p);
			return rv;
		}
		i++;
	}
	*params = p;
	return 0;
}

static const struct cli_scenario cli_scenarios[] = {
    {"network", "network_partition", cli_network_opts, NULL},
    {"database", "database_failure", cli_database_opts, cli_database_finish},
    {"coordinator", "coordinator_outage", cli_coordinator_opts, cli_coordinator_finish},
};

const struct cli_scenario *
cli_find_scenario(const char *name)
{
	for (size_t i = 0; i < sizeof(cli_scenarios) / sizeof(cli_scenarios[0]); i++)
		if (strcmp(name, cli_scenarios[i].cli) == 0 ||
		    strcmp(name, cli_scenarios[i].scenario) == 0)
			return &cli_scenarios[i];
	return NULL;
}

const char *
cli_scenario_names(void)
{
	return "network database coordinator";
}
