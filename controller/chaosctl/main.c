// SPDX-License-Identifier: MIT
/*
 * chaosctl: the command line for the controller. Global options come before
 * the subcommand: chaosctl [--controller URL] [--timeout-ms N] <command> ...
 */
#include "controller/chaosctl/chaosctl.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/wire.h"

static const struct chaosctl_cmd {
	const char *name;
	int (*run)(const struct ctl_target *t, int argc, char **argv);
	const char *summary;
} chaosctl_cmds[] = {
    {"agents", cmd_agents, "list the agents: chaosctl agents [--json]"},
    {"stats", cmd_stats,
     "endpoint counters (received, dropped): chaosctl stats [--json]"},
    {"run", cmd_run,
     "run a scenario: chaosctl run network|database|coordinator [--help], or -f FILE"},
    {"orchestrate", cmd_orchestrate,
     "run several scenarios, once or continuously, and report: chaosctl orchestrate "
     "--help"},
    {"status", cmd_status,
     "the run in progress, the faults on each target with their leases, the agents "
     "lost: chaosctl status [--json]"},
    {"abort", cmd_abort,
     "revert and end a run (default: the one in progress): chaosctl abort [RUN]"},
    {"results", cmd_results,
     "the runs the controller kept, newest first: chaosctl results [RUN] [--json]"},
};

#define CHAOSCTL_N_CMDS (sizeof(chaosctl_cmds) / sizeof(chaosctl_cmds[0]))

static void
chaosctl_usage(FILE *f)
{
	fputs("usage: chaosctl [--controller URL] [--plaintext | --tls-ca F --tls-cert F "
	      "[--tls-key F]] [--timeout-ms N] <command> [options]\n"
	      "  --controller  default " CTL_DEFAULT_URL
	      " (the local controller, e.g. the sandbox's);\n"
	      "                ipc://PATH, tls+tcp://HOST:PORT, or tcp://HOST:PORT "
	      "with --plaintext\ncommands:\n",
	      f);
	for (size_t i = 0; i < CHAOSCTL_N_CMDS; i++)
		fprintf(f, "  %-11s %s\n", chaosctl_cmds[i].name,
		        chaosctl_cmds[i].summary);
}

/* One global option opt (with the next word val, NULL at the end): the
 * words it used, or -exit status (0 after --help). *plain: --plaintext was
 * given (tcp:// is refused without it, as the daemons refuse it: a control
 * channel in clear text is a choice). */
static int
chaosctl_global(const char *opt, const char *val, struct ctl_target *t, bool *plain)
{
	uint32_t ms;

	if (strcmp(opt, "--help") == 0) {
		chaosctl_usage(stdout);
		return -CHAOS_EXIT_OK;
	}
	if (strcmp(opt, "--plaintext") == 0) {
		*plain = true;
		return 1;
	}
	if (val == NULL)
		return -flags_usage_error("chaosctl", "%s needs a value", opt);
	if (strcmp(opt, "--controller") == 0)
		t->url = val;
	else if (strcmp(opt, "--tls-ca") == 0)
		t->tls.ca_file = val;
	else if (strcmp(opt, "--tls-cert") == 0)
		t->tls.cert_key_file = val;
	else if (strcmp(opt, "--tls-key") == 0)
		t->tls.key_file = val;
	else if (strcmp(opt, "--timeout-ms") == 0 &&
	         flags_parse_u32(val, 100, 600000, &ms) == CHAOS_OK)
		t->timeout_ms = (int)ms;
	else if (strcmp(opt, "--timeout-ms") == 0)
		return -flags_usage_error("chaosctl",
		                          "--timeout-ms '%s': allowed 100..600000", val);
	else
		return -flags_usage_error(
		    "chaosctl",
		    "unknown option '%s'; allowed before the command: "
		    "--controller, --plaintext, --tls-ca, --tls-cert, "
		    "--tls-key, --timeout-ms",
		    opt);
	return 2;
}

/* Global options; returns the index of the subcommand or -exit status. */
static int
chaosctl_globals(int argc, char **argv, struct ctl_target *t, bool *plain)
{
	int i = 1, used;

	while (i < argc && strncmp(argv[i], "--", 2) == 0) {
		if ((used = chaosctl_global(argv[i], i + 1 < argc ? argv[i + 1] : NULL, t,
		                            plain)) <= 0)
			return used;
		i += used;
	}
	return i;
}

int
main(int argc, char **argv)
{
	struct ctl_target t = {.url = CTL_DEFAULT_URL, .timeout_ms = 5000};
	chaos_why         why;
	bool              plain = false;
	int               i     = chaosctl_globals(argc, argv, &t, &plain);

	if (i <= 0)
		return -i;
	if (transport_check_url("--controller", t.url, plain, &t.tls, &why) != CHAOS_OK)
		return flags_usage_error("chaosctl", "%s", why.text);
	for (size_t k = 0; i < argc && k < CHAOSCTL_N_CMDS; k++)
		if (strcmp(argv[i], chaosctl_cmds[k].name) == 0)
			return chaosctl_cmds[k].run(&t, argc - i, argv + i);
	if (i >= argc)
		fputs("chaosctl: missing command; allowed:", stderr);
	else
		fprintf(stderr, "chaosctl: unknown command '%s'; allowed:", argv[i]);
	for (size_t k = 0; k < CHAOSCTL_N_CMDS; k++)
		fprintf(stderr, " %s", chaosctl_cmds[k].name);
	fputs(" (chaosctl --help for more)\n", stderr);
	return CHAOS_EXIT_USAGE;
}
