// SPDX-License-Identifier: MIT
/* Flags of `chaosctl run database`; names kept from the scripts this replaces. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "controller/cli_opts.h"

/* The sandbox writes its DSN here; elsewhere pass --dsn-file. */
#define CLI_SANDBOX_DSN "/run/chaos-sandbox/coordinator.dsn"

const struct cli_opt cli_database_opts[] = {
    {"--namespace", "namespace", CLI_STRING, 0, 0, NULL, "only agents in this namespace"},
    {"--failure-type", "failure_type", CLI_CHOICE, 0, 0, "connection|latency",
     "connection (refused or dropped) or latency (default connection)"},
    {"--failure-duration", "failure_duration_s", CLI_DOUBLE, 0.1, 86400, NULL,
     "seconds the failure lasts (default 60)"},
    {"--latency-ms", "latency_ms", CLI_UINT, 0, 600000, NULL,
     "added delay (default 5000)"},
    {"--jitter-ms", "jitter_ms", CLI_UINT, 0, 600000, NULL,
     "uniform +- jitter (default 0)"},
    {"--connection-mode", "connection_mode", CLI_CHOICE, 0, 0, "reject|drop",
     "reject (TCP reset) or drop (clients time out); default reject"},
    {"--fault-side", "fault_side", CLI_CHOICE, 0, 0, "server|client",
     "apply on the database pod (server, default) or the client pods"},
    {"--dsn-file", "dsn_file", CLI_STRING, 0, 0, NULL,
     "file with the libpq DSN the probes use (default $CHAOS_PG_DSN_FILE, or the "
     "sandbox's)"},
    {"--pg-port", "pg_port", CLI_UINT, 1, 65535, NULL, "PostgreSQL port (5432)"},
    {"--api-port", "api_port", CLI_UINT, 1, 65535, NULL, "coordinator API port (8080)"},
    {"--probe-interval-ms", "probe_interval_ms", CLI_UINT, 10, 60000, NULL,
     "probe period (200)"},
    {"--stability-window", "stability_window_s", CLI_DOUBLE, 0, 3600, NULL,
     "seconds healthy that count as recovered (3)"},
    {"--recovery-timeout", "recovery_timeout_s", CLI_DOUBLE, 1, 86400, NULL,
     "give up waiting for recovery after this (120)"},
    {"--lease-ms", "lease_ms", CLI_UINT, 500, 5000, NULL,
     "agents revert on their own when not renewed for this (3000)"},
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};

/* Reads the DSN file into params.dsn: credentials come from a file, never
 * from a built-in string, and are sent only to the controller. */
int
cli_database_finish(json_t *params)
{
	const char *path = json_string_value(json_object_get(params, "dsn_file"));
	char        dsn[1024];
	size_t      n;
	FILE       *f;

	if (path == NULL)
		path = getenv("CHAOS_PG_DSN_FILE");
	if (path == NULL && access(CLI_SANDBOX_DSN, R_OK) == 0)
		path = CLI_SANDBOX_DSN;
	if (path == NULL) {
		fprintf(stderr,
		        "chaosctl: run database: needs --dsn-file FILE (a libpq conninfo "
		        "such as \"host=... dbname=... user=... password=...\")\n");
		return 2;
	}
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "chaosctl: --dsn-file %s: %s\n", path, strerror(errno));
		return 2;
	}
	n = fread(dsn, 1, sizeof(dsn) - 1, f);
	fclose(f);
	dsn[n] = '\0';
	while (n > 0 && (dsn[n - 1] == '\n' || dsn[n - 1] == '\r' || dsn[n - 1] == ' '))
		dsn[--n] = '\0';
	if (n == 0 || strchr(dsn, '\n') != NULL) {
		fprintf(stderr,
		        "chaosctl: --dsn-file %s: expected one line with a libpq DSN\n",
		        path);
		return 2;
	}
	json_object_del(params, "dsn_file");
	json_object_set_new(params, "dsn", json_string(dsn));
	return 0;
}
