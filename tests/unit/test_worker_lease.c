// SPDX-License-Identifier: MIT
/*
 * Probes and loads are leased like faults (agent/lease.h): they stop when
 * no reply from the controller instance that started them came within the
 * lease, or when a reply comes from another instance, and whoever runs
 * them is told why. First the lease rule itself, then real probe and load
 * sets (a TCP probe and a load against a closed loopback port: they run
 * all the same), the load's final report read as the controller would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/lease.h"
#include "agent/load.h"
#include "agent/probe.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/wire.h"
#include "tests/support/event_sink.h"
#include "tests/support/wait.h"

#define INSTANCE_A 0x1111u
#define INSTANCE_B 0x2222u
#define LEASE_MS 1000u
#define MS 1000LL /* us */

/* ---- the rule ---- */

static void
test_the_first_reply_grants_and_only_its_instance_renews(void **state)
{
	struct lease l = {0};
	char         buf[128];

	(void)state;
	assert_false(lease_ended(&l, 1)); /* not running before a reply */
	assert_int_equal(lease_reply(&l, 100 * MS, INSTANCE_A, true, LEASE_MS),
	                 LEASE_RENEWED);
	assert_true(l.instance == INSTANCE_A);
	assert_false(lease_ended(&l, 1099 * MS));
	assert_true(lease_ended(&l, 1100 * MS));
	assert_int_equal(lease_reply(&l, 900 * MS, INSTANCE_A, true, LEASE_MS),
	                 LEASE_RENEWED);
	assert_false(lease_ended(&l, 1800 * MS));
	assert_int_equal(lease_reply(&l, 1000 * MS, INSTANCE_A, false, LEASE_MS),
	                 LEASE_NOT_HELD);
	assert_int_equal(lease_reply(&l, 1000 * MS, INSTANCE_B, true, LEASE_MS),
	                 LEASE_OTHER_INSTANCE);
	assert_int_equal(lease_reply(&l, 1000 * MS, 0, true, LEASE_MS),
	                 LEASE_OTHER_INSTANCE);
	assert_string_equal(lease_describe(&l, LEASE_EXPIRED, buf, sizeof(buf)),
	                    "no word from the controller for 1000 ms (its lease)");
	/* a controller naming no instance renews nothing */
	l = (struct lease) {0};
	assert_int_equal(lease_reply(&l, 0, 0, true, LEASE_MS), LEASE_NOT_HELD);
}

static void
test_a_probe_lease_is_three_heartbeats_at_least_the_default_lease(void **state)
{
	(void)state;
	assert_int_equal(lease_worker_ms(0), LIMIT_LEASE_DEFAULT_MS);
	assert_int_equal(lease_worker_ms(500), LIMIT_LEASE_DEFAULT_MS);
	assert_int_equal(lease_worker_ms(1000), LIMIT_LEASE_DEFAULT_MS);
	assert_int_equal(lease_worker_ms(2000), 6000);
	assert_int_equal(lease_worker_ms(60000), 180000);
}

/* ---- probes and loads ---- */

struct fix {
	struct event_sink sink;
	struct probe_set *ps;
	struct load_set  *ls;
	char              gone[4][192]; /* "what id: why" as told */
	size_t            n_gone;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	chaos_why   why;

