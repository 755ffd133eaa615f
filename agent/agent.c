// SPDX-License-Identifier: MIT
#include "agent/agent.h"

#include <stdlib.h>
#include <string.h>

#include "agent/conncheck.h"
#include "agent/fault.h"
#include "agent/load.h"
#include "agent/probe.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

/* Commands are re-sent until acked, so the same id can arrive several times;
 * remembering the last ones makes applying idempotent. */
#define AGENT_RECENT 256

struct agent_recent {
	uint64_t  command_id;
	int       status;
	chaos_why why; /* "" when it went well */
};

struct agent {
	struct events       *ev;
	struct session      *session;
	struct fault_engine *faults;
	struct probe_set    *probes;
	struct load_set     *loads;
	struct agent_recent  recent[AGENT_RECENT];
	size_t               next_recent;
};

chaos_err
agent_new(struct events *ev, const char *controller_host, struct agent **out)
{
	struct agent *a = calloc(1, sizeof(*a));
	chaos_err     rv;

	if (a == NULL)
		return CHAOS_ENOMEM;
	a->ev = ev;
	if ((rv = fault_engine_new(ev, controller_host, &a->faults)) != CHAOS_OK ||
	    (rv = probe_set_new(ev, &a->probes)) != CHAOS_OK ||
	    (rv = load_set_new(ev, &a->loads)) != CHAOS_OK) {
		fault_engine_free(a->faults);
		probe_set_free(a->probes);
		free(a);
		return rv;
	}
	*out = a;
	return CHAOS_OK;
}

void
agent_set_session(struct agent *a, struct session *s)
{
	a->session = s;
}

void
agent_free(struct agent *a)
{
	if (a == NULL)
		return;
	fault_engine_free(a->faults);
	probe_set_free(a->probes);
	load_set_free(a->loads);
	conncheck_drain();
	free(a);
}

static struct agent_recent *
agent_find_recent(struct agent *a, uint64_t id)
{
	for (size_t i = 0; i < AGENT_RECENT; i++)
		if (a->recent[i].command_id == id)
			return &a->recent[i];
	return NULL;
}

static chaos_err
agent_dispatch(struct agent *a, const Chaos__V1__Command *cmd, chaos_why *why)
{
	int64_t offset = a->session != NULL ? session_clock_offset_us(a->session) : 0;

	switch (cmd->body_case) {
	case CHAOS__V1__COMMAND__BODY_APPLY_FAULT:
		return fault_apply(a->faults, cmd->apply_fault, offset, why);
	case CHAOS__V1__COMMAND__BODY_REVERT_FAULT:
		fault_revert(a->faults, cmd->revert_fault);
		return CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_REVERT_ALL:
		fault_revert_all(a->faults, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED,
		                 "revert-all on command");
		probe_stop_all(a->probes);
		load_stop_all(a->loads);
		return CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_START_PROBE:
		return probe_start(a->probes, cmd->start_probe, why);
	case CHAOS__V1__COMMAND__BODY_STOP_PROBE:
		/* stopping a probe that is already gone is done */
		probe_stop(a->probes, cmd->stop_probe);
		return CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_START_LOAD:
		return load_start(a->loads, cmd->start_load, why);
	case CHAOS__V1__COMMAND__BODY_STOP_LOAD:
		/* stopping a load that already ended (or never ran here) is done */
		load_stop(a->loads, cmd->stop_load);
		return CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_CHECK_CONN:
		return conncheck_start(a->ev, cmd->check_conn, why);
	default:
		return chaos_fail(why, CHAOS_EUNSUPPORTED,
		                  "command kind %d not supported by this agent",
		                  (int)cmd->body_case);
	}
}

static void
agent_apply(struct agent *a, const Chaos__V1__Command *cmd, struct agent_recent *r)
{
	chaos_err rv = agent_dispatch(a, cmd, &r->why);

	r->status = rv == CHAOS_OK     ? CHAOS__V1__STATUS__STATUS_OK
	    : rv == CHAOS_EUNSUPPORTED ? CHAOS__V1__STATUS__STATUS_UNSUPPORTED
	                               : CHAOS__V1__STATUS__STATUS_FAILED;
	if (rv == CHAOS_OK)
		r->why.text[0] = '\0';
	else if (r->why.text[0] == '\0') /* a bare code: say at least that */
		chaos_fail(&r->why, rv, "%s", chaos_strerror(rv));
}

static void
agent_command(void *arg, const Chaos__V1__Command *cmd, Chaos__V1__Ack *ack)
{
	struct agent        *a = arg;
	struct agent_recent *r = agent_find_recent(a, cmd->command_id);

	if (r == NULL) {
		r              = &a->recent[a->next_recent];
		a->next_recent = (a->next_recent + 1) % AGENT_RECENT;
		memset(r, 0, sizeof(*r));
		r->command_id = cmd->command_id;
		agent_apply(a, cmd, r);
	}
	ack->status = r->status;
	if (r->why.text[0] != '\0')
		ack->error = r->why.text;
	ack->has_applied_agent_us = true;
	ack->applied_agent_us     = clk_now_us();
}

static void
agent_leases(void *arg, int64_t now_mono_us, uint64_t instance, char *const *live,
             size_t n_live)
{
	struct agent *a = arg;

	fault_leases(a->faults, now_mono_us, instance, live, n_live);
}

static int64_t
agent_tick(void *arg, int64_t now_mono_us)
{
	struct agent *a = arg;

	return fault_tick(a->faults, now_mono_us);
}

static size_t
agent_active(void *arg, const char **ids, size_t max)
{
	struct agent *a = arg;

	return fault_active(a->faults, ids, max);
}

void
agent_session_handler(struct agent *a, struct session_handler *h)
{
	h->command = agent_command;
	h->tick    = agent_tick;
	h->leases  = agent_leases;
	h->active  = agent_active;
	h->arg     = a;
}
