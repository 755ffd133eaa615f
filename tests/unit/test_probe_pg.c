// SPDX-License-Identifier: MIT
/*
 * The PostgreSQL probe's own deadline and error classes, without a server:
 * a closed port is REFUSED at once, a listener that never answers is a
 * TIMEOUT at the probe's deadline (libpq alone would wait for ever), a
 * server that hangs up mid-startup is REFUSED, stopping abandons a check at
 * once, and no detail ever carries the password. Real servers (SQLSTATEs,
 * kept connections) are in tests/integration/test_db_faults.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/pqlib.h"
#include "agent/probe.h"
#include "common/clock.h"
#include "common/err.h"

#define SECRET "s3cr3t-Pa55"

/* A listener on loopback: silent (accepts, never answers) or hanging up
 * on each connection after reading the first bytes. */
struct fake_srv {
	int       lfd, stop_fd;
	uint16_t  port;
	bool      hang_up;
	pthread_t thread;
};

static void *
fake_main(void *arg)
{
	struct fake_srv *s = arg;
	int              held[16], n = 0;

	for (;;) {
		struct pollfd pfd[2] = {{.fd = s->lfd, .events = POLLIN},
		                        {.fd = s->stop_fd, .events = POLLIN}};
		if (poll(pfd, 2, -1) < 0 || pfd[1].revents)
			break;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (s->hang_up) {
			char buf[64];
			(void)!recv(fd, buf, sizeof(buf), 0);
			close(fd);
		} else if (n < 16) {
			held[n++] = fd;
		} else {
			close(fd);
		}
	}
	while (n > 0)
		close(held[--n]);
	return NULL;
}

static void
fake_start(struct fake_srv *s, bool hang_up)
{
	struct sockaddr_in sin = {.sin_family      = AF_INET,
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t          len = sizeof(sin);

	s->hang_up = hang_up;
	s->lfd     = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, fake_main, s), 0);
}

static void
fake_stop(struct fake_srv *s)
{
	uint64_t one = 1;

	(void)!write(s->stop_fd, &one, sizeof(one));
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->stop_fd);
}

static uint16_t
closed_port(void)
{
	struct fake_srv s;
	uint16_t        port;

	fake_start(&s, true);
	port = s.port;
	fake_stop(&s);
	return port;
}

struct run {
	struct probe_result r;
	int                 rv;
	int64_t             took_us;
};

/* Runs one check of a pg probe on target with timeout_ms. */
static struct run
check_once(const char *target, uint32_t timeout_ms, int stop_fd)
{
	Chaos__V1__ProbeSpec spec = CHAOS__V1__PROBE_SPEC__INIT;
	struct probe_check   c;
	struct run           out = {0};
	void                *st  = NULL;
	chaos_why            why = {{0}};
	int64_t              t0;

	spec.probe_id    = "pg";
	spec.kind        = CHAOS__V1__PROBE_KIND__PROBE_KIND_POSTGRES;
	spec.target      = (char *)target;
	spec.interval_ms = 1000;
	spec.timeout_ms  = timeout_ms;
	assert_int_equal(probe_pg_ops.init(&spec, &st, &why), CHAOS_OK);
	t0                 = clk_mono_us();
	c.timeout_ms       = timeout_ms;
	c.deadline_mono_us = t0 + (int64_t)timeout_ms * 1000;
	c.stop_fd          = stop_fd;
	out.rv             = probe_pg_ops.check(st, &c, &out.r);
	out.took_us        = clk_mono_us() - t0;
	probe_pg_ops.fini(st);
	return out;
}

static void
test_closed_port_is_refused_at_once(void **state)
{
	char       dsn[200];
	struct run x;

	(void)state;
	snprintf(dsn, sizeof(dsn),
	         "host=127.0.0.1 port=%u dbname=x user=u password=" SECRET
	         " sslmode=disable",
	         closed_port());
	x = check_once(dsn, 2000, -1);
	assert_int_equal(x.rv, CHAOS_OK);
	assert_false(x.r.healthy);
	assert_int_equal(x.r.error_class, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED);
	assert_non_null(strstr(x.r.detail, "Connection refused"));
	assert_null(strstr(x.r.detail, SECRET));
	/* at once: loose on a loaded machine, but well short of the timeout */
	assert_true(x.took_us < 1000000);
}

/* libpq in non-blocking mode ignores connect_timeout: only the probe's own
 * deadline can end this. */
static void
test_silent_server_times_out_at_the_deadline(void **state)
{
	struct fake_srv s;
	char            dsn[200];
	struct run      x;

	(void)state;
	fake_start(&s, false);
	snprintf(
	    dsn, sizeof(dsn),
	    "host=127.0.0.1 port=%u dbname=x user=u connect_timeout=30 sslmode=disable",
	    s.port);
	x = check_once(dsn, 300, -1);
	fake_stop(&s);
	assert_false(x.r.healthy);
	assert_int_equal(x.r.error_class, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT);
	/* The deadline is a floor; the ceiling is loose, but far short of the
	 * connect_timeout of 30 s that libpq would otherwise wait. */
	assert_true(x.took_us >= 300000);
	assert_true(x.took_us < 2000000);
}

