/* SPDX-License-Identifier: MIT */
/*
 * chaosctl subcommands, one file each (cmd_<name>.c). Each takes the
 * controller to talk to and its own arguments (argv[0] is its name) and
 * returns the process exit status (enum chaos_exit): 0 ok, 1 ran but failed
 * or missed an SLO, 2 bad usage, 3 environment not usable.
 */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_CHAOSCTL_H
#define CHAOS_CONTROLLER_CHAOSCTL_CHAOSCTL_H

#include <stdbool.h>

#include "common/err.h"
#include "controller/chaosctl/client.h"

int cmd_agents(const struct ctl_target *t, int argc, char **argv);
int cmd_stats(const struct ctl_target *t, int argc, char **argv);
int cmd_run(const struct ctl_target *t, int argc, char **argv);
int cmd_orchestrate(const struct ctl_target *t, int argc, char **argv);

/* One control request; on CHAOS_EXIT_OK *resp is the caller's (wire_free).
 * Otherwise prints one line (unreachable controller: CHAOS_EXIT_ENV; the
 * controller's own error: CHAOS_EXIT_FAILED) and returns that status.
 * (client.c) */
int chaosctl_request(const struct ctl_target *t, Chaos__V1__ControlRequest *req,
                     Chaos__V1__ControlResponse **resp);

/* Prints a response, as JSON or as a table for people. */
typedef void (*chaosctl_print_fn)(const Chaos__V1__ControlResponse *resp, bool json);

/* A read-only subcommand whose only flag is --json: sends req and prints
 * the answer. Returns the exit status (CHAOS_EXIT_USAGE with a printed line
 * for any other flag). (client.c) */
int chaosctl_show(const struct ctl_target *t, int argc, char **argv,
                  Chaos__V1__ControlRequest *req, chaosctl_print_fn print);

#endif
