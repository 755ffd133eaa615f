// SPDX-License-Identifier: MIT
/* chaosctl agents [--json]: the agents the controller knows, connected or lost. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/flags.h"
#include "common/wire.h"
#include "controller/chaosctl/chaosctl.h"

/* Enum names for this file's tables and JSON. */
#define AGENTS_TSTATE(v, buf)                                                            \
	wire_enum_name(&chaos__v1__target_state__descriptor, (v), buf, sizeof(buf))
#define AGENTS_ROLE(v, buf)                                                              \
	wire_enum_name(&chaos__v1__role__descriptor, (v), buf, sizeof(buf))
#define AGENTS_STATE(v, buf)                                                             \
	wire_enum_name(&chaos__v1__agent_state__descriptor, (v), buf, sizeof(buf))

/* "sidecar" or "node": how the agent acting for this entry runs. */
static const char *
agents_mode(const Chaos__V1__AgentInfo *a)
{
	return a->target != NULL ||
	        a->identity->mode == CHAOS__V1__AGENT_MODE__AGENT_MODE_NODE
	    ? "node"
	    : "sidecar";
}

static json_t *
agents_str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* Who serves the entry: for a pod behind a node agent, the target's view. */
static void
agents_serving_json(json_t *o, const Chaos__V1__AgentInfo *a)
{
	const Chaos__V1__TargetInfo *t = a->target;
	char                         st[32];

	json_object_set_new(o, "kind", json_string(t != NULL ? "target" : "agent"));
	json_object_set_new(o, "mode", json_string(agents_mode(a)));
	json_object_set_new(
	    o, "served_by",
	    agents_str_or_null(t != NULL ? t->served_by : a->identity->agent_id));
	json_object_set_new(o, "target_state",
	                    t != NULL ? json_string(AGENTS_TSTATE(t->state, st))
	                              : json_null());
	json_object_set_new(o, "target_reason", agents_str_or_null(t ? t->reason : NULL));
	json_object_set_new(o, "target_key", agents_str_or_null(t ? t->key : NULL));
	json_object_set_new(o, "netns", agents_str_or_null(t ? t->netns : NULL));
	json_object_set_new(o, "pod_uid", agents_str_or_null(t ? t->pod_uid : NULL));
	json_object_set_new(o, "source", agents_str_or_null(t ? t->source : NULL));
}

static json_t *
agents_one_json(const Chaos__V1__AgentInfo *a)
{
	const Chaos__V1__Identity *id = a->identity;
	json_t *o = json_object(), *ips = json_array(), *labels = json_object();
	json_t *faults = json_array();
	char    seen[CLK_ISO_LEN], role[32], state[32];

	for (size_t i = 0; i < id->n_ips; i++)
		json_array_append_new(ips, json_string(id->ips[i]));
	for (size_t i = 0; i < id->n_labels; i++)
		json_object_set_new(labels, id->labels[i]->key,
		                    json_string(id->labels[i]->value));
	for (size_t i = 0; i < a->n_active_faults; i++)
		json_array_append_new(faults, json_string(a->active_faults[i]));
	clk_iso8601(a->last_seen_ctl_us, seen, sizeof(seen));
	json_object_set_new(o, "id", json_string(id->agent_id));
	json_object_set_new(o, "pod", json_string(id->pod));
	json_object_set_new(o, "namespace", json_string(id->namespace_));
	json_object_set_new(o, "node", json_string(id->node));
	json_object_set_new(o, "role", json_string(AGENTS_ROLE(id->role, role)));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "ips", ips);
	json_object_set_new(o, "state", json_string(AGENTS_STATE(a->state, state)));
	json_object_set_new(o, "last_seen", json_string(seen));
	/* Unknown until the second exchange: null, never a made-up 0. */
	json_object_set_new(o, "clock_offset_ms",
	                    a->clock_known ? json_real(a->clock_offset_ms) : json_null());
	json_object_set_new(o, "clock_error_ms",
	                    a->clock_known ? json_real(a->clock_error_ms) : json_null());
	json_object_set_new(o, "lost_reason",
	                    a->lost_reason ? json_string(a->lost_reason) : json_null());
	json_object_set_new(o, "events_received",
	                    json_integer((json_int_t)a->events_received));
	json_object_set_new(o, "events_gaps", json_integer((json_int_t)a->events_gaps));
	json_object_set_new(o, "active_faults", faults);
	json_object_set_new(o, "pid", id->has_pid ? json_integer(id->pid) : json_null());
	agents_serving_json(o, a);
	return o;
}

static void
agents_print_json(const Chaos__V1__ControlResponse *r)
{
	json_t *arr = json_array();
	char   *s;

	for (size_t i = 0; i < r->n_agents; i++)
		json_array_append_new(arr, agents_one_json(r->agents[i]));
	s = json_dumps(arr, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	if (s != NULL)
		puts(s);
	free(s);
	json_decref(arr);
}

/* The STATE column: the agent's connection, or why a target is not used. */
static const char *
agents_state_cell(const Chaos__V1__AgentInfo *a, char *buf, size_t len)
{
	if (a->target != NULL &&
	    a->target->state != CHAOS__V1__TARGET_STATE__TARGET_STATE_RESOLVED)
		return wire_enum_name(&chaos__v1__target_state__descriptor,
		                      a->target->state, buf, len);
	return wire_enum_name(&chaos__v1__agent_state__descriptor, a->state, buf, len);
}

static void
agents_print_table(const Chaos__V1__ControlResponse *r)
{
	printf("%-28s %-12s %-8s %-10s %-15s %-9s %-10s %-12s %s\n", "ID", "ROLE", "MODE",
	       "STATE", "IP", "SEEN", "CLOCK", "NODE", "SERVED-BY");
	for (size_t i = 0; i < r->n_agents; i++) {
		const Chaos__V1__AgentInfo *a = r->agents[i];
		char                        age[32], clock[32], role[32], state[32];
		if (a->last_seen_ctl_us > 0)
			snprintf(age, sizeof(age), "%.1fs ago",
			         (double)(r->now_ctl_us - a->last_seen_ctl_us) / 1e6);
		else
			snprintf(age, sizeof(age), "never");
		if (a->clock_known)
			snprintf(clock, sizeof(clock), "%+.1f±%.1fms", a->clock_offset_ms,
			         a->clock_error_ms);
		else
			snprintf(clock, sizeof(clock), "unknown");
		printf("%-28s %-12s %-8s %-10s %-15s %-9s %-10s %-12s %s\n",
		       a->identity->agent_id, AGENTS_ROLE(a->identity->role, role),
		       agents_mode(a), agents_state_cell(a, state, sizeof(state)),
		       a->identity->n_ips ? a->identity->ips[0] : "-", age, clock,
		       a->identity->node[0] ? a->identity->node : "-",
		       a->target != NULL && a->target->served_by ? a->target->served_by
		                                                 : "-");
	}
}

static void
agents_print(const Chaos__V1__ControlResponse *r, bool json)
{
	if (json)
		agents_print_json(r);
	else
		agents_print_table(r);
}

int
cmd_agents(const struct ctl_target *t, int argc, char **argv)
{
	Chaos__V1__ControlRequest    req  = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__ListAgentsRequest list = CHAOS__V1__LIST_AGENTS_REQUEST__INIT;

	req.body_case   = CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS;
	req.list_agents = &list;
	return chaosctl_show(t, argc, argv, &req, agents_print);
}
