// SPDX-License-Identifier: MIT
#include "common/idproof.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/sha256.h>

/* The signed text: the domain, the nonce and instance, four names of at
 * most LIMIT_ID_LEN, role and incarnation. */
#define IDPROOF_TEXT_MAX                                                                 \
	(sizeof(IDPROOF_DOMAIN) + 1 + LIMIT_NONCE_MAX + 8 + 4 * (2 + LIMIT_ID_LEN) + 4 + \
	 8)

struct idproof_text {
	uint8_t buf[IDPROOF_TEXT_MAX];
	size_t  len;
};

static void
idproof_put_be(struct idproof_text *t, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		t->buf[t->len++] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void
idproof_put_bytes(struct idproof_text *t, const void *p, size_t n)
{
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* A name with its 2-byte length; false when it is over LIMIT_ID_LEN. */
static bool
idproof_put_name(struct idproof_text *t, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n > LIMIT_ID_LEN)
		return false;
	idproof_put_be(t, n, 2);
	idproof_put_bytes(t, s, n);
	return true;
}

chaos_err
idproof_digest(const uint8_t *nonce, size_t nonce_len, uint64_t instance,
               const Chaos__V1__Identity *id, uint8_t out[IDPROOF_DIGEST_LEN])
{
	struct idproof_text t = {.len = 0};

	if (nonce_len < LIMIT_NONCE_MIN || nonce_len > LIMIT_NONCE_MAX)
		return CHAOS_EINVAL;
	idproof_put_bytes(&t, IDPROOF_DOMAIN, strlen(IDPROOF_DOMAIN));
	idproof_put_be(&t, nonce_len, 1);
	idproof_put_bytes(&t, nonce, nonce_len);
	idproof_put_be(&t, instance, 8);
	if (!idproof_put_name(&t, id->agent_id) || !idproof_put_name(&t, id->pod) ||
	    !idproof_put_name(&t, id->namespace_) || !idproof_put_name(&t, id->node))
		return CHAOS_EINVAL;
	idproof_put_be(&t, (uint32_t)id->role, 4);
	idproof_put_be(&t, (uint64_t)id->incarnation, 8);
	return mbedtls_sha256_ret(t.buf, t.len, out, 0) == 0 ? CHAOS_OK : CHAOS_EINVAL;
}

bool
idproof_is_node(const Chaos__V1__Identity *id)
{
	return id->role == CHAOS__V1__ROLE__ROLE_NODE ||
	    (id->has_mode && id->mode == CHAOS__V1__AGENT_MODE__AGENT_MODE_NODE);
}

chaos_err
idproof_expected_cn(const Chaos__V1__Identity *id, char *buf, size_t len)
{
	int n = idproof_is_node(id)
	    ? snprintf(buf, len, "node:%s", id->node)
	    : snprintf(buf, len, "pod:%s/%s", id->namespace_, id->pod);

	return n >= 0 && (size_t)n < len ? CHAOS_OK : CHAOS_ETOOBIG;
}
