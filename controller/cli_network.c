// SPDX-License-Identifier: MIT
/* Flags of `chaosctl run network`; names kept from the scripts this replaces. */
#include "controller/cli_opts.h"

const struct cli_opt cli_network_opts[] = {
    {"--namespace", "namespace", CLI_STRING, 0, 0, NULL, "only agents in this namespace"},
    {"--partition-duration", "partition_duration_s", CLI_DOUBLE, 0.1, 86400, NULL,
     "seconds the partition lasts (default 60)"},
    {"--partition-ratio", "partition_ratio", CLI_DOUBLE, 0.01, 0.99, NULL,
     "share of nodes isolated: floor(N x R), at least 1 (default 0.5)"},
    {"--groups", "groups", CLI_GROUPS, 0, 0, NULL, "the two sides by pod name: a,b/c,d"},
    {"--probe-url", "probe_url", CLI_STRING, 0, 0, NULL,
     "health URL template, {ip} = node (default http://{ip}:2379/health)"},
    {"--probe-field", "probe_field", CLI_STRING, 0, 0, NULL,
     "JSON integer field that must advance, e.g. height"},
    {"--probe-expect", "probe_expect", CLI_UINT, 100, 599, NULL, "expected status (200)"},
    {"--probe-interval-ms", "probe_interval_ms", CLI_UINT, 10, 60000, NULL,
     "probe period (200)"},
    {"--check-port", "check_port", CLI_UINT, 1, 65535, NULL,
     "port for the node-to-node TCP checks (2380)"},
    {"--stability-window", "stability_window_s", CLI_DOUBLE, 0, 3600, NULL,
     "seconds healthy that count as recovered (3)"},
    {"--recovery-timeout", "recovery_timeout_s", CLI_DOUBLE, 1, 86400, NULL,
     "give up waiting for recovery after this (120)"},
    {"--lease-ms", "lease_ms", CLI_UINT, 500, 5000, NULL,
     "agents revert on their own when not renewed for this (3000)"},
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};
