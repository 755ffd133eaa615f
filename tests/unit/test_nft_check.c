// SPDX-License-Identifier: MIT
/*
 * What nft_ruleset_check() and nft_build_batch() refuse, and that a refused
 * ruleset builds nothing: no socket, no root. (test_nft_batch.c reads back
 * the batches of good ones.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/nft.h"
#include "common/err.h"

#define TABLE "chaos_test"
#define SEQ0 1000u

static const char *const peer_b[] = {"10.232.0.2"};

static int
build_rc(const struct nft_ruleset *rs)
{
	struct nft_batch *b  = NULL;
	int               rc = nft_build_batch(TABLE, rs, SEQ0, &b, NULL);

	if (rc != CHAOS_OK)
		assert_null(b);
	nft_batch_free(b);
	return rc;
}

static int
build_one_rc(const struct nft_fault *f)
{
	struct nft_ruleset rs = {.faults = f, .n_faults = 1};

	return build_rc(&rs);
}

static void
test_bad_peer_addresses_are_einval(void **state)
{
	static const char *const bad[] = {
	    "10.0.0",      "10.0.0.1/33", "abc", "10.0.0.1/",
	    "10.0.0.1/-1", "10.0.0.256",  "",    "10.0.0.1/2x",
	    " 10.0.0.1",   "10.0.0.1/008"};
	struct nft_fault f           = {.kind = NFT_FAULT_PARTITION, .n_peers = 1};
	const char      *null_peer[] = {NULL};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.peers = &bad[i];
		assert_int_equal(build_one_rc(&f), CHAOS_EINVAL);
	}
	f.peers = null_peer;
	assert_int_equal(build_one_rc(&f), CHAOS_EINVAL);
}

static void
test_ipv6_peers_are_unsupported(void **state)
{
	static const char *const v6[] = {"fd00::1/64"};
	struct nft_fault f = {.kind = NFT_FAULT_PARTITION, .peers = v6, .n_peers = 1};

	(void)state;
	assert_int_equal(build_one_rc(&f), CHAOS_EUNSUPPORTED);
}

/* The exempt list takes IPv6 (a controller reached over IPv6), checked as
 * strictly as IPv4. */
static void
test_ipv6_exempt_cidrs_are_checked(void **state)
{
	static const char *const good[] = {"fd00::1", "fd00::/8", "::/0", "::1/128",
	                                   "10.0.0.1"};
	static const char *const bad[]  = {"fd00::1/129",  "fd00:::1", "fd00::1/",
	                                   "fd00::1/0128", "fd00::g",  ":"};
	struct nft_ruleset       rs     = {.exempt = good, .n_exempt = 5};

	(void)state;
	assert_int_equal(nft_ruleset_check(&rs, NULL), CHAOS_OK);
	assert_int_equal(build_rc(&rs), CHAOS_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rs = (struct nft_ruleset) {.exempt = &bad[i], .n_exempt = 1};
		print_message("bad exempt %s\n", bad[i]);
		assert_int_equal(nft_ruleset_check(&rs, NULL), CHAOS_EINVAL);
	}
}

static void
test_too_many_peers_is_einval(void **state)
{
	static const char *peers[NFT_MAX_PEERS + 1];
	struct nft_fault   f = {.kind = NFT_FAULT_PARTITION, .peers = peers};

	(void)state;
	for (size_t i = 0; i <= NFT_MAX_PEERS; i++)
		peers[i] = "10.1.2.3";
	f.n_peers = NFT_MAX_PEERS;
	assert_int_equal(build_one_rc(&f), CHAOS_OK);
	f.n_peers = NFT_MAX_PEERS + 1;
	assert_int_equal(build_one_rc(&f), CHAOS_EINVAL);
}

