// SPDX-License-Identifier: MIT
/*
 * chaosctl run <scenario> [flags]: starts the scenario on the controller,
 * prints its progress, and writes chaos_test_<scenario>_<timestamp>.json to
 * --output when it ends. SIGINT/SIGTERM ask the controller to abort, which
 * reverts every fault before the run ends.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "controller/chaosctl.h"
#include "controller/cli_opts.h"
#include "controller/runclient.h"

int
cmd_run(const struct ctl_target *t, int argc, char **argv)
{
	const struct cli_scenario *k = argc >= 2 ? cli_find_scenario(argv[1]) : NULL;
	struct runclient_result    res;
	struct cli_common          c;
	json_t                    *params = NULL;
	int                        rv;

	if (k == NULL) {
		fprintf(stderr, "chaosctl: run: %s '%s'; allowed: %s\n",
		        argc >= 2 ? "unknown scenario" : "missing scenario",
		        argc >= 2 ? argv[1] : "", cli_scenario_names());
		return CHAOSCTL_USAGE;
	}
	if ((rv = cli_parse(argv[1], argc - 1, argv + 1, k->opts, &params, &c)) != 0)
		return rv == 1 ? CHAOSCTL_OK : rv;
	if ((rv = k->finish != NULL ? k->finish(params) : 0) != 0) {
		json_decref(params);
		return rv;
	}
	runclient_catch_signals();
	rv = runclient_run(t, k->scenario, params, c.dry_run, c.output, &res);
	if (res.error[0] != '\0')
		fprintf(stderr, "chaosctl: %s\n", res.error);
	json_decref(res.result);
	json_decref(params);
	return rv;
}
