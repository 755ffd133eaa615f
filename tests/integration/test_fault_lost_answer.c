// SPDX-License-Identifier: MIT
/*
 * An apply whose kernel answer is lost leaves no rule behind (agent audit
 * F4). nft_commit can fail with "replies lost" after the kernel took the
 * batch; the fault is then reported failed, so its rules must not stay.
 * The engine runs against the real kernel in a network namespace this
 * process makes for itself (unshare), so the host's is never touched;
 * nft_commit is wrapped (-Wl,--wrap) to lose the answer of one batch that
 * the kernel did commit. Needs root; exits 77 otherwise.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/fault.h"
#include "agent/nft.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/wire.h"
#include "tests/support/event_sink.h"

#define PEER_KEPT "10.233.7.1"
#define PEER_LOST "10.233.7.2"

chaos_err __real_nft_commit(struct nft_ctx *ctx, const struct nft_ruleset *rs,
                            chaos_why *why);
chaos_err __wrap_nft_commit(struct nft_ctx *ctx, const struct nft_ruleset *rs,
                            chaos_why *why);

static bool lose_next; /* the next batch goes in, its answer is lost */
static int  refuse_n;  /* the next n batches are refused outright */

chaos_err
__wrap_nft_commit(struct nft_ctx *ctx, const struct nft_ruleset *rs, chaos_why *why)
{
	chaos_err rv;

	if (refuse_n > 0) {
		refuse_n--;
		return chaos_fail(why, CHAOS_ESYS, "refused (the test refused it)");
	}
	rv = __real_nft_commit(ctx, rs, why);

	if (rv != CHAOS_OK || !lose_next)
		return rv;
	lose_next = false;
	return chaos_fail(why, CHAOS_ETIMEDOUT, "replies lost (the test lost them)");
}

static chaos_err
apply_partition(struct fault_engine *fe, const char *id, const char *peer, chaos_why *why)
{
	Chaos__V1__FaultSpec      spec = CHAOS__V1__FAULT_SPEC__INIT;
	Chaos__V1__PartitionFault part = CHAOS__V1__PARTITION_FAULT__INIT;
	char                      cidr[32], *peers[1] = {cidr};

	snprintf(cidr, sizeof(cidr), "%s/32", peer);
	part.peers           = peers;
	part.n_peers         = 1;
	spec.fault_id        = (char *)id;
	spec.lease_ms        = 10000;
	spec.hard_end_ctl_us = clk_now_us() + 60 * 1000000LL;
	spec.kind_case       = CHAOS__V1__FAULT_SPEC__KIND_PARTITION;
	spec.partition       = &part;
	return fault_apply(fe, &spec, 0, why);
}

/* The table as the nft command lists it (this process's namespace). */
static void
list_table(char *out, size_t len)
{
	FILE  *p = popen("nft list table inet " FAULT_TABLE_NAME " 2>&1", "r");
	size_t n = p != NULL ? fread(out, 1, len - 1, p) : 0;

	out[n] = '\0';
	if (p != NULL)
		pclose(p);
}

static void
test_a_lost_answer_takes_the_rules_out_and_keeps_the_others(void **state)
{
	struct event_sink    sink;
	struct fault_engine *fe  = NULL;
	chaos_why            why = {{0}};
	char                 ids[4][FAULT_ID_SIZE];
	char                 table[16384];

	(void)state;
	assert_int_equal(event_sink_open(&sink, "lost_answer", &why), CHAOS_OK);
	assert_int_equal(fault_engine_new(sink.ev, NULL, &fe), CHAOS_OK);
	if (apply_partition(fe, "kept", PEER_KEPT, &why) != CHAOS_OK)
		fail_msg("apply kept: %s", why.text);
	lose_next = true;
	assert_int_equal(apply_partition(fe, "lost", PEER_LOST, &why), CHAOS_ETIMEDOUT);
	assert_false(lose_next); /* the batch did reach the kernel */
	assert_int_equal(fault_active(fe, ids, 4), 1);
	assert_string_equal(ids[0], "kept");
	list_table(table, sizeof(table));
	print_message("after the lost answer:\n%s", table);
	assert_non_null(strstr(table, PEER_KEPT));
	assert_null(strstr(table, PEER_LOST));
	fault_engine_free(fe);
	list_table(table, sizeof(table));
	assert_null(strstr(table, PEER_KEPT)); /* and nothing after the engine */
	event_sink_close(&sink);
}

/* A revert whose batch fails drops the whole table; when the remaining
 * faults cannot be applied again either, they are no longer in force and
 * are reported failed and forgotten (agent audit F5), not renewed and
 * measured as if their rules were there. */
static void
test_faults_whose_rules_could_not_be_made_again_are_failed(void **state)
{
	struct event_sink    sink;
	struct fault_engine *fe  = NULL;
	chaos_why            why = {{0}};
	char                 table[16384];
	bool                 failed = false;

	(void)state;
	assert_int_equal(event_sink_open(&sink, "drop_rest", &why), CHAOS_OK);
	assert_int_equal(fault_engine_new(sink.ev, NULL, &fe), CHAOS_OK);
	if (apply_partition(fe, "a", PEER_KEPT, &why) != CHAOS_OK ||
	    apply_partition(fe, "b", PEER_LOST, &why) != CHAOS_OK)
		fail_msg("apply: %s", why.text);
	refuse_n = 2; /* the revert of b, then the re-apply of a */
	fault_revert(fe, "b");
	assert_int_equal(refuse_n, 0);
	assert_int_equal(fault_count(fe), 0);
	list_table(table, sizeof(table));
	assert_null(strstr(table, PEER_KEPT));
	assert_null(strstr(table, PEER_LOST));
	for (int i = 0; i < 20 && !failed; i++) {
		Chaos__V1__Event *e = NULL;
		assert_int_equal(event_sink_recv(&sink, 2000, &e, NULL), CHAOS_OK);
		failed = e->body_case == CHAOS__V1__EVENT__BODY_FAULT_STATE &&
		    strcmp(e->fault_state->fault_id, "a") == 0 &&
		    e->fault_state->phase == CHAOS__V1__FAULT_PHASE__FAULT_PHASE_FAILED &&
		    strstr(e->fault_state->detail, "could not be made again") != NULL;
		wire_free(e);
	}
	assert_true(failed);
	fault_engine_free(fe);
	event_sink_close(&sink);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_lost_answer_takes_the_rules_out_and_keeps_the_others),
	    cmocka_unit_test(test_faults_whose_rules_could_not_be_made_again_are_failed),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root (a network namespace of its own)\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
