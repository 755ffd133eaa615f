// SPDX-License-Identifier: MIT
#include "tests/bench/swarm_agents.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/transport.h"
#include "common/wire.h"
#include "common/wire_reply.h"

#define SIM_MAX_ACKS 16
#define SIM_MAX_FAULTS 8
#define SIM_FAULT_LEN 128
#define SIM_RTT_CAP (1u << 20)
#define SIM_RETRY_MS 50

enum sim_step { SIM_SENDING, SIM_WAITING, SIM_PAUSING };

struct sim {
	struct swarm       *sw;
	nng_socket          sess, ev;
	nng_aio            *aio;
	enum sim_step       step;
	char                id[64], pod[48], ip[20];
	int64_t             incarnation;
	uint64_t            poll_seq, ev_seq;
	int64_t             t1;
	uint32_t            hb_ms;
	struct clk_exchange prev;
	bool                have_prev, with_identity;
	atomic_bool         need_identity; /* a new pipe, or the controller asked */
	Chaos__V1__Ack      acks[SIM_MAX_ACKS];
	size_t              n_acks;
	char                faults[SIM_MAX_FAULTS][SIM_FAULT_LEN];
	size_t              n_faults;
};

struct swarm {
	struct sim *sims;
	size_t      n;
	atomic_bool stop;
	atomic_bool collect;
	nng_mtx    *mtx; /* rtt */
	int64_t    *rtt;
	size_t      n_rtt;
};

/* ---- events ---- */

