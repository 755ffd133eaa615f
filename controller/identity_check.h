/* SPDX-License-Identifier: MIT */
/*
 * The controller's check that an agent is who it claims to be, on session
 * connections over mutual TLS. NNG checks that the agent's certificate
 * comes from the CA, but does not tell who it names; so every new
 * connection is challenged with a nonce and must answer with a proof
 * (common/idproof.h): a certificate that chains to the CA, is valid now,
 * may authenticate a client, and whose CN is the claimed identity
 * (pod:<namespace>/<pod>, or node:<node> for role node), and a signature of
 * the nonce and the claim with that certificate's key
 * (controller/identity_verify.h checks one proof; this module keeps what
 * each connection proved).
 *
 * A connection is bound to what it proved: its polls may not use another
 * agent id nor change the claimed names, and until it has proven them none
 * of its polls reaches the registry (so it gets no commands). A refused
 * connection is logged once, with both names and its address, and counted
 * (chaos_agents_refused_total{reason="identity"}); it may try again with a
 * new challenge (a renewed certificate, say).
 *
 * Plaintext tcp:// and ipc:// carry no certificates: there is nothing to
 * check and the identity stays self-declared.
 *
 * Thread-safe: the pipe callbacks, the session workers and the events
 * thread call it.
 */
#ifndef CHAOS_CONTROLLER_IDENTITY_CHECK_H
#define CHAOS_CONTROLLER_IDENTITY_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "common/err.h"
#include "common/idproof.h"
#include "proto/chaos.pb-c.h"

struct idcheck;

/* Loads the CA certificates of ca_file (the --tls-ca the listeners trust),
 * which agent certificates must chain to. instance is this controller's
 * instance id (agents sign it); max_agents sizes the connection table.
 * CHAOS_EINVAL with why naming the file when it holds no certificate;
 * CHAOS_ENOMEM. */
chaos_err idcheck_new(const char *ca_file, uint64_t instance, size_t max_agents,
                      struct idcheck **out, chaos_why *why);

/* Frees c; NULL is fine. After the servers that use it have stopped. */
void idcheck_free(struct idcheck *c);

/* nng_pipe_notify() callback for NNG_PIPE_EV_ADD_PRE of the session socket
 * (arg: the idcheck): a connection starts unproven, its address noted for
 * the log. ADD_PRE runs before the connection can deliver a poll. */
void idcheck_pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg);

/* A session connection closed: what it proved goes with it. NULL c is
 * fine. */
void idcheck_pipe_closed(struct idcheck *c, uint32_t pipe_id);

enum idcheck_verdict {
	IDCHECK_PASS,      /* proven, and the poll keeps to it: take the poll */
	IDCHECK_CHALLENGE, /* not proven yet: answer with the nonce */
	IDCHECK_REFUSED,   /* proof or poll refused: answer with why */
};

/* Judges poll p of connection pipe_id. PASS: take it. CHALLENGE: nonce is
 * the challenge to send (idcheck_pack_challenge()), why a line for agents
 * too old to answer it; take nothing. REFUSED: why says what was wrong
 * (the refusal to send); take nothing. Checking a proof takes a few
 * milliseconds of CPU, once per connection. */
enum idcheck_verdict idcheck_poll(struct idcheck *c, uint32_t pipe_id,
                                  const Chaos__V1__Poll *p,
                                  uint8_t nonce[IDPROOF_NONCE_LEN], chaos_why *why);

/* Packs the reply to poll_seq that challenges a connection: the nonce and,
 * for older agents, refused = text; no commands. *out is a new message
 * owned by the caller. CHAOS_ENOMEM. */
chaos_err idcheck_pack_challenge(const struct idcheck *c, uint64_t poll_seq,
                                 int64_t t2_ctl_us, uint32_t heartbeat_ms,
                                 const uint8_t nonce[IDPROOF_NONCE_LEN], const char *text,
                                 nng_msg **out);

/* Whether an events-channel Hello with this identity is backed by a proven
 * session connection of the same agent id that proved the same names, role
 * and incarnation. A Hello that is not must not register or rename an
 * agent. */
bool idcheck_hello_backed(struct idcheck *c, const Chaos__V1__Identity *id);

#endif
