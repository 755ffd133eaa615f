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

#include "common/flags.h"
#include "controller/chaosctl/chaosctl.h"
#include "controller/chaosctl/flags.h"
#include "controller/chaosctl/runclient.h"

int
cmd_run(const struct ctl_target *t, int argc, char **argv)
{
	const struct scenario  *sc = argc >= 2 ? scenario_find(argv[1]) : NULL;
	struct runclient_result res;
	struct cli_common       c;
	json_t                 *params = NULL;
	chaos_why               why    = {{0}};
	char                    words[128];
	int                     rv;

	if (sc == NULL)
		return flags_usage_error(
		    "chaosctl", "run: %s '%s'; allowed: %s",
		    argc >= 2 ? "unknown scenario" : "missing scenario",
		    argc >= 2 ? argv[1] : "", scenario_words(words, sizeof(words)));
	switch (cli_parse(sc, argc - 1, argv + 1, &params, &c, &why)) {
	case CLI_HELP:
		return CHAOS_EXIT_OK;
	case CLI_USAGE:
		return flags_usage_error("chaosctl", "%s", why.text);
	case CLI_OK:
		break;
	}
	if ((sc->finish != NULL && sc->finish(params, &why) != CHAOS_OK) ||
	    (!c.dry_run && cli_check_output(c.output, &why) != CHAOS_OK)) {
		json_decref(params);
		return flags_usage_error("chaosctl", "%s", why.text);
	}
	runclient_catch_signals();
	rv = runclient_run(t, sc->name, params, c.dry_run, c.output, NULL, NULL, &res);
	if (res.error[0] != '\0')
		fprintf(stderr, "chaosctl: %s\n", res.error);
	json_decref(res.result);
	json_decref(params);
	return rv;
}