static void
sim_event(struct sim *a, Chaos__V1__Event *e)
{
	nng_msg *msg = NULL;

	e->protocol_version = WIRE_VERSION;
	e->agent_id         = a->id;
	e->seq              = ++a->ev_seq;
	e->t_agent_us       = clk_now_us();
	if (wire_pack(&e->base, WIRE_MAX_EVENT, &msg) != CHAOS_OK)
		return;
	/* dropped when the queue is full, as the agent does */
	if (nng_sendmsg(a->ev, msg, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(msg);
}

static void
sim_identity(struct sim *a, Chaos__V1__Identity *id, char **ips)
{
	chaos__v1__identity__init(id);
	id->agent_id    = a->id;
	id->pod         = a->pod;
	id->namespace_  = "swarm";
	id->node        = "bench";
	id->role        = CHAOS__V1__ROLE__ROLE_BLOCKCHAIN;
	ips[0]          = a->ip;
	id->ips         = ips;
	id->n_ips       = 1;
	id->version     = "bench";
	id->incarnation = a->incarnation;
}

static void
sim_hello(struct sim *a, Chaos__V1__Identity *id)
{
	Chaos__V1__Event e     = CHAOS__V1__EVENT__INIT;
	Chaos__V1__Hello hello = CHAOS__V1__HELLO__INIT;

	hello.identity = id;
	e.body_case    = CHAOS__V1__EVENT__BODY_HELLO;
	e.hello        = &hello;
	sim_event(a, &e);
}

static void
sim_fault_event(struct sim *a, const char *fault_id, Chaos__V1__FaultPhase phase)
{
	Chaos__V1__Event      e  = CHAOS__V1__EVENT__INIT;
	Chaos__V1__FaultState fs = CHAOS__V1__FAULT_STATE__INIT;

	fs.fault_id   = (char *)fault_id;
	fs.phase      = phase;
	e.body_case   = CHAOS__V1__EVENT__BODY_FAULT_STATE;
	e.fault_state = &fs;
	sim_event(a, &e);
}

/* ---- the session ---- */

/* Builds this agent's next poll into a new message. */
static chaos_err
sim_poll_msg(struct sim *a, nng_msg **out)
{
	Chaos__V1__Poll     poll; /* wire_poll_init() */
	Chaos__V1__Ack     *ackp[SIM_MAX_ACKS];
	char               *faults[SIM_MAX_FAULTS], *ips[1];
	Chaos__V1__Identity id;

	a->t1 = clk_now_us();
	wire_poll_init(&poll, a->id, ++a->poll_seq, a->t1,
	               a->have_prev ? &a->prev : NULL);
	for (size_t i = 0; i < a->n_acks; i++)
		ackp[i] = &a->acks[i];
	for (size_t i = 0; i < a->n_faults; i++)
		faults[i] = a->faults[i];
	poll.acks = ackp, poll.n_acks = a->n_acks;
	poll.active_faults = faults, poll.n_active_faults = a->n_faults;
	a->with_identity = atomic_exchange(&a->need_identity, false);
	if (a->with_identity) {
		sim_identity(a, &id, ips);
		poll.identity = &id;
		sim_hello(a, &id);
	}
	return wire_pack(&poll.base, WIRE_MAX_SESSION, out);
}

static void
sim_send_poll(struct sim *a)
{
	nng_msg *msg = NULL;

	if (sim_poll_msg(a, &msg) != CHAOS_OK) {
		a->step = SIM_PAUSING;
		nng_sleep_aio(SIM_RETRY_MS, a->aio);
		return;
	}
	a->step = SIM_SENDING;
	nng_aio_set_msg(a->aio, msg);
	nng_aio_set_timeout(a->aio, NNG_DURATION_DEFAULT);
	nng_send_aio(a->sess, a->aio);
}

static void
sim_fault_set(struct sim *a, const char *fault_id, bool on)
{
	for (size_t i = 0; i < a->n_faults; i++)
		if (strcmp(a->faults[i], fault_id) == 0) {
			if (!on)
				memcpy(a->faults[i], a->faults[--a->n_faults],
				       SIM_FAULT_LEN);
			return;
		}
	if (on && a->n_faults < SIM_MAX_FAULTS)
		snprintf(a->faults[a->n_faults++], SIM_FAULT_LEN, "%s", fault_id);
}

/* Acks one command: apply and revert change nothing and succeed. */
static void
sim_command(struct sim *a, const Chaos__V1__Command *c, Chaos__V1__Ack *ack)
{
	chaos__v1__ack__init(ack);
	ack->command_id           = c->command_id;
	ack->status               = CHAOS__V1__STATUS__STATUS_OK;
	ack->has_applied_agent_us = true;
	ack->applied_agent_us     = clk_now_us();
	if (c->body_case == CHAOS__V1__COMMAND__BODY_APPLY_FAULT) {
		sim_fault_set(a, c->apply_fault->fault_id, true);
		sim_fault_event(a, c->apply_fault->fault_id,
		                CHAOS__V1__FAULT_PHASE__FAULT_PHASE_APPLIED);
	} else if (c->body_case == CHAOS__V1__COMMAND__BODY_REVERT_FAULT) {
		sim_fault_set(a, c->revert_fault, false);
		sim_fault_event(a, c->revert_fault,
		                CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED);
	} else {
		ack->status               = CHAOS__V1__STATUS__STATUS_UNSUPPORTED;
		ack->has_applied_agent_us = false;
	}
}

static void
sim_note_rtt(struct swarm *sw, const struct clk_exchange *x)
{
	if (!atomic_load(&sw->collect))
		return;
	nng_mtx_lock(sw->mtx);
	if (sw->n_rtt < SIM_RTT_CAP)
		sw->rtt[sw->n_rtt++] = (x->t4 - x->t1) - (x->t3 - x->t2);
	nng_mtx_unlock(sw->mtx);
}

/* Takes one reply; false when it was not the answer to the poll sent. */
static bool
sim_take_reply(struct sim *a, nng_msg *msg)
{
	Chaos__V1__Reply *r   = NULL;
	int64_t           t4  = clk_now_us();
	chaos_why         why = {{0}};

	if (wire_decode_reply(nng_msg_body(msg), nng_msg_len(msg), &r, &why) != CHAOS_OK)
		return false;
	if (r->poll_seq != a->poll_seq || r->refused != NULL) {
		wire_free(r);
		return false;
	}
	a->prev      = (struct clk_exchange) {a->t1, r->t2_ctl_us, r->t3_ctl_us, t4};
	a->have_prev = true;
	a->hb_ms     = r->heartbeat_ms;
	sim_note_rtt(a->sw, &a->prev);
	if (r->identity_needed && !a->with_identity)
		atomic_store(&a->need_identity, true);
	a->n_acks = 0;
	for (size_t i = 0; i < r->n_commands && a->n_acks < SIM_MAX_ACKS; i++)
		sim_command(a, r->commands[i], &a->acks[a->n_acks++]);
	wire_free(r);
	return true;
}

/* A reply that was not the answer to this poll (stale, refused, invalid)
 * leaves the identity to show again when this poll carried it. */
static void
sim_replied(struct sim *a, nng_msg *msg)
{
	if (!sim_take_reply(a, msg) && a->with_identity)
		atomic_store(&a->need_identity, true);
	nng_msg_free(msg);
}

/* After a send: wait for the reply, three heartbeats at most (as the
 * agent does). */
static void
sim_sent(struct sim *a, int rv)
{
	nng_msg *unsent = nng_aio_get_msg(a->aio);

	if (rv != 0) {
		if (unsent != NULL) /* a failed send leaves it ours */
			nng_msg_free(unsent);
		a->step = SIM_PAUSING;
		nng_sleep_aio(SIM_RETRY_MS, a->aio);
		return;
	}
	a->step = SIM_WAITING;
	nng_aio_set_timeout(a->aio, (nng_duration)a->hb_ms * 3 + 500);
	nng_recv_aio(a->sess, a->aio);
}

static void
sim_next(struct sim *a)
{
	int rv = nng_aio_result(a->aio);

	if (atomic_load(&a->sw->stop) || rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	switch (a->step) {
	case SIM_SENDING:
		sim_sent(a, rv);
		return;
	case SIM_WAITING:
		if (rv == 0)
			sim_replied(a, nng_aio_get_msg(a->aio));
		else if (a->with_identity)
			atomic_store(&a->need_identity, true);
		break;
	case SIM_PAUSING:
		break;
	}
	sim_send_poll(a);
}

static void
sim_cb(void *arg)
{
	sim_next(arg);
}

static void
sim_pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct sim *a = arg;

	(void)p;
	(void)ev;
	atomic_store(&a->need_identity, true);
}

static chaos_err
sim_open(struct sim *a, const char *session_url, const char *events_url, chaos_why *why)
{
	int rv;

	if ((rv = nng_req0_open(&a->sess)) != 0 || (rv = nng_push0_open(&a->ev)) != 0 ||
	    (rv = nng_aio_alloc(&a->aio, sim_cb, a)) != 0)
		return chaos_fail(why, chaos_err_from_nng(rv), "agent %s: %s", a->id,
		                  nng_strerror(rv));
	nng_socket_set_ms(a->sess, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_int(a->ev, NNG_OPT_SENDBUF, 16);
	nng_pipe_notify(a->sess, NNG_PIPE_EV_ADD_POST, sim_pipe_added, a);
	if (transport_dial(a->sess, session_url, WIRE_MAX_SESSION + WIRE_SOCKET_SLACK,
	                   NULL, why) != CHAOS_OK ||
	    transport_dial(a->ev, events_url, WIRE_MAX_EVENT, NULL, why) != CHAOS_OK)
		return CHAOS_ECONN;
	return CHAOS_OK;
}

const char *
swarm_agent_id(const char *prefix, size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "swarm/%s-%05zu", prefix, i);
	return buf;
}

static void
sim_init(struct swarm *sw, struct sim *a, size_t i, const char *prefix)
{
	a->sw = sw;
	snprintf(a->pod, sizeof(a->pod), "%s-%05zu", prefix, i);
	swarm_agent_id(prefix, i, a->id, sizeof(a->id));
	snprintf(a->ip, sizeof(a->ip), "10.%u.%u.%u", (unsigned)(100 + i / 65536) % 256,
	         (unsigned)(i / 256) % 256, (unsigned)i % 256);
	a->incarnation = clk_now_us() + (int64_t)i;
	a->hb_ms       = 1000;
	atomic_store(&a->need_identity, true);
}

chaos_err
swarm_start(const char *session_url, const char *events_url, size_t n, const char *prefix,
            struct swarm **out, chaos_why *why)
{
	struct swarm *sw = calloc(1, sizeof(*sw));
	chaos_err     rv = chaos_fail(why, CHAOS_ENOMEM, "out of memory");

	if (sw == NULL || (sw->sims = calloc(n, sizeof(*sw->sims))) == NULL ||
	    (sw->rtt = calloc(SIM_RTT_CAP, sizeof(*sw->rtt))) == NULL ||
	    nng_mtx_alloc(&sw->mtx) != 0)
		goto fail;
	for (sw->n = 0; sw->n < n; sw->n++) {
		sim_init(sw, &sw->sims[sw->n], sw->n, prefix);
		if ((rv = sim_open(&sw->sims[sw->n], session_url, events_url, why)) !=
		    CHAOS_OK) {
			sw->n++; /* its sockets are closed with the others' */
			goto fail;
		}
	}
	for (size_t i = 0; i < n; i++)
		sim_send_poll(&sw->sims[i]);
	*out = sw;
	return CHAOS_OK;
fail:
	swarm_stop(sw);
	return rv;
}

void
swarm_stop(struct swarm *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stop, true);
	for (size_t i = 0; i < s->n; i++)
		if (s->sims[i].aio != NULL)
			nng_aio_stop(s->sims[i].aio);
	for (size_t i = 0; i < s->n; i++) {
		nng_close(s->sims[i].sess);
		nng_close(s->sims[i].ev);
		nng_aio_free(s->sims[i].aio);
	}
	if (s->mtx != NULL)
		nng_mtx_free(s->mtx);
	free(s->rtt);
	free(s->sims);
	free(s);
}

void
swarm_collect_rtt(struct swarm *s, bool on)
{
	if (on) {
		nng_mtx_lock(s->mtx);
		s->n_rtt = 0;
		nng_mtx_unlock(s->mtx);
	}
	atomic_store(&s->collect, on);
}

size_t
swarm_take_rtt(struct swarm *s, int64_t *out, size_t cap)
{
	size_t n;

	nng_mtx_lock(s->mtx);
	n = s->n_rtt < cap ? s->n_rtt : cap;
	memcpy(out, s->rtt, n * sizeof(*out));
	s->n_rtt = 0;
	nng_mtx_unlock(s->mtx);
	return n;
}

static int
swarm_cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
swarm_percentile(double *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), swarm_cmp_d);
	k = (size_t)(p / 100.0 * (double)n + 0.999999);
	return v[k == 0 ? 0 : (k > n ? n - 1 : k - 1)];
}
