// SPDX-License-Identifier: MIT
#include "agent/session.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "agent/exempt.h"
#include "agent/identity_proof.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/wire.h"
#include "common/wire_reply.h"

#define SESSION_MAX_ACKS SESSION_MAX_COMMANDS
#define SESSION_DEFAULT_HB_MS 1000
#define SESSION_MIN_WAIT_MS 10
#define SESSION_REFUSED_BACKOFF_MS 2000

struct session_ack {
	Chaos__V1__Ack msg;
	char           error[256];
};

struct session {
	nng_socket             sock;
	const struct identity *id;
	struct events         *ev;
	struct exempt         *ex;
	struct session_handler h;
	atomic_bool            stop;
	atomic_bool            need_identity; /* new pipe, or the controller asked */
	_Atomic uint32_t       hb_ms;
	uint64_t               poll_seq;
	struct clk_exchange    prev;
	bool                   have_prev;
	struct clk_filter      clk; /* the agent's own view of the offset */
	struct session_ack     acks[SESSION_MAX_ACKS];
	size_t                 n_acks;
	struct session_stats   st;
	uint64_t               refusals; /* in a row */
	/* mutual TLS: the files that prove the identity, and the controller's
	 * challenge the next poll answers (challenge_len 0: none) */
	const struct transport_tls *tls;
	bool                        over_tls;           /* the URL is tls+tcp:// */
	char                        url[LIMIT_URL_LEN]; /* for what to check */
	uint8_t                     challenge[LIMIT_NONCE_MAX];
	size_t                      challenge_len;
	uint64_t                    challenge_instance;
};

/* Runs on an NNG thread: flips a flag for the session thread and hands the
 * peer address to the exemption (NNG_OPT_REMADDR is valid only now). */
static void
session_pipe_added(nng_pipe p, nng_pipe_ev what, void *arg)
{
	struct session *s = arg;

	(void)what;
	exempt_note_pipe(s->ex, EXEMPT_SESSION, p);
	atomic_store(&s->need_identity, true);
	s->st.reconnects++;
}

chaos_err
session_open(const char *url, const struct transport_tls *tls, const struct identity *id,
             struct events *ev, struct exempt *ex, const struct session_handler *h,
             struct session **out, chaos_why *why)
{
	struct session *s = calloc(1, sizeof(*s));
	int             rv;

	if (s == NULL)
		return CHAOS_ENOMEM;
	s->id = id;
	s->ev = ev;
	s->ex = ex;
	s->h  = *h;
	clk_filter_init(&s->clk);
	s->tls      = tls; /* read again at each proof: a renewed certificate serves */
	s->over_tls = strncmp(url, "tls+", 4) == 0;
	snprintf(s->url, sizeof(s->url), "%s", url);
	atomic_store(&s->need_identity, true);
	atomic_store(&s->hb_ms, SESSION_DEFAULT_HB_MS);
	if ((rv = nng_req0_open(&s->sock)) != 0) {
		free(s);
		return chaos_fail(why, chaos_err_from_nng(rv), "%s", nng_strerror(rv));
	}
	/* Never resend on our own: a lost connection must fail the recv so
	 * the next poll (with fresh times and acks) goes out instead. */
	nng_socket_set_ms(s->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(s->sock, NNG_OPT_SENDTIMEO, 1000);
	nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_POST, session_pipe_added, s);
	if ((rv = transport_dial(s->sock, url, WIRE_MAX_SESSION + WIRE_SOCKET_SLACK, tls,
	                         why)) != CHAOS_OK) {
		nng_close(s->sock);
		free(s);
		return rv;
	}
	*out = s;
	return CHAOS_OK;
}

void
session_stop(struct session *s)
{
	atomic_store(&s->stop, true);
	/* Wakes a blocked recv at once; the loop sees stop and returns. */
	nng_close(s->sock);
}

void
session_close(struct session *s)
{
	if (s == NULL)
		return;
	nng_close(s->sock);
	free(s);
}

uint32_t
session_heartbeat_ms(const struct session *s)
{
	return atomic_load(&s->hb_ms);
}

int64_t
session_clock_offset_us(const struct session *s)
{
	int64_t off = 0, err;

	if (!clk_filter_best(&s->clk, &off, &err))
		return 0;
	return off;
}

void
session_get_stats(const struct session *s, struct session_stats *st)
{
	*st = s->st;
}

/* Said once the controller took a poll with the identity: over mutual TLS
 * it takes a Hello only from an agent whose connection proved it. */
static void
session_send_hello(struct session *s)
{
	Chaos__V1__Event   e     = CHAOS__V1__EVENT__INIT;
	Chaos__V1__Hello   hello = CHAOS__V1__HELLO__INIT;
	struct identity_pb pb;

	identity_to_pb(s->id, &pb);
	hello.identity = &pb.msg;
	e.body_case    = CHAOS__V1__EVENT__BODY_HELLO;
	e.hello        = &hello;
	if (events_redial_if_down(s->ev))
		log_info("events channel not connected yet: dialling it again now");
	events_send(s->ev, &e);
}

