// SPDX-License-Identifier: MIT
#include "controller/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"

#define REG_MAX_PENDING 64
#define REG_MAX_FAULTS 64

struct reg_command {
	uint64_t id;
	uint8_t *buf; /* packed Command */
	size_t   len;
};

struct reg_agent {
	char                 id[LIMIT_ID_LEN + 1];
	Chaos__V1__Identity *identity; /* unpacked copy, owned */
	bool                 connected;
	char                 lost_reason[128];
	int64_t              last_seen_ctl_us;
	int64_t              last_seen_mono_us;
	uint32_t             pipe_id;
	struct clk_filter    clk;
	uint64_t             events_received;
	uint64_t             events_gaps;
	uint64_t             last_event_seq;
	char                *faults[REG_MAX_FAULTS];
	size_t               n_faults;
	struct reg_command   pending[REG_MAX_PENDING];
	size_t               n_pending;
};

struct registry {
	nng_mtx          *mtx;
	uint32_t          hb_ms;
	size_t            max_agents;
	struct reg_agent *agents;
	size_t            n_agents;
	registry_kick_fn  kick;
	void             *kick_arg;
	registry_ack_fn   ack_sink;
	void             *ack_arg;
};

static struct reg_agent *
reg_find(struct registry *r, const char *id)
{
	for (size_t i = 0; i < r->n_agents; i++)
		if (strcmp(r->agents[i].id, id) == 0)
			return &r->agents[i];
	return NULL;
}

chaos_err
registry_new(uint32_t hb_ms, size_t max_agents, struct registry **out)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->agents = calloc(max_agents, sizeof(*r->agents))) == NULL ||
	    nng_mtx_alloc(&r->mtx) != 0) {
		if (r != NULL)
			free(r->agents);
		free(r);
		return CHAOS_ENOMEM;
	}
	r->hb_ms      = hb_ms;
	r->max_agents = max_agents;
	*out          = r;
	return CHAOS_OK;
}

static void
reg_agent_fini(struct reg_agent *a)
{
	if (a->identity != NULL)
		chaos__v1__identity__free_unpacked(a->identity, NULL);
	for (size_t i = 0; i < a->n_faults; i++)
		free(a->faults[i]);
	for (size_t i = 0; i < a->n_pending; i++)
		free(a->pending[i].buf);
}

void
registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_agents; i++)
		reg_agent_fini(&r->agents[i]);
	nng_mtx_free(r->mtx);
	free(r->agents);
	free(r);
}

uint32_t
registry_heartbeat_ms(const struct registry *r)
{
	return r->hb_ms;
}

void
registry_set_ack_sink(struct registry *r, registry_ack_fn fn, void *arg)
{
	nng_mtx_lock(r->mtx);
	r->ack_sink = fn;
	r->ack_arg  = arg;
	nng_mtx_unlock(r->mtx);
}

bool
registry_clock(struct registry *r, const char *agent_id, int64_t *offset_us,
               int64_t *error_us)
{
	struct reg_agent *a;
	bool              known = false;

	nng_mtx_lock(r->mtx);
	if ((a = reg_find(r, agent_id)) != NULL)
		known = clk_filter_best(&a->clk, offset_us, error_us);
	nng_mtx_unlock(r->mtx);
	return known;
}

bool
registry_agent_status(struct registry *r, const char *agent_id, bool *connected,
                      int64_t *incarnation)
{
	struct reg_agent *a;

	nng_mtx_lock(r->mtx);
	if ((a = reg_find(r, agent_id)) != NULL) {
		*connected   = a->connected;
		*incarnation = a->identity->incarnation;
	}
	nng_mtx_unlock(r->mtx);
	return a != NULL;
}

void
registry_set_kick(struct registry *r, registry_kick_fn fn, void *arg)
{
	r->kick     = fn;
	r->kick_arg = arg;
}

/* A new incarnation means the agent process restarted: whatever it had in
 * force died with it (owner tables), and its event sequence starts over. */
