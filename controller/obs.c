// SPDX-License-Identifier: MIT
#include "controller/obs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/utf8.h"

struct obs_series {
	char               probe_id[128];
	struct obs_sample *s;
	size_t             n, cap;
};

struct obs_conn {
	char     agent_id[256];
	uint8_t *buf; /* packed ConnCheckResult */
	size_t   len;
	char     check_id[128];
};

/* An ack as kept: the text only when there is one. */
struct obs_ack_rec {
	uint64_t command_id;
	int64_t  applied_us;
	int      status;
	char    *error;
};

#define OBS_MAX_SERIES 256
#define OBS_MAX_FAULT_EVENTS 1024
#define OBS_MAX_ACKS (1u << 20) /* a run that fans out to 65536 agents, 16 times */
#define OBS_MAX_CONN 1024
#define OBS_MAX_LOADS 65536

struct obs {
	nng_mtx               *mtx;
	nng_cv                *cv;
	struct obs_series      series[OBS_MAX_SERIES];
	size_t                 n_series;
	struct obs_fault_event faults[OBS_MAX_FAULT_EVENTS];
	size_t                 n_faults;
	/* acks, and their index by command id: open addressing, slot = record
	 * number + 1, 0 = free; at most half full */
	struct obs_ack_rec *acks;
	size_t              n_acks, cap_acks;
	uint32_t           *ack_slots;
	size_t              n_slots;
	nng_cv             *ack_cv;      /* only when a waiter's set may be complete */
	size_t              ack_wake_at; /* n_acks that wakes it; 0: nobody waits */
	struct obs_conn     conns[OBS_MAX_CONN];
	size_t              n_conns;
	struct obs_load    *loads;
	size_t              n_loads, cap_loads;
};

chaos_err
obs_new(struct obs **out)
{
	struct obs *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return CHAOS_ENOMEM;
	if (nng_mtx_alloc(&o->mtx) != 0 || nng_cv_alloc(&o->cv, o->mtx) != 0 ||
	    nng_cv_alloc(&o->ack_cv, o->mtx) != 0) {
		obs_free(o);
		return CHAOS_ENOMEM;
	}
	*out = o;
	return CHAOS_OK;
}

void
obs_free(struct obs *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->n_series; i++)
		free(o->series[i].s);
	for (size_t i = 0; i < o->n_conns; i++)
		free(o->conns[i].buf);
	obs_loads_free(o->loads, o->n_loads);
	for (size_t i = 0; i < o->n_acks; i++)
		free(o->acks[i].error);
	free(o->acks);
	free(o->ack_slots);
	if (o->ack_cv != NULL)
		nng_cv_free(o->ack_cv);
	if (o->cv != NULL)
		nng_cv_free(o->cv);
	if (o->mtx != NULL)
		nng_mtx_free(o->mtx);
	free(o);
}

static struct obs_series *
obs_series_for(struct obs *o, const char *probe_id)
{
	for (size_t i = 0; i < o->n_series; i++)
		if (strcmp(o->series[i].probe_id, probe_id) == 0)
			return &o->series[i];
	if (o->n_series == OBS_MAX_SERIES)
		return NULL;
	snprintf(o->series[o->n_series].probe_id, sizeof(o->series[0].probe_id), "%s",
	         probe_id);
	return &o->series[o->n_series++];
}

/* Inserts keeping time order: samples of one probe arrive in order almost
 * always, so this is an append with a short backward walk. */
static void
obs_insert_sample(struct obs_series *ser, const struct obs_sample *smp)
{
	size_t i;

	if (ser->n == ser->cap) {
		size_t             cap = ser->cap ? ser->cap * 2 : 256;
		struct obs_sample *s   = realloc(ser->s, cap * sizeof(*s));
		if (s == NULL)
			return;
		ser->s   = s;
		ser->cap = cap;
	}
	for (i = ser->n; i > 0 && ser->s[i - 1].t_us > smp->t_us; i--)
		ser->s[i] = ser->s[i - 1];
	ser->s[i] = *smp;
	ser->n++;
}

static void
obs_add_sample(struct obs *o, const Chaos__V1__Event *e, int64_t offset_us)
{
	const Chaos__V1__ProbeSample *p   = e->sample;
	struct obs_sample             smp = {0};
	struct obs_series            *ser;

	smp.t_us        = e->t_agent_us - offset_us;
	smp.healthy     = p->healthy;
	smp.latency_us  = p->latency_us;
	smp.error_class = p->has_error_class ? (int)p->error_class : 0;
	smp.http_status = p->has_http_status ? p->http_status : 0;
	smp.has_value   = p->has_value;
	smp.value       = p->value;
	utf8_copy(smp.detail, sizeof(smp.detail), p->detail);
	if ((ser = obs_series_for(o, p->probe_id)) != NULL)
		obs_insert_sample(ser, &smp);
}

