// SPDX-License-Identifier: MIT
/*
 * The agent's ticker (agent/ticker.h): the work runs at the deadline it
 * returned, not before; a kick runs it at once, well before its idle
 * wake-up; and once the ticker is freed the work never runs again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "agent/ticker.h"
#include "common/clock.h"
#include "common/err.h"
#include "tests/support/wait.h"

#define STEP_MS 100

struct work {
	atomic_int      calls;
	_Atomic int64_t at[4]; /* when the first calls ran */
	int64_t         next;  /* what the first call returns */
};

static int64_t
work_fn(void *arg, int64_t now_mono_us)
{
	struct work *w = arg;
	int          n = atomic_fetch_add(&w->calls, 1);

	if (n < 4)
		atomic_store(&w->at[n], now_mono_us);
	return n == 0 ? w->next : 0; /* then nothing: the idle wake-up */
}

static bool
called_twice(void *arg)
{
	return atomic_load(&((struct work *)arg)->calls) >= 2;
}

static void
test_work_runs_at_the_deadline_it_returned(void **state)
{
	struct work    w = {.next = clk_mono_us() + STEP_MS * 1000};
	struct ticker *t = NULL;

	(void)state;
	assert_int_equal(ticker_new(work_fn, &w, &t, NULL), CHAOS_OK);
	assert_true(wait_until(called_twice, &w, WAIT_GENEROUS_MS));
	ticker_free(t);
	assert_true(atomic_load(&w.at[1]) >= w.next); /* never early */
	/* long before the idle wake-up would have come */
	assert_true(atomic_load(&w.at[1]) < w.next + (int64_t)TICKER_IDLE_MS * 1000 / 2);
}

static void
test_a_kick_runs_the_work_at_once(void **state)
{
	struct work    w = {.next = 0};
	struct ticker *t = NULL;
	int64_t        kicked;

	(void)state;
	assert_int_equal(ticker_new(work_fn, &w, &t, NULL), CHAOS_OK);
	while (atomic_load(&w.calls) < 1) /* the first run, at once */
		usleep(1000);
	kicked = clk_mono_us();
	ticker_kick(t);
	assert_true(wait_until(called_twice, &w, WAIT_GENEROUS_MS));
	ticker_free(t);
	assert_true(atomic_load(&w.at[1]) >= kicked);
	assert_true(atomic_load(&w.at[1]) - kicked < (int64_t)TICKER_IDLE_MS * 1000 / 2);
}

static void
test_no_work_runs_once_the_ticker_is_freed(void **state)
{
	struct work    w = {.next = 0};
	struct ticker *t = NULL;
	int            calls;

	(void)state;
	assert_int_equal(ticker_new(work_fn, &w, &t, NULL), CHAOS_OK);
	ticker_kick(t);
	ticker_free(t);
	calls = atomic_load(&w.calls);
	usleep(2 * STEP_MS * 1000);
	assert_int_equal(atomic_load(&w.calls), calls);
	ticker_kick(NULL); /* NULL is fine */
	ticker_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_work_runs_at_the_deadline_it_returned),
	    cmocka_unit_test(test_a_kick_runs_the_work_at_once),
	    cmocka_unit_test(test_no_work_runs_once_the_ticker_is_freed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
