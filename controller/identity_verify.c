// SPDX-License-Identifier: MIT
#include "controller/identity_verify.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

struct idverify {
	nng_mtx         *mtx; /* the CA chain: mbedtls calls share it */
	mbedtls_x509_crt ca;
	uint64_t         instance;
};

chaos_err
idverify_new(const char *ca_file, uint64_t instance, struct idverify **out,
             chaos_why *why)
{
	struct idverify *v        = calloc(1, sizeof(*v));
	char             err[128] = "no certificate in it";
	int              rv;

	if (v == NULL)
		return CHAOS_ENOMEM;
	mbedtls_x509_crt_init(&v->ca);
	v->instance = instance;
	if (nng_mtx_alloc(&v->mtx) != 0) {
		idverify_free(v);
		return CHAOS_ENOMEM;
	}
	/* > 0: some certificates of the file did not parse; the others serve */
	if ((rv = mbedtls_x509_crt_parse_file(&v->ca, ca_file)) < 0 ||
	    v->ca.version == 0) {
		if (rv < 0)
			mbedtls_strerror(rv, err, sizeof(err));
		idverify_free(v);
		return chaos_fail(why, CHAOS_EINVAL,
		                  "%s: no CA certificate to check agent identities "
		                  "against (%s)",
		                  ca_file, err);
	}
	*out = v;
	return CHAOS_OK;
}

void
idverify_free(struct idverify *v)
{
	if (v == NULL)
		return;
	mbedtls_x509_crt_free(&v->ca);
	if (v->mtx != NULL)
		nng_mtx_free(v->mtx);
	free(v);
}

static chaos_err
idv_parse(mbedtls_x509_crt *chain, const Chaos__V1__IdentityProof *proof, chaos_why *why)
{
	for (size_t i = 0; i < proof->n_certificates; i++)
		if (mbedtls_x509_crt_parse_der(chain, proof->certificates[i].data,
		                               proof->certificates[i].len) != 0)
			return chaos_fail(why, CHAOS_EPERM,
			                  "certificate %zu of the proof is not X.509 DER",
			                  i);
	return proof->n_certificates > 0
	    ? CHAOS_OK
	    : chaos_fail(why, CHAOS_EPERM, "the proof has no certificate");
}

static chaos_err
idv_chain(struct idverify *v, mbedtls_x509_crt *chain, chaos_why *why)
{
	const mbedtls_x509_time *t;
	uint32_t                 flags = 0;
	char                     info[256];
	int                      rv;

	nng_mtx_lock(v->mtx);
	rv = mbedtls_x509_crt_verify(chain, &v->ca, NULL, NULL, &flags, NULL, NULL);
	nng_mtx_unlock(v->mtx);
	if (rv == 0)
		return CHAOS_OK;
	if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		return chaos_fail(why, CHAOS_EPERM,
		                  "the certificate is not signed by this controller's CA "
		                  "(--tls-ca)");
	if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) {
		t = flags & MBEDTLS_X509_BADCERT_EXPIRED ? &chain->valid_to
		                                         : &chain->valid_from;
		return chaos_fail(
		    why, CHAOS_EPERM,
		    "the certificate is %s (%s %04d-%02d-%02dT%02d:%02d:%02dZ)",
		    flags & MBEDTLS_X509_BADCERT_EXPIRED ? "expired" : "not valid yet",
		    flags & MBEDTLS_X509_BADCERT_EXPIRED ? "not after" : "not before",
		    t->year, t->mon, t->day, t->hour, t->min, t->sec);
	}
	mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
	for (char *nl = info; (nl = strchr(nl, '\n')) != NULL;)
		*nl = nl[1] != '\0' ? ';' : '\0';
	return chaos_fail(why, CHAOS_EPERM, "the certificate does not verify: %s", info);
}

/* Key usage digitalSignature and extended key usage clientAuth, where the
 * certificate names its uses at all (make-certs.sh sets both). */
static chaos_err
idv_usage(const mbedtls_x509_crt *crt, chaos_why *why)
{
	if (mbedtls_x509_crt_check_key_usage(crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) !=
	        0 ||
	    mbedtls_x509_crt_check_extended_key_usage(
	        crt, MBEDTLS_OID_CLIENT_AUTH,
	        MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) != 0)
		return chaos_fail(why, CHAOS_EPERM,
		                  "the certificate may not authenticate a client (it "
		                  "needs digitalSignature and clientAuth)");
	return CHAOS_OK;
}

/* The subject's one CN, printable ASCII (it goes into logs); false when
 * there is none, more than one, or it does not fit len. */
