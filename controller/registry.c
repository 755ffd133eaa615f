// SPDX-License-Identifier: MIT
#include "controller/registry.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"
#include "controller/registry_int.h"
#include "controller/target_table.h"

/* FNV-1a: ids are short text; the table needs no secret seed, since the ids
 * come from authenticated agents and the chains stay bounded by the cap. */
static size_t
reg_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return (size_t)h;
}

static struct reg_agent **
reg_slot(struct registry *r, const char *id)
{
	struct reg_agent **p = &r->buckets[reg_hash(id) & (r->n_buckets - 1)];

	while (*p != NULL && strcmp((*p)->id, id) != 0)
		p = &(*p)->next;
	return p;
}

struct reg_agent *
reg_find(struct registry *r, const char *id)
{
	return *reg_slot(r, id);
}

static struct reg_agent *reg_find_serving(struct registry *r, const char *id, char *key,
                                          size_t key_len, int64_t *incarnation);

static void
reg_ids_clear(struct reg_ids *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->id[i]);
	s->n = 0;
}

bool
reg_ids_has(const struct reg_ids *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->id[i], id) == 0)
			return true;
	return false;
}

static void
reg_ids_remove_at(struct reg_ids *s, size_t i)
{
	free(s->id[i]);
	s->id[i] = s->id[--s->n];
}

/* Room for one more element in an array of cap (grown by doubling up to
 * max); false when full or out of memory. */
static bool
reg_room(void **arr, size_t n, size_t *cap, size_t max, size_t size)
{
	size_t grown = *cap ? *cap * 2 : 2;
	void  *p;

	if (n < *cap)
		return true;
	if (n >= max || (p = realloc(*arr, (grown < max ? grown : max) * size)) == NULL)
		return false;
	*arr = p;
	*cap = grown < max ? grown : max;
	return true;
}

/* Adds a copy of id; CHAOS_EBUSY when the set is full. */
static chaos_err
reg_ids_add(struct reg_ids *s, const char *id)
{
	if (s->n == REG_MAX_FAULTS)
		return CHAOS_EBUSY;
	if (!reg_room((void **)&s->id, s->n, &s->cap, REG_MAX_FAULTS, sizeof(*s->id)) ||
	    (s->id[s->n] = strdup(id)) == NULL)
		return CHAOS_ENOMEM;
	s->n++;
	return CHAOS_OK;
}

static void
reg_ids_free(struct reg_ids *s)
{
	reg_ids_clear(s);
	free(s->id);
	s->id  = NULL;
	s->cap = 0;
}

/* Adds a live fault with room for its lease (kept as long as live.cap). */
static chaos_err
reg_live_add(struct reg_agent *a, const char *fault_id)
{
	size_t            cap = a->live.cap;
	struct reg_lease *l;
	chaos_err         rv = reg_ids_add(&a->live, fault_id);

	if (rv != CHAOS_OK || a->live.cap == cap)
		return rv;
	if ((l = realloc(a->lease, a->live.cap * sizeof(*l))) == NULL) {
		reg_ids_remove_at(&a->live, a->live.n - 1);
		return CHAOS_ENOMEM;
	}
	memset(l + cap, 0, (a->live.cap - cap) * sizeof(*l));
	a->lease = l;
	return CHAOS_OK;
}

/* Removes live fault i with its lease, keeping lease[] aligned with ids. */
static void
reg_live_remove_at(struct reg_agent *a, size_t i)
{
	free(a->lease[i].target);
	a->lease[i]             = a->lease[a->live.n - 1];
	a->lease[a->live.n - 1] = (struct reg_lease) {0};
	reg_ids_remove_at(&a->live, i);
}

