// SPDX-License-Identifier: MIT
/*
 * The agent's leases belong to the controller instance that granted the
 * fault: a reply from another instance, or one that no longer names the
 * fault, reverts it at once; only the granting instance naming it renews
 * it. Driven on a real fault engine with a real fault (kill with SIGCONT
 * on a sleeper of this test's own), its events read as the controller
 * would.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/fault.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/wire.h"
#include "tests/support/event_sink.h"
#include "tests/support/wait.h"

#define INSTANCE_A 0x1111u
#define INSTANCE_B 0x2222u
#define LEASE_MS 1000u

struct fix {
	struct event_sink    sink;
	struct fault_engine *fe;
	pid_t                sleeper;
	char                 name[16];
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	chaos_why   why;
	int         named[2];
	char        c;

	assert_non_null(f);
	snprintf(f->name, sizeof(f->name), "lease%d", (int)getpid() % 100000);
	/* The sleeper says on a pipe when it has its name: no polling. */
	assert_int_equal(pipe(named), 0);
	if ((f->sleeper = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, f->name);
		close(named[0]);
		(void)!write(named[1], "n", 1);
		pause();
		_exit(0);
	}
	close(named[1]);
	assert_int_equal(read(named[0], &c, 1), 1);
	close(named[0]);
	assert_int_equal(event_sink_open(&f->sink, "fault_lease", &why), CHAOS_OK);
	assert_int_equal(fault_engine_new(f->sink.ev, NULL, &f->fe), CHAOS_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	fault_engine_free(f->fe);
	event_sink_close(&f->sink);
	kill(f->sleeper, SIGKILL);
	waitpid(f->sleeper, NULL, 0);
	free(f);
	return 0;
}

/* Applies a kill fault with signal sig whose hard end is hard_end_in_us
 * from now; returns what fault_apply() did, its reason in why. */
static chaos_err
apply_kill(struct fix *f, const char *id, int sig, int64_t hard_end_in_us, chaos_why *why)
{
	Chaos__V1__FaultSpec spec = CHAOS__V1__FAULT_SPEC__INIT;
	Chaos__V1__KillFault kill = CHAOS__V1__KILL_FAULT__INIT;

	kill.process_name    = f->name;
	kill.has_signal      = true;
	kill.signal          = sig;
	spec.fault_id        = (char *)id;
	spec.lease_ms        = LEASE_MS;
	spec.hard_end_ctl_us = clk_now_us() + hard_end_in_us;
	spec.kind_case       = CHAOS__V1__FAULT_SPEC__KIND_KILL;
	spec.kill            = &kill;
	return fault_apply(f->fe, &spec, 0, why);
}

/* Applies a kill fault (SIGCONT: the sleeper lives on) with id. */
static void
apply(struct fix *f, const char *id)
{
	chaos_why why = {{0}};

	if (apply_kill(f, id, SIGCONT, 60 * 1000000LL, &why) != CHAOS_OK)
		fail_msg("apply %s: %s", id, why.text);
}

static size_t
n_active(struct fix *f)
{
	return fault_count(f->fe);
}

/* The next fault state event of id: its phase and detail. */
static int
next_phase(struct fix *f, const char *id, char *detail, size_t len)
{
	for (int i = 0; i < 20; i++) {
		Chaos__V1__Event *e = NULL;
		int               phase;
		assert_int_equal(event_sink_recv(&f->sink, WAIT_GENEROUS_MS, &e, NULL),
		                 CHAOS_OK);
		if (e->body_case != CHAOS__V1__EVENT__BODY_FAULT_STATE ||
		    strcmp(e->fault_state->fault_id, id) != 0) {
			wire_free(e);
			continue;
		}
		phase = e->fault_state->phase;
		snprintf(detail, len, "%s", e->fault_state->detail ?: "");
		wire_free(e);
		return phase;
	}
	fail_msg("no fault state event for %s", id);
	return 0;
}

