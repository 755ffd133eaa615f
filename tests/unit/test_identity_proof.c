// SPDX-License-Identifier: MIT
/*
 * Identity bound to the certificate over mutual TLS: the agent signs the
 * controller's nonce with its certificate's key (agent/identity_proof.c),
 * the controller checks chain, validity, use, name and signature
 * (controller/identity_verify.c); the controller binds each connection to
 * what it proved (controller/identity_check.c).
 * The certificates are made at test time by deploy/certs/make-certs.sh
 * (the path is argv[1]) and openssl: a CA with chain-0, chain-1, an expired
 * chain-2, node worker-1 and an RSA pod; another CA with its own chain-0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/identity_proof.h"
#include "common/wire.h"
#include "controller/identity_check.h"
#include "controller/identity_verify.h"
#include "controller/metrics.h"
#include "tests/support/shell.h"

#define INSTANCE 0x5eed5eed5eed5eedULL

static const char      *make_certs;
static char             dir[] = "/tmp/chaos-idproof.XXXXXX";
static struct idcheck  *chk;
static struct idverify *ver;
static const uint8_t    nonce_a[IDPROOF_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t    nonce_b[IDPROOF_NONCE_LEN] = {8, 7, 6, 5, 4, 3, 2, 1};

/* A path under the test's directory; four live at a time. */
static const char *
at(const char *rel)
{
	static char buf[4][256];
	static int  next;
	char       *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, rel);
	return p;
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	if (shell_run("bash %s --out %s/a --pod staging/chain-0 --pod staging/chain-1 "
	              "--node worker-1 >/dev/null && "
	              "bash %s --out %s/a --pod staging/chain-2 --expired >/dev/null && "
	              "bash %s --out %s/b --pod staging/chain-0 >/dev/null",
	              make_certs, dir, make_certs, dir, make_certs, dir) != 0)
		return -1;
	/* an RSA pod certificate of the same CA, and one PEM with cert and key */
	if (shell_run(
	        "cd %s/a && openssl req -newkey rsa:2048 -nodes -keyout rsa.key "
	        "-subj '/CN=pod:staging\\/rsa-0' -out rsa.csr 2>/dev/null && "
	        "openssl x509 -req -in rsa.csr -CA ca.crt -CAkey ca.key "
	        "-CAcreateserial -days 2 -out rsa.crt 2>/dev/null && "
	        "cat pods/staging/chain-0.crt pods/staging/chain-0.key > chain-0.pem",
	        dir) != 0)
		return -1;
	if (idverify_new(at("a/ca.crt"), INSTANCE, &ver, NULL) != CHAOS_OK)
		return -1;
	return idcheck_new(at("a/ca.crt"), INSTANCE, 16, &chk, NULL) == CHAOS_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	idcheck_free(chk);
	idverify_free(ver);
	shell_run("rm -rf %s", dir);
	return 0;
}

/* Who an agent claims to be. */
struct who {
	Chaos__V1__Identity id;
	char                agent_id[128];
};

static void
who_init(struct who *w, char *ns, char *pod, Chaos__V1__Role role)
{
	chaos__v1__identity__init(&w->id);
	snprintf(w->agent_id, sizeof(w->agent_id), "%s/%s", ns, pod);
	w->id.agent_id    = w->agent_id;
	w->id.pod         = pod;
	w->id.namespace_  = ns;
	w->id.node        = "worker-1";
	w->id.role        = role;
	w->id.incarnation = 1700000000000000LL;
}

static chaos_err
prove(const char *cert, const char *key, const uint8_t *nonce, uint64_t instance,
      const Chaos__V1__Identity *id, struct identity_proof **out, chaos_why *why)
{
	struct transport_tls tls = {NULL, cert, key};

	return identity_proof_new(&tls, nonce, IDPROOF_NONCE_LEN, instance, id, out, why);
}

/* Proves id with cert/key for nonce_a and has it checked against nonce_a;
 * the checker's verdict, with why. */
static chaos_err
prove_and_check(const char *cert, const char *key, const Chaos__V1__Identity *id,
                chaos_why *why)
{
	struct identity_proof *p = NULL;
	chaos_err              rv;

	assert_int_equal(prove(cert, key, nonce_a, INSTANCE, id, &p, why), CHAOS_OK);
	rv = idverify_proof(ver, nonce_a, IDPROOF_NONCE_LEN, id, identity_proof_msg(p),
	                    why);
	identity_proof_free(p);
	return rv;
}