static void
test_server_hanging_up_during_startup_is_refused(void **state)
{
	struct fake_srv s;
	char            dsn[200];
	struct run      x;

	(void)state;
	fake_start(&s, true);
	snprintf(dsn, sizeof(dsn),
	         "host=127.0.0.1 port=%u dbname=x user=u sslmode=disable", s.port);
	x = check_once(dsn, 2000, -1);
	fake_stop(&s);
	assert_false(x.r.healthy);
	assert_int_equal(x.r.error_class, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED);
	assert_non_null(strstr(x.r.detail, "server closed the connection"));
}

static void
test_stop_abandons_a_check_at_once(void **state)
{
	struct fake_srv s;
	char            dsn[200];
	struct run      x;
	int             stop = eventfd(1, EFD_CLOEXEC); /* already signalled */

	(void)state;
	fake_start(&s, false);
	snprintf(dsn, sizeof(dsn),
	         "host=127.0.0.1 port=%u dbname=x user=u sslmode=disable", s.port);
	x = check_once(dsn, 5000, stop);
	fake_stop(&s);
	close(stop);
	assert_int_equal(x.rv, CHAOS_ECLOSED);
	/* at once: loose, but well short of the 5 s timeout */
	assert_true(x.took_us < 2500000);
}

/* A conninfo libpq cannot parse may hold the password: refused at start,
 * and never quoted back. */
static void
test_bad_conninfo_is_refused_without_quoting_it(void **state)
{
	Chaos__V1__ProbeSpec spec = CHAOS__V1__PROBE_SPEC__INIT;
	void                *st   = NULL;
	chaos_why            why  = {{0}};

	(void)state;
	spec.probe_id = "pg";
	spec.kind     = CHAOS__V1__PROBE_KIND__PROBE_KIND_POSTGRES;
	spec.target   = "host=127.0.0.1 password " SECRET;
	assert_int_equal(probe_pg_ops.init(&spec, &st, &why), CHAOS_EINVAL);
	assert_null(st);
	assert_null(strstr(why.text, SECRET));
	assert_non_null(strstr(why.text, "conninfo"));
}

/* URIs carry the password too; a refused connect's detail names host and
 * port, never the password. */
static void
test_uri_password_is_not_in_the_detail(void **state)
{
	char       dsn[200];
	struct run x;

	(void)state;
	snprintf(dsn, sizeof(dsn),
	         "postgresql://u:" SECRET "@127.0.0.1:%u/x?sslmode=disable",
	         closed_port());
	x = check_once(dsn, 2000, -1);
	assert_int_equal(x.r.error_class, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED);
	assert_null(strstr(x.r.detail, SECRET));
}

/* libpq is loaded only when needed; where it is missing, the error names
 * the library and the package to install instead of failing obscurely. */
static void
test_missing_libpq_names_the_package(void **state)
{
	struct pqlib t;
	chaos_why    why = {{0}};

	(void)state;
	assert_int_equal(pqlib_open("libpq-missing.so.5", &t, &why), CHAOS_EUNSUPPORTED);
	assert_non_null(strstr(why.text, "libpq-missing.so.5"));
	assert_non_null(strstr(why.text, "install the package libpq5"));
}

/* A library that is not libpq (here libc) is refused by the first function
 * it lacks. */
static void
test_library_without_libpq_functions_is_refused(void **state)
{
	struct pqlib t;
	chaos_why    why = {{0}};

	(void)state;
	assert_int_equal(pqlib_open("libc.so.6", &t, &why), CHAOS_EUNSUPPORTED);
	assert_non_null(strstr(why.text, "has no PQconnectStartParams"));
}

/* The real one loads, and stays loaded: the same table every time. */
static void
test_libpq_loads_once_on_first_use(void **state)
{
	const struct pqlib *a, *b;

	(void)state;
	assert_non_null(a = pqlib_get(NULL));
	assert_non_null(b = pqlib_get(NULL));
	assert_ptr_equal(a, b);
	assert_non_null(a->PQconnectStartParams);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_closed_port_is_refused_at_once),
	    cmocka_unit_test(test_silent_server_times_out_at_the_deadline),
	    cmocka_unit_test(test_server_hanging_up_during_startup_is_refused),
	    cmocka_unit_test(test_stop_abandons_a_check_at_once),
	    cmocka_unit_test(test_bad_conninfo_is_refused_without_quoting_it),
	    cmocka_unit_test(test_uri_password_is_not_in_the_detail),
	    cmocka_unit_test(test_missing_libpq_names_the_package),
	    cmocka_unit_test(test_library_without_libpq_functions_is_refused),
	    cmocka_unit_test(test_libpq_loads_once_on_first_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
