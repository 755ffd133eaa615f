// SPDX-License-Identifier: MIT
#include "controller/controller_cli.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/url.h"
#include "controller/k8s.h"
#include "controller/metrics.h"
#include "controller/registry.h"

static const char controller_usage[] =
    "usage: chaos-controller [--listen URL] [--control URL] [--plaintext | --tls-ca F "
    "--tls-cert F]\n"
    "                        [--tls-key F] [--heartbeat-ms 100..1000] [--max-agents "
    "1..65536]\n"
    "                        [--max-heartbeats-per-s 0|100..100000]\n"
    "                        [--forget-lost-after 0..86400] [--log-level "
    "error|warn|info|debug]\n"
    "                        [--metrics HOST:PORT] [--state-dir DIR] "
    "[--allow-namespace NS]...\n"
    "  --allow-namespace  a namespace runs may touch (repeatable); kube-system and the\n"
    "                 controller's own (CHAOS_NAMESPACE or the service account's) "
    "never;\n"
    "                 without it every other namespace is allowed\n"
    "  --state-dir    keep every run's record there as it progresses (fsync'd), so a\n"
    "                 restart loses no result: a run in flight ends as interrupted with\n"
    "                 what was measured, and run ids never repeat (default: memory "
    "only)\n"
    "  --tls-cert     the controller's certificate (PEM; with its key unless --tls-key)\n"
    "  --max-agents   agents (and node targets) the table holds; when full, the one "
    "lost\n"
    "                 the longest ago makes room (default 1024)\n"
    "  --forget-lost-after  seconds after which a lost agent is forgotten (default 600;\n"
    "                 0: never)\n"
    "  --heartbeat-ms the shortest heartbeat (default 500); an agent is lost after 3\n"
    "  --max-heartbeats-per-s  polls a second from all agents together (default 500):\n"
    "                 beyond it the heartbeat grows with the agents (2 s at 1,000),\n"
    "                 so idle cost stays flat and loss detection slows; 0: fixed\n"
    "  --listen   agents' session URL (default " CONTROLLER_DEFAULT_LISTEN
    "); events use port + 1\n"
    "  --control  chaosctl's URL (default " CONTROLLER_DEFAULT_CONTROL ")\n"
    "  --metrics  serve Prometheus /metrics over HTTP there, e.g. 0.0.0.0:9100 (default "
    "off)\n"
    "Who the pods behind node agents (chaos-agent --mode node) are:\n"
    "  --inventory FILE     a JSON file {\"pods\": [{\"name\", \"namespace\", \"role\",\n"
    "                       \"labels\", \"ip\", \"netns\"}]}: a target is matched by "
    "its\n"
    "                       netns name, else by IP (re-read when it changes)\n"
    "  --kube-api URL       the Kubernetes API: a target is the pod on its node with "
    "its\n"
    "                       pod UID, else its IP; role from the label chaos.io/role\n"
    "  --kube-in-cluster    the same through the pod's service account (needs a\n"
    "                       ClusterRole that may list pods)\n"
    "  --kube-token-file F  bearer token file; --kube-ca F  the API's CA bundle;\n"
    "  --kube-allow-http    accept an http:// API (tests only)\n";

enum {
	OPT_CONTROL = TRANSPORT_OPT_END,
	OPT_HB,
	OPT_MAX_HB,
	OPT_MAX,
	OPT_LOG,
	OPT_METRICS,
	OPT_FORGET,
	OPT_STATE,
	OPT_ALLOW,
	OPT_INVENTORY,
	OPT_KUBE_API,
	OPT_KUBE_IN_CLUSTER,
	OPT_KUBE_TOKEN,
	OPT_KUBE_CA,
	OPT_KUBE_HTTP
};

static const struct option controller_longopts[] = {
    {"listen", required_argument, NULL, 'l'},
    {"control", required_argument, NULL, OPT_CONTROL},
    TRANSPORT_LONGOPTS,
    {"forget-lost-after", required_argument, NULL, OPT_FORGET},
    {"state-dir", required_argument, NULL, OPT_STATE},
    {"allow-namespace", required_argument, NULL, OPT_ALLOW},
    {"heartbeat-ms", required_argument, NULL, OPT_HB},
    {"max-heartbeats-per-s", required_argument, NULL, OPT_MAX_HB},
    {"max-agents", required_argument, NULL, OPT_MAX},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"inventory", required_argument, NULL, OPT_INVENTORY},
    {"kube-api", required_argument, NULL, OPT_KUBE_API},
    {"kube-in-cluster", no_argument, NULL, OPT_KUBE_IN_CLUSTER},
    {"kube-token-file", required_argument, NULL, OPT_KUBE_TOKEN},
    {"kube-ca", required_argument, NULL, OPT_KUBE_CA},
    {"kube-allow-http", no_argument, NULL, OPT_KUBE_HTTP},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* The flags that say who node agents' targets are; false for any other. */
static bool
controller_cli_target_option(int c, const char *arg, struct controller_opts *o)
{
	switch (c) {
	case OPT_INVENTORY:
		o->inventory = arg;
		return true;
	case OPT_KUBE_API:
		o->kube_api = arg;
		return true;
	case OPT_KUBE_IN_CLUSTER:
		o->kube_in_cluster = true;
		return true;
	case OPT_KUBE_TOKEN:
		o->kube_token_file = arg;
		return true;
	case OPT_KUBE_CA:
		o->kube_ca = arg;
		return true;
	case OPT_KUBE_HTTP:
		o->kube_allow_http = true;
		return true;
	default:
		return false;
	}
}

