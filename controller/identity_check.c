// SPDX-License-Identifier: MIT
#include "controller/identity_check.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "common/wire_reply.h"
#include "controller/identity_verify.h"
#include "controller/metrics.h"

#define IDC_MIN_BUCKETS 64

enum idc_state {
	IDC_OPEN,       /* nothing proven, no challenge out */
	IDC_CHALLENGED, /* nonce sent, its proof not seen yet */
	IDC_PROVEN,     /* bound to agent_id and claim */
};

/* One session connection. */
struct idc_conn {
	struct idc_conn *next;       /* same pipe bucket */
	struct idc_conn *next_claim; /* same claim bucket (proven only) */
	uint32_t         pipe_id;
	enum idc_state   state;
	bool             refused; /* logged and counted once */
	uint8_t          nonce[IDPROOF_NONCE_LEN];
	char             addr[64];
	char            *agent_id;                  /* proven: the id it proved */
	uint8_t          claim[IDPROOF_DIGEST_LEN]; /* proven: idc_claim() */
};

struct idcheck {
	nng_mtx          *mtx; /* the tables */
	struct idverify  *ver;
	uint64_t          instance;
	struct idc_conn **by_pipe;
	struct idc_conn **by_claim;
	size_t            mask;
};

chaos_err
idcheck_new(const char *ca_file, uint64_t instance, size_t max_agents,
            struct idcheck **out, chaos_why *why)
{
	struct idcheck *c  = calloc(1, sizeof(*c));
	size_t          nb = IDC_MIN_BUCKETS;
	chaos_err       rv;

	while (nb < max_agents)
		nb <<= 1;
	if (c == NULL)
		return CHAOS_ENOMEM;
	c->instance = instance;
	c->mask     = nb - 1;
	if ((c->by_pipe = calloc(nb, sizeof(*c->by_pipe))) == NULL ||
	    (c->by_claim = calloc(nb, sizeof(*c->by_claim))) == NULL ||
	    nng_mtx_alloc(&c->mtx) != 0) {
		idcheck_free(c);
		return CHAOS_ENOMEM;
	}
	if ((rv = idverify_new(ca_file, instance, &c->ver, why)) != CHAOS_OK) {
		idcheck_free(c);
		return rv;
	}
	*out = c;
	return CHAOS_OK;
}

void
idcheck_free(struct idcheck *c)
{
	if (c == NULL)
		return;
	for (size_t b = 0; c->by_pipe != NULL && b <= c->mask; b++)
		while (c->by_pipe[b] != NULL) {
			struct idc_conn *conn = c->by_pipe[b];
			c->by_pipe[b]         = conn->next;
			free(conn->agent_id);
			free(conn);
		}
	idverify_free(c->ver);
	if (c->mtx != NULL)
		nng_mtx_free(c->mtx);
	free(c->by_pipe);
	free(c->by_claim);
	free(c);
}

/* ---- the connection table (mtx held) ---- */

static struct idc_conn **
idc_pipe_slot(struct idcheck *c, uint32_t pipe_id)
{
	struct idc_conn **p = &c->by_pipe[(pipe_id * 2654435761u) & c->mask];

	while (*p != NULL && (*p)->pipe_id != pipe_id)
		p = &(*p)->next;
	return p;
}

/* The claim digest is already uniform: its first bytes pick the bucket. */
static struct idc_conn **
idc_claim_bucket(struct idcheck *c, const uint8_t claim[IDPROOF_DIGEST_LEN])
{
	uint64_t h;

	memcpy(&h, claim, sizeof(h));
	return &c->by_claim[h & c->mask];
}

static void
idc_unlink_claim(struct idcheck *c, struct idc_conn *conn)
{
	struct idc_conn **p = idc_claim_bucket(c, conn->claim);

	while (*p != NULL && *p != conn)
		p = &(*p)->next_claim;
	if (*p != NULL)
		*p = conn->next_claim;
}

/* What a connection proves: a digest of the names, role and incarnation
 * (idproof_digest() over a fixed nonce), so comparing two is one memcmp. */
static chaos_err
idc_claim(const Chaos__V1__Identity *id, uint8_t out[IDPROOF_DIGEST_LEN])
{
	static const uint8_t none[LIMIT_NONCE_MIN];

	return idproof_digest(none, sizeof(none), 0, id, out);
}

/* "10.0.0.5:41234" from the connection's remote address; "?" without. */
static void
idc_addr(nng_pipe p, char *buf, size_t len)
{
	nng_sockaddr sa;
	char         ip[INET6_ADDRSTRLEN];

	snprintf(buf, len, "?");
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0)
		return;
	if (sa.s_family == NNG_AF_INET &&
	    inet_ntop(AF_INET, &sa.s_in.sa_addr, ip, sizeof(ip)) != NULL)
		snprintf(buf, len, "%s:%u", ip, ntohs(sa.s_in.sa_port));
	else if (sa.s_family == NNG_AF_INET6 &&
	         inet_ntop(AF_INET6, sa.s_in6.sa_addr, ip, sizeof(ip)) != NULL)
		snprintf(buf, len, "[%s]:%u", ip, ntohs(sa.s_in6.sa_port));
}

