// SPDX-License-Identifier: MIT
/*
 * The agent's event stream (agent/events.c) when the controller's events
 * endpoint comes up late: the dialer has backed off (NNG 1.5.2 waits a
 * random time below 100 ms, then below 200, 400, ... 2 s), so on its own it
 * connects anywhere up to 2 s after the endpoint is there (the session's
 * dialer backs off independently: CI saw probe samples held back past a
 * run's baseline that way); events_redial_if_down() dials again at once.
 * Real NNG sockets on loopback: the controller's end is a PULL listener
 * made after the agent dialled in vain for 1.6 s. Without the redial the
 * event arrives within ARRIVES_MS about one time in ten.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/supplemental/util/platform.h>

#include "agent/events.h"
#include "common/clock.h"
#include "tests/support/loopback.h"

#define BACKED_OFF_MS 1600 /* its back-off grown to 1-2 s by then */
#define ARRIVES_MS 200     /* what a redial may take here, loaded */

/* Opens the agent's stream to a port with no listener, waits until its
 * dialer backed off, then makes the listener; *pull receives. */
static struct events *
late_endpoint(nng_socket *pull)
{
	char           url[64];
	struct events *ev   = NULL;
	uint16_t       port = loopback_closed_port();

	assert_int_not_equal(port, 0);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", port);
	assert_int_equal(events_open(url, "staging/chain-0", NULL, NULL, &ev, NULL),
	                 CHAOS_OK);
	nng_msleep(BACKED_OFF_MS);
	assert_int_equal(nng_pull0_open(pull), 0);
	assert_int_equal(nng_listen(*pull, url, NULL, 0), 0);
	return ev;
}

/* Sends one event now; how long until the PULL end had it (ms). */
static int64_t
ms_to_arrive(struct events *ev, nng_socket pull)
{
	Chaos__V1__Event e  = CHAOS__V1__EVENT__INIT;
	Chaos__V1__Hello h  = CHAOS__V1__HELLO__INIT;
	int64_t          t0 = clk_mono_us();
	nng_msg         *msg;

	e.body_case = CHAOS__V1__EVENT__BODY_HELLO;
	e.hello     = &h;
	assert_int_equal(events_send(ev, &e), CHAOS_OK); /* queued meanwhile */
	nng_socket_set_ms(pull, NNG_OPT_RECVTIMEO, 5000);
	assert_int_equal(nng_recvmsg(pull, &msg, 0), 0);
	nng_msg_free(msg);
	return (clk_mono_us() - t0) / 1000;
}

static void
test_redial_connects_at_once_when_the_endpoint_came_late(void **state)
{
	nng_socket     pull;
	struct events *ev = late_endpoint(&pull);
	int64_t        ms;

	(void)state;
	/* true unless the dialer's own try just got through */
	(void)events_redial_if_down(ev);
	ms = ms_to_arrive(ev, pull);
	assert_in_range(ms, 0, ARRIVES_MS);
	/* connected now: nothing to redial */
	assert_false(events_redial_if_down(ev));
	events_close(ev);
	nng_close(pull);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redial_connects_at_once_when_the_endpoint_came_late),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
