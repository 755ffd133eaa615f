// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the reading of agents' certificates: the DER chain
 * of an IdentityProof, parsed by mbedtls, and our walk over the first
 * certificate's subject names for its one CN (idverify_proof_cn in
 * controller/identity_verify.c, the same steps idverify_proof takes before
 * it compares the CN with the identity the agent claims).
 *
 * Input: DER certificates back to back; the target splits them at the
 * length of each outer TLV (at most FUZZ_MAX_CERTS, the last takes the
 * rest), so a seed is a chain as `cat a.der b.der` makes it.
 * Beyond "no crash, no leak": a CN taken is NUL-terminated inside the
 * buffer, printable ASCII, and the same whatever the buffer's size as long
 * as it fits; a refusal says why.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/idproof.h"
#include "controller/identity_verify.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_CERTS 4
#define FUZZ_SMALL_CN 8

/* The bytes of the outer TLV at p (at most len): tag, length, value. */
static size_t
fuzz_tlv_len(const uint8_t *p, size_t len)
{
	size_t k, v = 0;

	if (len < 2)
		return len;
	if (p[1] < 0x80)
		v = 2 + (size_t)p[1];
	else if ((k = p[1] & 0x7f) >= 1 && k <= 3 && len >= 2 + k) {
		for (size_t i = 0; i < k; i++)
			v = v << 8 | p[2 + i];
		v += 2 + k;
	} else
		return len;
	return v < len ? v : len;
}

static void
fuzz_check_cn(const char *cn, size_t size)
{
	fuzz_require(fuzz_terminated(cn, size));
	for (const char *c = cn; *c != '\0'; c++)
		fuzz_require(*c >= 0x20 && *c <= 0x7e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ProtobufCBinaryData      certs[FUZZ_MAX_CERTS];
	Chaos__V1__IdentityProof proof = CHAOS__V1__IDENTITY_PROOF__INIT;
	char                     cn[IDPROOF_NAME_LEN], small[FUZZ_SMALL_CN];
	chaos_why                why = {{0}};
	size_t                   at  = 0;

	while (at < size && proof.n_certificates < FUZZ_MAX_CERTS) {
		size_t take = proof.n_certificates == FUZZ_MAX_CERTS - 1
		    ? size - at
		    : fuzz_tlv_len(data + at, size - at);
		certs[proof.n_certificates++] =
		    (ProtobufCBinaryData) {.len = take, .data = (uint8_t *)data + at};
		at += take;
	}
	proof.certificates = certs;
	if (idverify_proof_cn(&proof, cn, sizeof(cn), &why) != CHAOS_OK) {
		fuzz_require(why.text[0] != '\0');
		fuzz_require(idverify_proof_cn(&proof, small, sizeof(small), NULL) !=
		             CHAOS_OK);
		return 0;
	}
	fuzz_check_cn(cn, sizeof(cn));
	if (idverify_proof_cn(&proof, small, sizeof(small), NULL) == CHAOS_OK) {
		fuzz_check_cn(small, sizeof(small));
		fuzz_require(strcmp(small, cn) == 0);
	} else {
		fuzz_require(strlen(cn) >= sizeof(small));
	}
	return 0;
}