chaos_err
registry_new(uint32_t hb_ms, size_t max_agents, struct registry **out)
{
	struct registry *r  = calloc(1, sizeof(*r));
	size_t           nb = REG_MIN_BUCKETS;

	while (nb < max_agents)
		nb <<= 1;
	if (r == NULL || (r->buckets = calloc(nb, sizeof(*r->buckets))) == NULL ||
	    nng_mtx_alloc(&r->mtx) != 0 || ttab_new(&r->targets) != CHAOS_OK) {
		if (r != NULL) {
			if (r->mtx != NULL)
				nng_mtx_free(r->mtx);
			free(r->buckets);
		}
		free(r);
		return CHAOS_ENOMEM;
	}
	/* A new number at every start: an agent holding a fault granted by an
	 * earlier instance of the controller reverts it at the first reply. */
	if (getrandom(&r->instance, sizeof(r->instance), 0) != sizeof(r->instance))
		r->instance = (uint64_t)clk_now_us();
	r->instance |= 1; /* never 0, which means "unknown" on the wire */
	r->n_buckets = nb;
	atomic_init(&r->hb_ms, hb_ms);
	r->hb_base_ms = r->hb_prev_ms = hb_ms;
	r->max_hb_per_s               = REGISTRY_MAX_HEARTBEATS_DEFAULT;
	r->max_agents                 = max_agents;
	r->forget_us                  = REGISTRY_FORGET_DEFAULT_S * 1000000LL;
	*out                          = r;
	return CHAOS_OK;
}

static void
reg_agent_free(struct reg_agent *a)
{
	if (a->identity != NULL)
		chaos__v1__identity__free_unpacked(a->identity, NULL);
	reg_ids_free(&a->active);
	while (a->live.n > 0)
		reg_live_remove_at(a, a->live.n - 1);
	reg_ids_free(&a->live);
	free(a->lease);
	for (size_t i = 0; i < a->n_pending; i++)
		free(a->pending[i].buf);
	free(a->pending);
	free(a);
}

void
registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	for (size_t b = 0; b < r->n_buckets; b++)
		while (r->buckets[b] != NULL) {
			struct reg_agent *a = r->buckets[b];
			r->buckets[b]       = a->next;
			reg_agent_free(a);
		}
	nng_mtx_free(r->mtx);
	ttab_free(r->targets);
	free(r->buckets);
	free(r);
}

struct ttab *
registry_targets(struct registry *r)
{
	return r->targets;
}

void
registry_set_forget_after(struct registry *r, uint32_t seconds)
{
	nng_mtx_lock(r->mtx);
	r->forget_us = (int64_t)seconds * 1000000LL;
	nng_mtx_unlock(r->mtx);
}

uint64_t
registry_instance(const struct registry *r)
{
	return r->instance;
}