static void
obs_add_fault(struct obs *o, const Chaos__V1__Event *e, int64_t offset_us)
{
	struct obs_fault_event *f;

	if (o->n_faults == OBS_MAX_FAULT_EVENTS)
		return;
	f = &o->faults[o->n_faults++];
	snprintf(f->agent_id, sizeof(f->agent_id), "%s", e->agent_id);
	snprintf(f->fault_id, sizeof(f->fault_id), "%s", e->fault_state->fault_id);
	utf8_copy(f->detail, sizeof(f->detail), e->fault_state->detail);
	f->phase       = e->fault_state->phase;
	f->has_packets = e->fault_state->has_packets_dropped;
	f->packets     = e->fault_state->packets_dropped;
	f->t_us        = e->t_agent_us - offset_us;
}

static void
obs_add_conn(struct obs *o, const Chaos__V1__Event *e)
{
	struct obs_conn *c;

	if (o->n_conns == OBS_MAX_CONN)
		return;
	c      = &o->conns[o->n_conns];
	c->len = chaos__v1__conn_check_result__get_packed_size(e->conn);
	if ((c->buf = malloc(c->len ? c->len : 1)) == NULL)
		return;
	chaos__v1__conn_check_result__pack(e->conn, c->buf);
	snprintf(c->agent_id, sizeof(c->agent_id), "%s", e->agent_id);
	snprintf(c->check_id, sizeof(c->check_id), "%s", e->conn->check_id);
	o->n_conns++;
}

static void
obs_add_load(struct obs *o, const Chaos__V1__Event *e, int64_t offset_us)
{
	const Chaos__V1__LoadReport *r = e->load;
	struct obs_load             *l;

	if (o->n_loads == o->cap_loads) {
		size_t           cap = o->cap_loads ? o->cap_loads * 2 : 256;
		struct obs_load *g =
		    cap <= OBS_MAX_LOADS ? realloc(o->loads, cap * sizeof(*g)) : NULL;
		if (g == NULL)
			return;
		o->loads = g, o->cap_loads = cap;
	}
	l = &o->loads[o->n_loads];
	memset(l, 0, sizeof(*l));
	snprintf(l->load_id, sizeof(l->load_id), "%s", r->load_id);
	l->t_us = (r->has_interval_start_agent_us ? r->interval_start_agent_us
	                                          : e->t_agent_us) -
	    offset_us;
	l->interval_us = (int64_t)(r->has_interval_ms ? r->interval_ms : 0) * 1000;
	l->scheduled = r->scheduled, l->ok = r->ok, l->late = r->late,
	l->final = r->final;
	for (size_t i = 0; i < r->n_errors_by_class && i < 16; i++)
		l->errors[i] = r->errors_by_class[i];
	if (r->n_latency_hist > 0 &&
	    (l->hist = malloc(r->n_latency_hist * sizeof(uint64_t))) != NULL) {
		memcpy(l->hist, r->latency_hist, r->n_latency_hist * sizeof(uint64_t));
		l->n_hist = r->n_latency_hist;
	}
	o->n_loads++;
}

void
obs_add_event(struct obs *o, const Chaos__V1__Event *e, int64_t offset_us)
{
	nng_mtx_lock(o->mtx);
	switch (e->body_case) {
	case CHAOS__V1__EVENT__BODY_SAMPLE:
		obs_add_sample(o, e, offset_us);
		break;
	case CHAOS__V1__EVENT__BODY_FAULT_STATE:
		obs_add_fault(o, e, offset_us);
		break;
	case CHAOS__V1__EVENT__BODY_CONN:
		obs_add_conn(o, e);
		break;
	case CHAOS__V1__EVENT__BODY_LOAD:
		obs_add_load(o, e, offset_us);
		break;
	default:
		break;
	}
	nng_cv_wake(o->cv);
	nng_mtx_unlock(o->mtx);
}

/* The index slot of command_id: its record's, or the free one where it
 * would go (o->n_slots > 0). */
static size_t
obs_ack_slot(const struct obs *o, uint64_t command_id)
{
	size_t mask = o->n_slots - 1;
	/* ids are consecutive numbers: a multiplicative hash spreads them */
	size_t i = (size_t)((command_id * 0x9E3779B97F4A7C15ULL) >> 20) & mask;

	while (o->ack_slots[i] != 0 &&
	       o->acks[o->ack_slots[i] - 1].command_id != command_id)
		i = (i + 1) & mask;
	return i;
}

