/* SPDX-License-Identifier: MIT */
/*
 * Runs scenarios on the controller, one at a time, each on its own thread.
 * chaosctl starts a run, polls its progress and fetches its result through
 * the control API; an abort (chaosctl's SIGINT, the controller's SIGTERM)
 * makes the scenario revert everything and finish as "aborted".
 *
 * The second half of this header is what scenario code (scenario_*.c) uses.
 */
#ifndef CHAOS_CONTROLLER_RUN_H
#define CHAOS_CONTROLLER_RUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/obs.h"
#include "controller/registry.h"
#include "proto/chaos.pb-c.h"

struct run_mgr;
struct run;

int run_mgr_new(struct registry *reg, struct run_mgr **out);
/* Aborts a run in progress, waits for it to revert and finish, frees m. */
void run_mgr_free(struct run_mgr *m);

/* Feeds for the run's observations (events sink and ack sink). */
void run_mgr_on_event(void *m, const Chaos__V1__Event *e, int64_t t_ctl_us);
void run_mgr_on_ack(void *m, const char *agent_id, const Chaos__V1__Ack *a,
                    int64_t offset_us, int64_t t_poll_us);

/* Control API: fills resp (run_id, run_state, result_json for a dry run or a
 * refusal, error). Strings put in resp are freed by run_mgr_resp_free(). */
void run_mgr_start(struct run_mgr *m, const Chaos__V1__RunRequest *req,
                   Chaos__V1__ControlResponse *resp);
void run_mgr_status(struct run_mgr *m, const Chaos__V1__RunStatusRequest *req,
                    Chaos__V1__ControlResponse *resp);
void run_mgr_abort(struct run_mgr *m, const Chaos__V1__AbortRequest *req,
                   Chaos__V1__ControlResponse *resp);
void run_mgr_resp_free(Chaos__V1__ControlResponse *resp);

/* Aborts whatever runs and waits (bounded) until it has reverted. */
void run_mgr_abort_all(struct run_mgr *m, const char *reason);

/* ---- for scenarios ---- */

/* A scenario: plan (validate params, pick targets; nothing changes) and
 * execute (must revert every fault on every path, including abort). */
struct scenario_ops {
	const char *name;
	/* CHAOS_EINVAL: refused (bad parameters or targets, exit 2);
	 * CHAOS_ENOENT: environment unusable (no agents, exit 3). err says why.
	 * *plan_json describes the plan (printed by --dry-run). */
	int (*plan)(struct run *r, json_t *params, void **plan, json_t **plan_json,
	            char *err, size_t errlen);
	/* Returns the final state (Chaos__V1__RunState) and the result. */
	int (*execute)(struct run *r, void *plan, json_t **result);
	void (*plan_free)(void *plan);
};

extern const struct scenario_ops scenario_network_ops;
extern const struct scenario_ops scenario_database_ops;
extern const struct scenario_ops scenario_coordinator_ops;

uint64_t         run_id(const struct run *r);
struct registry *run_registry(struct run *r);
struct obs      *run_obs(struct run *r);

/* Appends one progress line (also logged). */
void run_progress(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True once the run was asked to stop. */
bool        run_aborted(struct run *r);
const char *run_abort_reason(struct run *r);

/* Sleeps until the monotonic deadline; false (early) when aborted. */
bool run_sleep_until(struct run *r, int64_t deadline_mono_us);

/* Sends cmds[i] to agent_ids[i] (n of them) at once, assigning command ids,
 * and waits until every ack arrived or timeout_us passed. acks[i].status is
 * 0 (STATUS_UNSPECIFIED) for an ack that did not arrive. Returns how many
 * acked with STATUS_OK. */
size_t run_send_all(struct run *r, size_t n, const char *const *agent_ids,
                    Chaos__V1__Command *const *cmds, int64_t timeout_us,
                    struct obs_ack *acks);

#endif