void
registry_counts(struct registry *r, struct registry_counts *out)
{
	nng_mtx_lock(r->mtx);
	*out        = r->counts;
	out->agents = r->n_agents;
	REG_FOREACH(r, a)
	{
		size_t role = (size_t)a->identity->role;
		role        = role < REGISTRY_N_ROLES ? role : 0;
		if (a->connected) {
			out->connected++;
			out->connected_by_role[role]++;
			out->active_faults += a->active.n;
		} else {
			out->lost_by_role[role]++;
		}
	}
	nng_mtx_unlock(r->mtx);
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
	if ((a = reg_find_serving(r, agent_id, NULL, 0, NULL)) != NULL)
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
	if ((a = reg_find_serving(r, agent_id, NULL, 0, incarnation)) != NULL)
		*connected = a->connected;
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
reg_set_identity(struct registry *r, struct reg_agent *a, const Chaos__V1__Identity *id)
{
	Chaos__V1__Identity *copy = wire_copy(&id->base);

	if (copy == NULL)
		return;
	if (a->identity != NULL && a->identity->incarnation != id->incarnation) {
		log_info("agent %s restarted (incarnation %lld -> %lld)", a->id,
		         (long long)a->identity->incarnation, (long long)id->incarnation);
		clk_filter_init(&a->clk);
		a->last_event_seq = 0;
		/* a node agent's targets died with it; it reports them again */
		ttab_drop_agent(r->targets, a->id);
	}
	if (a->identity != NULL)
		chaos__v1__identity__free_unpacked(a->identity, NULL);
	a->identity = copy;
}

static void
reg_unlink(struct registry *r, struct reg_agent *a)
{
	struct reg_agent **p = reg_slot(r, a->id);

	ttab_drop_agent(r->targets, a->id);
	*p = a->next;
	r->n_agents--;
	reg_agent_free(a);
}

/* At the cap, the agent lost the longest ago makes room; false when every
 * entry is connected. */
static bool
reg_make_room(struct registry *r)
{
	struct reg_agent *oldest = NULL;

	if (r->n_agents < r->max_agents)
		return true;
	REG_FOREACH(r, a)
	if (!a->connected &&
	    (oldest == NULL || a->last_seen_mono_us < oldest->last_seen_mono_us))
		oldest = a;
	if (oldest == NULL)
		return false;
	log_info("agent %s forgotten to make room (lost: %s)", oldest->id,
	         oldest->lost_reason);
	r->counts.evicted++;
	reg_unlink(r, oldest);
	return true;
}

static struct reg_agent *
reg_add(struct registry *r, const Chaos__V1__Identity *id)
{
	struct reg_agent *a;
	size_t            len = strlen(id->agent_id);

	if (!reg_make_room(r)) {
		r->counts.refused_full++;
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a) + len + 1)) == NULL)
		return NULL;
	memcpy(a->id, id->agent_id, len + 1);
	clk_filter_init(&a->clk);
	reg_set_identity(r, a, id);
	if (a->identity == NULL) {
		free(a);
		return NULL;
	}
	a->last_seen_mono_us = clk_mono_us();
	a->next              = *reg_slot(r, a->id);
	*reg_slot(r, a->id)  = a;
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

/* The faults the agent says are in force; the same list as last time (the
 * common case, poll after poll) is left as it is. */