static bool
idv_cn(const mbedtls_x509_crt *crt, char *buf, size_t len)
{
	const mbedtls_x509_buf *cn = NULL;

	for (const mbedtls_x509_name *n = &crt->subject; n != NULL; n = n->next) {
		if (n->oid.p == NULL || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) != 0)
			continue;
		if (cn != NULL)
			return false;
		cn = &n->val;
	}
	if (cn == NULL || cn->len >= len)
		return false;
	for (size_t i = 0; i < cn->len; i++)
		if (cn->p[i] < 0x20 || cn->p[i] > 0x7e)
			return false;
	memcpy(buf, cn->p, cn->len);
	buf[cn->len] = '\0';
	return true;
}

chaos_err
idverify_proof_cn(const Chaos__V1__IdentityProof *proof, char *buf, size_t len,
                  chaos_why *why)
{
	mbedtls_x509_crt chain;
	chaos_err        rv;

	mbedtls_x509_crt_init(&chain);
	if ((rv = idv_parse(&chain, proof, why)) == CHAOS_OK && !idv_cn(&chain, buf, len))
		rv = chaos_fail(why, CHAOS_EPERM,
		                "the certificate has no single printable CN");
	mbedtls_x509_crt_free(&chain);
	return rv;
}

static chaos_err
idv_name(const mbedtls_x509_crt *crt, const Chaos__V1__Identity *id, chaos_why *why)
{
	char have[IDPROOF_NAME_LEN], want[IDPROOF_NAME_LEN];

	if (idproof_expected_cn(id, want, sizeof(want)) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EPERM, "the claimed names are too long");
	if (!idv_cn(crt, have, sizeof(have)))
		return chaos_fail(why, CHAOS_EPERM,
		                  "the certificate has no single printable CN; the agent "
		                  "claims %s",
		                  want);
	if (strcmp(have, want) != 0)
		return chaos_fail(why, CHAOS_EPERM,
		                  "the certificate names %s, and the agent claims %s",
		                  have, want);
	return CHAOS_OK;
}

/* The registry keys agents by id: a sidecar's id must be the name its
 * certificate proves (<namespace>/<pod>, the agent's default), or a
 * certificate of one pod could take another pod's id while that agent is
 * away, and with it its queued commands and its place. */
static chaos_err
idv_agent_id(const Chaos__V1__Identity *id, chaos_why *why)
{
	char want[IDPROOF_NAME_LEN];

	if (idproof_is_node(id))
		return CHAOS_OK;
	snprintf(want, sizeof(want), "%s/%s", id->namespace_, id->pod);
	if (strcmp(id->agent_id, want) != 0)
		return chaos_fail(why, CHAOS_EPERM,
		                  "over mutual TLS a sidecar's agent id is its "
		                  "<namespace>/<pod> (%s), not %s: drop --id",
		                  want, id->agent_id);
	return CHAOS_OK;
}

static chaos_err
idv_signature(mbedtls_x509_crt *crt, const uint8_t *nonce, size_t nonce_len,
              uint64_t instance, const Chaos__V1__Identity *id,
              const Chaos__V1__IdentityProof *proof, chaos_why *why)
{
	uint8_t digest[IDPROOF_DIGEST_LEN];

	if (idproof_digest(nonce, nonce_len, instance, id, digest) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EPERM, "the claimed names are too long");
	if (mbedtls_pk_verify(&crt->pk, MBEDTLS_MD_SHA256, digest, sizeof(digest),
	                      proof->signature.data, proof->signature.len) != 0)
		return chaos_fail(why, CHAOS_EPERM,
		                  "the signature does not verify with the certificate's "
		                  "key (not made with that key, or not for this "
		                  "challenge)");
	return CHAOS_OK;
}

chaos_err
idverify_proof(struct idverify *v, const uint8_t *nonce, size_t nonce_len,
               const Chaos__V1__Identity *id, const Chaos__V1__IdentityProof *proof,
               chaos_why *why)
{
	mbedtls_x509_crt chain;
	chaos_err        rv;

	mbedtls_x509_crt_init(&chain);
	if ((rv = idv_parse(&chain, proof, why)) == CHAOS_OK &&
	    (rv = idv_chain(v, &chain, why)) == CHAOS_OK &&
	    (rv = idv_usage(&chain, why)) == CHAOS_OK &&
	    (rv = idv_name(&chain, id, why)) == CHAOS_OK &&
	    (rv = idv_agent_id(id, why)) == CHAOS_OK)
		rv = idv_signature(&chain, nonce, nonce_len, v->instance, id, proof, why);
	mbedtls_x509_crt_free(&chain);
	return rv;
}
