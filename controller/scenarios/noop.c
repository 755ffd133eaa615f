// SPDX-License-Identifier: MIT
/*
 * Scenario "noop": one fault that changes nothing, applied to every
 * connected agent and reverted, to measure the controller's fan-out (the
 * swarm benchmark, tests/bench/bench_swarm.c, runs it). The fault is a
 * partition from 192.0.2.1/32, an address of TEST-NET-1 (RFC 5737) that
 * nothing uses, so a real agent exercises its whole fault path while no
 * traffic changes.
 *
 * Unlisted (see scenarios.c): no usage text offers it and orchestrate never
 * runs it by default, because it measures the tool, not the platform; it
 * runs only when named (`chaosctl run noop`, or the control API).
 *
 * With one_at_a_time, each agent gets the apply (then the revert) only after
 * the previous agent acked it: the sequential baseline that the fan-out is
 * compared with, through the same controller and the same code path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "controller/report/report.h"
#include "controller/run.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/util.h"

#define NOOP_PEER "192.0.2.1/32"
#define NOOP_ACK_TIMEOUT_US (10 * 1000000LL)

struct noop_params {
	char     ns[LIMIT_ID_LEN + 1];
	char     agent[LIMIT_ID_LEN + 1];
	double   hold_s;
	bool     one_at_a_time;
	uint32_t lease_ms;
};

#define NOOP_AT(m) PARAM_AT(struct noop_params, m)

static const struct param noop_params_table[] = {
    PARAM_ROW_NAMESPACE(struct noop_params, ns),
    {"--agent", "agent", PARAM_STRING, 0, LIMIT_ID_LEN, "", NULL,
     "only this agent, by id (default: every connected agent)", NOOP_AT(agent), 0},
    {"--hold", "hold_s", PARAM_DOUBLE, 0, LIMIT_DURATION_MAX_S, "0", NULL,
     "seconds the fault stays before its revert", NOOP_AT(hold_s), 0},
    {"--one-at-a-time", "one_at_a_time", PARAM_BOOL, 0, 0, "false", NULL,
     "apply and revert agent after agent, each after the previous ack (the "
     "sequential baseline)",
     NOOP_AT(one_at_a_time), 0},
    PARAM_ROW_LEASE(struct noop_params, lease_ms),
    PARAM_ROW_END,
};

/* The targets, by agent id. */
struct noop_plan {
	struct noop_params p;
	char             **ids;
	size_t             n;
};

static void
noop_plan_free(void *plan)
{
	struct noop_plan *pl = plan;

	if (pl != NULL)
		registry_ids_free(pl->ids, pl->n);
	free(pl);
}

/* The named agent when connected, else every connected agent (of the
 * namespace): ids only, no copies of the agents' identities. */
static chaos_err
noop_targets(struct run *r, struct noop_plan *pl)
{
	bool    connected = false;
	int64_t incarnation;

	if (pl->p.agent[0] == '\0')
		return registry_connected_ids(run_registry(r), pl->p.ns, &pl->ids,
		                              &pl->n);
	if (!registry_agent_status(run_registry(r), pl->p.agent, &connected,
	                           &incarnation) ||
	    !connected)
		return CHAOS_OK;
	if ((pl->ids = calloc(1, sizeof(*pl->ids))) == NULL ||
	    (pl->ids[0] = strdup(pl->p.agent)) == NULL)
		return CHAOS_ENOMEM;
	pl->n = 1;
	return CHAOS_OK;
}

static chaos_err
noop_plan(struct run *r, const void *params, void **plan, json_t **plan_json,
          chaos_why *why)
{
	struct noop_plan *pl = calloc(1, sizeof(*pl));
	chaos_err         rv;

	if (pl == NULL)
		return CHAOS_ENOMEM;
	pl->p = *(const struct noop_params *)params;
	if ((rv = noop_targets(r, pl)) != CHAOS_OK)
		goto fail;
	if (pl->n == 0) {
		rv = chaos_fail(why, CHAOS_ENOENT,
		                "no connected agent%s%s%s%s; check chaosctl agents",
		                pl->p.agent[0] ? " " : "", pl->p.agent,
		                pl->p.ns[0] ? " in namespace " : "", pl->p.ns);
		goto fail;
	}
	*plan_json =
	    json_pack("{s:s,s:s,s:i,s:f,s:b,s:s}", "scenario", "noop", "namespace",
	              pl->p.ns, "agents", (int)pl->n, "hold_s", pl->p.hold_s,
	              "one_at_a_time", pl->p.one_at_a_time, "fault",
	              "partition from " NOOP_PEER " (TEST-NET-1): changes nothing");
	*plan = pl;
	return CHAOS_OK;
fail:
	noop_plan_free(pl);
	return rv;
}