static void
reg_take_faults(struct reg_agent *a, const Chaos__V1__Poll *p)
{
	bool same = p->n_active_faults == a->active.n;

	for (size_t i = 0; same && i < a->active.n; i++)
		same = strcmp(a->active.id[i], p->active_faults[i]) == 0;
	if (same)
		return;
	reg_ids_clear(&a->active);
	for (size_t i = 0; i < p->n_active_faults; i++)
		if (reg_ids_add(&a->active, p->active_faults[i]) == CHAOS_EBUSY)
			break;
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

/* One live id, one process: a poll from another pipe than the connected
 * agent's is a reconnect of the same process (same incarnation), or a
 * second process claiming the id, which is refused while the first one
 * still polls. A poll from another pipe without its identity has to show
 * it first. */
enum reg_pipe_check { REG_PIPE_OK, REG_PIPE_SHOW_IDENTITY, REG_PIPE_REFUSED };

static enum reg_pipe_check
reg_check_pipe(struct registry *r, struct reg_agent *a, const Chaos__V1__Poll *p,
               uint32_t pipe_id, chaos_why *why)
{
	int64_t now = clk_mono_us(), quiet = now - a->last_seen_mono_us;

	if (!a->connected || a->pipe_id == pipe_id || quiet > reg_lost_after_us(r, now))
		return REG_PIPE_OK;
	if (p->identity == NULL)
		return REG_PIPE_SHOW_IDENTITY;
	if (p->identity->incarnation == a->identity->incarnation)
		return REG_PIPE_OK;
	r->counts.refused_duplicate++;
	chaos_fail(why, CHAOS_EEXIST,
	           "agent id %s is already connected (another process, started "
	           "at another time, polls with it): this one is refused; give each "
	           "agent its own --id or pod name",
	           a->id);
	return REG_PIPE_REFUSED;
}

/* Updates a known agent with a poll (mtx held). */
static void
reg_poll_seen(struct registry *r, struct reg_agent *a, const Chaos__V1__Poll *p,
              uint32_t pipe_id, int64_t t2_ctl_us)
{
	if (p->identity != NULL && a->identity != NULL)
		reg_set_identity(r, a, p->identity);
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
}

chaos_err
registry_on_poll(struct registry *r, const Chaos__V1__Poll *p, uint32_t pipe_id,
                 int64_t t2_ctl_us, bool *identity_needed, uint32_t *park_ms,
                 chaos_why *why)
{
	struct reg_agent *a;
	chaos_err         rv       = CHAOS_OK;
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
		rv = chaos_fail(why, CHAOS_EBUSY,
		                "agent table full: %zu agents, all connected (raise "
		                "--max-agents)",
		                r->n_agents);
		goto out;
	}
	switch (reg_check_pipe(r, a, p, pipe_id, why)) {
	case REG_PIPE_SHOW_IDENTITY:
		*identity_needed = true;
		goto out;
	case REG_PIPE_REFUSED:
		rv = CHAOS_EEXIST;
		goto out;
	case REG_PIPE_OK:
		break;
	}
	reg_poll_seen(r, a, p, pipe_id, t2_ctl_us);
	clk_filter_best(&a->clk, &off, &err);
	sink     = r->ack_sink;
	sink_arg = r->ack_arg;
out:
	if (park_ms != NULL)
		*park_ms = reg_park_ms(r, a);
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

/* Protobuf's key of Reply.commands (field 6, length-delimited). */
#define REG_REPLY_COMMANDS_KEY ((6u << 3) | 2u)

static size_t
reg_varint_len(size_t v)
{
	size_t n = 1;

	for (; v >= 0x80; v >>= 7)
		n++;
	return n;
}

static uint8_t *
reg_put_varint(uint8_t *p, size_t v)
{
	for (; v >= 0x80; v >>= 7)
		*p++ = (uint8_t)(v | 0x80);
	*p++ = (uint8_t)v;
	return p;
}

/* Packs reply and appends a's pending commands as they were packed when
 * queued: the fields of a message may come in any order and a repeated one
 * in pieces, so the commands need no unpacking and packing again
 * (mtx held; a may be NULL). */
static chaos_err
reg_pack_reply(Chaos__V1__Reply *reply, const struct reg_agent *a, nng_msg **out)
{
	size_t   len = protobuf_c_message_get_packed_size(&reply->base);
	size_t   n   = a != NULL ? a->n_pending : 0;
	nng_msg *msg = NULL;
	uint8_t *p;

	for (size_t i = 0; i < n; i++)
		len += 1 + reg_varint_len(a->pending[i].len) + a->pending[i].len;
	if (len > WIRE_MAX_SESSION)
		return CHAOS_ETOOBIG;
	if (nng_msg_alloc(&msg, len) != 0)
		return CHAOS_ENOMEM;
	p = nng_msg_body(msg);
	p += protobuf_c_message_pack(&reply->base, p);
	for (size_t i = 0; i < n; i++) {
		*p++ = REG_REPLY_COMMANDS_KEY;
		p    = reg_put_varint(p, a->pending[i].len);
		memcpy(p, a->pending[i].buf, a->pending[i].len);
		p += a->pending[i].len;
	}
	*out = msg;
	return CHAOS_OK;
}

chaos_err
registry_build_reply(struct registry *r, const char *agent_id, uint64_t poll_seq,
                     int64_t t2_ctl_us, bool identity_needed, const char *refused,
                     nng_msg **out)
{
	Chaos__V1__Reply  reply = CHAOS__V1__REPLY__INIT;
	struct reg_agent *a;
	chaos_err         rv;

	reply.protocol_version    = WIRE_VERSION;
	reply.poll_seq            = poll_seq;
	reply.t2_ctl_us           = t2_ctl_us;
	reply.heartbeat_ms        = registry_heartbeat_ms(r);
	reply.has_identity_needed = identity_needed;
	reply.identity_needed     = identity_needed;
	reply.has_instance_id     = true;
	reply.instance_id         = r->instance;
	reply.refused             = (char *)refused;
	/* packed under the lock: the live faults and the commands are read in
	 * place, nothing is copied out first */
	nng_mtx_lock(r->mtx);
	a = refused == NULL ? reg_find(r, agent_id) : NULL;
	if (a != NULL) {
		reply.live_faults   = a->live.id;
		reply.n_live_faults = a->live.n;
	}
	reply.t3_ctl_us = clk_now_us();
	rv              = reg_pack_reply(&reply, a, out);
	if (rv == CHAOS_OK && a != NULL)
		a->renewed_ctl_us = reply.t3_ctl_us; /* the reply renews them */
	nng_mtx_unlock(r->mtx);
	return rv;
}

/* Keeps what an apply says of a fault the controller wants kept (mtx
 * held); an apply of a fault not marked live is reverted at once anyway. */
static void
reg_lease_note(struct reg_agent *a, const Chaos__V1__FaultSpec *spec, const char *key)
{
	const ProtobufCFieldDescriptor *kind = protobuf_c_message_descriptor_get_field(
	    &chaos__v1__fault_spec__descriptor, (unsigned)spec->kind_case);

	for (size_t i = 0; i < a->live.n; i++) {
		struct reg_lease *l = &a->lease[i];
		if (strcmp(a->live.id[i], spec->fault_id) != 0)
			continue;
		free(l->target);
		l->kind            = kind != NULL ? kind->name : NULL;
		l->target          = key != NULL && *key     ? strdup(key)
		             : spec->target && *spec->target ? strdup(spec->target)
		                                             : NULL;
		l->lease_ms        = spec->lease_ms;
		l->hard_end_ctl_us = spec->hard_end_ctl_us;
		return;
	}
}

/* Packs cmd into a's queue (mtx held). */
static chaos_err
reg_queue(struct reg_agent *a, const Chaos__V1__Command *cmd)
{
	struct reg_command *c;

	if (!reg_room((void **)&a->pending, a->n_pending, &a->cap_pending,
	              REG_MAX_PENDING, sizeof(*a->pending)))
		return a->n_pending == REG_MAX_PENDING ? CHAOS_EBUSY : CHAOS_ENOMEM;
	c      = &a->pending[a->n_pending];
	c->len = chaos__v1__command__get_packed_size(cmd);
	if ((c->buf = malloc(c->len ? c->len : 1)) == NULL)
		return CHAOS_ENOMEM;
	chaos__v1__command__pack(cmd, c->buf);
	c->id = cmd->command_id;
	a->n_pending++;
	return CHAOS_OK;
}

/* Where commands for id go (mtx held): a connected agent of that id; else
 * the node agent serving the resolved target id (key set to the target's,
 * *incarnation to the target's); else the agent of that id, even lost (its
 * commands wait for it). A pod whose sidecar is gone is then served by its
 * node agent again. NULL when there is neither. */
static struct reg_agent *
reg_find_serving(struct registry *r, const char *id, char *key, size_t key_len,
                 int64_t *incarnation)
{
	struct reg_agent *a = reg_find(r, id), *n;
	char              served_by[LIMIT_ID_LEN + 1], k[32];
	int64_t           inc = 0;

	if (key != NULL)
		key[0] = '\0';
	if ((a == NULL || !a->connected) &&
	    ttab_route(r->targets, id, served_by, sizeof(served_by), k, sizeof(k)) &&
	    ttab_status(r->targets, id, served_by, sizeof(served_by), &inc) &&
	    (n = reg_find(r, served_by)) != NULL) {
		if (key != NULL)
			snprintf(key, key_len, "%s", k);
		if (incarnation != NULL)
			*incarnation = inc;
		return n;
	}
	if (a != NULL && incarnation != NULL)
		*incarnation = a->identity->incarnation;
	return a;
}

/* cmd for agent a; naming the target key when there is one (and, for a
 * fault, in its spec too): the node agent acts in that target (mtx held). */
static chaos_err
reg_queue_for(struct reg_agent *a, const char *key, const Chaos__V1__Command *cmd)
{
	Chaos__V1__Command   c = *cmd;
	Chaos__V1__FaultSpec f;

	if (key[0] == '\0')
		return reg_queue(a, cmd);
	c.target = (char *)key;
	if (c.body_case == CHAOS__V1__COMMAND__BODY_APPLY_FAULT) {
		f             = *cmd->apply_fault;
		f.target      = (char *)key;
		c.apply_fault = &f;
	}
	return reg_queue(a, &c);
}

/* Queues cmd for agent_id (mtx held); *served_by is the id of the agent
 * that got it: agent_id itself, or a copy of its node agent's id. */
static chaos_err
reg_enqueue_locked(struct registry *r, const char *agent_id,
                   const Chaos__V1__Command *cmd, const char **served_by)
{
	struct reg_agent *a;
	char              key[32];
	chaos_err         rv;

	if ((a = reg_find_serving(r, agent_id, key, sizeof(key), NULL)) == NULL)
		return CHAOS_ENOENT;
	if ((rv = reg_queue_for(a, key, cmd)) != CHAOS_OK)
		return rv;
	if (cmd->body_case == CHAOS__V1__COMMAND__BODY_APPLY_FAULT)
		reg_lease_note(a, cmd->apply_fault, key);
	*served_by = strcmp(a->id, agent_id) == 0 ? agent_id : strdup(a->id);
	return *served_by != NULL ? CHAOS_OK : CHAOS_ENOMEM;
}

size_t
registry_enqueue_all(struct registry *r, size_t n, const char *const *agent_ids,
                     Chaos__V1__Command *const *cmds, chaos_err *rvs)
{
	const char **kick   = calloc(n ? n : 1, sizeof(*kick));
	size_t       queued = 0;

	for (size_t i = 0; kick == NULL && i < n; i++)
		rvs[i] = CHAOS_ENOMEM;
	if (kick == NULL)
		return 0;
	/* one hold of the lock for all, then one kick for all: a fan-out does
	 * not trade the lock with the pollers a thousand times */
	nng_mtx_lock(r->mtx);
	for (size_t i = 0; i < n; i++)
		if ((rvs[i] = reg_enqueue_locked(r, agent_ids[i], cmds[i],
		                                 &kick[queued])) == CHAOS_OK)
			queued++;
	nng_mtx_unlock(r->mtx);
	if (queued > 0 && r->kick != NULL)
		r->kick(r->kick_arg, kick, queued);
	for (size_t i = 0, k = 0; i < n; i++) {
		if (rvs[i] != CHAOS_OK)
			continue;
		if (kick[k] != agent_ids[i]) /* a node agent's id, copied */
			free((char *)kick[k]);
		k++;
	}
	free(kick);
	return queued;
}

chaos_err
registry_enqueue(struct registry *r, const char *agent_id, const Chaos__V1__Command *cmd)
{
	Chaos__V1__Command *c  = (Chaos__V1__Command *)cmd; /* not changed */
	chaos_err           rv = CHAOS_ENOMEM;

	registry_enqueue_all(r, 1, &agent_id, &c, &rv);
	return rv;
}

/* registry_fault_live's work (mtx held). */
static chaos_err
reg_fault_live_locked(struct registry *r, const char *agent_id, const char *fault_id,
                      bool live)
{
	struct reg_agent *a = reg_find_serving(r, agent_id, NULL, 0, NULL);

	if (a == NULL)
		return CHAOS_ENOENT;
	if (live)
		return reg_ids_has(&a->live, fault_id) ? CHAOS_OK
		                                       : reg_live_add(a, fault_id);
	for (size_t i = 0; i < a->live.n; i++)
		if (strcmp(a->live.id[i], fault_id) == 0) {
			reg_live_remove_at(a, i);
			break;
		}
	return CHAOS_OK;
}

chaos_err
registry_fault_live(struct registry *r, const char *agent_id, const char *fault_id,
                    bool live)
{
	chaos_err rv;

	nng_mtx_lock(r->mtx);
	rv = reg_fault_live_locked(r, agent_id, fault_id, live);
	nng_mtx_unlock(r->mtx);
	return rv;
}

void
registry_fault_live_all(struct registry *r, size_t n, const char *const *agent_ids,
                        const char *fault_id, bool live)
{
	nng_mtx_lock(r->mtx);
	for (size_t i = 0; i < n; i++)
		reg_fault_live_locked(r, agent_ids[i], fault_id, live);
	nng_mtx_unlock(r->mtx);
}

void
registry_forget_faults(struct registry *r, const char *prefix)
{
	size_t len = strlen(prefix);

	nng_mtx_lock(r->mtx);
	REG_FOREACH(r, a)
	for (size_t i = a->live.n; i-- > 0;)
		if (strncmp(a->live.id[i], prefix, len) == 0)
			reg_live_remove_at(a, i);
	nng_mtx_unlock(r->mtx);
}

static void
reg_mark_lost(struct reg_agent *a, const char *reason)
{
	if (!a->connected)
		return;
	a->connected   = false;
	a->lost_ctl_us = clk_now_us();
	snprintf(a->lost_reason, sizeof(a->lost_reason), "%s", reason);
	log_warn("agent %s lost: %s", a->id, reason);
}

void
registry_pipe_closed(struct registry *r, uint32_t pipe_id)
{
	nng_mtx_lock(r->mtx);
	REG_FOREACH(r, a)
	if (a->pipe_id == pipe_id)
		reg_mark_lost(a, "connection closed");
	nng_mtx_unlock(r->mtx);
}

void
registry_sweep(struct registry *r, int64_t now_mono_us)
{
	int64_t           limit;
	struct reg_agent *gone[64];
	size_t            n_gone = 0, n_connected = 0;

	nng_mtx_lock(r->mtx);
	limit = reg_lost_after_us(r, now_mono_us);
	REG_FOREACH(r, a)
	{
		int64_t quiet = now_mono_us - a->last_seen_mono_us;
		char    why[96];
		if (!a->connected && r->forget_us > 0 && quiet > r->forget_us &&
		    n_gone < sizeof(gone) / sizeof(gone[0]))
			gone[n_gone++] = a;
		if (!a->connected)
			continue;
		if (quiet <= limit) {
			n_connected++;
			continue;
		}
		snprintf(
		    why, sizeof(why), "no poll for %lld ms (%d heartbeats = %lld ms)",
		    (long long)quiet / 1000, REG_LOST_AFTER_HB, (long long)limit / 1000);
		reg_mark_lost(a, why);
	}
	reg_adapt_heartbeat(r, n_connected, now_mono_us);
	/* forgotten after a while, so pod churn cannot fill the table */
	for (size_t i = 0; i < n_gone; i++) {
		log_info("agent %s forgotten: lost for more than %lld s", gone[i]->id,
		         (long long)(r->forget_us / 1000000));
		r->counts.evicted++;
		reg_unlink(r, gone[i]);
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
	chaos_err         rv = CHAOS_OK;

	(void)t_ctl_us;
	nng_mtx_lock(r->mtx);
	a = reg_find(r, e->agent_id);
	if (e->body_case == CHAOS__V1__EVENT__BODY_HELLO) {
		if (a == NULL && (a = reg_add(r, e->hello->identity)) != NULL)
			snprintf(a->lost_reason, sizeof(a->lost_reason),
			         "said hello on the events channel; no session poll yet");
		else if (a != NULL && a->connected &&
		         a->identity->incarnation != e->hello->identity->incarnation)
			rv = CHAOS_EEXIST; /* a second process with this id: not it */
		else if (a != NULL)
			reg_set_identity(r, a, e->hello->identity);
	}
	if (e->body_case == CHAOS__V1__EVENT__BODY_TARGETS && a != NULL)
		ttab_update(r->targets, a->id, a->identity->node,
		            a->identity->has_pid ? a->identity->pid : 0, e->targets);
	if (a == NULL)
		rv = e->body_case == CHAOS__V1__EVENT__BODY_HELLO ? CHAOS_EBUSY
		                                                  : CHAOS_ENOENT;
	else if (rv == CHAOS_OK)
		reg_count_event(a, e);
	nng_mtx_unlock(r->mtx);
	return rv;
}