static void
test_the_granting_instance_naming_the_fault_renews_it(void **state)
{
	struct fix *f      = *state;
	char       *live[] = {"r1-kill"};
	char        detail[160];
	int64_t     t0 = clk_mono_us();

	apply(f, "r1-kill");
	assert_int_equal(next_phase(f, "r1-kill", detail, sizeof(detail)),
	                 CHAOS__V1__FAULT_PHASE__FAULT_PHASE_APPLIED);
	/* the reply that carried the apply names it: this instance granted it */
	fault_leases(f->fe, t0, INSTANCE_A, live, 1);
	assert_int_equal(n_active(f), 1);
	/* renewed at t0 + 0.8 lease: alive at t0 + 1.5 lease */
	fault_leases(f->fe, t0 + LEASE_MS * 800, INSTANCE_A, live, 1);
	fault_tick(f->fe, t0 + LEASE_MS * 1500);
	assert_int_equal(n_active(f), 1);
	/* no renewal: the lease ends */
	fault_tick(f->fe, t0 + LEASE_MS * 1801);
	assert_int_equal(n_active(f), 0);
	assert_int_equal(next_phase(f, "r1-kill", detail, sizeof(detail)),
	                 CHAOS__V1__FAULT_PHASE__FAULT_PHASE_EXPIRED);
	assert_non_null(strstr(detail, "lease expired"));
}

static void
test_a_reply_from_another_instance_reverts_at_once(void **state)
{
	struct fix *f      = *state;
	char       *live[] = {"r2-kill"};
	char        detail[160];

	apply(f, "r2-kill");
	next_phase(f, "r2-kill", detail, sizeof(detail));
	fault_leases(f->fe, clk_mono_us(), INSTANCE_A, live, 1);
	/* the controller restarted: a new instance, even naming the same id */
	fault_leases(f->fe, clk_mono_us(), INSTANCE_B, live, 1);
	assert_int_equal(n_active(f), 0);
	assert_int_equal(next_phase(f, "r2-kill", detail, sizeof(detail)),
	                 CHAOS__V1__FAULT_PHASE__FAULT_PHASE_EXPIRED);
	assert_non_null(strstr(detail, "another controller instance"));
}

static void
test_a_fault_the_controller_no_longer_names_is_reverted(void **state)
{
	struct fix *f      = *state;
	char       *live[] = {"r3-kill", "r3-other"};
	char        detail[160];

	apply(f, "r3-kill");
	apply(f, "r3-other");
	next_phase(f, "r3-kill", detail, sizeof(detail));
	fault_leases(f->fe, clk_mono_us(), INSTANCE_A, live, 2);
	assert_int_equal(n_active(f), 2);
	/* the run forgot r3-kill (say it ended): only it goes */
	fault_leases(f->fe, clk_mono_us(), INSTANCE_A, &live[1], 1);
	assert_int_equal(n_active(f), 1);
	assert_int_equal(next_phase(f, "r3-kill", detail, sizeof(detail)),
	                 CHAOS__V1__FAULT_PHASE__FAULT_PHASE_EXPIRED);
	assert_non_null(strstr(detail, "no longer holds"));
	/* a reply naming no instance (an older controller) renews nothing */
	fault_leases(f->fe, clk_mono_us(), 0, &live[1], 1);
	assert_int_equal(n_active(f), 0);
}

/* An apply that comes after its fault's hard end (re-sent to an agent
 * that restarted, say) is refused before anything runs: the kill is not
 * sent, nothing is in force, and the reason says the hard end passed. */
static void
test_a_fault_past_its_hard_end_is_not_applied(void **state)
{
	struct fix *f   = *state;
	chaos_why   why = {{0}};
	int         status;

	assert_int_equal(apply_kill(f, "r4-late", SIGTERM, -10 * 1000000LL, &why),
	                 CHAOS_ETIMEDOUT);
	assert_non_null(strstr(why.text, "hard end passed"));
	assert_int_equal(n_active(f), 0);
	/* the sleeper was not signalled */
	assert_int_equal(waitpid(f->sleeper, &status, WNOHANG), 0);
	/* an apply with time left still works */
	apply(f, "r4-in-time");
	assert_int_equal(n_active(f), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_the_granting_instance_naming_the_fault_renews_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_a_reply_from_another_instance_reverts_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_a_fault_the_controller_no_longer_names_is_reverted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_fault_past_its_hard_end_is_not_applied,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