/* One phase (apply or revert) and what it measured, controller clock:
 * sent_us and acked_us are the controller's own (the fan-out the benchmark
 * times), applied_us the last agent's time of the change from its ack
 * (agent clock, offset applied; 0 when no agent acked). */
struct noop_phase {
	int64_t sent_us, acked_us, applied_us;
	size_t  ok;
	char    first_error[256];
};

/* The commands of one phase: the same fault on every target. */
struct noop_cmds {
	Chaos__V1__Command       *cmd;
	Chaos__V1__Command      **ptr;
	const char              **ids;
	struct obs_ack           *acks;
	Chaos__V1__FaultSpec      spec;
	Chaos__V1__PartitionFault part;
	char                     *peers[1];
	char                      fault_id[SCEN_ID_LEN];
};

static void
noop_cmds_free(struct noop_cmds *c)
{
	free(c->cmd);
	free(c->ptr);
	free(c->ids);
	free(c->acks);
}

static chaos_err
noop_cmds_init(struct run *r, const struct noop_plan *pl, bool apply, struct noop_cmds *c)
{
	memset(c, 0, sizeof(*c));
	c->cmd  = calloc(pl->n, sizeof(*c->cmd));
	c->ptr  = calloc(pl->n, sizeof(*c->ptr));
	c->ids  = calloc(pl->n, sizeof(*c->ids));
	c->acks = calloc(pl->n, sizeof(*c->acks));
	if (c->cmd == NULL || c->ptr == NULL || c->ids == NULL || c->acks == NULL) {
		noop_cmds_free(c);
		return CHAOS_ENOMEM;
	}
	/* one fault id for all: each agent keeps its own table */
	snprintf(c->fault_id, sizeof(c->fault_id), "r%llu-noop",
	         (unsigned long long)run_id(r));
	c->peers[0] = NOOP_PEER;
	chaos__v1__partition_fault__init(&c->part);
	c->part.peers   = c->peers;
	c->part.n_peers = 1;
	chaos__v1__fault_spec__init(&c->spec);
	c->spec.fault_id        = c->fault_id;
	c->spec.lease_ms        = pl->p.lease_ms;
	c->spec.hard_end_ctl_us = clk_now_us() + (int64_t)((pl->p.hold_s + 60) * 1e6);
	c->spec.kind_case       = CHAOS__V1__FAULT_SPEC__KIND_PARTITION;
	c->spec.partition       = &c->part;
	for (size_t i = 0; i < pl->n; i++) {
		chaos__v1__command__init(&c->cmd[i]);
		if (apply) {
			c->cmd[i].body_case   = CHAOS__V1__COMMAND__BODY_APPLY_FAULT;
			c->cmd[i].apply_fault = &c->spec;
		} else {
			c->cmd[i].body_case    = CHAOS__V1__COMMAND__BODY_REVERT_FAULT;
			c->cmd[i].revert_fault = c->fault_id;
		}
		c->ptr[i] = &c->cmd[i];
		c->ids[i] = pl->ids[i];
	}
	registry_fault_live_all(run_registry(r), pl->n, c->ids, c->fault_id, apply);
	return CHAOS_OK;
}

/* Sends the phase's commands, all at once or one after the other's ack.
 * An abort stops a one-at-a-time apply, never a revert. */
static void
noop_send(struct run *r, const struct noop_plan *pl, bool apply, struct noop_cmds *c,
          struct noop_phase *ph)
{
	int64_t first;

	ph->sent_us = clk_now_us();
	if (!pl->p.one_at_a_time) {
		ph->ok =
		    run_send_all(r, pl->n, c->ids, c->ptr, NOOP_ACK_TIMEOUT_US, c->acks);
	} else {
		for (size_t i = 0; i < pl->n && !(apply && run_aborted(r)); i++)
			ph->ok += run_send_all(r, 1, &c->ids[i], &c->ptr[i],
			                       NOOP_ACK_TIMEOUT_US, &c->acks[i]);
	}
	ph->acked_us = clk_now_us();
	scen_ack_span(c->acks, pl->n, &first, &ph->applied_us);
	for (size_t i = 0; i < pl->n && ph->first_error[0] == '\0'; i++)
		if (c->acks[i].status != CHAOS__V1__STATUS__STATUS_OK)
			snprintf(ph->first_error, sizeof(ph->first_error), "%s: %s",
			         pl->ids[i],
			         c->acks[i].error[0] ? c->acks[i].error : "failed");
}

static bool
noop_phase(struct run *r, const struct noop_plan *pl, bool apply, struct noop_phase *ph)
{
	struct noop_cmds c;

	if (noop_cmds_init(r, pl, apply, &c) != CHAOS_OK) {
		snprintf(ph->first_error, sizeof(ph->first_error), "out of memory");
		return false;
	}
	noop_send(r, pl, apply, &c, ph);
	noop_cmds_free(&c);
	run_progress(r, "%s acked by %zu of %zu agents in %.1f ms",
	             apply ? "fault" : "revert", ph->ok, pl->n,
	             (double)(ph->acked_us - ph->sent_us) / 1000.0);
	return ph->ok == pl->n;
}