static enum flags_result
controller_cli_option(int c, const char *arg, void *opts, chaos_why *why)
{
	struct controller_opts *o = opts;

	if (controller_cli_target_option(c, arg, o) ||
	    transport_option(c, arg, &o->plaintext, &o->tls))
		return FLAGS_RUN;
	switch (c) {
	case 'l':
		o->listen = arg;
		break;
	case OPT_CONTROL:
		o->control = arg;
		break;
	case OPT_STATE:
		o->state_dir = arg;
		break;
	case OPT_ALLOW:
		if (allow_add(&o->allow, arg, why) != CHAOS_OK)
			return FLAGS_USAGE;
		break;
	case OPT_FORGET:
		if (flags_parse_u32(arg, 0, 86400, &o->forget_s) != CHAOS_OK) {
			chaos_fail(
			    why, CHAOS_EINVAL,
			    "--forget-lost-after '%s': allowed is a whole number of "
			    "seconds in 0..86400",
			    arg);
			return FLAGS_USAGE;
		}
		break;
	case OPT_HB:
		if (flags_parse_u32(arg, 100, 1000, &o->heartbeat_ms) != CHAOS_OK) {
			chaos_fail(why, CHAOS_EINVAL,
			           "--heartbeat-ms '%s': allowed is a whole number of "
			           "milliseconds in 100..1000",
			           arg);
			return FLAGS_USAGE;
		}
		break;
	case OPT_MAX_HB:
		if (flags_parse_u32(arg, 0, 100000, &o->max_hb_per_s) != CHAOS_OK ||
		    (o->max_hb_per_s > 0 && o->max_hb_per_s < 100)) {
			chaos_fail(why, CHAOS_EINVAL,
			           "--max-heartbeats-per-s '%s': allowed is 0 (a fixed "
			           "heartbeat) or a whole number in 100..100000",
			           arg);
			return FLAGS_USAGE;
		}
		break;
	case OPT_MAX:
		if (flags_parse_u32(arg, 1, 65536, &o->max_agents) != CHAOS_OK) {
			chaos_fail(why, CHAOS_EINVAL,
			           "--max-agents '%s': allowed is 1..65536", arg);
			return FLAGS_USAGE;
		}
		break;
	case OPT_LOG:
		return flags_log_level(arg, &o->log_level, why);
	case OPT_METRICS:
		if (metrics_check_addr(arg, why) != CHAOS_OK) {
			chaos_fail_prefix(why, CHAOS_EINVAL, "--metrics '%s'", arg);
			return FLAGS_USAGE;
		}
		o->metrics = arg;
		break;
	default:
		return flags_unknown(why);
	}
	return FLAGS_RUN;
}

static enum flags_result
controller_cli_check_kube(const struct controller_opts *o, chaos_why *why)
{
	bool api = o->kube_api != NULL || o->kube_in_cluster;

	if (o->kube_api != NULL && o->kube_in_cluster) {
		chaos_fail(why, CHAOS_EINVAL,
		           "--kube-api and --kube-in-cluster: give one of them");
		return FLAGS_USAGE;
	}
	if (!api && (o->kube_token_file || o->kube_ca || o->kube_allow_http)) {
		chaos_fail(why, CHAOS_EINVAL,
		           "--kube-token-file, --kube-ca and --kube-allow-http need "
		           "--kube-api URL or --kube-in-cluster");
		return FLAGS_USAGE;
	}
	/* Checked here, not at start: a bad URL is a usage error. */
	if (o->kube_api != NULL &&
	    k8s_url_check(o->kube_api, o->kube_allow_http, why) != CHAOS_OK) {
		chaos_fail_prefix(why, CHAOS_EINVAL, "--kube-api");
		return FLAGS_USAGE;
	}
	if (o->inventory != NULL && o->inventory[0] == '\0') {
		chaos_fail(why, CHAOS_EINVAL, "--inventory '': needs a file name");
		return FLAGS_USAGE;
	}
	return FLAGS_RUN;
}

/* The URLs and the Kubernetes flags, once all options are in. */
static enum flags_result
controller_cli_check(void *opts, chaos_why *why)
{
	const struct controller_opts *o = opts;

	if (transport_check_url("--listen", o->listen, o->plaintext, &o->tls, why) !=
	        CHAOS_OK ||
	    transport_check_url("--control", o->control, o->plaintext, &o->tls, why) !=
	        CHAOS_OK ||
	    url_events_check("--listen", o->listen, why) != CHAOS_OK)
		return FLAGS_USAGE;
	return controller_cli_check_kube(o, why);
}

static const struct flags_program controller_cli_program = {
    .name      = "chaos-controller",
    .usage     = controller_usage,
    .shortopts = "l:hV",
    .longopts  = controller_longopts,
    .option    = controller_cli_option,
    .check     = controller_cli_check,
};

enum flags_result
controller_cli_parse(int argc, char **argv, struct controller_opts *o, chaos_why *why)
{
	char own[64];

	memset(o, 0, sizeof(*o));
	allow_own_namespace(own, sizeof(own));
	allow_init(&o->allow, own);
	o->listen       = CONTROLLER_DEFAULT_LISTEN;
	o->control      = CONTROLLER_DEFAULT_CONTROL;
	o->heartbeat_ms = 500;
	o->max_hb_per_s = REGISTRY_MAX_HEARTBEATS_DEFAULT;
	o->max_agents   = 1024;
	o->forget_s     = REGISTRY_FORGET_DEFAULT_S;
	o->log_level    = LOG_LEVEL_INFO;
	return flags_getopt(&controller_cli_program, argc, argv, o, why);
}
