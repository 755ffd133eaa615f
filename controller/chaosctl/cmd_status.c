// SPDX-License-Identifier: MIT
/*
 * chaosctl status [--json]: what the controller is doing now, from any
 * terminal that reaches it: the run in progress (id, scenario, state,
 * started, elapsed, last progress line), every fault on every target (pod,
 * fault id, kind, whether it is in force, when its lease ends unless
 * renewed, its hard end) and the agents lost (pod, since, reason).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/wire.h"
#include "controller/chaosctl/chaosctl.h"

/* "in_force": the agent confirmed it; "applying": sent, not confirmed yet;
 * "reverting": in force on the agent, no longer wanted by the controller. */
static const char *
status_fault_state(const Chaos__V1__LiveFault *f)
{
	if (f->wanted)
		return f->in_force ? "in_force" : "applying";
	return "reverting";
}

/* The run a fault belongs to, from its id ("r12-partition-chain-0"); 0 for
 * one whose id does not say. */
uint64_t
chaosctl_fault_run(const char *fault_id)
{
	char              *end;
	unsigned long long id;

	if (fault_id[0] != 'r' || fault_id[1] < '0' || fault_id[1] > '9')
		return 0;
	id = strtoull(fault_id + 1, &end, 10);
	return *end == '-' ? (uint64_t)id : 0;
}

json_t *
chaosctl_time_json(bool has, int64_t us)
{
	char buf[CLK_ISO_LEN];

	if (!has || us <= 0)
		return json_null();
	clk_iso8601(us, buf, sizeof(buf));
	return json_string(buf);
}

/* Seconds from now to us (negative: past); null when unknown. */
static json_t *
status_secs(bool has, int64_t us, int64_t now)
{
	return has && us > 0 ? json_real((double)(us - now) / 1e6) : json_null();
}

static json_t *
status_run_json(const Chaos__V1__RunInfo *ri, int64_t now)
{
	char state[32];

	return json_pack(
	    "{s:I,s:s,s:s,s:o,s:o,s:s?}", "id", (json_int_t)ri->run_id, "scenario",
	    ri->scenario, "state",
	    wire_enum_name(&chaos__v1__run_state__descriptor, ri->state, state,
	                   sizeof(state)),
	    "started", chaosctl_time_json(ri->has_started_ctl_us, ri->started_ctl_us),
	    "elapsed_s",
	    ri->has_started_ctl_us ? json_real((double)(now - ri->started_ctl_us) / 1e6)
	                           : json_null(),
	    "progress", ri->last_progress);
}

static json_t *
status_fault_json(const Chaos__V1__LiveFault *f, int64_t now)
{
	uint64_t run = chaosctl_fault_run(f->fault_id);
	json_t  *o =
	    json_pack("{s:s,s:s?,s:s,s:s,s:o,s:s?,s:s?,s:s}", "pod", f->pod, "namespace",
	              f->namespace_, "agent_id", f->agent_id, "fault_id", f->fault_id,
	              "run_id", run ? json_integer((json_int_t)run) : json_null(), "kind",
	              f->kind, "target", f->target, "state", status_fault_state(f));

	json_object_set_new(o, "lease_ms",
	                    f->has_lease_ms ? json_integer(f->lease_ms) : json_null());
	json_object_set_new(
	    o, "lease_expires",
	    chaosctl_time_json(f->has_lease_end_ctl_us, f->lease_end_ctl_us));
	json_object_set_new(
	    o, "lease_left_s",
	    status_secs(f->has_lease_end_ctl_us, f->lease_end_ctl_us, now));
	json_object_set_new(
	    o, "hard_end",
	    chaosctl_time_json(f->has_hard_end_ctl_us, f->hard_end_ctl_us));
	json_object_set_new(o, "hard_end_in_s",
	                    status_secs(f->has_hard_end_ctl_us, f->hard_end_ctl_us, now));
	return o;
}

static json_t *
status_lost_json(const Chaos__V1__AgentInfo *a)
{
	const Chaos__V1__Identity *id = a->identity;
	int64_t                    since =
            a->has_lost_since_ctl_us ? a->lost_since_ctl_us : a->last_seen_ctl_us;

	return json_pack("{s:s,s:s,s:s,s:o,s:s?}", "pod", id->pod, "namespace",
	                 id->namespace_, "agent_id", id->agent_id, "since",
	                 chaosctl_time_json(true, since), "reason", a->lost_reason);
}

