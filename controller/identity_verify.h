/* SPDX-License-Identifier: MIT */
/*
 * Whether one identity proof (common/idproof.h) proves the identity it
 * comes with: its certificate chains to the controller's CA and is valid
 * now (mbedtls_x509_crt_verify), may authenticate a client, has the CN the
 * identity needs (idproof_expected_cn()), a sidecar's agent id is that
 * name's <namespace>/<pod>, and the certificate's key signed the nonce and
 * the claim. controller/identity_check.c keeps what each connection proved.
 */
#ifndef CHAOS_CONTROLLER_IDENTITY_VERIFY_H
#define CHAOS_CONTROLLER_IDENTITY_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/idproof.h"
#include "proto/chaos.pb-c.h"

struct idverify;

/* Loads the CA certificates of ca_file (the --tls-ca the listeners trust);
 * instance is the controller instance id proofs must sign. CHAOS_EINVAL
 * with why naming the file when it holds no certificate; CHAOS_ENOMEM. */
chaos_err idverify_new(const char *ca_file, uint64_t instance, struct idverify **out,
                       chaos_why *why);

/* Frees v; NULL is fine. */
void idverify_free(struct idverify *v);

/* Whether proof answers nonce for identity id. CHAOS_OK, or CHAOS_EPERM
 * with why saying what failed: the certificate's chain, validity or use,
 * its name against the claim ("the certificate names pod:staging/chain-0,
 * and the agent claims pod:staging/chain-1"), the agent id, or the
 * signature. A few
 * milliseconds of CPU; thread-safe. */
chaos_err idverify_proof(struct idverify *v, const uint8_t *nonce, size_t nonce_len,
                         const Chaos__V1__Identity      *id,
                         const Chaos__V1__IdentityProof *proof, chaos_why *why);

/* The subject CN of the first certificate of proof's chain, read as
 * idverify_proof() reads it (every certificate parsed, then the one CN of
 * printable ASCII), into buf (len bytes, NUL-terminated); nothing is
 * verified. CHAOS_EPERM with why: a certificate that is not X.509 DER, no
 * certificate, or no single printable CN that fits. For the fuzz target
 * (tests/fuzz/fuzz_identity_cn.c), which feeds it arbitrary DER. */
chaos_err idverify_proof_cn(const Chaos__V1__IdentityProof *proof, char *buf, size_t len,
                            chaos_why *why);

#endif
