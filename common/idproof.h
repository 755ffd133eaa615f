/* SPDX-License-Identifier: MIT */
/*
 * What an agent signs to prove its identity over mutual TLS, and which
 * certificate name an identity needs: one definition for the agent, which
 * signs (agent/identity_proof.c), and the controller, which checks
 * (controller/identity_check.c).
 *
 * NNG 1.5.2 checks that an agent's certificate comes from the CA but does
 * not show the controller who it names, so the controller asks each new
 * connection to sign a nonce (Reply.identity_challenge) and checks the
 * proof (Poll.identity_proof) itself. The signature is over SHA-256 of:
 *
 *   IDPROOF_DOMAIN                    23 bytes: no other use of the key
 *                                     can be passed off as a proof
 *   nonce                             1 length byte, then the nonce
 *   controller instance id            8 bytes, big-endian
 *   agent_id, pod, namespace, node    each 2 length bytes (big-endian),
 *                                     then the text
 *   role                              4 bytes, big-endian
 *   incarnation                       8 bytes, big-endian
 *
 * The lengths keep fields from running into each other ("ab" + "c" is not
 * "a" + "bc").
 */
#ifndef CHAOS_COMMON_IDPROOF_H
#define CHAOS_COMMON_IDPROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"
#include "proto/chaos.pb-c.h"

#define IDPROOF_DOMAIN "chaos-agent-identity-v1"
#define IDPROOF_NONCE_LEN 32u /* what the controller sends */
#define IDPROOF_DIGEST_LEN 32u
/* "pod:" + namespace + "/" + pod, and a NUL */
#define IDPROOF_NAME_LEN (2u * LIMIT_ID_LEN + 6u)

/* Writes the digest an agent signs for id, answering nonce (nonce_len
 * LIMIT_NONCE_MIN..LIMIT_NONCE_MAX) from controller instance `instance`.
 * CHAOS_EINVAL for a nonce or a field out of its limits. */
chaos_err idproof_digest(const uint8_t *nonce, size_t nonce_len, uint64_t instance,
                         const Chaos__V1__Identity *id, uint8_t out[IDPROOF_DIGEST_LEN]);

/* Writes the subject CN a certificate must carry to claim id: "node:<node>"
 * for role node, "pod:<namespace>/<pod>" for any other role; the same
 * scheme as deploy/certs/make-certs.sh. CHAOS_ETOOBIG when it does not fit
 * len (IDPROOF_NAME_LEN always fits). */
chaos_err idproof_expected_cn(const Chaos__V1__Identity *id, char *buf, size_t len);

/* Whether id is a node agent's (role node, or --mode node whatever its
 * role): its certificate names its node, not a pod. */
bool idproof_is_node(const Chaos__V1__Identity *id);

#endif
