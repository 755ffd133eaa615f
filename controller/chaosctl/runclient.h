/* SPDX-License-Identifier: MIT */
/*
 * chaosctl's side of a run: start a scenario on the controller, follow its
 * progress, abort it on SIGINT/SIGTERM, and write its result file. Used by
 * `chaosctl run` and `chaosctl orchestrate`.
 */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_RUNCLIENT_H
#define CHAOS_CONTROLLER_CHAOSCTL_RUNCLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "controller/chaosctl/client.h"
#include "common/err.h"

/* Installs SIGINT/SIGTERM handlers that make a following run abort. */
void runclient_catch_signals(void);

/* True once SIGINT or SIGTERM arrived. */
bool runclient_interrupted(void);

struct runclient_result {
	int      state;  /* Chaos__V1__RunState; 0 when the controller was unreachable */
	uint64_t run_id; /* the controller's id for the run; 0 when it never started */
	json_t  *result; /* the scenario's result (owned), or NULL */
	char     error[512];
	char     path[4096]; /* where the result was written, "" if not */
};

/* Called once the controller has accepted a run and given it its id, before
 * any fault (the run is planning): the orchestrator records it there. */
typedef void (*runclient_started_fn)(void *arg, uint64_t run_id);

/* Runs scenario (controller name, e.g. "network_partition") with params and
 * waits for it, printing progress lines. When output is set, the result is
 * written there atomically as chaos_test_<scenario>_<timestamp>.json as soon
 * as the run ends. dry_run prints the plan. started (may be NULL) is called
 * with the run's id. Fills *res (free res->result with json_decref). Returns
 * the chaosctl exit status for this run alone. */
int runclient_run(const struct ctl_target *t, const char *scenario, json_t *params,
                  bool dry_run, const char *output, runclient_started_fn started,
                  void *arg, struct runclient_result *res);

/* Follows run_id, started by an earlier chaosctl (a resumed orchestration),
 * to its end and writes its result like runclient_run (started_us names the
 * file). A run the controller no longer knows is CHAOS_EXIT_FAILED with
 * res->state 0 and the controller's words in res->error; an unreachable
 * controller is CHAOS_EXIT_ENV with res->state 0. */
int runclient_follow(const struct ctl_target *t, uint64_t run_id, const char *scenario,
                     const char *output, int64_t started_us,
                     struct runclient_result *res);

/* The controller plans scenario (a dry run) without printing anything:
 * CHAOS_EXIT_OK with res->result the plan, else the exit status of the
 * refusal with res->error and res->state. */
int runclient_plan(const struct ctl_target *t, const char *scenario, json_t *params,
                   struct runclient_result *res);

/* Asks the controller once to abort run_id, reverting its faults; reason
 * says who asked (the controller logs it and the run's result keeps it).
 * On CHAOS_OK *resp (wire_free) holds the state the run had when the abort
 * came (has_run_state), or, without a state, the controller's error: it
 * keeps no such run. Otherwise ctl_call's errors with why. */
chaos_err runclient_abort(const struct ctl_target *t, uint64_t run_id, const char *reason,
                          Chaos__V1__ControlResponse **resp, chaos_why *why);

/* True for a state in which the run has not ended (planning, running). */
bool runclient_in_progress(int state);

/* Exit status (enum chaos_exit) for a final run state: 0 ok, 1
 * failed/aborted/skipped, 2 refused, 3 unusable or unreachable (0). */
int runclient_exit_for_state(int state);

/* "succeeded", "failed", "skipped"... into buf, returned. */
const char *runclient_state_name(int state, char *buf, size_t len);

#endif
