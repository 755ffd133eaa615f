/* SPDX-License-Identifier: MIT */
/*
 * chaosctl subcommands, one file each (cmd_<name>.c). Each takes the
 * controller to talk to and its own arguments (argv[0] is its name) and
 * returns the process exit status (enum chaos_exit): 0 ok, 1 ran but failed
 * or missed an SLO, 2 bad usage, 3 environment not usable.
 */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_CHAOSCTL_H
#define CHAOS_CONTROLLER_CHAOSCTL_CHAOSCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/chaosctl/client.h"

int cmd_agents(const struct ctl_target *t, int argc, char **argv);
int cmd_stats(const struct ctl_target *t, int argc, char **argv);
int cmd_run(const struct ctl_target *t, int argc, char **argv);
int cmd_orchestrate(const struct ctl_target *t, int argc, char **argv);
int cmd_status(const struct ctl_target *t, int argc, char **argv);
int cmd_abort(const struct ctl_target *t, int argc, char **argv);
int cmd_results(const struct ctl_target *t, int argc, char **argv);

/* The run a fault belongs to, from its id ("r12-partition-chain-0" -> 12);
 * 0 when the id does not say. (cmd_status.c) */
uint64_t chaosctl_fault_run(const char *fault_id);

/* A controller time as JSON: its ISO 8601 text, or null when has is false
 * or the time is not set. (cmd_status.c) */
json_t *chaosctl_time_json(bool has, int64_t us);

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
