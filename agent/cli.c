// SPDX-License-Identifier: MIT
#include "agent/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/url.h"

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
	OPT_POD = TRANSPORT_OPT_END,
	OPT_NS,
	OPT_NODE,
	OPT_ID,
	OPT_LABEL,
	OPT_LOG,
	OPT_MODE
};

static const struct option agent_longopts[] = {
    {"controller", required_argument, NULL, 'c'},
    TRANSPORT_LONGOPTS,
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

/* A label key given twice would be kept once, silently (the last value):
 * refused instead, naming the key. */
static bool
agent_cli_label_repeated(const struct agent_opts *o, const char *arg, chaos_why *why)
{
	size_t klen = strcspn(arg, "=");

	for (size_t i = 0; i < o->id.n_labels; i++)
		if (strcspn(o->id.labels[i], "=") == klen &&
		    strncmp(o->id.labels[i], arg, klen) == 0) {
			chaos_fail(why, CHAOS_EINVAL,
			           "--label: key '%.*s' given twice; give each key once",
			           (int)(klen < 64 ? klen : 64), arg);
			return true;
		}
	return false;
}

static enum flags_result
agent_cli_option(int c, const char *arg, void *opts, chaos_why *why)
{
	struct agent_opts *o = opts;

	if (transport_option(c, arg, &o->plaintext, &o->tls))
		return FLAGS_RUN;
	switch (c) {
	case 'c':
		o->controller = arg;
		break;
	case OPT_MODE:
		if (strcmp(arg, "node") != 0 && strcmp(arg, "sidecar") != 0) {
			chaos_fail(why, CHAOS_EINVAL,
			           "--mode: '%s' is not allowed; use sidecar or node",
			           arg);
			return FLAGS_USAGE;
		}
		o->node_mode = strcmp(arg, "node") == 0;
		break;
	case 'r':
		o->id.role = arg;
		break;
	case OPT_POD:
		o->id.pod = arg;
		break;
	case OPT_NS:
		o->id.namespace_ = arg;
		break;
	case OPT_NODE:
		o->id.node = arg;
		break;
	case OPT_ID:
		o->id.id = arg;
		break;
	case OPT_LABEL:
		if (o->id.n_labels == IDENTITY_MAX_LABELS) {
			chaos_fail(why, CHAOS_EINVAL,
			           "--label: at most %d labels allowed",
			           IDENTITY_MAX_LABELS);
			return FLAGS_USAGE;
		}
		if (agent_cli_label_repeated(o, arg, why))
			return FLAGS_USAGE;
		o->id.labels[o->id.n_labels++] = arg;
		break;
	case OPT_LOG:
		return flags_log_level(arg, &o->log_level, why);
	default:
		return flags_unknown(why);
	}
	return FLAGS_RUN;
}

/* The controller URL (or CHAOS_CONTROLLER) and the role a node agent
 * defaults to, once all options are in. */
static enum flags_result
agent_cli_check(void *opts, chaos_why *why)
{
	struct agent_opts *o = opts;

	if (o->controller == NULL)
		o->controller = getenv("CHAOS_CONTROLLER");
	if (o->controller == NULL) {
		chaos_fail(why, CHAOS_EINVAL,
		           "--controller URL is required (or CHAOS_CONTROLLER), "
		           "e.g. tls+tcp://chaos-controller:7600");
		return FLAGS_USAGE;
	}
	/* the events endpoint is derived from it (url.h): its ipc path is
	 * longer, so it may not fit where the session's does */
	if (transport_check_url("--controller", o->controller, o->plaintext, &o->tls,
	                        why) != CHAOS_OK ||
	    url_events_check("--controller", o->controller, why) != CHAOS_OK)
		return FLAGS_USAGE;
	/* a node agent is its node's, not a pod's: role node unless told */
	if (o->node_mode && o->id.role == NULL && getenv("CHAOS_ROLE") == NULL)
		o->id.role = "node";
	return FLAGS_RUN;
}

static const struct flags_program agent_cli_program = {
    .name      = "chaos-agent",
    .usage     = agent_usage,
    .shortopts = "c:r:hV",
    .longopts  = agent_longopts,
    .option    = agent_cli_option,
    .check     = agent_cli_check,
};

enum flags_result
agent_cli_parse(int argc, char **argv, struct agent_opts *o, chaos_why *why)
{
	memset(o, 0, sizeof(*o));
	o->log_level = LOG_LEVEL_INFO;
	return flags_getopt(&agent_cli_program, argc, argv, o, why);
}