/* Waits SESSION_REFUSED_BACKOFF_MS (less when stopped), so a refused
 * agent does not spin. */
static void
session_back_off(struct session *s)
{
	for (int i = 0; i < SESSION_REFUSED_BACKOFF_MS / 50 && !atomic_load(&s->stop);
	     i++)
		nng_msleep(50);
}

/* Logs the first failure to prove the identity and every tenth, and backs
 * off as after a refusal: the next poll asks for a new challenge. */
static void
session_note_no_proof(struct session *s, const char *why)
{
	if (s->refusals++ % 10 == 0)
		log_error("cannot prove this agent's identity to the controller: %s",
		          why);
	session_back_off(s);
}

/* Answers the controller's identity challenge in poll, which carries the
 * identity it proves. *proof is the caller's to free once the poll is
 * packed. */
static chaos_err
session_attach_proof(struct session *s, Chaos__V1__Poll *poll,
                     struct identity_proof **proof)
{
	size_t    len = s->challenge_len;
	chaos_why why;
	chaos_err rv;

	if (len == 0)
		return CHAOS_OK;
	s->challenge_len = 0; /* a nonce serves one proof */
	if ((rv = identity_proof_new(s->tls, s->challenge, len, s->challenge_instance,
	                             poll->identity, proof, &why)) != CHAOS_OK) {
		session_note_no_proof(s, why.text);
		return rv;
	}
	poll->identity_proof = identity_proof_msg(*proof);
	return CHAOS_OK;
}

/* Builds and sends one poll; *with_identity tells whether it carried one. */
static int
session_send_poll(struct session *s, int64_t t1, bool *with_identity)
{
	Chaos__V1__Poll        poll; /* wire_poll_init() */
	Chaos__V1__Ack        *ackp[SESSION_MAX_ACKS];
	const char            *active[SESSION_MAX_ACTIVE];
	struct identity_pb     pb;
	struct identity_proof *proof = NULL;
	nng_msg               *msg   = NULL;
	int                    rv;

	wire_poll_init(&poll, s->id->agent_id, ++s->poll_seq, t1,
	               s->have_prev ? &s->prev : NULL);
	for (size_t i = 0; i < s->n_acks; i++)
		ackp[i] = &s->acks[i].msg;
	poll.acks   = ackp;
	poll.n_acks = s->n_acks;
	poll.n_active_faults =
	    s->h.active ? s->h.active(s->h.arg, active, SESSION_MAX_ACTIVE) : 0;
	poll.active_faults = (char **)active;
	*with_identity =
	    atomic_exchange(&s->need_identity, false) || s->challenge_len > 0;
	if (*with_identity) {
		identity_to_pb(s->id, &pb);
		poll.identity = &pb.msg;
	}
	if ((rv = session_attach_proof(s, &poll, &proof)) == CHAOS_OK)
		rv = wire_pack(&poll.base, WIRE_MAX_SESSION, &msg);
	identity_proof_free(proof);
	if (rv != CHAOS_OK) {
		if (*with_identity)
			atomic_store(&s->need_identity, true);
		return rv;
	}
	if ((rv = nng_sendmsg(s->sock, msg, 0)) != 0) {
		nng_msg_free(msg);
		if (*with_identity)
			atomic_store(&s->need_identity, true);
		return chaos_err_from_nng(rv);
	}
	s->st.polls++;
	return CHAOS_OK;
}

static void
session_handle_commands(struct session *s, const Chaos__V1__Reply *r)
{
	Chaos__V1__Ack *acks[SESSION_MAX_ACKS];

	s->n_acks = 0;
	for (size_t i = 0; i < r->n_commands && s->n_acks < SESSION_MAX_ACKS; i++) {
		struct session_ack *a = &s->acks[s->n_acks++];
		chaos__v1__ack__init(&a->msg);
		a->msg.command_id = r->commands[i]->command_id;
		a->msg.status     = CHAOS__V1__STATUS__STATUS_UNSUPPORTED;
		a->error[0]       = '\0';
		acks[i]           = &a->msg;
		if (s->h.commands == NULL && s->h.command != NULL)
			s->h.command(s->h.arg, r->commands[i], &a->msg);
	}
	if (s->h.commands != NULL)
		s->h.commands(s->h.arg, r->commands, s->n_acks, acks);
	/* Copy the handler's text so it outlives the handler's buffers. */
	for (size_t i = 0; i < s->n_acks; i++) {
		struct session_ack *a = &s->acks[i];
		if (a->msg.error != NULL) {
			snprintf(a->error, sizeof(a->error), "%s", a->msg.error);
			a->msg.error = a->error;
		}
	}
}

/* The controller refused this agent (another live process holds its id,
 * its table is full, or its certificate does not name the identity it
 * claims): say why, the first time and every tenth, and back off; it keeps
 * trying, so it takes over once the id is free. */
static void
session_note_refusal(struct session *s, const char *why)
{
	if (s->refusals++ % 10 == 0)
		log_error("the controller refused this agent: %s", why);
	session_back_off(s);
}

/* The controller asks this connection to prove its identity (mutual TLS):
 * the next poll, sent at once, answers. */