	assert_non_null(f);
	assert_int_equal(event_sink_open(&f->sink, "worker_lease", &why), CHAOS_OK);
	assert_int_equal(probe_set_new(f->sink.ev, &f->ps), CHAOS_OK);
	assert_int_equal(load_set_new(f->sink.ev, &f->ls), CHAOS_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	probe_set_free(f->ps);
	load_set_free(f->ls);
	event_sink_close(&f->sink);
	free(f);
	return 0;
}

static void
gone(void *arg, const char *what, const char *id, const char *why)
{
	struct fix *f = arg;

	if (f->n_gone < 4)
		snprintf(f->gone[f->n_gone++], sizeof(f->gone[0]), "%s %s: %s", what, id,
		         why);
}

/* A TCP probe and a 60 s load, both against a closed port of loopback. */
static void
start_both(struct fix *f)
{
	Chaos__V1__ProbeSpec p = CHAOS__V1__PROBE_SPEC__INIT;
	Chaos__V1__LoadSpec  l = CHAOS__V1__LOAD_SPEC__INIT;
	chaos_why            why;

	p.probe_id    = "p1";
	p.kind        = CHAOS__V1__PROBE_KIND__PROBE_KIND_TCP;
	p.target      = "127.0.0.1:1";
	p.interval_ms = 50;
	p.timeout_ms  = 100;
	if (probe_start(f->ps, &p, &why) != CHAOS_OK)
		fail_msg("probe_start: %s", why.text);
	l.load_id     = "l1";
	l.url         = "http://127.0.0.1:1/";
	l.rate_rps    = 10;
	l.concurrency = 4;
	l.duration_ms = 60000;
	l.timeout_ms  = 100;
	if (load_start(f->ls, &l, &why) != CHAOS_OK)
		fail_msg("load_start: %s", why.text);
}

static void
reply(struct fix *f, int64_t now, uint64_t instance)
{
	probe_leases(f->ps, now, instance, LEASE_MS, gone, f);
	load_leases(f->ls, now, instance, LEASE_MS, gone, f);
}

/* The next tick's deadline: the sooner of the two sets'. */
static int64_t
tick(struct fix *f, int64_t now)
{
	int64_t a = probe_lease_tick(f->ps, now, gone, f);
	int64_t b = load_lease_tick(f->ls, now, gone, f);

	return a == 0 || (b != 0 && b < a) ? b : a;
}

/* The controller sees the load gone: its final report arrives. */
static void
assert_final_report(struct fix *f, const char *load_id)
{
	for (int i = 0; i < 200; i++) {
		Chaos__V1__Event *e = NULL;
		bool              final;
		assert_int_equal(event_sink_recv(&f->sink, WAIT_GENEROUS_MS, &e, NULL),
		                 CHAOS_OK);
		final = e->body_case == CHAOS__V1__EVENT__BODY_LOAD &&
		    strcmp(e->load->load_id, load_id) == 0 && e->load->final;
		wire_free(e);
		if (final)
			return;
	}
	fail_msg("no final report of load %s", load_id);
}

static void
test_probes_and_loads_stop_when_their_lease_runs_out(void **state)
{
	struct fix *f  = *state;
	int64_t     t0 = clk_mono_us();

	start_both(f);
	/* started but no reply yet: nothing to wake for, nothing stops */
	assert_int_equal(tick(f, t0 + 3600 * 1000 * MS), 0);
	assert_int_equal(probe_count(f->ps) + load_count(f->ls), 2);
	reply(f, t0, INSTANCE_A); /* the reply that carried the starts */
	reply(f, t0 + 800 * MS, INSTANCE_A);
	assert_true(tick(f, t0 + 1500 * MS) == t0 + 1800 * MS);
	assert_int_equal(probe_count(f->ps) + load_count(f->ls), 2);
	assert_int_equal(f->n_gone, 0);
	/* no word from A since t0 + 800 ms: both stop */
	assert_int_equal(tick(f, t0 + 1800 * MS), 0);
	assert_int_equal(probe_count(f->ps) + load_count(f->ls), 0);
	assert_int_equal(f->n_gone, 2);
	for (size_t i = 0; i < 2; i++)
		assert_non_null(strstr(
		    f->gone[i], ": no word from the controller for 1000 ms (its lease)"));
	assert_true(strcmp(f->gone[0],
	                   "probe p1: no word from the controller for 1000 "
	                   "ms (its lease)") == 0 ||
	            strcmp(f->gone[1],
	                   "probe p1: no word from the controller for 1000 "
	                   "ms (its lease)") == 0);
	assert_final_report(f, "l1");
}

static void
test_a_reply_from_another_instance_stops_them_at_once(void **state)
{
	struct fix *f  = *state;
	int64_t     t0 = clk_mono_us();

	start_both(f);
	reply(f, t0, INSTANCE_A);
	/* the controller was replaced: the new one never started them */
	reply(f, t0 + 100 * MS, INSTANCE_B);
	assert_int_equal(probe_count(f->ps) + load_count(f->ls), 0);
	assert_int_equal(f->n_gone, 2);
	assert_non_null(strstr(f->gone[0], "another controller instance"));
	assert_non_null(strstr(f->gone[1], "another controller instance"));
	assert_final_report(f, "l1");
	/* what a new instance starts is its own */
	start_both(f);
	assert_int_equal(probe_count(f->ps), 1);
	reply(f, t0 + 200 * MS, INSTANCE_B);
	assert_int_equal(probe_count(f->ps), 1);
}

static void
test_a_stopped_probe_is_not_told_of_again(void **state)
{
	struct fix *f  = *state;
	int64_t     t0 = clk_mono_us();

	start_both(f);
	reply(f, t0, INSTANCE_A);
	/* stopped on command: no lease line, no later expiry */
	assert_int_equal(probe_stop(f->ps, "p1"), CHAOS_OK);
	assert_int_equal(load_stop(f->ls, "l1"), CHAOS_OK);
	assert_int_equal(tick(f, t0 + 5000 * MS), 0);
	reply(f, t0 + 5000 * MS, INSTANCE_B);
	assert_int_equal(f->n_gone, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_first_reply_grants_and_only_its_instance_renews),
	    cmocka_unit_test(
	        test_a_probe_lease_is_three_heartbeats_at_least_the_default_lease),
	    cmocka_unit_test_setup_teardown(
	        test_probes_and_loads_stop_when_their_lease_runs_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_a_reply_from_another_instance_stops_them_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_stopped_probe_is_not_told_of_again,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
