// SPDX-License-Identifier: MIT
/*
 * The control channel's exemption (issue 12 point 7): the controller's
 * actual peer address on each channel plus its name resolved (IPv4 and
 * IPv6), resolved again on renewal, a new generation for every change and
 * only then. The names come from a resolver of the test's own; the peer
 * addresses also from real NNG pipes on loopback (127.0.0.2, ::1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>

#include "agent/events.h"
#include "agent/exempt.h"
#include "common/err.h"
#include "tests/support/wait.h"

/* What the test's resolver answers for "ctl.test". */
struct names {
	const char *addr[4];
	size_t      n;
	int         calls;
};

static size_t
fake_resolve(void *arg, const char *host, char (*out)[EXEMPT_CIDR_LEN], size_t cap)
{
	struct names *nm = arg;
	size_t        n  = 0;

	assert_string_equal(host, "ctl.test");
	nm->calls++;
	for (; n < nm->n && n < cap; n++)
		snprintf(out[n], EXEMPT_CIDR_LEN, "%s", nm->addr[n]);
	return n;
}

/* Asserts the union is exactly want[0..n), in order. */
static void
assert_union(struct exempt *x, const char *const *want, size_t n)
{
	char   got[EXEMPT_MAX][EXEMPT_CIDR_LEN];
	size_t k = exempt_snapshot(x, got, EXEMPT_MAX, NULL);

	for (size_t i = 0; i < k; i++)
		print_message("exempt[%zu] = %s\n", i, got[i]);
	assert_int_equal(k, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], want[i]);
}

static void
test_peer_address_is_exempt_besides_the_name(void **state)
{
	struct names             nm   = {{"10.96.0.10/32"}, 1, 0};
	static const char *const w1[] = {"10.96.0.10/32"};
	static const char *const w2[] = {"10.244.1.7/32", "10.96.0.10/32"};
	struct exempt           *x    = NULL;
	uint64_t                 gen;

	(void)state;
	assert_int_equal(exempt_new("ctl.test", fake_resolve, &nm, &x), CHAOS_OK);
	assert_union(x, w1, 1);
	gen = exempt_generation(x);
	/* balanced away from the Service address: the pod's is what counts */
	exempt_note_peer(x, EXEMPT_SESSION, "10.244.1.7");
	assert_union(x, w2, 2);
	assert_true(exempt_generation(x) != gen);
	exempt_free(x);
}

static void
test_names_are_resolved_again_and_ipv6_kept(void **state)
{
	struct names             nm   = {{"10.0.0.1/32"}, 1, 0};
	static const char *const w[]  = {"10.0.0.1/32"};
	static const char *const w2[] = {"10.0.0.2/32", "fd00::2/128"};
	struct exempt           *x    = NULL;
	uint64_t                 gen;

	(void)state;
	assert_int_equal(exempt_new("ctl.test", fake_resolve, &nm, &x), CHAOS_OK);
	assert_union(x, w, 1);
	gen = exempt_generation(x);
	nm  = (struct names) {{"10.0.0.2/32", "fd00::2/128"}, 2, nm.calls};
	exempt_resolve_now(x);
	assert_union(x, w2, 2);
	assert_true(exempt_generation(x) != gen);
	exempt_free(x);
}

static bool
gen_moved(void *arg)
{
	uint64_t *g = arg;

	return exempt_generation((struct exempt *)(uintptr_t)g[0]) != g[1];
}

/* What a new connection does: the resolver thread resolves again, and the
 * session thread never waits for it. */
static void
test_renewal_resolves_on_the_resolver_thread(void **state)
{
	struct names             nm  = {{0}, 0, 0};
	static const char *const w[] = {"fd00::1/128"};
	struct exempt           *x   = NULL;
	uint64_t                 g[2];

	(void)state;
	assert_int_equal(exempt_new("ctl.test", fake_resolve, &nm, &x), CHAOS_OK);
	assert_union(x, NULL, 0); /* the name resolves to nothing at start */
	g[0] = (uint64_t)(uintptr_t)x;
	g[1] = exempt_generation(x);
	nm   = (struct names) {{"fd00::1/128"}, 1, nm.calls};
	exempt_renew(x);
	assert_true(wait_until(gen_moved, g, WAIT_GENEROUS_MS));
	assert_union(x, w, 1);
	exempt_free(x);
}

