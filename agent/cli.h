/* SPDX-License-Identifier: MIT */
/* chaos-agent's command line. */
#ifndef CHAOS_AGENT_CLI_H
#define CHAOS_AGENT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/identity.h"
#include "common/err.h"
#include "common/flags.h"
#include "common/transport.h"

struct agent_opts {
	const char          *controller; /* session URL; events use port + 1 */
	bool                 node_mode;  /* --mode node: act for the node's pods */
	bool                 plaintext;
	struct transport_tls tls;
	struct identity_args id;
	int                  log_level;
};

/* Parses argv (and CHAOS_CONTROLLER). Not a chaos_err: the outcome is what
 * main() does next. On FLAGS_USAGE, why holds one line saying what is
 * wrong and what is allowed. FLAGS_EXIT_OK means --help or --version was
 * printed. */
enum flags_result agent_cli_parse(int argc, char **argv, struct agent_opts *o,
                                  chaos_why *why);

#endif