static void
expect_refused(const char *cert, const char *key, const Chaos__V1__Identity *id,
               const char *want1, const char *want2)
{
	chaos_why why = {{0}};

	assert_int_equal(prove_and_check(cert, key, id, &why), CHAOS_EPERM);
	if (strstr(why.text, want1) == NULL || strstr(why.text, want2) == NULL)
		fail_msg("refusal '%s' does not say '%s' and '%s'", why.text, want1,
		         want2);
}

static void
test_certified_pod_identity_is_accepted(void **state)
{
	struct who w;
	chaos_why  why = {{0}};

	(void)state;
	who_init(&w, "staging", "chain-0", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	assert_int_equal(prove_and_check(at("a/pods/staging/chain-0.crt"),
	                                 at("a/pods/staging/chain-0.key"), &w.id, &why),
	                 CHAOS_OK);
	/* one PEM with both, as --tls-cert alone takes it */
	assert_int_equal(prove_and_check(at("a/chain-0.pem"), NULL, &w.id, &why),
	                 CHAOS_OK);
}

static void
test_rsa_certificate_is_accepted(void **state)
{
	struct who w;
	chaos_why  why = {{0}};

	(void)state;
	who_init(&w, "staging", "rsa-0", CHAOS__V1__ROLE__ROLE_DATABASE);
	assert_int_equal(prove_and_check(at("a/rsa.crt"), at("a/rsa.key"), &w.id, &why),
	                 CHAOS_OK);
}

static void
test_chain0_certificate_claiming_chain1_is_refused(void **state)
{
	struct who w;

	(void)state;
	who_init(&w, "staging", "chain-1", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	expect_refused(at("a/pods/staging/chain-0.crt"), at("a/pods/staging/chain-0.key"),
	               &w.id, "names pod:staging/chain-0",
	               "the agent claims pod:staging/chain-1");
	/* the namespace is part of the name too */
	who_init(&w, "prod", "chain-0", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	expect_refused(at("a/pods/staging/chain-0.crt"), at("a/pods/staging/chain-0.key"),
	               &w.id, "names pod:staging/chain-0", "claims pod:prod/chain-0");
	/* and a sidecar's agent id: chain-0 may not take chain-1's place */
	who_init(&w, "staging", "chain-0", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	w.id.agent_id = "staging/chain-1";
	expect_refused(at("a/pods/staging/chain-0.crt"), at("a/pods/staging/chain-0.key"),
	               &w.id, "agent id is its <namespace>/<pod> (staging/chain-0)",
	               "not staging/chain-1");
}

static void
test_node_certificate_proves_only_its_node(void **state)
{
	struct who w;
	chaos_why  why = {{0}};

	(void)state;
	who_init(&w, "chaos", "chaos-node-agent-x7k2p", CHAOS__V1__ROLE__ROLE_NODE);
	assert_int_equal(prove_and_check(at("a/nodes/worker-1.crt"),
	                                 at("a/nodes/worker-1.key"), &w.id, &why),
	                 CHAOS_OK);
	/* --mode node makes a node claim whatever the role says */
	who_init(&w, "chaos", "chaos-node-agent-x7k2p", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	w.id.has_mode = true;
	w.id.mode     = CHAOS__V1__AGENT_MODE__AGENT_MODE_NODE;
	assert_int_equal(prove_and_check(at("a/nodes/worker-1.crt"),
	                                 at("a/nodes/worker-1.key"), &w.id, &why),
	                 CHAOS_OK);
	w.id.node = "worker-2";
	expect_refused(at("a/nodes/worker-1.crt"), at("a/nodes/worker-1.key"), &w.id,
	               "names node:worker-1", "claims node:worker-2");
	/* a node's certificate is no pod's, nor a pod's a node's */
	who_init(&w, "staging", "chain-0", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	expect_refused(at("a/nodes/worker-1.crt"), at("a/nodes/worker-1.key"), &w.id,
	               "names node:worker-1", "claims pod:staging/chain-0");
	who_init(&w, "staging", "chain-0", CHAOS__V1__ROLE__ROLE_NODE);
	expect_refused(at("a/pods/staging/chain-0.crt"), at("a/pods/staging/chain-0.key"),
	               &w.id, "names pod:staging/chain-0", "claims node:worker-1");
}

static void
test_certificate_of_another_ca_is_refused(void **state)
{
	struct who w;

	(void)state;
	who_init(&w, "staging", "chain-0", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	expect_refused(at("b/pods/staging/chain-0.crt"), at("b/pods/staging/chain-0.key"),
	               &w.id, "not signed by this controller's CA", "--tls-ca");
}

static void
test_expired_certificate_is_refused(void **state)
{
	struct who w;

	(void)state;
	who_init(&w, "staging", "chain-2", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	expect_refused(at("a/pods/staging/chain-2.crt"), at("a/pods/staging/chain-2.key"),
	               &w.id, "the certificate is expired", "not after");
}

/* A proof of chain-0 made for (nonce, instance), its signature's last byte
 * flipped when flip, is refused for nonce_a and INSTANCE. */
static void
expect_signature_refused(const uint8_t *nonce, uint64_t instance, bool flip)
{
	struct identity_proof    *p = NULL;
	Chaos__V1__IdentityProof *m;
	struct who                w;
	chaos_why                 why = {{0}};

	who_init(&w, "staging", "chain-0", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	assert_int_equal(prove(at("a/pods/staging/chain-0.crt"),
	                       at("a/pods/staging/chain-0.key"), nonce, instance, &w.id,
	                       &p, &why),
	                 CHAOS_OK);
	m = identity_proof_msg(p);
	if (flip)
		m->signature.data[m->signature.len - 1] ^= 0x01;
	assert_int_equal(idverify_proof(ver, nonce_a, IDPROOF_NONCE_LEN, &w.id, m, &why),
	                 CHAOS_EPERM);
	assert_non_null(strstr(why.text, "signature does not verify"));
	identity_proof_free(p);
}

static void
test_bad_signature_is_refused(void **state)
{
	(void)state;
	expect_signature_refused(nonce_a, INSTANCE, true);
}

/* A proof seen once (on another connection, or to another controller) is
 * worth nothing for a new challenge. */
static void
test_replayed_proof_is_refused(void **state)
{
	(void)state;
	expect_signature_refused(nonce_b, INSTANCE, false);
	expect_signature_refused(nonce_a, INSTANCE + 1, false);
}

static void
test_agent_names_the_file_it_cannot_use(void **state)
{
	struct identity_proof *p = NULL;
	struct who             w;
	chaos_why              why = {{0}};

	(void)state;
	who_init(&w, "staging", "chain-0", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	assert_int_equal(prove(at("a/pods/staging/chain-0.crt"),
	                       at("a/pods/staging/chain-1.key"), nonce_a, INSTANCE, &w.id,
	                       &p, &why),
	                 CHAOS_EINVAL);
	assert_non_null(
	    strstr(why.text, "chain-1.key is not the key of the certificate"));
	assert_int_equal(
	    prove(at("a/nope.crt"), NULL, nonce_a, INSTANCE, &w.id, &p, &why),
	    CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "nope.crt"));
	assert_int_equal(identity_proof_new(NULL, nonce_a, IDPROOF_NONCE_LEN, INSTANCE,
	                                    &w.id, &p, &why),
	                 CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "--tls-cert"));
	assert_null(p);
}

/* What an agent the controller does not answer can find out by itself. */
static void
test_agent_says_its_own_certificate_expired(void **state)
{
	struct transport_tls ok      = {NULL, at("a/chain-0.pem"), NULL};
	struct transport_tls expired = {NULL, at("a/pods/staging/chain-2.crt"),
	                                at("a/pods/staging/chain-2.key")};
	chaos_why            why     = {{0}};

	(void)state;
	assert_int_equal(identity_proof_check(&ok, &why), CHAOS_OK);
	assert_int_equal(identity_proof_check(&expired, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "chain-2.crt expired at"));
}

/* ---- connections ---- */

static uint64_t
refused_count(void)
{
	char       *text = metrics_render(NULL, NULL, 0);
	const char *key  = "chaos_agents_refused_total{reason=\"identity\"} ";
	const char *at_  = text != NULL ? strstr(text, key) : NULL;
	uint64_t    n;

	assert_non_null(at_);
	n = strtoull(at_ + strlen(key), NULL, 10);
	free(text);
	return n;
}

static void
open_conn(uint32_t id)
{
	nng_pipe p = NNG_PIPE_INITIALIZER;

	p.id = id;
	idcheck_pipe_added(p, NNG_PIPE_EV_ADD_PRE, chk);
}

static void
poll_init(Chaos__V1__Poll *poll, struct who *w)
{
	chaos__v1__poll__init(poll);
	poll->protocol_version = WIRE_VERSION;
	poll->agent_id         = w->agent_id;
	poll->poll_seq         = 1;
	poll->t1_agent_us      = 1700000000000000LL;
	poll->identity         = &w->id;
}

/* Challenges connection id and answers with chain-0's certificate for w;
 * the verdict on the answer. */
static enum idcheck_verdict
challenge_and_answer(uint32_t id, struct who *w, chaos_why *why)
{
	Chaos__V1__Poll        poll;
	struct identity_proof *p = NULL;
	uint8_t                nonce[IDPROOF_NONCE_LEN];
	enum idcheck_verdict   v;

	poll_init(&poll, w);
	assert_int_equal(idcheck_poll(chk, id, &poll, nonce, why), IDCHECK_CHALLENGE);
	assert_non_null(strstr(why->text, "does not answer the challenge"));
	assert_int_equal(prove(at("a/pods/staging/chain-0.crt"),
	                       at("a/pods/staging/chain-0.key"), nonce, INSTANCE, &w->id,
	                       &p, why),
	                 CHAOS_OK);
	poll.identity_proof = identity_proof_msg(p);
	v                   = idcheck_poll(chk, id, &poll, nonce, why);
	identity_proof_free(p);
	return v;
}

static void
test_connection_is_bound_to_what_it_proved(void **state)
{
	Chaos__V1__Poll poll;
	struct who      w, other;
	uint8_t         nonce[IDPROOF_NONCE_LEN];
	chaos_why       why = {{0}};

	(void)state;
	open_conn(101);
	who_init(&w, "staging", "chain-0", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	assert_int_equal(challenge_and_answer(101, &w, &why), IDCHECK_PASS);
	poll_init(&poll, &w);
	poll.identity = NULL; /* later polls need not repeat it */
	assert_int_equal(idcheck_poll(chk, 101, &poll, nonce, &why), IDCHECK_PASS);
	assert_true(idcheck_hello_backed(chk, &w.id));
	/* another id, other names or another incarnation on this connection */
	who_init(&other, "staging", "chain-1", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	poll_init(&poll, &other);
	assert_int_equal(idcheck_poll(chk, 101, &poll, nonce, &why), IDCHECK_REFUSED);
	assert_non_null(strstr(why.text, "proved agent staging/chain-0"));
	assert_false(idcheck_hello_backed(chk, &other.id));
	poll_init(&poll, &w);
	w.id.incarnation++;
	assert_int_equal(idcheck_poll(chk, 101, &poll, nonce, &why), IDCHECK_REFUSED);
	assert_false(idcheck_hello_backed(chk, &w.id));
	w.id.incarnation--;
	/* what a connection proved goes with it */
	idcheck_pipe_closed(chk, 101);
	assert_false(idcheck_hello_backed(chk, &w.id));
	assert_int_equal(idcheck_poll(chk, 101, &poll, nonce, &why), IDCHECK_REFUSED);
}

static void
test_impostor_connection_is_refused_and_counted_once(void **state)
{
	struct who w;
	chaos_why  why    = {{0}};
	uint64_t   before = refused_count();

	(void)state;
	open_conn(202);
	who_init(&w, "staging", "chain-1", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	assert_int_equal(challenge_and_answer(202, &w, &why), IDCHECK_REFUSED);
	assert_non_null(strstr(why.text,
	                       "identity not proven: the certificate names "
	                       "pod:staging/chain-0, and the agent claims "
	                       "pod:staging/chain-1"));
	assert_false(idcheck_hello_backed(chk, &w.id));
	/* it tries again on the same connection: refused, counted once */
	assert_int_equal(challenge_and_answer(202, &w, &why), IDCHECK_REFUSED);
	assert_int_equal(refused_count(), before + 1);
	/* a new connection is a new refusal */
	open_conn(203);
	assert_int_equal(challenge_and_answer(203, &w, &why), IDCHECK_REFUSED);
	assert_int_equal(refused_count(), before + 2);
	idcheck_pipe_closed(chk, 202);
	idcheck_pipe_closed(chk, 203);
}

/* A nonce serves one proof, and a proof needs a challenge of its own
 * connection. */
static void
test_proof_without_its_challenge_is_refused(void **state)
{
	Chaos__V1__Poll        poll;
	struct identity_proof *p = NULL;
	struct who             w;
	uint8_t                nonce[IDPROOF_NONCE_LEN];
	chaos_why              why = {{0}};

	(void)state;
	open_conn(301);
	open_conn(302);
	who_init(&w, "staging", "chain-0", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	poll_init(&poll, &w);
	assert_int_equal(idcheck_poll(chk, 301, &poll, nonce, &why), IDCHECK_CHALLENGE);
	assert_int_equal(prove(at("a/pods/staging/chain-0.crt"),
	                       at("a/pods/staging/chain-0.key"), nonce, INSTANCE, &w.id,
	                       &p, &why),
	                 CHAOS_OK);
	poll.identity_proof = identity_proof_msg(p);
	assert_int_equal(idcheck_poll(chk, 302, &poll, nonce, &why), IDCHECK_REFUSED);
	assert_non_null(strstr(why.text, "answers no challenge"));
	assert_int_equal(idcheck_poll(chk, 301, &poll, nonce, &why), IDCHECK_PASS);
	idcheck_pipe_closed(chk, 301);
	open_conn(301);
	assert_int_equal(idcheck_poll(chk, 301, &poll, nonce, &why), IDCHECK_REFUSED);
	identity_proof_free(p);
	idcheck_pipe_closed(chk, 301);
	idcheck_pipe_closed(chk, 302);
}

static void
test_challenge_reply_carries_the_nonce_and_no_command(void **state)
{
	uint8_t           nonce[IDPROOF_NONCE_LEN];
	nng_msg          *msg = NULL;
	Chaos__V1__Reply *r   = NULL;
	chaos_why         why = {{0}};

	(void)state;
	memset(nonce, 0xa5, sizeof(nonce));
	assert_int_equal(
	    idcheck_pack_challenge(chk, 9, 1700000000000000LL, 500, nonce, "why", &msg),
	    CHAOS_OK);
	assert_int_equal(wire_decode_reply(nng_msg_body(msg), nng_msg_len(msg), &r, &why),
	                 CHAOS_OK);
	assert_true(r->has_identity_challenge);
	assert_memory_equal(r->identity_challenge.data, nonce, sizeof(nonce));
	assert_int_equal(r->instance_id, INSTANCE);
	assert_int_equal(r->poll_seq, 9);
	assert_string_equal(r->refused, "why");
	assert_int_equal(r->n_commands, 0);
	wire_free(r);
	nng_msg_free(msg);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_certified_pod_identity_is_accepted),
	    cmocka_unit_test(test_rsa_certificate_is_accepted),
	    cmocka_unit_test(test_chain0_certificate_claiming_chain1_is_refused),
	    cmocka_unit_test(test_node_certificate_proves_only_its_node),
	    cmocka_unit_test(test_certificate_of_another_ca_is_refused),
	    cmocka_unit_test(test_expired_certificate_is_refused),
	    cmocka_unit_test(test_bad_signature_is_refused),
	    cmocka_unit_test(test_replayed_proof_is_refused),
	    cmocka_unit_test(test_agent_names_the_file_it_cannot_use),
	    cmocka_unit_test(test_agent_says_its_own_certificate_expired),
	    cmocka_unit_test(test_connection_is_bound_to_what_it_proved),
	    cmocka_unit_test(test_impostor_connection_is_refused_and_counted_once),
	    cmocka_unit_test(test_proof_without_its_challenge_is_refused),
	    cmocka_unit_test(test_challenge_reply_carries_the_nonce_and_no_command),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test_identity_proof MAKE_CERTS_SH\n");
		return 2;
	}
	make_certs = argv[1];
	if (shell_run("command -v openssl >/dev/null") != 0) {
		printf("skipped: no openssl\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