void
idcheck_pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct idcheck   *c    = arg;
	struct idc_conn  *conn = calloc(1, sizeof(*conn));
	struct idc_conn **slot;

	(void)ev;
	if (conn == NULL) {
		/* without an entry every poll is refused: better than unchecked */
		log_error("identity check: out of memory for connection %u",
		          nng_pipe_id(p));
		return;
	}
	conn->pipe_id = nng_pipe_id(p);
	idc_addr(p, conn->addr, sizeof(conn->addr));
	nng_mtx_lock(c->mtx);
	slot       = idc_pipe_slot(c, conn->pipe_id);
	conn->next = *slot;
	*slot      = conn;
	nng_mtx_unlock(c->mtx);
}

void
idcheck_pipe_closed(struct idcheck *c, uint32_t pipe_id)
{
	struct idc_conn **slot, *conn;

	if (c == NULL)
		return;
	nng_mtx_lock(c->mtx);
	slot = idc_pipe_slot(c, pipe_id);
	if ((conn = *slot) != NULL) {
		*slot = conn->next;
		if (conn->state == IDC_PROVEN)
			idc_unlink_claim(c, conn);
	}
	nng_mtx_unlock(c->mtx);
	if (conn != NULL) {
		free(conn->agent_id);
		free(conn);
	}
}

/* ---- polls ---- */

/* A poll of a proven connection keeps to what it proved (mtx held). */
static bool
idc_keeps_to(const struct idc_conn *conn, const Chaos__V1__Poll *p, chaos_why *why)
{
	uint8_t claim[IDPROOF_DIGEST_LEN];

	if (strcmp(p->agent_id, conn->agent_id) != 0) {
		chaos_fail(why, CHAOS_EPERM,
		           "identity: this connection proved agent %s and may not poll "
		           "as %s",
		           conn->agent_id, p->agent_id);
		return false;
	}
	if (p->identity != NULL &&
	    (idc_claim(p->identity, claim) != CHAOS_OK ||
	     memcmp(claim, conn->claim, sizeof(claim)) != 0)) {
		chaos_fail(why, CHAOS_EPERM,
		           "identity: agent %s changed its names, role or incarnation "
		           "on a connection that proved others",
		           conn->agent_id);
		return false;
	}
	return true;
}

/* A fresh nonce for conn (mtx held). */
static enum idcheck_verdict
idc_challenge(struct idc_conn *conn, uint8_t nonce[IDPROOF_NONCE_LEN], chaos_why *why)
{
	if (getrandom(conn->nonce, IDPROOF_NONCE_LEN, 0) != IDPROOF_NONCE_LEN) {
		chaos_fail(why, CHAOS_ESYS, "identity: no randomness for a challenge");
		return IDCHECK_REFUSED;
	}
	conn->state = IDC_CHALLENGED;
	memcpy(nonce, conn->nonce, IDPROOF_NONCE_LEN);
	chaos_fail(why, CHAOS_EPERM,
	           "identity: this controller checks that an agent's certificate names "
	           "the identity it claims, and this agent does not answer the "
	           "challenge (is it older than the controller?)");
	return IDCHECK_CHALLENGE;
}

/* What poll p means for connection pipe_id (mtx held): a verdict, or
 * *verify with the nonce the proof answers in `answered` (consumed: a
 * nonce serves one proof), when the verdict is idc_prove()'s. */
static enum idcheck_verdict
idc_judge(struct idcheck *c, uint32_t pipe_id, const Chaos__V1__Poll *p,
          uint8_t nonce[IDPROOF_NONCE_LEN], uint8_t answered[IDPROOF_NONCE_LEN],
          bool *verify, chaos_why *why)
{
	struct idc_conn *conn = *idc_pipe_slot(c, pipe_id);

	*verify = false;
	if (conn == NULL) {
		chaos_fail(why, CHAOS_EPERM, "identity: connection %u is closed",
		           pipe_id);
		return IDCHECK_REFUSED;
	}
	if (conn->state == IDC_PROVEN)
		return idc_keeps_to(conn, p, why) ? IDCHECK_PASS : IDCHECK_REFUSED;
	if (p->identity_proof == NULL)
		return idc_challenge(conn, nonce, why);
	if (conn->state != IDC_CHALLENGED) {
		chaos_fail(why, CHAOS_EPERM,
		           "identity: a proof that answers no challenge");
		return IDCHECK_REFUSED;
	}
	memcpy(answered, conn->nonce, IDPROOF_NONCE_LEN);
	conn->state = IDC_OPEN;
	*verify     = true;
	return IDCHECK_REFUSED;
}