static void
reg_set_identity(struct reg_agent *a, const Chaos__V1__Identity *id)
{
	Chaos__V1__Identity *copy = wire_copy(&id->base);

	if (copy == NULL)
		return;
	if (a->identity != NULL && a->identity->incarnation != id->incarnation) {
		log_info("agent %s restarted (incarnation %lld -> %lld)", a->id,
		         (long long)a->identity->incarnation, (long long)id->incarnation);
		clk_filter_init(&a->clk);
		a->last_event_seq = 0;
	}
	if (a->identity != NULL)
		chaos__v1__identity__free_unpacked(a->identity, NULL);
	a->identity = copy;
}

static struct reg_agent *
reg_add(struct registry *r, const Chaos__V1__Identity *id)
{
	struct reg_agent *a;

	if (r->n_agents == r->max_agents)
		return NULL;
	a = &r->agents[r->n_agents];
	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "%s", id->agent_id);
	clk_filter_init(&a->clk);
	reg_set_identity(a, id);
	if (a->identity == NULL)
		return NULL;
	r->n_agents++;
	log_info("agent %s registered (pod %s, namespace %s)", a->id, id->pod,
	         id->namespace_);
	return a;
}

static void
reg_take_acks(struct reg_agent *a, const Chaos__V1__Poll *p)
{
	for (size_t i = 0; i < p->n_acks; i++) {
		for (size_t k = 0; k < a->n_pending; k++) {
			if (a->pending[k].id != p->acks[i]->command_id)
				continue;
			free(a->pending[k].buf);
			a->pending[k] = a->pending[--a->n_pending];
			break;
		}
	}
}

static void
reg_take_faults(struct reg_agent *a, const Chaos__V1__Poll *p)
{
	for (size_t i = 0; i < a->n_faults; i++)
		free(a->faults[i]);
	a->n_faults = 0;
	for (size_t i = 0; i < p->n_active_faults && i < REG_MAX_FAULTS; i++)
		if ((a->faults[a->n_faults] = strdup(p->active_faults[i])) != NULL)
			a->n_faults++;
}

static void
reg_take_clock(struct reg_agent *a, const Chaos__V1__Poll *p)
{
	struct clk_exchange x;

	if (!p->has_prev_t1_agent_us || !p->has_prev_t2_ctl_us ||
	    !p->has_prev_t3_ctl_us || !p->has_prev_t4_agent_us)
		return;
	x = (struct clk_exchange) {p->prev_t1_agent_us, p->prev_t2_ctl_us,
	                           p->prev_t3_ctl_us, p->prev_t4_agent_us};
	clk_filter_add(&a->clk, &x);
}

chaos_err
registry_on_poll(struct registry *r, const Chaos__V1__Poll *p, uint32_t pipe_id,
                 int64_t t2_ctl_us, bool *identity_needed)
{
	struct reg_agent *a;
	int               rv       = CHAOS_OK;
	int64_t           off      = 0, err;
	registry_ack_fn   sink     = NULL;
	void             *sink_arg = NULL;

	*identity_needed = false;
	nng_mtx_lock(r->mtx);
	a = reg_find(r, p->agent_id);
	if (a == NULL && p->identity == NULL) {
		*identity_needed = true;
		goto out;
	}
	if (a == NULL && (a = reg_add(r, p->identity)) == NULL) {
		rv = CHAOS_EBUSY;
		goto out;
	}
	if (p->identity != NULL && a->identity != NULL)
		reg_set_identity(a, p->identity);
	if (!a->connected)
		log_info("agent %s connected", a->id);
	a->connected         = true;
	a->lost_reason[0]    = '\0';
	a->last_seen_ctl_us  = t2_ctl_us;
	a->last_seen_mono_us = clk_mono_us();
	a->pipe_id           = pipe_id;
	reg_take_acks(a, p);
	reg_take_faults(a, p);
	reg_take_clock(a, p);
	clk_filter_best(&a->clk, &off, &err);
	sink     = r->ack_sink;
	sink_arg = r->ack_arg;
out:
	nng_mtx_unlock(r->mtx);
	for (size_t i = 0; sink != NULL && i < p->n_acks; i++)
		sink(sink_arg, p->agent_id, p->acks[i], off, t2_ctl_us);
	return rv;
}

bool
registry_has_commands(struct registry *r, const char *agent_id)
{
	struct reg_agent *a;
	bool              has;

	nng_mtx_lock(r->mtx);
	a   = reg_find(r, agent_id);
	has = a != NULL && a->n_pending > 0;
	nng_mtx_unlock(r->mtx);
	return has;
}