static void
test_bad_fault_parameters_are_einval(void **state)
{
	static const uint16_t  zero[]  = {0};
	static const uint16_t  ports[] = {80};
	const struct nft_fault bad[]   = {
	      {.kind = NFT_FAULT_PARTITION}, /* no peers */
	      {.kind    = NFT_FAULT_PARTITION,
	       .peers   = peer_b,
	       .n_peers = 1, /* port 0 */
	       .proto   = NFT_L4_TCP,
	       .ports   = zero,
	       .n_ports = 1},
	      {.kind    = NFT_FAULT_PARTITION,
	       .peers   = peer_b,
	       .n_peers = 1, /* ports, no proto */
	       .ports   = ports,
	       .n_ports = 1},
	      {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1, .proto = 1},
	      {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1, .dir = 9},
	      {.kind = NFT_FAULT_LOSS, .peers = peer_b, .n_peers = 1, .loss_percent = 0},
	      {.kind = NFT_FAULT_LOSS, .peers = peer_b, .n_peers = 1, .loss_percent = 101},
	      {.kind = NFT_FAULT_REJECT}, /* no ports */
	      {.kind = NFT_FAULT_REJECT, .ports = zero, .n_ports = 1},
	      {.kind    = NFT_FAULT_BLACKHOLE, /* egress without peers */
	       .dir     = NFT_DIR_OUT,
	       .ports   = ports,
	       .n_ports = 1},
	      {.kind = NFT_FAULT_REJECT, .dir = NFT_DIR_OUT, .ports = ports, .n_ports = 1},
	      {.kind    = NFT_FAULT_REJECT, /* egress without ports */
	       .dir     = NFT_DIR_OUT,
	       .peers   = peer_b,
	       .n_peers = 1},
	      {.kind = NFT_FAULT_BLACKHOLE, .ports = ports, .n_ports = NFT_MAX_PORTS + 1},
	      {.kind = NFT_FAULT_REDIRECT, .redirect_dport = 80, .redirect_skip_mark = 1},
	      {.kind               = NFT_FAULT_REDIRECT,
	       .redirect_to_port   = 15001,
	       .redirect_skip_mark = 1},
	      {.kind = NFT_FAULT_REDIRECT, .redirect_dport = 80, .redirect_to_port = 15001},
	      {.kind = 42, .peers = peer_b, .n_peers = 1},
        };
	chaos_why why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("bad fault %zu\n", i);
		assert_int_equal(build_one_rc(&bad[i]), CHAOS_EINVAL);
		why.text[0] = '\0';
		assert_int_equal(
		    nft_ruleset_check(
		        &(struct nft_ruleset) {.faults = &bad[i], .n_faults = 1}, &why),
		    CHAOS_EINVAL);
		assert_non_null(strstr(why.text, "fault 0")); /* names the fault */
	}
}

static void
test_bad_ruleset_or_table_name_is_einval(void **state)
{
	static const char *const bad_exempt[] = {"10.0.0.1/40"};
	struct nft_fault f = {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1};
	struct nft_ruleset rs = {.faults = &f, .n_faults = NFT_MAX_FAULTS + 1};
	struct nft_batch  *b  = NULL;

	(void)state;
	assert_int_equal(build_rc(&rs), CHAOS_EINVAL);
	assert_int_equal(build_rc(NULL), CHAOS_EINVAL);
	rs = (struct nft_ruleset) {.exempt = bad_exempt, .n_exempt = 1};
	assert_int_equal(build_rc(&rs), CHAOS_EINVAL);
	rs = (struct nft_ruleset) {0};
	assert_int_equal(nft_build_batch("bad name", &rs, 1, &b, NULL), CHAOS_EINVAL);
	assert_int_equal(nft_build_batch("", &rs, 1, &b, NULL), CHAOS_EINVAL);
	assert_int_equal(nft_build_batch(NULL, &rs, 1, &b, NULL), CHAOS_EINVAL);
	assert_null(b);
	assert_int_equal(nft_open("bad/name", &(struct nft_ctx *) {NULL}, NULL),
	                 CHAOS_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_peer_addresses_are_einval),
	    cmocka_unit_test(test_ipv6_peers_are_unsupported),
	    cmocka_unit_test(test_ipv6_exempt_cidrs_are_checked),
	    cmocka_unit_test(test_too_many_peers_is_einval),
	    cmocka_unit_test(test_bad_fault_parameters_are_einval),
	    cmocka_unit_test(test_bad_ruleset_or_table_name_is_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
