/* SPDX-License-Identifier: MIT */
/*
 * The operator's views of the control API, for `chaosctl status` and
 * `chaosctl results` from any terminal that reaches the controller: what is
 * going on now (the run in progress, the faults on every agent with their
 * leases, the agents lost) and what the controller kept (the runs in memory
 * and on disk, newest first). Prefix ops_. Called on the control thread;
 * nothing here waits on a run (the records are copied under the run
 * manager's lock, the faults under the registry's).
 */
#ifndef CHAOS_CONTROLLER_OPS_H
#define CHAOS_CONTROLLER_OPS_H

#include <jansson.h>
#include <stddef.h>

#include "controller/registry.h"
#include "controller/run.h"
#include "proto/chaos.pb-c.h"

/* The status request: resp->runs gets the run in progress (if any),
 * resp->faults every fault on every agent (registry_faults), and *lost the
 * agents lost (registry_snapshot form, also put in resp->agents; the
 * caller frees them with registry_snapshot_free). runs may be NULL (a
 * controller without scenarios). Out of memory: resp->error. */
void ops_status(struct run_mgr *runs, struct registry *reg,
                Chaos__V1__ControlResponse *resp, Chaos__V1__AgentInfo ***lost,
                size_t *n_lost);

/* The results request: resp->runs the runs kept, newest first, at most
 * RUN_STORE_KEEP (those this process holds in memory, and those on disk
 * when there is a store); with req->run_id, that run alone and its whole
 * record in resp->record_json, or resp->error when it is not kept. */
void ops_results(struct run_mgr *runs, const Chaos__V1__ResultsRequest *req,
                 Chaos__V1__ControlResponse *resp);

/* The summary of one run record (run_store.h's form): its mttr from its
 * result, or none with the reason; its error, or else its result's
 * failure (why a run that executed failed or was aborted). NULL for a record without a
 * valid id, scenario or state. Free with ops_run_info_free(). */
Chaos__V1__RunInfo *ops_run_info(const json_t *record);
void                ops_run_info_free(Chaos__V1__RunInfo *ri);

/* Frees what ops_status/ops_results put in resp (runs, faults,
 * record_json; not the agents, nor error: run_mgr_resp_free frees it). */
void ops_resp_free(Chaos__V1__ControlResponse *resp);

#endif