/* Binds connection pipe_id to the identity it proved. */
static chaos_err
idc_bind(struct idcheck *c, uint32_t pipe_id, const Chaos__V1__Identity *id,
         chaos_why *why)
{
	struct idc_conn  *conn;
	struct idc_conn **bucket;
	char             *agent_id = strdup(id->agent_id);
	uint8_t           claim[IDPROOF_DIGEST_LEN];
	char              cn[IDPROOF_NAME_LEN], addr[64] = "";

	if (agent_id == NULL || idc_claim(id, claim) != CHAOS_OK) {
		free(agent_id);
		return chaos_fail(why, CHAOS_ENOMEM, "identity: out of memory");
	}
	nng_mtx_lock(c->mtx);
	if ((conn = *idc_pipe_slot(c, pipe_id)) != NULL) {
		/* two proofs checked side by side on one connection: the last
		 * one binds it, each in the index once */
		if (conn->state == IDC_PROVEN) {
			idc_unlink_claim(c, conn);
			free(conn->agent_id);
		}
		conn->state    = IDC_PROVEN;
		conn->agent_id = agent_id;
		memcpy(conn->claim, claim, sizeof(claim));
		bucket           = idc_claim_bucket(c, claim);
		conn->next_claim = *bucket;
		*bucket          = conn;
		snprintf(addr, sizeof(addr), "%s", conn->addr);
		agent_id = NULL;
	}
	nng_mtx_unlock(c->mtx);
	free(agent_id);
	if (conn == NULL)
		return chaos_fail(why, CHAOS_EPERM, "identity: connection %u is closed",
		                  pipe_id);
	idproof_expected_cn(id, cn, sizeof(cn));
	log_info("agent %s proved its identity: certificate %s, connection from %s",
	         id->agent_id, cn, addr);
	return CHAOS_OK;
}

/* The verdict on the proof p carries, answering nonce. */
static enum idcheck_verdict
idc_prove(struct idcheck *c, uint32_t pipe_id, const Chaos__V1__Poll *p,
          const uint8_t nonce[IDPROOF_NONCE_LEN], chaos_why *why)
{
	if (idverify_proof(c->ver, nonce, IDPROOF_NONCE_LEN, p->identity,
	                   p->identity_proof, why) != CHAOS_OK) {
		chaos_fail_prefix(why, CHAOS_EPERM, "identity not proven");
		return IDCHECK_REFUSED;
	}
	return idc_bind(c, pipe_id, p->identity, why) == CHAOS_OK ? IDCHECK_PASS
	                                                          : IDCHECK_REFUSED;
}

/* Logs and counts the first refusal of a connection. */
static void
idc_refused(struct idcheck *c, uint32_t pipe_id, const Chaos__V1__Poll *p,
            const chaos_why *why)
{
	struct idc_conn *conn;
	char             addr[64] = "";
	bool             first    = false;

	nng_mtx_lock(c->mtx);
	if ((conn = *idc_pipe_slot(c, pipe_id)) != NULL && !conn->refused) {
		conn->refused = first = true;
		snprintf(addr, sizeof(addr), "%s", conn->addr);
	}
	nng_mtx_unlock(c->mtx);
	if (!first)
		return;
	log_warn("agent %s refused (connection from %s): %s", p->agent_id, addr,
	         why->text);
	metrics_on_identity_refused();
}

enum idcheck_verdict
idcheck_poll(struct idcheck *c, uint32_t pipe_id, const Chaos__V1__Poll *p,
             uint8_t nonce[IDPROOF_NONCE_LEN], chaos_why *why)
{
	uint8_t              answered[IDPROOF_NONCE_LEN];
	enum idcheck_verdict v;
	bool                 verify;
	chaos_why            reason = {{0}};

	nng_mtx_lock(c->mtx);
	v = idc_judge(c, pipe_id, p, nonce, answered, &verify, &reason);
	nng_mtx_unlock(c->mtx);
	if (verify)
		v = idc_prove(c, pipe_id, p, answered, &reason);
	if (v == IDCHECK_REFUSED)
		idc_refused(c, pipe_id, p, &reason);
	if (v != IDCHECK_PASS && why != NULL)
		*why = reason;
	return v;
}

chaos_err
idcheck_pack_challenge(const struct idcheck *c, uint64_t poll_seq, int64_t t2_ctl_us,
                       uint32_t heartbeat_ms, const uint8_t nonce[IDPROOF_NONCE_LEN],
                       const char *text, nng_msg **out)
{
	Chaos__V1__Reply r;

	wire_reply_init(&r, poll_seq, t2_ctl_us, heartbeat_ms, c->instance);
	r.refused                = (char *)text;
	r.has_identity_challenge = true;
	r.identity_challenge =
	    (ProtobufCBinaryData) {IDPROOF_NONCE_LEN, (uint8_t *)nonce};
	return wire_reply_pack(&r, out);
}

bool
idcheck_hello_backed(struct idcheck *c, const Chaos__V1__Identity *id)
{
	uint8_t claim[IDPROOF_DIGEST_LEN];
	bool    found = false;

	if (idc_claim(id, claim) != CHAOS_OK)
		return false;
	nng_mtx_lock(c->mtx);
	for (struct idc_conn *conn = *idc_claim_bucket(c, claim); conn != NULL && !found;
	     conn                  = conn->next_claim)
                found = memcmp(conn->claim, claim, sizeof(claim)) == 0;
	nng_mtx_unlock(c->mtx);
	return found;
}