/* Unpacks the agent's pending commands into cmds[] (caller frees each). */
static size_t
reg_pending_commands(struct registry *r, const char *agent_id, Chaos__V1__Command **cmds)
{
	struct reg_agent *a;
	size_t            n = 0;

	nng_mtx_lock(r->mtx);
	if ((a = reg_find(r, agent_id)) != NULL)
		for (size_t i = 0; i < a->n_pending; i++)
			if ((cmds[n] = chaos__v1__command__unpack(
			         NULL, a->pending[i].len, a->pending[i].buf)) != NULL)
				n++;
	nng_mtx_unlock(r->mtx);
	return n;
}

chaos_err
registry_build_reply(struct registry *r, const char *agent_id, uint64_t poll_seq,
                     int64_t t2_ctl_us, bool identity_needed, nng_msg **out)
{
	Chaos__V1__Reply    reply = CHAOS__V1__REPLY__INIT;
	Chaos__V1__Command *cmds[REG_MAX_PENDING];
	size_t              n = reg_pending_commands(r, agent_id, cmds);
	int                 rv;

	reply.protocol_version    = WIRE_VERSION;
	reply.poll_seq            = poll_seq;
	reply.t2_ctl_us           = t2_ctl_us;
	reply.heartbeat_ms        = r->hb_ms;
	reply.commands            = cmds;
	reply.n_commands          = n;
	reply.has_identity_needed = identity_needed;
	reply.identity_needed     = identity_needed;
	reply.t3_ctl_us           = clk_now_us();
	rv                        = wire_pack(&reply.base, WIRE_MAX_SESSION, out);
	for (size_t i = 0; i < n; i++)
		chaos__v1__command__free_unpacked(cmds[i], NULL);
	return rv;
}

chaos_err
registry_enqueue(struct registry *r, const char *agent_id, const Chaos__V1__Command *cmd)
{
	struct reg_agent *a;
	int               rv = CHAOS_OK;

	nng_mtx_lock(r->mtx);
	if ((a = reg_find(r, agent_id)) == NULL) {
		rv = CHAOS_ENOENT;
	} else if (a->n_pending == REG_MAX_PENDING) {
		rv = CHAOS_EBUSY;
	} else {
		struct reg_command *c = &a->pending[a->n_pending];
		c->len                = chaos__v1__command__get_packed_size(cmd);
		if ((c->buf = malloc(c->len ? c->len : 1)) == NULL) {
			rv = CHAOS_ENOMEM;
		} else {
			chaos__v1__command__pack(cmd, c->buf);
			c->id = cmd->command_id;
			a->n_pending++;
		}
	}
	nng_mtx_unlock(r->mtx);
	if (rv == CHAOS_OK && r->kick != NULL)
		r->kick(r->kick_arg, agent_id);
	return rv;
}

static void
reg_mark_lost(struct reg_agent *a, const char *reason)
{
	if (!a->connected)
		return;
	a->connected = false;
	snprintf(a->lost_reason, sizeof(a->lost_reason), "%s", reason);
	log_warn("agent %s lost: %s", a->id, reason);
}

void
registry_pipe_closed(struct registry *r, uint32_t pipe_id)
{
	nng_mtx_lock(r->mtx);
	for (size_t i = 0; i < r->n_agents; i++)
		if (r->agents[i].pipe_id == pipe_id)
			reg_mark_lost(&r->agents[i], "connection closed");
	nng_mtx_unlock(r->mtx);
}

void
registry_sweep(struct registry *r, int64_t now_mono_us)
{
	int64_t limit = (int64_t)r->hb_ms * 3 * 1000;

	nng_mtx_lock(r->mtx);
	for (size_t i = 0; i < r->n_agents; i++) {
		struct reg_agent *a = &r->agents[i];
		char              why[96];
		if (!a->connected || now_mono_us - a->last_seen_mono_us <= limit)
			continue;
		snprintf(why, sizeof(why), "no poll for %lld ms (3 heartbeats = %u ms)",
		         (long long)(now_mono_us - a->last_seen_mono_us) / 1000,
		         r->hb_ms * 3);
		reg_mark_lost(a, why);
	}
	nng_mtx_unlock(r->mtx);
}

