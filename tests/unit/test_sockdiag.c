// SPDX-License-Identifier: MIT
/*
 * agent/sockdiag: which connections a server-side refusal resets (the
 * filter), and the real sock_diag dump on loopback, which needs no
 * privilege as long as nothing is destroyed: a loopback connection is never
 * reset (the rules leave `lo` alone), and bad filters are refused. The
 * reset itself needs CAP_NET_ADMIN and is checked against a real
 * PostgreSQL in tests/integration/db_faults.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/sockdiag.h"
#include "common/clock.h"
#include "common/err.h"

static const uint16_t pg_port[] = {5432};

static bool
match4(const struct sockdiag_filter *f, uint16_t lport, const char *remote, uint8_t state)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, remote, a), 1);
	return sockdiag_match(f, lport, AF_INET, a, state);
}

static bool
match6(const struct sockdiag_filter *f, uint16_t lport, const char *remote, uint8_t state)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, remote, a), 1);
	return sockdiag_match(f, lport, AF_INET6, a, state);
}

static void
test_ports_and_states(void **unused)
{
	struct sockdiag_filter f = {.ports = pg_port, .n_ports = 1};

	(void)unused;
	assert_true(match4(&f, 5432, "10.0.0.5", TCP_ESTABLISHED));
	assert_true(match4(&f, 5432, "10.0.0.5", TCP_CLOSE_WAIT));
	assert_true(match4(&f, 5432, "10.0.0.5", TCP_SYN_RECV));
	assert_false(match4(&f, 5433, "10.0.0.5", TCP_ESTABLISHED));
	assert_false(match4(&f, 5432, "0.0.0.0", TCP_LISTEN));
	assert_false(match4(&f, 5432, "10.0.0.5", TCP_TIME_WAIT));
	assert_false(match4(&f, 5432, "10.0.0.5", 200)); /* no such state */
	/* without peers, IPv6 clients are refused by the rules too */
	assert_true(match6(&f, 5432, "fd00::5", TCP_ESTABLISHED));
}

static void
test_peers(void **unused)
{
	const char            *peers[] = {"10.0.0.0/24", "192.168.1.7"};
	struct sockdiag_filter f       = {
	          .ports = pg_port, .n_ports = 1, .peers = peers, .n_peers = 2};

	(void)unused;
	assert_true(match4(&f, 5432, "10.0.0.5", TCP_ESTABLISHED));
	assert_true(match4(&f, 5432, "192.168.1.7", TCP_ESTABLISHED));
	assert_false(match4(&f, 5432, "10.0.1.5", TCP_ESTABLISHED));
	assert_false(match4(&f, 5432, "192.168.1.8", TCP_ESTABLISHED));
	/* a dual-stack listener sees IPv4 clients as mapped addresses */
	assert_true(match6(&f, 5432, "::ffff:10.0.0.9", TCP_ESTABLISHED));
	assert_false(match6(&f, 5432, "::ffff:10.0.1.9", TCP_ESTABLISHED));
	/* peers are IPv4: an IPv6 client is outside them */
	assert_false(match6(&f, 5432, "fd00::5", TCP_ESTABLISHED));
}

static void
test_loopback_never(void **unused)
{
	struct sockdiag_filter f     = {.ports = pg_port, .n_ports = 1};
	const char            *all[] = {"0.0.0.0/0"};
	struct sockdiag_filter g     = {
	        .ports = pg_port, .n_ports = 1, .peers = all, .n_peers = 1};

	(void)unused;
	assert_false(match4(&f, 5432, "127.0.0.1", TCP_ESTABLISHED));
	assert_false(match4(&f, 5432, "127.3.2.1", TCP_ESTABLISHED));
	assert_false(match6(&f, 5432, "::1", TCP_ESTABLISHED));
	assert_false(match6(&f, 5432, "::ffff:127.0.0.1", TCP_ESTABLISHED));
	assert_false(match4(&g, 5432, "127.0.0.1", TCP_ESTABLISHED));
	assert_true(match4(&g, 5432, "10.1.2.3", TCP_ESTABLISHED));
}

static void
test_bad_peer_matches_nothing(void **unused)
{
	const char            *peers[] = {"10.0.0.0/33"};
	struct sockdiag_filter f       = {
	          .ports = pg_port, .n_ports = 1, .peers = peers, .n_peers = 1};

	(void)unused;
	assert_false(match4(&f, 5432, "10.0.0.5", TCP_ESTABLISHED));
}

/* A listener on loopback and a client connected to it: fds[0] listener,
 * [1] client, [2] the accepted end; returns the port. */
static uint16_t
loopback_pair(int fds[3])
{
	struct sockaddr_in a   = {.sin_family = AF_INET};
	socklen_t          len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[0]            = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fds[0] >= 0);
	assert_int_equal(bind(fds[0], (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fds[0], 4), 0);
	assert_int_equal(getsockname(fds[0], (struct sockaddr *)&a, &len), 0);
	fds[1] = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fds[1], (struct sockaddr *)&a, sizeof(a)), 0);
	fds[2] = accept(fds[0], NULL, NULL);
	assert_true(fds[2] >= 0);
	return ntohs(a.sin_port);
}

static void
test_real_dump_leaves_loopback(void **unused)
{
	struct sockdiag       *sd = NULL;
	int                    fds[3], i;
	uint16_t               port[1];
	struct sockdiag_filter f   = {.ports = port, .n_ports = 1};
	unsigned               n   = 99;
	chaos_why              why = {{0}};
	char                   c   = 'x';

	(void)unused;
	port[0] = loopback_pair(fds);
	assert_int_equal(sockdiag_open(&sd, &why), CHAOS_OK);
	assert_int_equal(sockdiag_abort_tcp(sd, &f, clk_mono_us() + 2000000, &n, &why),
	                 CHAOS_OK);
	assert_int_equal(n, 0);
	/* the connection still works both ways */
	assert_int_equal(write(fds[1], &c, 1), 1);
	assert_int_equal(read(fds[2], &c, 1), 1);
	sockdiag_close(sd);
	for (i = 0; i < 3; i++)
		close(fds[i]);
}

static void
test_bad_filters_refused(void **unused)
{
	struct sockdiag       *sd      = NULL;
	const char            *peers[] = {"fd00::/64"};
	struct sockdiag_filter none    = {.ports = pg_port, .n_ports = 0};
	struct sockdiag_filter v6      = {
	         .ports = pg_port, .n_ports = 1, .peers = peers, .n_peers = 1};
	unsigned  n;
	chaos_why why = {{0}};

	(void)unused;
	assert_int_equal(sockdiag_open(&sd, &why), CHAOS_OK);
	assert_int_equal(sockdiag_abort_tcp(sd, &none, 0, &n, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "no ports"));
	assert_int_equal(sockdiag_abort_tcp(sd, &v6, 0, &n, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "IPv4"));
	sockdiag_close(sd);
	sockdiag_close(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ports_and_states),
	    cmocka_unit_test(test_peers),
	    cmocka_unit_test(test_loopback_never),
	    cmocka_unit_test(test_bad_peer_matches_nothing),
	    cmocka_unit_test(test_real_dump_leaves_loopback),
	    cmocka_unit_test(test_bad_filters_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