static const struct obs_ack_rec *
obs_ack_find(const struct obs *o, uint64_t command_id)
{
	size_t i;

	if (o->n_slots == 0)
		return NULL;
	i = obs_ack_slot(o, command_id);
	return o->ack_slots[i] != 0 ? &o->acks[o->ack_slots[i] - 1] : NULL;
}

/* Room for one more record and its slot; false when full or out of memory. */
static bool
obs_ack_room(struct obs *o)
{
	if (o->n_acks == o->cap_acks) {
		size_t              cap = o->cap_acks ? o->cap_acks * 2 : 256;
		struct obs_ack_rec *g =
		    cap <= OBS_MAX_ACKS ? realloc(o->acks, cap * sizeof(*g)) : NULL;
		if (g == NULL)
			return false;
		o->acks = g, o->cap_acks = cap;
	}
	if (2 * (o->n_acks + 1) > o->n_slots) {
		size_t    n     = o->n_slots ? o->n_slots * 2 : 512;
		uint32_t *slots = calloc(n, sizeof(*slots));
		if (slots == NULL)
			return false;
		free(o->ack_slots);
		o->ack_slots = slots, o->n_slots = n;
		for (size_t k = 0; k < o->n_acks; k++)
			o->ack_slots[obs_ack_slot(o, o->acks[k].command_id)] =
			    (uint32_t)k + 1;
	}
	return true;
}

void
obs_add_ack(struct obs *o, const Chaos__V1__Ack *a, int64_t offset_us, int64_t t_poll_us)
{
	struct obs_ack_rec *k;

	nng_mtx_lock(o->mtx);
	/* the first ack of a command counts; a repeated one changes nothing */
	if (obs_ack_find(o, a->command_id) == NULL && obs_ack_room(o)) {
		k             = &o->acks[o->n_acks++];
		k->command_id = a->command_id;
		k->status     = a->status;
		k->error =
		    a->error != NULL && a->error[0] != '\0' ? strdup(a->error) : NULL;
		/* The agent's own time of the change is exact up to the offset's
		 * error bound; the poll's arrival is later by up to one RTT. */
		k->applied_us =
		    a->has_applied_agent_us ? a->applied_agent_us - offset_us : t_poll_us;
		o->ack_slots[obs_ack_slot(o, k->command_id)] = (uint32_t)o->n_acks;
		if (o->ack_wake_at != 0 && o->n_acks >= o->ack_wake_at)
			nng_cv_wake(o->ack_cv);
	}
	nng_mtx_unlock(o->mtx);
}

size_t
obs_samples(struct obs *o, const char *probe_id, struct obs_sample **out)
{
	size_t n = 0;

	*out = NULL;
	nng_mtx_lock(o->mtx);
	for (size_t i = 0; i < o->n_series; i++) {
		struct obs_series *ser = &o->series[i];
		if (strcmp(ser->probe_id, probe_id) != 0 || ser->n == 0)
			continue;
		if ((*out = malloc(ser->n * sizeof(**out))) != NULL) {
			memcpy(*out, ser->s, ser->n * sizeof(**out));
			n = ser->n;
		}
		break;
	}
	nng_mtx_unlock(o->mtx);
	return n;
}

size_t
obs_fault_events(struct obs *o, const char *fault_id, struct obs_fault_event *out,
                 size_t cap)
{
	size_t n = 0;

	nng_mtx_lock(o->mtx);
	for (size_t i = 0; i < o->n_faults && n < cap; i++)
		if (strcmp(o->faults[i].fault_id, fault_id) == 0)
			out[n++] = o->faults[i];
	nng_mtx_unlock(o->mtx);
	return n;
}

/* nng_cv_until takes nng_time (ms, nng_clock()); convert our deadline. */
static nng_time
obs_deadline_ms(int64_t deadline_mono)
{
	int64_t left = (deadline_mono - clk_mono_us()) / 1000;

	return nng_clock() + (nng_time)(left > 0 ? left : 0);
}

/* Copies the ack of command_id into *ack; false when it has not arrived. */
static bool
obs_copy_ack(const struct obs *o, uint64_t command_id, struct obs_ack *ack)
{
	const struct obs_ack_rec *k = obs_ack_find(o, command_id);

	memset(ack, 0, sizeof(*ack));
	if (k == NULL) /* or command_id 0: none */
		return false;
	ack->command_id = k->command_id;
	ack->status     = k->status;
	ack->applied_us = k->applied_us;
	utf8_copy(ack->error, sizeof(ack->error), k->error);
	return true;
}

/* How many of ids[*from..n) have no ack yet (id 0: none to wait for);
 * *from moves past the leading ones that have (acks are never dropped). */
