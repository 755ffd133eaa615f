// SPDX-License-Identifier: MIT
#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

/* Commands are re-sent until acked, so the same id can arrive several times;
 * remembering the last ones makes applying idempotent. */
#define AGENT_RECENT 256

struct agent_recent {
	uint64_t command_id;
	int      status;
	char     error[160];
};

struct agent {
	struct events      *ev;
	struct agent_recent recent[AGENT_RECENT];
	size_t              next_recent;
};

int
agent_new(struct events *ev, struct agent **out)
{
	struct agent *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return CHAOS_ENOMEM;
	a->ev = ev;
	*out  = a;
	return CHAOS_OK;
}

void
agent_free(struct agent *a)
{
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

static void
agent_apply(struct agent *a, const Chaos__V1__Command *cmd, struct agent_recent *r)
{
	(void) a;
	r->status = CHAOS__V1__STATUS__STATUS_UNSUPPORTED;
	snprintf(r->error, sizeof(r->error), "command kind %d not supported by this agent",
	         (int) cmd->body_case);
}

static void
agent_command(void *arg, const Chaos__V1__Command *cmd, Chaos__V1__Ack *ack)
{
	struct agent        *a = arg;
	struct agent_recent *r = agent_find_recent(a, cmd->command_id);

	if (r == NULL) {
		r = &a->recent[a->next_recent];
		a->next_recent = (a->next_recent + 1) % AGENT_RECENT;
		memset(r, 0, sizeof(*r));
		r->command_id = cmd->command_id;
		agent_apply(a, cmd, r);
	}
	ack->status = r->status;
	if (r->error[0] != '\0')
		ack->error = r->error;
	ack->has_applied_agent_us = true;
	ack->applied_agent_us     = clk_now_us();
}

static int64_t
agent_tick(void *arg, int64_t now_mono_us, bool renewed)
{
	(void) arg;
	(void) now_mono_us;
	(void) renewed;
	return 0;
}

static size_t
agent_active(void *arg, const char **ids, size_t max)
{
	(void) arg;
	(void) ids;
	(void) max;
	return 0;
}

void
agent_session_handler(struct agent *a, struct session_handler *h)
{
	h->command = agent_command;
	h->tick    = agent_tick;
	h->active  = agent_active;
	h->arg     = a;
}
