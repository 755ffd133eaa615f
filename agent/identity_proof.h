/* SPDX-License-Identifier: MIT */
/*
 * The agent's answer to the controller's identity challenge over mutual
 * TLS: its certificate and a signature, with the certificate's key, of what
 * common/idproof.h defines. The controller then knows the agent holds a
 * certificate of its CA that names the identity it claims.
 */
#ifndef CHAOS_AGENT_IDENTITY_PROOF_H
#define CHAOS_AGENT_IDENTITY_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/transport.h"
#include "proto/chaos.pb-c.h"

/* One proof: the Poll field and the storage it points into. */
struct identity_proof;

/* Makes the proof of id for the challenge nonce of controller instance
 * `instance`. The certificates (the agent's own first, then any
 * intermediates) are read from tls->cert_key_file and the key from
 * tls->key_file, or from cert_key_file when key_file is NULL; both are read
 * afresh at each call, so a renewed certificate serves the next
 * connection. On success *out is the caller's (identity_proof_free()).
 * CHAOS_EINVAL with why naming the file when there are no TLS files, a file
 * cannot be read, holds too many or too large certificates, or the key is
 * not the certificate's; CHAOS_ESYS when signing failed; CHAOS_ENOMEM. */
chaos_err identity_proof_new(const struct transport_tls *tls, const uint8_t *nonce,
                             size_t nonce_len, uint64_t instance,
                             const Chaos__V1__Identity *id, struct identity_proof **out,
                             chaos_why *why);

/* Checks what a TLS handshake would refuse in this agent's own files, for
 * an agent the controller does not answer: the certificate unreadable,
 * expired or not valid yet, or the key not its key. CHAOS_OK when none of
 * that; else CHAOS_EINVAL with why saying which (and until or from when). */
chaos_err identity_proof_check(const struct transport_tls *tls, chaos_why *why);

/* The Poll.identity_proof message of p; it lives as long as p. */
Chaos__V1__IdentityProof *identity_proof_msg(struct identity_proof *p);

/* Frees p; NULL is fine. */
void identity_proof_free(struct identity_proof *p);

#endif
