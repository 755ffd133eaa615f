// SPDX-License-Identifier: MIT
/*
 * controller/obs.c's acks: kept by command id however many a run collects,
 * waited for as one set, the first ack of a command the one that counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "controller/obs.h"

#define T_POLL_US 1700000000000000LL

static void
add_ack(struct obs *o, uint64_t id, Chaos__V1__Status status, const char *error)
{
	Chaos__V1__Ack a = CHAOS__V1__ACK__INIT;

	a.command_id = id;
	a.status     = status;
	a.error      = (char *)error;
	obs_add_ack(o, &a, 0, T_POLL_US + (int64_t)id);
}

static void
test_every_ack_of_a_large_fan_out_is_kept_and_found(void **state)
{
	size_t          n    = 20000; /* the old fixed table held 4096 */
	uint64_t       *ids  = calloc(n, sizeof(*ids));
	struct obs_ack *acks = calloc(n, sizeof(*acks));
	struct obs     *o    = NULL;

	(void)state;
	assert_non_null(ids);
	assert_non_null(acks);
	assert_int_equal(obs_new(&o), CHAOS_OK);
	for (size_t i = 0; i < n; i++) {
		ids[i] = 1000 + 7 * i;
		add_ack(o, ids[i], CHAOS__V1__STATUS__STATUS_OK, NULL);
	}
	assert_int_equal(obs_wait_acks(o, ids, n, clk_mono_us(), acks), n);
	for (size_t i = 0; i < n; i += 997) {
		assert_int_equal(acks[i].command_id, ids[i]);
		assert_int_equal(acks[i].status, CHAOS__V1__STATUS__STATUS_OK);
		assert_true(acks[i].applied_us == T_POLL_US + (int64_t)ids[i]);
	}
	obs_free(o);
	free(ids);
	free(acks);
}

static void
test_first_ack_counts_and_its_error_is_kept(void **state)
{
	struct obs    *o = NULL;
	struct obs_ack a;

	(void)state;
	assert_int_equal(obs_new(&o), CHAOS_OK);
	add_ack(o, 5, CHAOS__V1__STATUS__STATUS_FAILED, "no such port");
	add_ack(o, 5, CHAOS__V1__STATUS__STATUS_OK, NULL); /* a repeat */
	assert_true(obs_wait_ack(o, 5, clk_mono_us(), &a));
	assert_int_equal(a.status, CHAOS__V1__STATUS__STATUS_FAILED);
	assert_string_equal(a.error, "no such port");
	obs_free(o);
}

static void
test_missing_ack_times_out_and_id_zero_is_not_waited_for(void **state)
{
	uint64_t       ids[3] = {11, 0, 12};
	struct obs_ack acks[3];
	struct obs    *o  = NULL;
	int64_t        t0 = clk_mono_us();

	(void)state;
	assert_int_equal(obs_new(&o), CHAOS_OK);
	add_ack(o, 11, CHAOS__V1__STATUS__STATUS_OK, NULL);
	memset(acks, 0x55, sizeof(acks));
	assert_int_equal(obs_wait_acks(o, ids, 3, t0 + 100000, acks), 1);
	assert_true(clk_mono_us() - t0 >= 90000); /* waited for 12 only */
	assert_int_equal(acks[0].status, CHAOS__V1__STATUS__STATUS_OK);
	assert_int_equal(acks[1].command_id, 0);
	assert_int_equal(acks[1].status, 0);
	assert_int_equal(acks[2].status, 0);
	obs_free(o);
}

struct feeder {
	struct obs *o;
	uint64_t    first;
	size_t      n;
};

/* Acks in reverse order, the one waited on first arriving last. */
static void
feed(void *arg)
{
	struct feeder *f = arg;

	for (size_t i = f->n; i-- > 0;) {
		add_ack(f->o, f->first + i, CHAOS__V1__STATUS__STATUS_OK, NULL);
		if (i % 100 == 0)
			nng_msleep(1);
	}
}

static void
test_waiting_for_a_set_returns_when_its_last_ack_arrives(void **state)
{
	struct feeder   f    = {.first = 1, .n = 2000};
	uint64_t       *ids  = calloc(f.n, sizeof(*ids));
	struct obs_ack *acks = calloc(f.n, sizeof(*acks));
	nng_thread     *t    = NULL;
	int64_t         t0   = clk_mono_us();

	(void)state;
	assert_non_null(ids);
	assert_non_null(acks);
	assert_int_equal(obs_new(&f.o), CHAOS_OK);
	for (size_t i = 0; i < f.n; i++)
		ids[i] = f.first + i;
	assert_int_equal(nng_thread_create(&t, feed, &f), 0);
	assert_int_equal(obs_wait_acks(f.o, ids, f.n, t0 + 10 * 1000000LL, acks), f.n);
	assert_true(clk_mono_us() - t0 < 5 * 1000000LL); /* not the deadline */
	nng_thread_destroy(t);
	obs_free(f.o);
	free(ids);
	free(acks);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_ack_of_a_large_fan_out_is_kept_and_found),
	    cmocka_unit_test(test_first_ack_counts_and_its_error_is_kept),
	    cmocka_unit_test(test_missing_ack_times_out_and_id_zero_is_not_waited_for),
	    cmocka_unit_test(test_waiting_for_a_set_returns_when_its_last_ack_arrives),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