static void
reg_count_event(struct reg_agent *a, const Chaos__V1__Event *e)
{
	a->events_received++;
	if (a->last_event_seq != 0 && e->seq > a->last_event_seq + 1)
		a->events_gaps += e->seq - a->last_event_seq - 1;
	/* A lower sequence is a restarted agent whose Hello was lost. */
	a->last_event_seq = e->seq;
}

chaos_err
registry_on_event(struct registry *r, const Chaos__V1__Event *e, int64_t t_ctl_us)
{
	struct reg_agent *a;
	int               rv = CHAOS_OK;

	(void)t_ctl_us;
	nng_mtx_lock(r->mtx);
	a = reg_find(r, e->agent_id);
	if (e->body_case == CHAOS__V1__EVENT__BODY_HELLO) {
		if (a == NULL && (a = reg_add(r, e->hello->identity)) != NULL)
			snprintf(a->lost_reason, sizeof(a->lost_reason),
			         "said hello on the events channel; no session poll yet");
		else if (a != NULL)
			reg_set_identity(a, e->hello->identity);
	}
	if (a == NULL)
		rv = e->body_case == CHAOS__V1__EVENT__BODY_HELLO ? CHAOS_EBUSY
		                                                  : CHAOS_ENOENT;
	else
		reg_count_event(a, e);
	nng_mtx_unlock(r->mtx);
	return rv;
}

static Chaos__V1__AgentInfo *
reg_info(const struct reg_agent *a)
{
	Chaos__V1__AgentInfo *info = calloc(1, sizeof(*info));
	int64_t               off, err;

	if (info == NULL)
		return NULL;
	chaos__v1__agent_info__init(info);
	if ((info->identity = wire_copy(&a->identity->base)) == NULL) {
		free(info);
		return NULL;
	}
	info->state = a->connected ? CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED
	                           : CHAOS__V1__AGENT_STATE__AGENT_STATE_LOST;
	info->last_seen_ctl_us = a->last_seen_ctl_us;
	info->has_clock_known  = true;
	info->clock_known      = clk_filter_best(&a->clk, &off, &err);
	if (info->clock_known) {
		info->has_clock_offset_ms = info->has_clock_error_ms = true;
		info->clock_offset_ms = (double)off / 1000.0;
		info->clock_error_ms  = (double)err / 1000.0;
	}
	if (!a->connected)
		info->lost_reason = strdup(a->lost_reason);
	info->has_events_received = info->has_events_gaps = true;
	info->events_received                             = a->events_received;
	info->events_gaps                                 = a->events_gaps;
	if (a->n_faults > 0 &&
	    (info->active_faults = calloc(a->n_faults, sizeof(char *))) != NULL)
		for (size_t i = 0; i < a->n_faults; i++)
			if ((info->active_faults[info->n_active_faults] =
			         strdup(a->faults[i])))
				info->n_active_faults++;
	return info;
}

chaos_err
registry_snapshot(struct registry *r, const char *ns, Chaos__V1__AgentInfo ***out,
                  size_t *n)
{
	Chaos__V1__AgentInfo **all;
	size_t                 count = 0;

	nng_mtx_lock(r->mtx);
	all = calloc(r->n_agents ? r->n_agents : 1, sizeof(*all));
	for (size_t i = 0; all != NULL && i < r->n_agents; i++) {
		const struct reg_agent *a = &r->agents[i];
		if (ns != NULL && *ns != '\0' && strcmp(a->identity->namespace_, ns) != 0)
			continue;
		if ((all[count] = reg_info(a)) != NULL)
			count++;
	}
	nng_mtx_unlock(r->mtx);
	if (all == NULL)
		return CHAOS_ENOMEM;
	*out = all;
	*n   = count;
	return CHAOS_OK;
}

void
registry_snapshot_free(Chaos__V1__AgentInfo **agents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		chaos__v1__identity__free_unpacked(agents[i]->identity, NULL);
		for (size_t k = 0; k < agents[i]->n_active_faults; k++)
			free(agents[i]->active_faults[k]);
		free(agents[i]->active_faults);
		free(agents[i]->lost_reason);
		free(agents[i]);
	}
	free(agents);
}
