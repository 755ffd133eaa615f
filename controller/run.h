/* SPDX-License-Identifier: MIT */
/*
 * Runs scenarios on the controller, one at a time, each on its own thread.
 * chaosctl starts a run, polls its progress and fetches its result through
 * the control API; an abort (chaosctl's SIGINT, the controller's SIGTERM)
 * makes the scenario revert everything and finish as "aborted".
 *
 * Threads: the control server calls run_mgr_start/status/abort; they only
 * check the parameters (param_read, no I/O) and hand the run to its own
 * thread, which plans (the plan may wait on the Kubernetes API) and then
 * executes. A dry run plans on its own thread too and never holds the
 * one-run-at-a-time slot; it is not stored, and its id comes from a range
 * of its own, so the real runs' ids stay consecutive.
 *
 * The second half of this header is what scenario code (scenarios/ *.c)
 * uses.
 */
#ifndef CHAOS_CONTROLLER_RUN_H
#define CHAOS_CONTROLLER_RUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/allow.h"
#include "controller/obs.h"
#include "controller/registry.h"
#include "controller/run_store.h"
#include "controller/scenarios/scenario.h"
#include "proto/chaos.pb-c.h"

struct run_mgr;
struct run;

/* scenarios: the NULL-terminated list this controller runs (scenario_list),
 * borrowed for the manager's life; the unlisted ones (scenario_unlisted)
 * run too when named. store (may be NULL) keeps every run's record on disk
 * as it progresses (run_store.h), borrowed too. */
chaos_err run_mgr_new(struct registry *reg, const struct scenario *const *scenarios,
                      struct run_store *store, struct run_mgr **out);
/* The namespaces runs may touch (borrowed for m's life; before any run).
 * Until then: every namespace but kube-system. */
void run_mgr_set_allow(struct run_mgr *m, const struct allow_list *allow);

/* Aborts a run in progress, waits for it to revert and finish, frees m. */
void run_mgr_free(struct run_mgr *m);

/* Feeds for the run's observations (events sink and ack sink). */
void run_mgr_on_event(void *m, const Chaos__V1__Event *e, int64_t t_ctl_us);
void run_mgr_on_ack(void *m, const char *agent_id, const Chaos__V1__Ack *a,
                    int64_t offset_us, int64_t t_poll_us);

/* Control API: fills resp (run_id, run_state; error with the reason of a
 * refusal; result_json with the result, or the plan of a dry run, once the
 * run ended). A started run is PLANNING, then RUNNING. An abort answers
 * with the state the run had when it came (a run that ended before a
 * restart: its stored state; a run not kept: error). Strings put in resp
 * are freed by run_mgr_resp_free(). */
void run_mgr_start(struct run_mgr *m, const Chaos__V1__RunRequest *req,
                   Chaos__V1__ControlResponse *resp);
void run_mgr_status(struct run_mgr *m, const Chaos__V1__RunStatusRequest *req,
                    Chaos__V1__ControlResponse *resp);
void run_mgr_abort(struct run_mgr *m, const Chaos__V1__AbortRequest *req,
                   Chaos__V1__ControlResponse *resp);
void run_mgr_resp_free(Chaos__V1__ControlResponse *resp);

/* The records of the runs this process holds, with each result cut to its
 * brief (run_store_brief: nothing is parsed, a listing stays fast), newest
 * first: the one in the slot and the last ones that ended; dry runs, which
 * change nothing, are left out. With in_progress_only, only a run planning
 * or running. A new array. */
json_t *run_mgr_records(struct run_mgr *m, bool in_progress_only);

/* The whole record of run id (run_store.h's form, with its result once it
 * ended) when this process holds it, else NULL. A new object. */
json_t *run_mgr_record(struct run_mgr *m, uint64_t id);

/* The store the runs are kept in (borrowed), or NULL: memory only. */
struct run_store *run_mgr_store(struct run_mgr *m);

/* Aborts whatever runs and waits (bounded) until it has reverted. */
void run_mgr_abort_all(struct run_mgr *m, const char *reason);

/* ---- for scenarios ---- */

uint64_t run_id(const struct run *r);
/* The namespaces this run may touch: scen_select keeps to them, and a
 * namespace a plan resolves by itself is checked with allow_check. */
const struct allow_list *run_allow(const struct run *r);
struct registry         *run_registry(struct run *r);
struct obs              *run_obs(struct run *r);

/* What a checkpoint saves: the scenario's result as measured so far (a new
 * object), built on the run's thread. */
typedef json_t *(*run_checkpoint_fn)(struct run *r, void *plan, void *meas);

/* Registers how to build the run's partial result; the execute step calls
 * it once its measurements exist. Without it, a run interrupted by a
 * controller restart keeps no figures. */
void run_set_checkpoint(struct run *r, run_checkpoint_fn fn, void *plan, void *meas);

/* The scenario's user-facing requests since its fault landed (ok and total;
 * false while there is no fault yet), for --abort-error-rate; called on the
 * run's thread. */
typedef bool (*run_user_fn)(struct run *r, void *plan, void *meas, uint64_t *ok,
                            uint64_t *total);

/* Registers how to count the user-facing requests (the execute step, once
 * its measurements exist). Without it --abort-error-rate never trips. */
void run_set_user_requests(struct run *r, run_user_fn fn, void *plan, void *meas);

/* Checks the stop conditions (the error-rate bound) and saves the partial
 * result when the last save is old enough (every 2 s); scenarios call it
 * while a run waits (scen_hold, scen_wait_recovery). Run thread only. */
void run_checkpoint(struct run *r);

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
