/* SPDX-License-Identifier: MIT */
/* chaos-controller's command line. */
#ifndef CHAOS_CONTROLLER_CONTROLLER_CLI_H
#define CHAOS_CONTROLLER_CONTROLLER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/transport.h"
#include "controller/allow.h"

#define CONTROLLER_DEFAULT_LISTEN "tls+tcp://0.0.0.0:7600"
#define CONTROLLER_DEFAULT_CONTROL "ipc:///run/chaos/control.sock"

struct controller_opts {
	const char          *listen;  /* session URL; events at port + 1 */
	const char          *control; /* chaosctl's URL */
	bool                 plaintext;
	struct transport_tls tls;
	uint32_t             heartbeat_ms; /* the shortest */
	uint32_t             max_hb_per_s; /* polls a second from all agents; 0: no cap */
	uint32_t             max_agents;
	uint32_t             forget_s;  /* lost agents are forgotten after this */
	const char          *state_dir; /* runs on disk, or NULL (memory only) */
	int                  log_level;
	const char       *metrics; /* Prometheus /metrics on HOST:PORT, or NULL (off) */
	struct allow_list allow;   /* --allow-namespace, and the own namespace */
	/* Who node agents' targets are: an inventory file and/or the
	 * Kubernetes API (an explicit URL, or in-cluster). */
	const char *inventory;
	const char *kube_api;
	const char *kube_token_file;
	const char *kube_ca;
	bool        kube_in_cluster;
	bool        kube_allow_http;
};

/* Parses argv. Not a chaos_err: the outcome is what main() does next. On
 * FLAGS_USAGE, why holds one line saying what is wrong and what is allowed.
 * FLAGS_EXIT_OK means --help or --version was printed. */
enum flags_result controller_cli_parse(int argc, char **argv, struct controller_opts *o,
                                       chaos_why *why);

#endif
