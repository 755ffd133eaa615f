// SPDX-License-Identifier: MIT
/*
 * The one URL parser (common/url.c) on its own: the events URL derived from
 * the session URL, the host of an endpoint URL, and what NNG's parser gets
 * wrong that url_parse refuses before it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/url.h"

static void
test_events_url_is_next_to_the_session_url(void **state)
{
	static const struct {
		const char *session, *events;
	} good[] = {
	    {"tcp://10.77.0.2:7600", "tcp://10.77.0.2:7601"},
	    {"tls+tcp://chaos-controller:7600", "tls+tcp://chaos-controller:7601"},
	    {"tcp://[::1]:7600", "tcp://[::1]:7601"},
	    {"tcp://h:65534", "tcp://h:65535"},
	    {"ipc:///run/chaos/session.sock", "ipc:///run/chaos/session.sock.events"},
	};
	static const char *const bad[] = {
	    "http://h:7600", "tcp://h", "tcp://h:0", "tcp://h:65535", "tcp://h:x",
	    "tcp://h:",      "h:7600",  "",          "ws://h:1"};
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(
		    url_events_from_session(good[i].session, out, sizeof(out)), CHAOS_OK);
		assert_string_equal(out, good[i].events);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (url_events_from_session(bad[i], out, sizeof(out)) != CHAOS_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	/* The result must fit, terminator included. */
	assert_int_equal(url_events_from_session("tcp://h:7600", out, 12), CHAOS_EINVAL);
	assert_int_equal(url_events_from_session("tcp://h:7600", out, 13), CHAOS_OK);
	assert_string_equal(out, "tcp://h:7601");
	assert_int_equal(url_events_from_session("ipc:///a", out, 15), CHAOS_EINVAL);
	assert_int_equal(url_events_from_session("ipc:///a", out, 16), CHAOS_OK);
}

static void
test_url_host_strips_scheme_port_and_brackets(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(url_host("tls+tcp://chaos-controller:7600", out, sizeof(out)),
	                 CHAOS_OK);
	assert_string_equal(out, "chaos-controller");
	assert_int_equal(url_host("tcp://[fd00::2]:7600", out, sizeof(out)), CHAOS_OK);
	assert_string_equal(out, "fd00::2");
	assert_int_equal(url_host("tcp://10.0.0.1:1", out, sizeof(out)), CHAOS_OK);
	assert_string_equal(out, "10.0.0.1");
	assert_int_equal(url_host("ipc:///x", out, sizeof(out)), CHAOS_EINVAL);
	assert_int_equal(url_host("tcp://:7600", out, sizeof(out)), CHAOS_EINVAL);
	assert_int_equal(url_host("tcp://10.0.0.1:1", out, 8), CHAOS_EINVAL);
}

/* NNG 1.5.2 reads past the end of "tcp://h@" (fuzz_url found it), and
 * takes "@h" of "http://u@@h" as the host: both are refused before. */
static void
test_url_user_without_host_and_odd_hosts_are_refused(void **state)
{
	struct url_parts p;
	char     *url = strdup("tcp://h@"); /* exact size: ASan sees an over-read */
	chaos_why why = {{0}};

	(void)state;
	assert_non_null(url);
	assert_int_equal(url_parse(url, URL_ENDPOINT, &p, &why), CHAOS_EINVAL);
	free(url);
	assert_string_equal(why.text, "expected host:port after user@");
	assert_int_equal(url_parse("http://u@@h:80/", URL_WEB, &p, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "host '@h'"));
	assert_int_equal(url_parse("http://u:p@h:80/x", URL_WEB, &p, NULL), CHAOS_OK);
	assert_string_equal(p.host, "h");
	assert_int_equal(url_parse("tcp://[fe80::1%eth0]:1", URL_TCP, &p, NULL),
	                 CHAOS_OK);
	assert_int_equal(url_parse("ipc:///tmp/a@", URL_IPC, &p, NULL), CHAOS_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_events_url_is_next_to_the_session_url),
	    cmocka_unit_test(test_url_host_strips_scheme_port_and_brackets),
	    cmocka_unit_test(test_url_user_without_host_and_odd_hosts_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