static size_t
obs_missing(const struct obs *o, const uint64_t *ids, size_t n, size_t *from)
{
	size_t missing = 0;

	while (*from < n && (ids[*from] == 0 || obs_ack_find(o, ids[*from]) != NULL))
		(*from)++;
	for (size_t i = *from; i < n; i++)
		missing += ids[i] != 0 && obs_ack_find(o, ids[i]) == NULL;
	return missing;
}

size_t
obs_wait_acks(struct obs *o, const uint64_t *ids, size_t n, int64_t deadline_mono,
              struct obs_ack *acks)
{
	nng_time until = obs_deadline_ms(deadline_mono);
	size_t   got = 0, from = 0, missing;

	nng_mtx_lock(o->mtx);
	/* Woken only once as many acks arrived as were missing (any acks: the
	 * set may then be complete), not at each one: a fan-out to a thousand
	 * agents costs the waiter a wake-up or two, not a thousand. */
	while ((missing = obs_missing(o, ids, n, &from)) > 0) {
		o->ack_wake_at = o->n_acks + missing;
		if (nng_cv_until(o->ack_cv, until) == NNG_ETIMEDOUT)
			break;
	}
	o->ack_wake_at = 0;
	for (size_t i = 0; i < n; i++)
		if (ids[i] == 0)
			memset(&acks[i], 0, sizeof(acks[i]));
		else
			got += obs_copy_ack(o, ids[i], &acks[i]);
	nng_mtx_unlock(o->mtx);
	return got;
}

bool
obs_wait_ack(struct obs *o, uint64_t command_id, int64_t deadline_mono,
             struct obs_ack *ack)
{
	return obs_wait_acks(o, &command_id, 1, deadline_mono, ack) == 1;
}

static Chaos__V1__ConnCheckResult *
obs_find_conn(struct obs *o, const char *agent_id, const char *check_id)
{
	for (size_t i = 0; i < o->n_conns; i++)
		if (strcmp(o->conns[i].agent_id, agent_id) == 0 &&
		    strcmp(o->conns[i].check_id, check_id) == 0)
			return chaos__v1__conn_check_result__unpack(NULL, o->conns[i].len,
			                                            o->conns[i].buf);
	return NULL;
}

Chaos__V1__ConnCheckResult *
obs_wait_conn(struct obs *o, const char *agent_id, const char *check_id,
              int64_t deadline_mono)
{
	nng_time                    until = obs_deadline_ms(deadline_mono);
	Chaos__V1__ConnCheckResult *r;

	nng_mtx_lock(o->mtx);
	while ((r = obs_find_conn(o, agent_id, check_id)) == NULL &&
	       nng_cv_until(o->cv, until) != NNG_ETIMEDOUT)
		;
	if (r == NULL)
		r = obs_find_conn(o, agent_id, check_id);
	nng_mtx_unlock(o->mtx);
	return r;
}

void
obs_loads_free(struct obs_load *l, size_t n)
{
	for (size_t i = 0; l != NULL && i < n; i++)
		free(l[i].hist);
	free(l);
}

size_t
obs_loads(struct obs *o, const char *load_id, struct obs_load **out)
{
	size_t n = 0;

	nng_mtx_lock(o->mtx);
	*out = calloc(o->n_loads ? o->n_loads : 1, sizeof(**out));
	for (size_t i = 0; *out != NULL && i < o->n_loads; i++) {
		struct obs_load *d = &(*out)[n];
		if (strcmp(o->loads[i].load_id, load_id) != 0)
			continue;
		*d      = o->loads[i];
		d->hist = NULL;
		if (o->loads[i].n_hist > 0 &&
		    (d->hist = malloc(o->loads[i].n_hist * sizeof(uint64_t))) != NULL)
			memcpy(d->hist, o->loads[i].hist,
			       o->loads[i].n_hist * sizeof(uint64_t));
		else
			d->n_hist = 0;
		n++;
	}
	nng_mtx_unlock(o->mtx);
	return n;
}

static bool
obs_has_final(const struct obs *o, const char *load_id)
{
	for (size_t i = 0; i < o->n_loads; i++)
		if (o->loads[i].final && strcmp(o->loads[i].load_id, load_id) == 0)
			return true;
	return false;
}

bool
obs_wait_load_final(struct obs *o, const char *load_id, int64_t deadline_mono)
{
	nng_time until = obs_deadline_ms(deadline_mono);
	bool     found;

	nng_mtx_lock(o->mtx);
	while (!(found = obs_has_final(o, load_id)) &&
	       nng_cv_until(o->cv, until) != NNG_ETIMEDOUT)
		;
	if (!found)
		found = obs_has_final(o, load_id);
	nng_mtx_unlock(o->mtx);
	return found;
}