static void
test_a_name_that_stops_resolving_keeps_its_addresses(void **state)
{
	struct names             nm  = {{"10.0.0.1/32"}, 1, 0};
	static const char *const w[] = {"10.0.0.1/32"};
	struct exempt           *x   = NULL;

	(void)state;
	assert_int_equal(exempt_new("ctl.test", fake_resolve, &nm, &x), CHAOS_OK);
	nm.n = 0; /* DNS trouble mid-fault */
	exempt_resolve_now(x);
	assert_int_equal(nm.calls, 2);
	assert_union(x, w, 1);
	exempt_free(x);
}

static void
test_each_channel_keeps_its_latest_peer(void **state)
{
	static const char *const w1[] = {"10.0.0.5/32", "fd00::9/128"};
	static const char *const w2[] = {"10.0.0.6/32", "fd00::9/128"};
	static const char *const w3[] = {"fd00::9/128"};
	struct exempt           *x    = NULL;
	uint64_t                 gen;

	(void)state;
	assert_int_equal(exempt_new(NULL, NULL, NULL, &x), CHAOS_OK);
	assert_union(x, NULL, 0);
	exempt_note_peer(x, EXEMPT_SESSION, "10.0.0.5");
	exempt_note_peer(x, EXEMPT_EVENTS, "fd00:0::9");
	exempt_note_peer(x, EXEMPT_EVENTS, "not an address");
	assert_union(x, w1, 2);
	gen = exempt_generation(x);
	exempt_note_peer(x, EXEMPT_SESSION, "10.0.0.5"); /* a reconnect, same peer */
	assert_int_equal(exempt_generation(x), gen);
	exempt_note_peer(x, EXEMPT_SESSION, "10.0.0.6"); /* another pod */
	assert_union(x, w2, 2);
	exempt_note_peer(x, EXEMPT_SESSION, "fd00::9"); /* the same as events' */
	assert_union(x, w3, 1);
	exempt_free(x);
}

static bool
has_exempt(void *arg)
{
	const void *const *a = arg;
	char               got[EXEMPT_MAX][EXEMPT_CIDR_LEN];
	size_t n = exempt_snapshot((struct exempt *)a[0], got, EXEMPT_MAX, NULL);

	for (size_t i = 0; i < n; i++)
		if (strcmp(got[i], a[1]) == 0)
			return true;
	return false;
}

/* A real connection: the events stream dials a PULL listener on addr, and
 * the pipe's peer address (NNG_OPT_REMADDR) becomes exempt. */
static void
assert_pipe_peer_exempt(const char *listen, const char *want)
{
	nng_socket     pull;
	nng_listener   l;
	nng_sockaddr   sa;
	struct events *ev = NULL;
	struct exempt *x  = NULL;
	char           url[96];
	const void    *arg[2];
	chaos_why      why;

	assert_int_equal(nng_pull0_open(&pull), 0);
	assert_int_equal(nng_listen(pull, listen, &l, 0), 0);
	assert_int_equal(nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa), 0);
	snprintf(url, sizeof(url), "%.*s%u", (int)(strrchr(listen, ':') + 1 - listen),
	         listen,
	         sa.s_family == NNG_AF_INET6 ? ntohs(sa.s_in6.sa_port)
	                                     : ntohs(sa.s_in.sa_port));
	assert_int_equal(exempt_new(NULL, NULL, NULL, &x), CHAOS_OK);
	assert_int_equal(events_open(url, "test/agent", NULL, x, &ev, &why), CHAOS_OK);
	arg[0] = x;
	arg[1] = want;
	assert_true(wait_until(has_exempt, arg, WAIT_GENEROUS_MS));
	events_close(ev);
	nng_close(pull);
	exempt_free(x);
}

static void
test_a_pipes_peer_address_is_recorded(void **state)
{
	(void)state;
	assert_pipe_peer_exempt("tcp://127.0.0.2:0", "127.0.0.2/32");
	assert_pipe_peer_exempt("tcp://[::1]:0", "::1/128");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_peer_address_is_exempt_besides_the_name),
	    cmocka_unit_test(test_names_are_resolved_again_and_ipv6_kept),
	    cmocka_unit_test(test_renewal_resolves_on_the_resolver_thread),
	    cmocka_unit_test(test_a_name_that_stops_resolving_keeps_its_addresses),
	    cmocka_unit_test(test_each_channel_keeps_its_latest_peer),
	    cmocka_unit_test(test_a_pipes_peer_address_is_recorded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
