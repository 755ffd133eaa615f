// SPDX-License-Identifier: MIT
#include "tests/bench/standin.h"

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/wire.h"
#include "common/wire_reply.h"

#define STANDIN_HEARTBEAT_MS 500u
#define STANDIN_STEP_MS 50 /* how often the thread looks at stop and events */
#define STANDIN_INSTANCE 0x5eedULL

struct standin {
	nng_socket            rep, pull;
	pthread_t             thread;
	bool                  started;
	atomic_bool           stop;
	Chaos__V1__ProbeSpec *probes[STANDIN_MAX_PROBES];
	size_t                n;
	atomic_int            samples[STANDIN_MAX_PROBES];
	atomic_int            acked[STANDIN_MAX_PROBES]; /* 0 no ack, 1 OK, -1 not OK */
};

/* Counts the probe samples waiting on the events socket. */
static void
standin_drain_events(struct standin *s)
{
	nng_msg          *msg;
	Chaos__V1__Event *e;

	while (nng_recvmsg(s->pull, &msg, NNG_FLAG_NONBLOCK) == 0) {
		if (wire_decode_event(nng_msg_body(msg), nng_msg_len(msg), &e, NULL) ==
		    CHAOS_OK) {
			for (size_t i = 0; i < s->n; i++)
				if (e->body_case == CHAOS__V1__EVENT__BODY_SAMPLE &&
				    strcmp(e->sample->probe_id, s->probes[i]->probe_id) ==
				        0)
					atomic_fetch_add(&s->samples[i], 1);
			wire_free(e);
		}
		nng_msg_free(msg);
	}
}

/* Notes the acks of our commands (command_id = 1 + probe index). */
static bool
standin_note_acks(struct standin *s, const Chaos__V1__Poll *p)
{
	bool all = true;

	for (size_t i = 0; i < p->n_acks; i++) {
		uint64_t id = p->acks[i]->command_id;
		if (id >= 1 && id <= s->n)
			atomic_store(
			    &s->acked[id - 1],
			    p->acks[i]->status == CHAOS__V1__STATUS__STATUS_OK ? 1 : -1);
	}
	for (size_t i = 0; i < s->n; i++)
		all = all && atomic_load(&s->acked[i]) != 0;
	return all;
}

/* Answers one poll: the probes again until all are acked (the agent
 * applies by command_id, idempotently), else a plain keepalive. */
static void
standin_reply(struct standin *s, const Chaos__V1__Poll *p, int64_t t2, bool acked)
{
	Chaos__V1__Reply   r;
	Chaos__V1__Command cmds[STANDIN_MAX_PROBES], *cmdp[STANDIN_MAX_PROBES];
	nng_msg           *msg;

	for (size_t i = 0; i < s->n && !acked; i++) {
		chaos__v1__command__init(&cmds[i]);
		cmds[i].command_id  = 1 + i;
		cmds[i].body_case   = CHAOS__V1__COMMAND__BODY_START_PROBE;
		cmds[i].start_probe = s->probes[i];
		cmdp[i]             = &cmds[i];
	}
	wire_reply_init(&r, p->poll_seq, t2, STANDIN_HEARTBEAT_MS, STANDIN_INSTANCE);
	r.n_commands = acked ? 0 : s->n;
	r.commands   = cmdp;
	if (wire_reply_pack(&r, &msg) == CHAOS_OK && nng_sendmsg(s->rep, msg, 0) != 0)
		nng_msg_free(msg);
}

/* Holds a poll for a heartbeat, as the controller parks it, so that the
 * agent polls at its usual rate instead of in a tight loop. */
static void
standin_park(struct standin *s)
{
	int64_t until = clk_mono_us() + (int64_t)STANDIN_HEARTBEAT_MS * 1000;

	while (!atomic_load(&s->stop) && clk_mono_us() < until) {
		standin_drain_events(s);
		nng_msleep(STANDIN_STEP_MS);
	}
}

static void *
standin_main(void *arg)
{
	struct standin *s = arg;

	while (!atomic_load(&s->stop)) {
		nng_msg         *msg;
		Chaos__V1__Poll *p;
		int64_t          t2;
		bool             acked;

		standin_drain_events(s);
		if (nng_recvmsg(s->rep, &msg, 0) != 0)
			continue; /* RECVTIMEO: look at stop again */
		t2 = clk_now_us();
		if (wire_decode_poll(nng_msg_body(msg), nng_msg_len(msg), &p, NULL) !=
		    CHAOS_OK) {
			nng_msg_free(msg);
			continue;
		}
		nng_msg_free(msg);
		if ((acked = standin_note_acks(s, p)))
			standin_park(s);
		standin_reply(s, p, t2, acked);
		wire_free(p);
	}
	return NULL;
}

static chaos_err
standin_listen(struct standin *s, const char *url, chaos_why *why)
{
	char events[256];
	int  rv;

	snprintf(events, sizeof(events), "%s.events", url);
	if ((rv = nng_rep0_open(&s->rep)) != 0 || (rv = nng_pull0_open(&s->pull)) != 0 ||
	    (rv = nng_socket_set_ms(s->rep, NNG_OPT_RECVTIMEO, STANDIN_STEP_MS)) != 0 ||
	    (rv = nng_socket_set_size(s->rep, NNG_OPT_RECVMAXSZ, WIRE_MAX_SESSION)) !=
	        0 ||
	    (rv = nng_socket_set_size(s->pull, NNG_OPT_RECVMAXSZ, WIRE_MAX_EVENT)) != 0 ||
	    (rv = nng_listen(s->rep, url, NULL, 0)) != 0 ||
	    (rv = nng_listen(s->pull, events, NULL, 0)) != 0)
		return chaos_fail(why, CHAOS_ESYS, "stand-in on %s: %s", url,
		                  nng_strerror(rv));
	return CHAOS_OK;
}

chaos_err
standin_start(const char *url, const Chaos__V1__ProbeSpec *const *probes, size_t n,
              struct standin **out, chaos_why *why)
{
	struct standin *s = calloc(1, sizeof(*s));
	chaos_err       rv;
	int             rc;

	if (s == NULL || n > STANDIN_MAX_PROBES) {
		free(s);
		return chaos_fail(why, CHAOS_EINVAL,
		                  "stand-in: out of memory or too many probes");
	}
	for (s->n = 0; s->n < n; s->n++)
		if ((s->probes[s->n] = wire_copy(&probes[s->n]->base)) == NULL) {
			standin_stop(s);
			return CHAOS_ENOMEM;
		}
	if ((rv = standin_listen(s, url, why)) != CHAOS_OK) {
		standin_stop(s);
		return rv;
	}
	if ((rc = pthread_create(&s->thread, NULL, standin_main, s)) != 0) {
		standin_stop(s);
		return chaos_fail(why, CHAOS_ESYS, "stand-in thread: %s", strerror(rc));
	}
	s->started = true;
	*out       = s;
	return CHAOS_OK;
}

int
standin_samples(struct standin *s, size_t i)
{
	return i < s->n ? atomic_load(&s->samples[i]) : 0;
}

int
standin_acked_ok(struct standin *s, size_t i)
{
	return i < s->n ? atomic_load(&s->acked[i]) : 0;
}

void
standin_stop(struct standin *s)
{
	if (s == NULL)
		return;
	if (s->started) {
		atomic_store(&s->stop, true);
		pthread_join(s->thread, NULL);
	}
	nng_close(s->rep);
	nng_close(s->pull);
	for (size_t i = 0; i < s->n; i++)
		wire_free(s->probes[i]);
	free(s);
}
