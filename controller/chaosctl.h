/* SPDX-License-Identifier: MIT */
/*
 * chaosctl subcommands, one file each (cmd_<name>.c). Each takes the
 * controller to talk to and its own arguments (argv[0] is its name) and
 * returns the process exit status: 0 ok, 1 ran but failed or missed an SLO,
 * 2 bad usage, 3 environment not usable.
 */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_H
#define CHAOS_CONTROLLER_CHAOSCTL_H

#include "controller/ctl_client.h"

enum chaosctl_exit {
	CHAOSCTL_OK     = 0,
	CHAOSCTL_FAILED = 1,
	CHAOSCTL_USAGE  = 2,
	CHAOSCTL_ENV    = 3,
};

int cmd_agents(const struct ctl_target *t, int argc, char **argv);
int cmd_stats(const struct ctl_target *t, int argc, char **argv);
int cmd_run(const struct ctl_target *t, int argc, char **argv);
int cmd_orchestrate(const struct ctl_target *t, int argc, char **argv);

/* One control request; on CHAOSCTL_OK *resp is the caller's (wire_free).
 * Otherwise prints one line (unreachable controller: CHAOSCTL_ENV; the
 * controller's own error: CHAOSCTL_FAILED) and returns that status. */
int chaosctl_request(const struct ctl_target *t, Chaos__V1__ControlRequest *req,
                     Chaos__V1__ControlResponse **resp);

/* Parses a subcommand that takes only "--json"; returns CHAOSCTL_USAGE with
 * a printed line for anything else. */
int chaosctl_json_flag(int argc, char **argv, int *json);

#endif
