// SPDX-License-Identifier: MIT
#include "agent/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/log.h"

static const char agent_usage[] =
    "usage: chaos-agent --controller URL [--plaintext | --tls-ca F --tls-cert F "
    "[--tls-key F]]\n"
    "                   [--mode sidecar|node] [--role "
    "blockchain|coordinator|database|node]\n"
    "                   [--pod NAME]\n"
    "                   [--namespace NS] [--node NODE] [--id ID] [--label k=v]...\n"
    "                   [--log-level error|warn|info|debug]\n"
    "Environment: CHAOS_CONTROLLER, CHAOS_POD_NAME, CHAOS_NAMESPACE, CHAOS_NODE_NAME, "
    "CHAOS_ROLE.\n"
    "  --mode sidecar (default): act in this pod's own network namespace.\n"
    "  --mode node: act for every pod of this node (a DaemonSet with hostPID): find\n"
    "               their network namespaces, report them to the controller as\n"
    "               targets, act in the one a command names; role defaults to node.\n";

enum {
	OPT_PLAIN = 256,
	OPT_CA,
	OPT_CERT,
	OPT_POD,
	OPT_NS,
	OPT_NODE,
	OPT_ID,
	OPT_LABEL,
	OPT_LOG,
	OPT_MODE,
	OPT_KEY
};

static const struct option agent_longopts[] = {
    {"controller", required_argument, NULL, 'c'},
    {"plaintext", no_argument, NULL, OPT_PLAIN},
    {"tls-ca", required_argument, NULL, OPT_CA},
    {"tls-cert", required_argument, NULL, OPT_CERT},
    {"tls-key", required_argument, NULL, OPT_KEY},
    {"mode", required_argument, NULL, OPT_MODE},
    {"role", required_argument, NULL, 'r'},
    {"pod", required_argument, NULL, OPT_POD},
    {"namespace", required_argument, NULL, OPT_NS},
    {"node", required_argument, NULL, OPT_NODE},
    {"id", required_argument, NULL, OPT_ID},
    {"label", required_argument, NULL, OPT_LABEL},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static enum agent_cli_result
agent_cli_option(int c, struct agent_opts *o, chaos_why *why)
{
	switch (c) {
	case 'c':
		o->controller = optarg;
		break;
	case OPT_PLAIN:
		o->plaintext = true;
		break;
	case OPT_CA:
		o->tls.ca_file = optarg;
		break;
	case OPT_CERT:
		o->tls.cert_key_file = optarg;
		break;
	case OPT_KEY:
		o->tls.key_file = optarg;
		break;
	case OPT_MODE:
		if (strcmp(optarg, "node") != 0 && strcmp(optarg, "sidecar") != 0) {
			chaos_fail(why, CHAOS_EINVAL,
			           "--mode: '%s' is not allowed; use sidecar or node",
			           optarg);
			return AGENT_CLI_USAGE;
		}
		o->node_mode = strcmp(optarg, "node") == 0;
		break;
	case 'r':
		o->id.role = optarg;
		break;
	case OPT_POD:
		o->id.pod = optarg;
		break;
	case OPT_NS:
		o->id.namespace_ = optarg;
		break;
	case OPT_NODE:
		o->id.node = optarg;
		break;
	case OPT_ID:
		o->id.id = optarg;
		break;
	case OPT_LABEL:
		if (o->id.n_labels == IDENTITY_MAX_LABELS) {
			chaos_fail(why, CHAOS_EINVAL,
			           "--label: at most %d labels allowed",
			           IDENTITY_MAX_LABELS);
			return AGENT_CLI_USAGE;
		}
		o->id.labels[o->id.n_labels++] = optarg;
		break;
	case OPT_LOG:
		if ((o->log_level = log_level_parse(optarg)) < 0) {
			chaos_fail(why, CHAOS_EINVAL,
			           "--log-level: '%s' is not allowed; use error, warn, "
			           "info or debug",
			           optarg);
			return AGENT_CLI_USAGE;
		}
		break;
	case 'h':
		fputs(agent_usage, stdout);
		return AGENT_CLI_EXIT_OK;
	case 'V':
		printf("chaos-agent %s\n", CHAOS_VERSION);
		return AGENT_CLI_EXIT_OK;
	default:
		chaos_fail(why, CHAOS_EINVAL, "unknown or incomplete option; see --help");
		return AGENT_CLI_USAGE;
	}
	return AGENT_CLI_RUN;
}

static enum agent_cli_result
agent_cli_check(struct agent_opts *o, chaos_why *why)
{
	if (o->controller == NULL)
		o->controller = getenv("CHAOS_CONTROLLER");
	if (o->controller == NULL) {
		chaos_fail(why, CHAOS_EINVAL,
		           "--controller URL is required (or CHAOS_CONTROLLER), "
		           "e.g. tls+tcp://chaos-controller:7600");
		return AGENT_CLI_USAGE;
	}
	if (transport_check_url(o->controller, o->plaintext, &o->tls, why) != CHAOS_OK) {
		chaos_fail_prefix(why, CHAOS_EINVAL, "--controller '%s'", o->controller);
		return AGENT_CLI_USAGE;
	}
	/* a node agent is its node's, not a pod's: role node unless told */
	if (o->node_mode && o->id.role == NULL && getenv("CHAOS_ROLE") == NULL)
		o->id.role = "node";
	return AGENT_CLI_RUN;
}

enum agent_cli_result
agent_cli_parse(int argc, char **argv, struct agent_opts *o, chaos_why *why)
{
	enum agent_cli_result r;
	int                   c;

	memset(o, 0, sizeof(*o));
	o->log_level = LOG_LEVEL_INFO;
	optind       = 1;
	opterr       = 0;
	while ((c = getopt_long(argc, argv, "c:r:hV", agent_longopts, NULL)) != -1) {
		/* getopt has stepped past the offending word: name it. */
		if (c == '?') {
			chaos_fail(why, CHAOS_EINVAL,
			           "'%s': unknown option or missing value; see --help",
			           argv[optind - 1]);
			return AGENT_CLI_USAGE;
		}
		if ((r = agent_cli_option(c, o, why)) != AGENT_CLI_RUN)
			return r;
	}
	if (optind < argc) {
		chaos_fail(why, CHAOS_EINVAL,
		           "unexpected argument '%s'; chaos-agent takes only options",
		           argv[optind]);
		return AGENT_CLI_USAGE;
	}
	return agent_cli_check(o, why);
}