static void
status_print_json(const Chaos__V1__ControlResponse *r)
{
	json_t *runs = json_array(), *faults = json_array(), *lost = json_array(), *doc;
	char   *s;

	for (size_t i = 0; i < r->n_runs; i++)
		json_array_append_new(runs, status_run_json(r->runs[i], r->now_ctl_us));
	for (size_t i = 0; i < r->n_faults; i++)
		json_array_append_new(faults,
		                      status_fault_json(r->faults[i], r->now_ctl_us));
	for (size_t i = 0; i < r->n_agents; i++)
		json_array_append_new(lost, status_lost_json(r->agents[i]));
	doc =
	    json_pack("{s:o,s:o,s:o,s:o}", "now", chaosctl_time_json(true, r->now_ctl_us),
	              "runs", runs, "faults", faults, "agents_lost", lost);
	if ((s = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(6))) != NULL)
		puts(s);
	free(s);
	json_decref(doc);
}

/* "in 2.9s", "1.2s ago" or "-" into buf. */
static const char *
status_rel(bool has, int64_t us, int64_t now, char *buf, size_t len)
{
	double s = (double)(us - now) / 1e6;

	if (!has || us <= 0)
		snprintf(buf, len, "-");
	else if (s >= 0)
		snprintf(buf, len, "in %.1fs", s);
	else
		snprintf(buf, len, "%.1fs ago", -s);
	return buf;
}

static void
status_print_runs(const Chaos__V1__ControlResponse *r)
{
	char started[CLK_ISO_LEN], state[32];

	if (r->n_runs == 0) {
		puts("no run in progress");
		return;
	}
	printf("%-6s %-20s %-9s %-25s %8s  %s\n", "RUN", "SCENARIO", "STATE", "STARTED",
	       "ELAPSED", "PROGRESS");
	for (size_t i = 0; i < r->n_runs; i++) {
		const Chaos__V1__RunInfo *ri = r->runs[i];
		clk_iso8601(ri->started_ctl_us, started, sizeof(started));
		printf("%-6llu %-20s %-9s %-25s %7.1fs  %s\n",
		       (unsigned long long)ri->run_id, ri->scenario,
		       wire_enum_name(&chaos__v1__run_state__descriptor, ri->state, state,
		                      sizeof(state)),
		       ri->has_started_ctl_us ? started : "-",
		       (double)(r->now_ctl_us - ri->started_ctl_us) / 1e6,
		       ri->last_progress ? ri->last_progress : "");
	}
}

static void
status_print_faults(const Chaos__V1__ControlResponse *r)
{
	char lease[32], hard[32];

	if (r->n_faults == 0) {
		puts("no fault in force");
		return;
	}
	printf("%-20s %-32s %-12s %-10s %-12s %s\n", "POD", "FAULT", "KIND", "STATE",
	       "LEASE ENDS", "HARD END");
	for (size_t i = 0; i < r->n_faults; i++) {
		const Chaos__V1__LiveFault *f = r->faults[i];
		printf("%-20s %-32s %-12s %-10s %-12s %s\n", f->pod, f->fault_id,
		       f->kind ? f->kind : "-", status_fault_state(f),
		       status_rel(f->has_lease_end_ctl_us, f->lease_end_ctl_us,
		                  r->now_ctl_us, lease, sizeof(lease)),
		       status_rel(f->has_hard_end_ctl_us, f->hard_end_ctl_us,
		                  r->now_ctl_us, hard, sizeof(hard)));
	}
}

static void
status_print_lost(const Chaos__V1__ControlResponse *r)
{
	char since[32];

	if (r->n_agents == 0) {
		puts("no agent lost");
		return;
	}
	printf("%-20s %-12s %s\n", "AGENT LOST", "SINCE", "REASON");
	for (size_t i = 0; i < r->n_agents; i++) {
		const Chaos__V1__AgentInfo *a = r->agents[i];
		printf("%-20s %-12s %s\n", a->identity->pod,
		       status_rel(true,
		                  a->has_lost_since_ctl_us ? a->lost_since_ctl_us
		                                           : a->last_seen_ctl_us,
		                  r->now_ctl_us, since, sizeof(since)),
		       a->lost_reason ? a->lost_reason : "");
	}
}

static void
status_print(const Chaos__V1__ControlResponse *r, bool json)
{
	if (json) {
		status_print_json(r);
		return;
	}
	status_print_runs(r);
	putchar('\n');
	status_print_faults(r);
	putchar('\n');
	status_print_lost(r);
}

int
cmd_status(const struct ctl_target *t, int argc, char **argv)
{
	Chaos__V1__ControlRequest req    = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__StatusRequest  status = CHAOS__V1__STATUS_REQUEST__INIT;

	req.body_case = CHAOS__V1__CONTROL_REQUEST__BODY_STATUS;
	req.status    = &status;
	return chaosctl_show(t, argc, argv, &req, status_print);
}
