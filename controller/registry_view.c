// SPDX-License-Identifier: MIT
/* The registry's listings for the control API: agents (and the pods node
 * agents serve), lost agents, live faults. */
#include "controller/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/wire.h"
#include "controller/registry_int.h"
#include "controller/target_table.h"

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
	if (!a->connected && a->lost_ctl_us > 0) {
		info->has_lost_since_ctl_us = true;
		info->lost_since_ctl_us     = a->lost_ctl_us;
	}
	info->has_events_received = info->has_events_gaps = true;
	info->events_received                             = a->events_received;
	info->events_gaps                                 = a->events_gaps;
	if (a->active.n > 0 &&
	    (info->active_faults = calloc(a->active.n, sizeof(char *))) != NULL)
		for (size_t i = 0; i < a->active.n; i++)
			if ((info->active_faults[info->n_active_faults] =
			         strdup(a->active.id[i])))
				info->n_active_faults++;
	return info;
}

static int
reg_info_cmp(const void *x, const void *y)
{
	const Chaos__V1__AgentInfo *a = *(Chaos__V1__AgentInfo *const *)x;
	const Chaos__V1__AgentInfo *b = *(Chaos__V1__AgentInfo *const *)y;

	return strcmp(a->identity->agent_id, b->identity->agent_id);
}

/* For the listing of targets: their serving agent's state (mtx held). */
static void
reg_agent_state(void *arg, const char *agent_id, struct ttab_agent_state *out)
{
	struct registry  *r = arg;
	struct reg_agent *a = reg_find(r, agent_id);
	int64_t           off, err;

	memset(out, 0, sizeof(*out));
	if (a == NULL)
		return;
	out->known            = true;
	out->connected        = a->connected;
	out->last_seen_ctl_us = a->last_seen_ctl_us;
	out->clock_known      = clk_filter_best(&a->clk, &off, &err);
	out->clock_offset_ms  = (double)off / 1000.0;
	out->clock_error_ms   = (double)err / 1000.0;
	snprintf(out->lost_reason, sizeof(out->lost_reason), "%s", a->lost_reason);
}

/* A connected agent that is not a node agent and names pod ns/pod as its
 * own: a sidecar, which wins over a node agent's target (mtx held). */
static const char *
reg_sidecar_for(void *arg, const char *ns, const char *pod)
{
	struct registry *r = arg;

	REG_FOREACH(r, a)
	if (a->connected && a->identity->mode != CHAOS__V1__AGENT_MODE__AGENT_MODE_NODE &&
	    strcmp(a->identity->namespace_, ns) == 0 &&
	    strcmp(a->identity->pod, pod) == 0)
		return a->id;
	return NULL;
}

static bool
reg_in_ns(const struct reg_agent *a, const char *ns)
{
	return ns == NULL || *ns == '\0' || strcmp(a->identity->namespace_, ns) == 0;
}

static int
reg_id_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

chaos_err
registry_connected_ids(struct registry *r, const char *ns, char ***out, size_t *n)
{
	char **ids;
	size_t count = 0;

	nng_mtx_lock(r->mtx);
	ids = calloc(r->n_agents ? r->n_agents : 1, sizeof(*ids));
	REG_FOREACH(r, a)
	if (ids != NULL && a->connected && reg_in_ns(a, ns) &&
	    (ids[count] = strdup(a->id)) != NULL)
		count++;
	nng_mtx_unlock(r->mtx);
	if (ids == NULL)
		return CHAOS_ENOMEM;
	qsort(ids, count, sizeof(*ids), reg_id_cmp);
	*out = ids;
	*n   = count;
	return CHAOS_OK;
}

void
registry_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; ids != NULL && i < n; i++)
		free(ids[i]);
	free(ids);
}

static chaos_err
reg_snapshot(struct registry *r, const char *ns, bool lost_only,
             Chaos__V1__AgentInfo ***out, size_t *n)
{
	Chaos__V1__AgentInfo **all;
	size_t                 count = 0;

	nng_mtx_lock(r->mtx);
	all = calloc(r->n_agents ? r->n_agents : 1, sizeof(*all));
	REG_FOREACH(r, a)
	{
		if (all == NULL || (lost_only && a->connected) || !reg_in_ns(a, ns))
			continue;
		if ((all[count] = reg_info(a)) != NULL)
			count++;
	}
	/* the pods node agents serve, listed like agents (a lost-only listing
	 * is of agents) */
	if (all != NULL && !lost_only)
		ttab_snapshot(r->targets, ns, reg_agent_state, reg_sidecar_for, r, &all,
		              &count);
	nng_mtx_unlock(r->mtx);
	if (all == NULL)
		return CHAOS_ENOMEM;
	/* hash order is no order: by id, so listings are stable */
	qsort(all, count, sizeof(*all), reg_info_cmp);
	*out = all;
	*n   = count;
	return CHAOS_OK;
}

