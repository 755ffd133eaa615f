/* SPDX-License-Identifier: MIT */
/*
 * What the probe and load tests start before their tests: the HTTP server
 * with the test's answers (http_srv.h) and the controller's end of the
 * event stream (event_sink.h).
 */
#ifndef CHAOS_TESTS_HTTP_FIXTURE_H
#define CHAOS_TESTS_HTTP_FIXTURE_H

#include "tests/support/event_sink.h"
#include "tests/support/http_srv.h"

struct http_fixture {
	struct http_srv   srv;
	struct event_sink sink;
	char              base[64]; /* "http://127.0.0.1:<port>", no slash */
};

/* Starts both; name names the event socket. Returns 0, or -1 after saying
 * why on stderr (a cmocka group setup returns it as is). */
int http_fixture_open(struct http_fixture *f, const char *name, http_srv_route_fn route);

/* Stops both. */
void http_fixture_close(struct http_fixture *f);

#endif
