// SPDX-License-Identifier: MIT
#include "agent/identity_proof.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "common/idproof.h"
#include "common/limits.h"

struct identity_proof {
	Chaos__V1__IdentityProof msg;
	ProtobufCBinaryData      certs[LIMIT_PROOF_CERTS];
	uint8_t                  der[LIMIT_PROOF_CERTS][LIMIT_PROOF_CERT_LEN];
	uint8_t                  sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
};

/* mbedtls's randomness callback (ECDSA's blinding) over getrandom(2): one
 * signature per connection is not worth a generator's state. */
static int
identity_proof_rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Every certificate of crt, as DER, into p. */
static chaos_err
identity_proof_copy(struct identity_proof *p, const char *path,
                    const mbedtls_x509_crt *crt, chaos_why *why)
{
	size_t n = 0;

	for (const mbedtls_x509_crt *c = crt; c != NULL && c->raw.len > 0; c = c->next) {
		if (n == LIMIT_PROOF_CERTS || c->raw.len > LIMIT_PROOF_CERT_LEN)
			return chaos_fail(why, CHAOS_EINVAL,
			                  "%s: at most %u certificates of at most %u "
			                  "bytes each can prove an identity",
			                  path, LIMIT_PROOF_CERTS, LIMIT_PROOF_CERT_LEN);
		memcpy(p->der[n], c->raw.p, c->raw.len);
		p->certs[n] = (ProtobufCBinaryData) {c->raw.len, p->der[n]};
		n++;
	}
	p->msg.certificates   = p->certs;
	p->msg.n_certificates = n;
	return CHAOS_OK;
}

/* The certificates of tls->cert_key_file (which may hold the key too: only
 * its certificates are read) and the private key, which must be the one of
 * the first certificate. */
static chaos_err
identity_proof_load(const struct transport_tls *tls, mbedtls_x509_crt *crt,
                    mbedtls_pk_context *key, chaos_why *why)
{
	const char *path = tls->key_file != NULL ? tls->key_file : tls->cert_key_file;
	char        err[128];
	int         rv;

	if ((rv = mbedtls_x509_crt_parse_file(crt, tls->cert_key_file)) != 0) {
		mbedtls_strerror(rv, err, sizeof(err));
		return chaos_fail(why, CHAOS_EINVAL,
		                  "cannot read the certificate in %s: %s",
		                  tls->cert_key_file,
		                  rv > 0 ? "a certificate in it does not parse" : err);
	}
	if ((rv = mbedtls_pk_parse_keyfile(key, path, NULL)) != 0) {
		mbedtls_strerror(rv, err, sizeof(err));
		return chaos_fail(why, CHAOS_EINVAL,
		                  "cannot read the private key in %s: %s", path, err);
	}
	if (mbedtls_pk_check_pair(&crt->pk, key) != 0)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "the key in %s is not the key of the certificate in %s",
		                  path, tls->cert_key_file);
	return CHAOS_OK;
}

chaos_err
identity_proof_new(const struct transport_tls *tls, const uint8_t *nonce,
                   size_t nonce_len, uint64_t instance, const Chaos__V1__Identity *id,
                   struct identity_proof **out, chaos_why *why)
{
	struct identity_proof *p = NULL;
	mbedtls_x509_crt       crt;
	mbedtls_pk_context     key;
	uint8_t                digest[IDPROOF_DIGEST_LEN];
	size_t                 sig_len = 0;
	chaos_err              rv;

	if (tls == NULL || tls->cert_key_file == NULL)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "the controller asks for an identity proof, and this "
		                  "agent has no certificate (--tls-cert)");
	if (idproof_digest(nonce, nonce_len, instance, id, digest) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "the identity challenge or this agent's names are "
		                  "out of their limits");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return CHAOS_ENOMEM;
	chaos__v1__identity_proof__init(&p->msg);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	if ((rv = identity_proof_load(tls, &crt, &key, why)) != CHAOS_OK ||
	    (rv = identity_proof_copy(p, tls->cert_key_file, &crt, why)) != CHAOS_OK)
		goto out;
	if (mbedtls_pk_sign(&key, MBEDTLS_MD_SHA256, digest, sizeof(digest), p->sig,
	                    &sig_len, identity_proof_rng, NULL) != 0 ||
	    sig_len > LIMIT_PROOF_SIG_LEN) {
		rv = chaos_fail(why, CHAOS_ESYS,
		                "cannot sign the identity challenge with the key of %s",
		                tls->cert_key_file);
		goto out;
	}
	p->msg.signature = (ProtobufCBinaryData) {sig_len, p->sig};
out:
	mbedtls_pk_free(&key); /* zeroes the key */
	mbedtls_x509_crt_free(&crt);
	if (rv != CHAOS_OK) {
		free(p);
		return rv;
	}
	*out = p;
	return CHAOS_OK;
}

/* Whether the certificate is valid now, by this host's clock. */
static chaos_err
identity_proof_dates(const mbedtls_x509_crt *crt, const char *path, chaos_why *why)
{
	const mbedtls_x509_time *t;
	bool                     expired = mbedtls_x509_time_is_past(&crt->valid_to);

	if (!expired && !mbedtls_x509_time_is_future(&crt->valid_from))
		return CHAOS_OK;
	t = expired ? &crt->valid_to : &crt->valid_from;
	return chaos_fail(why, CHAOS_EINVAL, "%s %s %04d-%02d-%02dT%02d:%02d:%02dZ%s",
	                  path, expired ? "expired at" : "is not valid before", t->year,
	                  t->mon, t->day, t->hour, t->min, t->sec,
	                  expired ? ": the controller refuses it; make a new one"
	                          : " (is this host's clock right?)");
}

chaos_err
identity_proof_check(const struct transport_tls *tls, chaos_why *why)
{
	mbedtls_x509_crt   crt;
	mbedtls_pk_context key;
	chaos_err          rv;

	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	if ((rv = identity_proof_load(tls, &crt, &key, why)) == CHAOS_OK)
		rv = identity_proof_dates(&crt, tls->cert_key_file, why);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
	return rv;
}

Chaos__V1__IdentityProof *
identity_proof_msg(struct identity_proof *p)
{
	return &p->msg;
}

void
identity_proof_free(struct identity_proof *p)
{
	free(p);
}