static json_t *
noop_phase_json(const struct noop_phase *ph)
{
	return json_pack("{s:I,s:I,s:f,s:i,s:s?}", "sent_us", (json_int_t)ph->sent_us,
	                 "acked_us", (json_int_t)ph->acked_us, "ms",
	                 (double)(ph->acked_us - ph->sent_us) / 1000.0, "acked",
	                 (int)ph->ok, "first_error",
	                 ph->first_error[0] ? ph->first_error : NULL);
}

/* The fault window as the agents applied and reverted it (t_fault: the
 * last apply; t_restore: the last revert, known only when every agent
 * acked it), and the error bound of their clocks. */
static void
noop_window(struct run *r, const struct noop_plan *pl, const struct noop_phase *ap,
            const struct noop_phase *rv, json_t *o)
{
	struct scen_clock clock = {0};
	char              why[320];

	if (ap->applied_us > 0)
		report_time(o, "fault_start", ap->applied_us);
	else
		scen_null(o, "fault_start", "no agent acked the fault");
	snprintf(why, sizeof(why), "revert acked by %zu of %zu agents%s%s", rv->ok, pl->n,
	         rv->first_error[0] ? "; first: " : "", rv->first_error);
	if (ap->applied_us > 0 && rv->ok == pl->n && rv->applied_us > 0)
		report_time(o, "fault_end", rv->applied_us);
	else
		scen_null(o, "fault_end",
		          ap->applied_us > 0 ? why : "no fault was applied");
	for (size_t i = 0; i < pl->n; i++)
		scen_clock_agent(r, pl->ids[i], pl->ids[i], &clock);
	scen_clock_json(o, "clock_error_ms", &clock);
}

static json_t *
noop_result(struct run *r, const struct noop_plan *pl, const struct noop_phase *ap,
            const struct noop_phase *rv, int64_t start, int64_t end,
            const struct scen_outcome *out)
{
	json_t *o = json_object();

	json_object_set_new(o, "scenario", json_string("noop"));
	json_object_set_new(o, "run_id", json_integer((json_int_t)run_id(r)));
	json_object_set_new(o, "failure",
	                    out->failure[0] ? json_string(out->failure) : json_null());
	report_time(o, "test_start", start);
	report_time(o, "test_end", end);
	noop_window(r, pl, ap, rv, o);
	json_object_set_new(o, "agents", json_integer((json_int_t)pl->n));
	json_object_set_new(o, "one_at_a_time", json_boolean(pl->p.one_at_a_time));
	json_object_set_new(o, "apply", noop_phase_json(ap));
	json_object_set_new(o, "revert", noop_phase_json(rv));
	report_seconds(o, "mttr", false, 0, "a fault that changes nothing: no recovery");
	report_seconds(o, "recovery_time", false, 0,
	               "a fault that changes nothing: no recovery");
	json_object_set_new(o, "success_count", json_integer((json_int_t)ap->ok));
	json_object_set_new(o, "error_count", json_integer((json_int_t)(pl->n - ap->ok)));
	return o;
}

static int
noop_execute(struct run *r, void *plan, json_t **result)
{
	struct noop_plan   *pl = plan;
	struct noop_phase   ap = {0}, rv = {0};
	struct scen_outcome out   = {.state = CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED};
	int64_t             start = clk_now_us();

	if (!noop_phase(r, pl, true, &ap))
		scen_fail(&out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
		          "fault acked by %zu of %zu agents; first: %s", ap.ok, pl->n,
		          ap.first_error);
	else if (!run_sleep_until(r, clk_mono_us() + (int64_t)(pl->p.hold_s * 1e6)))
		scen_fail(&out, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED, "aborted: %s",
		          run_abort_reason(r));
	/* reverted on every path; a revert of a fault never applied is a no-op */
	if (!noop_phase(r, pl, false, &rv) &&
	    out.state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED)
		scen_fail(&out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
		          "revert acked by %zu of %zu agents; first: %s", rv.ok, pl->n,
		          rv.first_error);
	*result = noop_result(r, pl, &ap, &rv, start, clk_now_us(), &out);
	return out.state;
}

const struct scenario scenario_noop = {
    .cli         = "noop",
    .name        = "noop",
    .summary     = "apply and revert a fault that changes nothing on every agent (a "
                   "benchmark of the fan-out)",
    .params      = noop_params_table,
    .params_size = sizeof(struct noop_params),
    .shape       = {.window = "fault"},
    .plan        = noop_plan,
    .execute     = noop_execute,
    .plan_free   = noop_plan_free,
};
