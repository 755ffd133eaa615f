// SPDX-License-Identifier: MIT
/*
 * chaosctl run <scenario> [flags], or chaosctl run -f FILE [flags] (the
 * scenario and its values from an experiment file, experiment.h; the flags
 * win): starts the scenario on the controller,
 * prints its progress, and writes chaos_test_<scenario>_<timestamp>.json to
 * --output when it ends. SIGINT/SIGTERM ask the controller to abort, which
 * reverts every fault before the run ends.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/flags.h"
#include "controller/chaosctl/chaosctl.h"
#include "controller/chaosctl/experiment.h"
#include "controller/chaosctl/flags.h"
#include "controller/chaosctl/runclient.h"

/* The scenario and its params from the flags, or from -f FILE and then the
 * flags; *file owns what c->output may point to. */
static enum cli_result
run_args(int argc, char **argv, struct exp **file, const struct scenario **sc,
         json_t **params, struct cli_common *c, chaos_why *why)
{
	char words[128];
	int  at;

	*file = NULL;
	if (exp_file_arg(argc, argv, &at, why) != CHAOS_OK) {
		chaos_fail_prefix(why, CHAOS_EINVAL, "run");
		return CLI_USAGE;
	}
	if (at != 0)
		return exp_run_cli(argc, argv, file, sc, params, c, why);
	if (argc < 2) {
		chaos_fail(why, CHAOS_EINVAL,
		           "run: missing scenario; allowed: %s (or -f FILE)",
		           scenario_words(words, sizeof(words)));
		return CLI_USAGE;
	}
	if ((*sc = scenario_find(argv[1])) == NULL) {
		chaos_fail(why, CHAOS_EINVAL,
		           "run: unknown scenario '%s'; allowed: %s (or -f FILE)",
		           argv[1], scenario_words(words, sizeof(words)));
		return CLI_USAGE;
	}
	return cli_parse(*sc, argc - 1, argv + 1, params, c, why);
}

int
cmd_run(const struct ctl_target *t, int argc, char **argv)
{
	const struct scenario  *sc = NULL;
	struct runclient_result res;
	struct cli_common       c;
	struct exp             *file   = NULL;
	json_t                 *params = NULL;
	chaos_why               why    = {{0}};
	int                     rv;

	switch (run_args(argc, argv, &file, &sc, &params, &c, &why)) {
	case CLI_HELP:
		rv = CHAOS_EXIT_OK;
		goto out;
	case CLI_USAGE:
		rv = flags_usage_error("chaosctl", "%s", why.text);
		goto out;
	case CLI_OK:
		break;
	}
	if (cli_finish(sc, params, &why) != CHAOS_OK ||
	    (!c.dry_run && cli_check_output(c.output, &why) != CHAOS_OK)) {
		rv = flags_usage_error("chaosctl", "%s", why.text);
		goto out;
	}
	runclient_catch_signals();
	rv = runclient_run(t, sc->name, params, c.dry_run, c.output, NULL, NULL, &res);
	if (res.error[0] != '\0')
		fprintf(stderr, "chaosctl: %s\n", res.error);
	json_decref(res.result);
out:
	json_decref(params);
	exp_free(file);
	return rv;
}
