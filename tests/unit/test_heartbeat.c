// SPDX-License-Identifier: MIT
/*
 * The heartbeat the registry announces, grown and shrunk with the connected
 * agents (registry_set_max_heartbeats), driven by polls built in memory and
 * sweeps at chosen times: the steps, their pace, and the lost check while a
 * longer heartbeat may still be in use; and how long a poll is held when the
 * agent keeps a lease shorter than three heartbeats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "controller/metrics.h"
#include "controller/registry.h"
#include "tests/support/fake_agent.h"

#define HB_MS 100

static struct registry *
new_registry(void)
{
	struct registry *r = NULL;

	assert_int_equal(registry_new(HB_MS, 128, &r), CHAOS_OK);
	assert_int_equal(registry_heartbeat_ms(r), HB_MS);
	return r;
}

/* n agents "ledger/hb-<i>", connected on pipes 1..n. */
static struct fake_agent *
connect_many(struct registry *r, size_t n)
{
	struct fake_agent *f = calloc(n, sizeof(*f));

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		char pod[32];
		snprintf(pod, sizeof(pod), "hb-%zu", i);
		fake_connect(r, &f[i], "ledger", pod, (uint32_t)(i + 1));
	}
	return f;
}

static size_t
connected_count(struct registry *r)
{
	struct registry_counts c;

	registry_counts(r, &c);
	return c.connected;
}

/* Prometheus' view of the registry holds line. */
static void
expect_metric(struct registry *r, const char *line)
{
	char *text = metrics_render(r, NULL, 0);

	assert_non_null(text);
	if (strstr(text, line) == NULL)
		fail_msg("no '%s' in:\n%s", line, text);
	free(text);
}

#define AT(ms) (t0 + (int64_t)(ms)*1000)

/* 100 agents at 100 polls a second need a 1 s heartbeat: from 100 ms it
 * doubles once per heartbeat, never more (an agent waits 3 heartbeats of
 * its last reply); when 60 leave it halves, and for a while the lost check
 * keeps the longer heartbeat that polls may still be parked under. */
static void
test_heartbeat_grows_with_the_agents_in_steps_and_shrinks_safely(void **state)
{
	struct registry   *r  = new_registry();
	struct fake_agent *f  = connect_many(r, 100);
	int64_t            t0 = clk_mono_us();

	(void)state;
	registry_set_max_heartbeats(r, 100);
	registry_sweep(r, AT(0));
	assert_int_equal(registry_heartbeat_ms(r), 200);
	registry_sweep(r, AT(199)); /* not before a heartbeat has passed */
	assert_int_equal(registry_heartbeat_ms(r), 200);
	registry_sweep(r, AT(200));
	assert_int_equal(registry_heartbeat_ms(r), 400);
	registry_sweep(r, AT(600));
	assert_int_equal(registry_heartbeat_ms(r), 800);
	registry_sweep(r, AT(1400)); /* 1000, not 1600 */
	assert_int_equal(registry_heartbeat_ms(r), 1000);
	expect_metric(r, "\nchaos_heartbeat_seconds 1.000\n");
	registry_sweep(r, AT(2400));
	assert_int_equal(registry_heartbeat_ms(r), 1000);
	assert_int_equal(connected_count(r), 100); /* 2.4 s quiet < 3 heartbeats */

	for (uint32_t pipe = 41; pipe <= 100; pipe++)
		registry_pipe_closed(r, pipe);
	registry_sweep(r, AT(2450)); /* 40 agents: 400 ms, but half a step at most */
	assert_int_equal(registry_heartbeat_ms(r), 500);
	/* 2.9 s quiet: past 3 x 500 ms, but polls parked under 1000 ms may
	 * still be out, and 3 x 1000 ms have not passed */
	registry_sweep(r, AT(2900));
	assert_int_equal(connected_count(r), 40);
	registry_sweep(r, AT(2950));
	assert_int_equal(registry_heartbeat_ms(r), 400);
	registry_sweep(r, AT(3500)); /* 3.5 s quiet: past every limit */
	assert_int_equal(connected_count(r), 0);
	free(f);
	registry_free(r);
}

/* With no cap the heartbeat is the configured one at any fleet size, and
 * the default cap leaves a small fleet at it. */
static void
test_heartbeat_stays_put_without_a_cap_or_below_it(void **state)
{
	struct registry   *r  = new_registry();
	struct fake_agent *f  = connect_many(r, 40);
	int64_t            t0 = clk_mono_us();

	(void)state;
	registry_sweep(r, AT(0)); /* default cap 500/s: 40 agents need 80 ms */
	registry_sweep(r, AT(250));
	assert_int_equal(registry_heartbeat_ms(r), HB_MS);
	free(f);
	registry_free(r);
	r = new_registry();
	f = connect_many(r, 100); /* 200 ms with the default cap */
	registry_set_max_heartbeats(r, 0);
	registry_sweep(r, AT(0));
	registry_sweep(r, AT(250));
	assert_int_equal(registry_heartbeat_ms(r), HB_MS);
	free(f);
	registry_free(r);
}

/* A poll is held a heartbeat, or a third of the shortest lease the agent
 * keeps when that is less, so that a lease shorter than three heartbeats
 * (the heartbeat grows with the agents) is still renewed in time. */
static void
test_a_poll_is_held_no_longer_than_a_third_of_a_kept_lease(void **state)
{
	struct registry  *r = NULL;
	struct fake_agent a, b;

	(void)state;
	assert_int_equal(registry_new(1000, 8, &r), CHAOS_OK);
	fake_connect(r, &a, "ledger", "chain-0", 1);
	fake_connect(r, &b, "ledger", "chain-1", 2);
	assert_int_equal(registry_park_ms(r, a.agent_id), 1000);
	fake_keep_partition(r, a.agent_id, "r1-long", 1,
	                    6000); /* 2000: the heartbeat is less */
	assert_int_equal(registry_park_ms(r, a.agent_id), 1000);
	fake_keep_partition(r, a.agent_id, "r1-short", 2, 900);
	assert_int_equal(registry_park_ms(r, a.agent_id), 300);
	assert_int_equal(registry_park_ms(r, b.agent_id), 1000);
	assert_int_equal(registry_park_ms(r, "ledger/unknown"), 1000);
	assert_int_equal(registry_fault_live(r, a.agent_id, "r1-short", false), CHAOS_OK);
	assert_int_equal(registry_park_ms(r, a.agent_id), 1000);
	registry_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_heartbeat_grows_with_the_agents_in_steps_and_shrinks_safely),
	    cmocka_unit_test(test_heartbeat_stays_put_without_a_cap_or_below_it),
	    cmocka_unit_test(test_a_poll_is_held_no_longer_than_a_third_of_a_kept_lease),
	};

	log_init("test_heartbeat", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