static void
session_take_challenge(struct session *s, const Chaos__V1__Reply *r)
{
	memcpy(s->challenge, r->identity_challenge.data, r->identity_challenge.len);
	s->challenge_len      = r->identity_challenge.len;
	s->challenge_instance = r->has_instance_id ? r->instance_id : 0;
}

/* Takes one reply; returns true when it answered the poll just sent. */
static bool
session_take_reply(struct session *s, nng_msg *msg, int64_t t1, int64_t t4,
                   bool with_identity)
{
	Chaos__V1__Reply *r = NULL;
	chaos_why         why;

	if (wire_decode_reply(nng_msg_body(msg), nng_msg_len(msg), &r, &why) !=
	    CHAOS_OK) {
		s->st.bad_replies++;
		log_warn("reply dropped: %s", why.text);
		return false;
	}
	if (r->poll_seq != s->poll_seq) {
		wire_free(r);
		s->st.bad_replies++;
		return false;
	}
	s->prev      = (struct clk_exchange) {t1, r->t2_ctl_us, r->t3_ctl_us, t4};
	s->have_prev = true;
	clk_filter_add(&s->clk, &s->prev);
	atomic_store(&s->hb_ms, r->heartbeat_ms);
	if (r->identity_needed && !with_identity)
		atomic_store(&s->need_identity, true);
	if (r->has_identity_challenge) {
		session_take_challenge(s, r); /* its refused is for older agents */
		wire_free(r);
		return false;
	}
	if (r->refused != NULL) {
		session_note_refusal(s, r->refused);
		wire_free(r);
		return false;
	}
	s->refusals = 0;
	if (with_identity) {
		session_send_hello(s);
		/* node mode: the target list follows the identity */
		if (s->h.connected != NULL)
			s->h.connected(s->h.arg);
	}
	session_handle_commands(s, r);
	if (s->h.leases != NULL)
		s->h.leases(s->h.arg, clk_mono_us(),
		            r->has_instance_id ? r->instance_id : 0, r->live_faults,
		            r->n_live_faults);
	s->st.replies++;
	wire_free(r);
	return true;
}

/* Says so when the controller stays silent: a wrong address, a TLS
 * certificate it refuses, or no controller at all all look alike from here,
 * so the line names them (the TLS files only over TLS), and says what is
 * wrong with this agent's own certificate when something is. Logged on the
 * first timeout and every tenth. */
static void
session_note_silence(struct session *s)
{
	chaos_why why;

	if (s->st.timeouts++ % 10 != 0)
		return;
	log_warn("no answer from the controller yet (%llu polls to %s timed out); "
	         "check the --controller address and that chaos-controller runs "
	         "there%s",
	         (unsigned long long)s->st.timeouts, s->url,
	         s->over_tls ? ", and the TLS files (a certificate from another CA, "
	                       "or an expired one, is refused)"
	                     : "");
	if (s->tls != NULL && s->tls->cert_key_file != NULL &&
	    identity_proof_check(s->tls, &why) != CHAOS_OK)
		log_error("this agent's certificate: %s", why.text);
}

/* How long to wait for a reply: three heartbeats (the controller answers
 * within one), but never past the handler's next deadline. */
static int
session_wait_ms(struct session *s, int64_t deadline_mono)
{
	int64_t wait = (int64_t)atomic_load(&s->hb_ms) * 3 + 500;

	if (deadline_mono > 0) {
		int64_t until = (deadline_mono - clk_mono_us()) / 1000;
		if (until < wait)
			wait = until;
	}
	return wait < SESSION_MIN_WAIT_MS ? SESSION_MIN_WAIT_MS : (int)wait;
}

chaos_err
session_run(struct session *s)
{
	int64_t deadline = 0;

	while (!atomic_load(&s->stop)) {
		bool      renewed = false, with_identity = false;
		int64_t   t1  = clk_now_us();
		nng_msg  *msg = NULL;
		chaos_err sent;
		int       rv;

		nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO,
		                  session_wait_ms(s, deadline));
		if ((sent = session_send_poll(s, t1, &with_identity)) == CHAOS_OK) {
			rv = nng_recvmsg(s->sock, &msg, 0);
			if (rv == 0) {
				renewed = session_take_reply(s, msg, t1, clk_now_us(),
				                             with_identity);
				nng_msg_free(msg);
			} else if (rv == NNG_ETIMEDOUT) {
				session_note_silence(s);
			} else if (rv != NNG_ECLOSED) {
				/* Connection lost: the dialer reconnects; pace
				 * the loop so it never spins. */
				nng_msleep(50);
			}
			if (!renewed && with_identity)
				atomic_store(&s->need_identity, true);
		} else if (sent == CHAOS_ETIMEDOUT) {
			/* no connection to send on: a handshake refused, say */
			session_note_silence(s);
		} else if (!atomic_load(&s->stop)) {
			nng_msleep(50);
		}
		deadline = s->h.tick != NULL ? s->h.tick(s->h.arg, clk_mono_us()) : 0;
	}
	return CHAOS_OK;
}
