// SPDX-License-Identifier: MIT
/* Flags of `chaosctl run coordinator`; names kept from the scripts this replaces. */
#include <stdlib.h>

#include "controller/cli_opts.h"

const struct cli_opt cli_coordinator_opts[] = {
    {"--namespace", "namespace", CLI_STRING, 0, 0, NULL, "only agents in this namespace"},
    {"--method", "method", CLI_CHOICE, 0, 0, "pod-delete|kill|blackhole",
     "how to take the coordinators down (default pod-delete with a Kubernetes API, "
     "else kill)"},
    {"--outage-duration", "outage_duration_s", CLI_DOUBLE, 0.1, 86400, NULL,
     "seconds a blackhole lasts (kill and pod-delete heal by themselves) (60)"},
    {"--load-duration", "load_duration_s", CLI_DOUBLE, 0, 86400, NULL,
     "seconds of load: half before the fault (baseline), half after recovery (60)"},
    {"--rate", "rate", CLI_UINT, 1, 1000000, NULL, "requests per second, open loop (50)"},
    {"--concurrency", "concurrency", CLI_UINT, 1, 10000, NULL,
     "requests in flight at most; a slot beyond it counts as late (16)"},
    {"--load-path", "load_path", CLI_STRING, 0, 0, NULL,
     "API route under load (/v1/marketplace/stats)"},
    {"--probe-path", "probe_path", CLI_STRING, 0, 0, NULL,
     "readiness route (/health/ready)"},
    {"--api-port", "api_port", CLI_UINT, 1, 65535, NULL, "coordinator API port (8080)"},
    {"--api-url", "api_url", CLI_STRING, 0, 0, NULL,
     "the API's address (a Service) when no agent runs in the coordinator pods"},
    {"--probe-interval-ms", "probe_interval_ms", CLI_UINT, 10, 60000, NULL,
     "readiness probe period (20)"},
    {"--request-timeout-ms", "request_timeout_ms", CLI_UINT, 10, 60000, NULL,
     "per-request timeout of the load (2000)"},
    {"--process-name", "process_name", CLI_STRING, 0, 0, NULL,
     "process the kill method signals (chaos-coordinator)"},
    {"--selector", "selector", CLI_STRING, 0, 0, NULL,
     "label selector of the coordinator pods (app=coordinator)"},
    {"--kube-namespace", "kube_namespace", CLI_STRING, 0, 0, NULL,
     "namespace of the coordinator pods (the service account's, else --namespace)"},
    {"--kube-api", "kube_api", CLI_STRING, 0, 0, NULL,
     "Kubernetes API URL (default: in-cluster service account)"},
    {"--kube-token-file", "kube_token_file", CLI_STRING, 0, 0, NULL, "bearer token file"},
    {"--kube-ca", "kube_ca", CLI_STRING, 0, 0, NULL, "CA bundle of the API server"},
    {"--stability-window", "stability_window_s", CLI_DOUBLE, 0, 3600, NULL,
     "seconds healthy that count as recovered (3)"},
    {"--recovery-timeout", "recovery_timeout_s", CLI_DOUBLE, 1, 86400, NULL,
     "give up waiting for recovery after this (120)"},
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};

/* Default method: pod-delete where a Kubernetes API is at hand (a flag or
 * the in-cluster environment), kill otherwise (the sandbox). An http://
 * API is accepted only as a test's fake server. */
int
cli_coordinator_finish(json_t *params)
{
	const char *api = json_string_value(json_object_get(params, "kube_api"));

	if (json_object_get(params, "method") == NULL)
		json_object_set_new(
		    params, "method",
		    json_string(api != NULL || getenv("KUBERNETES_SERVICE_HOST") != NULL
		                    ? "pod-delete"
		                    : "kill"));
	if (api != NULL && api[0] == 'h' && api[4] == ':')
		json_object_set_new(params, "kube_allow_http", json_true());
	return 0;
}