chaos_err
registry_snapshot(struct registry *r, const char *ns, Chaos__V1__AgentInfo ***out,
                  size_t *n)
{
	return reg_snapshot(r, ns, false, out, n);
}

chaos_err
registry_snapshot_lost(struct registry *r, Chaos__V1__AgentInfo ***out, size_t *n)
{
	return reg_snapshot(r, NULL, true, out, n);
}

void
registry_snapshot_free(Chaos__V1__AgentInfo **agents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ttab_info_free(agents[i]);
		chaos__v1__identity__free_unpacked(agents[i]->identity, NULL);
		for (size_t k = 0; k < agents[i]->n_active_faults; k++)
			free(agents[i]->active_faults[k]);
		free(agents[i]->active_faults);
		free(agents[i]->lost_reason);
		free(agents[i]);
	}
	free(agents);
}

static void
reg_fault_row_free(Chaos__V1__LiveFault *f)
{
	free(f->agent_id);
	free(f->pod);
	free(f->namespace_);
	free(f->fault_id);
	free(f->kind);
	free(f->target);
	free(f);
}

/* One row of the fault listing (mtx held); lease NULL for a fault the agent
 * reports in force that the controller no longer wants. */
static Chaos__V1__LiveFault *
reg_fault_row(const struct reg_agent *a, const char *fault_id, const struct reg_lease *l)
{
	Chaos__V1__LiveFault *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	chaos__v1__live_fault__init(f);
	f->agent_id   = strdup(a->id);
	f->pod        = strdup(a->identity->pod);
	f->namespace_ = strdup(a->identity->namespace_);
	f->fault_id   = strdup(fault_id);
	f->has_wanted = f->has_in_force = true;
	f->wanted                       = l != NULL;
	f->in_force                     = reg_ids_has(&a->active, fault_id);
	if (l != NULL && l->lease_ms > 0) {
		f->kind         = l->kind ? strdup(l->kind) : NULL;
		f->target       = l->target ? strdup(l->target) : NULL;
		f->has_lease_ms = f->has_hard_end_ctl_us = true;
		f->lease_ms                              = l->lease_ms;
		f->hard_end_ctl_us                       = l->hard_end_ctl_us;
		/* unknown until a reply has carried the fault to the agent */
		f->has_lease_end_ctl_us = a->renewed_ctl_us > 0;
		f->lease_end_ctl_us     = a->renewed_ctl_us + (int64_t)l->lease_ms * 1000;
	}
	if (f->agent_id == NULL || f->pod == NULL || f->fault_id == NULL) {
		reg_fault_row_free(f); /* required strings: no half rows */
		return NULL;
	}
	return f;
}

static int
reg_fault_cmp(const void *x, const void *y)
{
	const Chaos__V1__LiveFault *a = *(Chaos__V1__LiveFault *const *)x;
	const Chaos__V1__LiveFault *b = *(Chaos__V1__LiveFault *const *)y;
	int                         c = strcmp(a->pod, b->pod);

	return c != 0 ? c : strcmp(a->fault_id, b->fault_id);
}

/* Appends agent a's rows to all[*n] (room for 2 * REG_MAX_FAULTS more). */
static void
reg_agent_faults(const struct reg_agent *a, Chaos__V1__LiveFault **all, size_t *n)
{
	for (size_t i = 0; i < a->live.n; i++)
		if ((all[*n] = reg_fault_row(a, a->live.id[i], &a->lease[i])) != NULL)
			(*n)++;
	for (size_t i = 0; i < a->active.n; i++)
		if (!reg_ids_has(&a->live, a->active.id[i]) &&
		    (all[*n] = reg_fault_row(a, a->active.id[i], NULL)) != NULL)
			(*n)++;
}

chaos_err
registry_faults(struct registry *r, Chaos__V1__LiveFault ***out, size_t *n)
{
	Chaos__V1__LiveFault **all   = NULL;
	size_t                 count = 0, cap = 0;

	nng_mtx_lock(r->mtx);
	REG_FOREACH(r, a)
	cap += a->live.n + a->active.n;
	all = calloc(cap ? cap : 1, sizeof(*all));
	REG_FOREACH(r, a)
	if (all != NULL && a->identity != NULL)
		reg_agent_faults(a, all, &count);
	nng_mtx_unlock(r->mtx);
	if (all == NULL)
		return CHAOS_ENOMEM;
	qsort(all, count, sizeof(*all), reg_fault_cmp);
	*out = all;
	*n   = count;
	return CHAOS_OK;
}

void
registry_faults_free(Chaos__V1__LiveFault **faults, size_t n)
{
	for (size_t i = 0; i < n; i++)
		reg_fault_row_free(faults[i]);
	free(faults);
}
