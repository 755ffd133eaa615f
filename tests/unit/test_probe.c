// SPDX-License-Identifier: MIT
/*
 * Probes and connectivity checks against servers this test runs on
 * 127.0.0.1: an HTTP server with canned answers (tests/support/http_srv.h),
 * closed ports for "refused". Events go through a real events PUSH socket to a PULL
 * socket here, so what is asserted is what the controller would decode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/conncheck.h"
#include "agent/events.h"
#include "agent/probe.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/wire.h"
#include "tests/support/http_fixture.h"
#include "tests/support/loopback.h"
#include "tests/support/median.h"
#include "tests/support/wait.h"
#include "tests/support/wire_fix.h"

#define SLOW_MS 1500   /* how long /slow holds its answer */
#define SLUGGISH_MS 30 /* how long /sluggish takes to answer */

static const Chaos__V1__ErrorClass EC_NONE = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_NONE;
static const Chaos__V1__ErrorClass EC_REFUSED =
    CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED;
static const Chaos__V1__ErrorClass EC_TIMEOUT =
    CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT;
static const Chaos__V1__ErrorClass EC_5XX = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_5XX;
static const Chaos__V1__ErrorClass EC_OTHER_STATUS =
    CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_OTHER;
static const Chaos__V1__ErrorClass EC_PROTOCOL =
    CHAOS__V1__ERROR_CLASS__ERROR_CLASS_PROTOCOL;
static const Chaos__V1__ErrorClass EC_OTHER = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER;

/* ---- the HTTP server's answers (tests/support/http_srv.h) ---- */

static atomic_long height = 100; /* /height and /nested: one more each time */
static atomic_long slow_arrived; /* /slow requests that reached the server */

#define BIG_BODY (70u * 1024u) /* over the probe's 64 KiB */

/* Bodies the canned replies cannot make: chunked, until close, too big. */
static bool
route_raw(int fd, const char *path)
{
	static char big[BIG_BODY + 1];
	char        head[160], body[64];

	snprintf(body, sizeof(body), "{\"height\":%ld}", atomic_fetch_add(&height, 1));
	if (strcmp(path, "/chunked") == 0) {
		snprintf(head, sizeof(head),
		         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		         "4;ext=1\r\n%.4s\r\n%zx\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n",
		         body, strlen(body) - 4, body + 4);
		http_srv_send(fd, head);
	} else if (strcmp(path, "/until-close") == 0) {
		http_srv_send(
		    fd, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n");
		http_srv_send(fd, body);
	} else if (strcmp(path, "/big") == 0) {
		memset(big, ' ', BIG_BODY);
		memcpy(big, body, strlen(body));
		snprintf(head, sizeof(head),
		         "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", BIG_BODY);
		http_srv_send(fd, head);
		http_srv_send(fd, big);
	} else {
		return false;
	}
	return true;
}

/* One answer per connection, as probes use a fresh one per check. */
static bool
route(struct http_srv *s, int fd, const char *path)
{
	static const char json[] = "Content-Type: application/json\r\n"
	                           "Connection: close\r\n";
	char              body[128];

	if (route_raw(fd, path))
		return false;
	if (strcmp(path, "/height") == 0) {
		snprintf(body, sizeof(body), "{\"height\":%ld}",
		         atomic_fetch_add(&height, 1));
		http_srv_reply(fd, 200, json, body);
	} else if (strcmp(path, "/nested") == 0) {
		snprintf(body, sizeof(body), "{\"result\":{\"height\":%ld}}",
		         atomic_fetch_add(&height, 1));
		http_srv_reply(fd, 200, json, body);
	} else if (strcmp(path, "/fixed") == 0) {
		http_srv_reply(fd, 200, json, "{\"height\":42}");
	} else if (strcmp(path, "/text") == 0) {
		http_srv_reply(fd, 200, json, "hello");
	} else if (strcmp(path, "/503") == 0) {
		http_srv_reply(fd, 503, json, "{}");
	} else if (strcmp(path, "/slow") == 0) {
		atomic_fetch_add(&slow_arrived, 1);
		http_srv_hold(s, s->stop_fd, SLOW_MS);
		http_srv_reply(fd, 200, json, "{}");
	} else if (strcmp(path, "/sluggish") == 0) {
		http_srv_hold(s, s->stop_fd, SLUGGISH_MS);
		http_srv_reply(fd, 200, json, "{\"height\":1}");
	} else if (strcmp(path, "/close") != 0) { /* /close: no answer at all */
		http_srv_reply(fd, 404, json, "{}");
	}
	return false;
}

/* ---- the controller side (tests/support/event_sink.h) ---- */

struct fixture {
	struct http_fixture net;
	struct probe_set   *ps;
};

static struct fixture fx;

/* The next event about id (a probe or a check), or NULL after timeout_ms. */
static Chaos__V1__Event *
recv_event(const char *id, int timeout_ms)
{
	int64_t deadline = clk_mono_us() + (int64_t)timeout_ms * 1000;

	for (;;) {
		int64_t           left = (deadline - clk_mono_us()) / 1000;
		Chaos__V1__Event *e    = NULL;
		chaos_why         why  = {{0}};
		chaos_err         rv;

		if (left <= 0 ||
		    (rv = event_sink_recv(&fx.net.sink, (int)left, &e, &why)) ==
		        CHAOS_ETIMEDOUT)
			return NULL;
		if (rv != CHAOS_OK)
			fail_msg("%s", why.text);
		if ((e->body_case == CHAOS__V1__EVENT__BODY_SAMPLE &&
		     strcmp(e->sample->probe_id, id) == 0) ||
		    (e->body_case == CHAOS__V1__EVENT__BODY_CONN &&
		     strcmp(e->conn->check_id, id) == 0))
			return e;
		wire_free(e);
	}
}

static Chaos__V1__ProbeSample *
recv_sample(const char *id, int timeout_ms, Chaos__V1__Event **hold)
{
	*hold = recv_event(id, timeout_ms);
	if (*hold == NULL)
		fail_msg("no sample from probe %s within %d ms", id, timeout_ms);
	return (*hold)->sample;
}

static int
group_setup(void **state)
{
	(void)state;
	return http_fixture_open(&fx.net, "test_probe", route);
}

/* Check threads hold the events handle: drained before it closes. */
static int
group_teardown(void **state)
{
	(void)state;
	conncheck_drain();
	http_fixture_close(&fx.net);
	return 0;
}

static int
test_setup(void **state)
{
	(void)state;
	return probe_set_new(fx.net.sink.ev, &fx.ps) == CHAOS_OK ? 0 : -1;
}

static int
test_teardown(void **state)
{
	(void)state;
	probe_set_free(fx.ps);
	fx.ps = NULL;
	return 0;
}

static Chaos__V1__ProbeSpec
spec_http(const char *id, const char *path, uint32_t interval_ms, uint32_t timeout_ms)
{
	static char target[8][192];
	static int  next;
	char       *t = target[next++ % 8];

	snprintf(t, sizeof(target[0]), "%s%s", fx.net.base, path);
	return wire_fix_probe_spec(id, CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP, t,
	                           interval_ms, timeout_ms);
}

static void
start_ok(const Chaos__V1__ProbeSpec *s)
{
	chaos_why why = {{0}};

	if (probe_start(fx.ps, s, &why) != CHAOS_OK)
		fail_msg("probe_start %s: %s", s->probe_id, why.text);
}

/* Starts spec and returns its first sample (caller frees *hold). */
static Chaos__V1__ProbeSample *
first_sample(const Chaos__V1__ProbeSpec *s, Chaos__V1__Event **hold)
{
	start_ok(s);
	return recv_sample(s->probe_id, 3000, hold);
}

/* ---- HTTP ---- */

static void
test_http_200_with_rising_height_is_healthy(void **state)
{
	Chaos__V1__ProbeSpec s    = spec_http("http-ok", "/height", 50, 1000);
	int64_t              last = -1;

	(void)state;
	s.json_field = "height";
	start_ok(&s);
	for (int i = 0; i < 4; i++) {
		Chaos__V1__Event       *e;
		Chaos__V1__ProbeSample *p = recv_sample("http-ok", 2000, &e);

		assert_true(p->healthy);
		assert_int_equal(p->error_class, EC_NONE);
		assert_true(p->has_http_status);
		assert_int_equal(p->http_status, 200);
		assert_true(p->has_value);
		assert_true(p->value > last);
		assert_true(p->latency_us > 0);
		last = p->value;
		wire_free(e);
	}
}

static void
test_http_fixed_height_is_unhealthy_after_window(void **state)
{
	Chaos__V1__ProbeSpec s     = spec_http("http-fixed", "/fixed", 50, 1000);
	int64_t              first = 0;
	int                  i;

	(void)state;
	s.json_field            = "height";
	s.has_advance_window_ms = true;
	s.advance_window_ms     = 300;
	start_ok(&s);
	/* The window is timed from when a check read its answer: about when
	 * the sample started plus its latency, whatever a loaded machine does
	 * to the start of each check. */
	for (i = 0; i < 30; i++) {
		Chaos__V1__Event       *e;
		Chaos__V1__ProbeSample *p = recv_sample("http-fixed", 2000, &e);
		int64_t                 t = e->t_agent_us + p->latency_us;

		assert_true(p->has_value);
		assert_int_equal(p->value, 42);
		if (i == 0)
			first = t;
		if (p->healthy) {
			assert_true(t - first <= 300000 + 5000);
			wire_free(e);
			continue;
		}
		assert_int_equal(p->error_class, EC_PROTOCOL);
		assert_true(t - first > 300000 - 5000);
		/* loose: the first check after the window, however late */
		assert_true(t - first < 300000 + 500000);
		assert_non_null(strstr(p->detail, "height 42 not advancing for 0."));
		wire_free(e);
		break;
	}
	assert_true(i >= 1 && i < 30);
}

static void
test_http_slow_answer_times_out_on_time(void **state)
{
	Chaos__V1__ProbeSpec    s  = spec_http("http-slow", "/slow", 1000, 150);
	int64_t                 t0 = clk_mono_us();
	Chaos__V1__Event       *e;
	Chaos__V1__ProbeSample *p      = first_sample(&s, &e);
	int64_t                 waited = clk_mono_us() - t0;

	(void)state;
	assert_false(p->healthy);
	assert_int_equal(p->error_class, EC_TIMEOUT);
	/* Never before the timeout; the ceilings are loose but well short of
	 * the answer that would come after SLOW_MS. */
	assert_true(p->latency_us >= 150000);
	assert_true(p->latency_us < SLOW_MS * 1000 / 2);
	assert_true(waited < SLOW_MS * 1000 * 3 / 4);
	wire_free(e);
}

/* ---- one check: what the first sample says ---- */

/* A probe and what its first sample must show; zero fields are not
 * checked. The target is the test server's port, or one nobody listens on
 * when closed is set: http://127.0.0.1:<port><path> for an HTTP probe (a
 * path given), host:<port> for a TCP one. */
struct first_case {
	const char *name;
	const char *path; /* NULL: a TCP probe */
	const char *host; /* TCP; NULL: 127.0.0.1 */
	bool        closed;
	const char *json_field;
	uint32_t    expect_status;
	/* expected */
	bool                  healthy;
	Chaos__V1__ErrorClass cls;
	uint32_t              http_status;
	bool                  no_http_status, no_detail;
	const char           *detail_is, *detail_has;
	int64_t               min_value; /* > 0: has_value and value >= it */
};

#define REFUSED_TEXT "connect: Connection refused"

static const struct first_case first_cases[] = {
    {.name       = "http_nested_field_is_read",
     .path       = "/nested",
     .json_field = "result.height",
     .healthy    = true,
     .cls        = EC_NONE,
     .min_value  = 100},
    {.name        = "http_503_is_unhealthy_5xx",
     .path        = "/503",
     .cls         = EC_5XX,
     .http_status = 503,
     .detail_has  = "503"},
    {.name          = "http_unexpected_status_is_http_other",
     .path          = "/height",
     .expect_status = 204,
     .cls           = EC_OTHER_STATUS,
     .http_status   = 200},
    {.name       = "http_missing_field_is_protocol",
     .path       = "/height",
     .json_field = "result.height",
     .cls        = EC_PROTOCOL,
     .detail_has = "missing"},
    {.name        = "http_non_json_body_is_protocol",
     .path        = "/text",
     .json_field  = "height",
     .cls         = EC_PROTOCOL,
     .http_status = 200},
    {.name           = "http_refused_port_is_refused",
     .path           = "/",
     .closed         = true,
     .cls            = EC_REFUSED,
     .no_http_status = true,
     .detail_is      = REFUSED_TEXT},
    {.name = "http_closed_without_reply_is_refused", .path = "/close", .cls = EC_REFUSED},
    {.name       = "http_chunked_body_is_read",
     .path       = "/chunked",
     .json_field = "height",
     .healthy    = true,
     .cls        = EC_NONE,
     .min_value  = 100},
    {.name       = "http_body_until_close_is_read",
     .path       = "/until-close",
     .json_field = "height",
     .healthy    = true,
     .cls        = EC_NONE,
     .min_value  = 100},
    {.name        = "http_body_over_64_kib_is_protocol",
     .path        = "/big",
     .json_field  = "height",
     .cls         = EC_PROTOCOL,
     .http_status = 200,
     .detail_is   = "body over 65536 bytes"},
    {.name      = "tcp_open_port_is_healthy",
     .healthy   = true,
     .cls       = EC_NONE,
     .no_detail = true},
    /* localhost may come back as ::1 first: the probe tries each address. */
    {.name    = "tcp_name_is_resolved",
     .host    = "localhost",
     .healthy = true,
     .cls     = EC_NONE},
    {.name      = "tcp_closed_port_is_refused",
     .closed    = true,
     .cls       = EC_REFUSED,
     .detail_is = REFUSED_TEXT},
};

static void
assert_sample(const Chaos__V1__ProbeSample *p, const struct first_case *c)
{
	assert_int_equal(p->healthy, c->healthy);
	assert_int_equal(p->error_class, c->cls);
	if (c->http_status != 0)
		assert_int_equal(p->http_status, c->http_status);
	if (c->no_http_status)
		assert_false(p->has_http_status);
	if (c->no_detail)
		assert_null(p->detail);
	if (c->detail_is != NULL)
		assert_string_equal(p->detail, c->detail_is);
	if (c->detail_has != NULL)
		assert_non_null(strstr(p->detail, c->detail_has));
	if (c->min_value > 0) {
		assert_true(p->has_value);
		assert_true(p->value >= c->min_value);
	}
}

static void
test_first_sample(void **state)
{
	const struct first_case *c = *state;
	Chaos__V1__ProbeSpec     s = CHAOS__V1__PROBE_SPEC__INIT;
	char                     target[96];
	Chaos__V1__Event        *e;

	uint16_t port = c->closed ? loopback_closed_port() : fx.net.srv.port;

	if (c->path != NULL)
		snprintf(target, sizeof(target), "http://127.0.0.1:%u%s", port, c->path);
	else
		snprintf(target, sizeof(target), "%s:%u", c->host ? c->host : "127.0.0.1",
		         port);
	s            = wire_fix_probe_spec("first",
                                c->path != NULL ? CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP
	                                                   : CHAOS__V1__PROBE_KIND__PROBE_KIND_TCP,
	                                   target, 50, 1000);
	s.json_field = (char *)c->json_field;
	if (c->expect_status != 0) {
		s.has_expect_status = true;
		s.expect_status     = c->expect_status;
	}
	assert_sample(first_sample(&s, &e), c);
	wire_free(e);
}

/* ---- scheduling and lifecycle ---- */

/*
 * A probe's schedule as its samples show it: slot k is due k intervals
 * after the probe started, which is after `before` (wall time taken before
 * probe_start). A sample is taken at the slot after the previous sample's,
 * plus the slots that sample said it skipped. A loaded machine starts a
 * check late, never early: lateness is bounded below tightly and, as a
 * median over samples, above loosely.
 */
struct sched {
	int64_t  before_us, interval_us;
	uint64_t slot; /* of the next sample */
};

/* "...; 3 slots skipped" in a sample's detail: 3; none: 0. */
static unsigned
slots_skipped(const Chaos__V1__ProbeSample *p)
{
	const char *at = p->detail != NULL ? strstr(p->detail, " slots skipped") : NULL;

	if (at == NULL)
		return 0;
	while (at > p->detail && at[-1] >= '0' && at[-1] <= '9')
		at--;
	return (unsigned)atoi(at);
}

/* How late the sample in e started against its slot; fails if it started
 * before it (1 ms of slack for the wall clock's slewing). */
static int64_t
sched_lateness(struct sched *sc, const Chaos__V1__Event *e)
{
	int64_t due  = sc->before_us + (int64_t)sc->slot * sc->interval_us;
	int64_t late = e->t_agent_us - due;

	if (late < -1000)
		fail_msg("the sample of slot %llu came %lld us before it",
		         (unsigned long long)sc->slot, (long long)-late);
	sc->slot += 1 + slots_skipped(e->sample);
	return late;
}

static void
test_samples_keep_the_interval_without_drift(void **state)
{
	/* Each check takes SLUGGISH_MS: a prober that slept an interval after
	 * each check, rather than to the next slot, would be 30 ms later with
	 * each sample (135 ms in the median of 10). */
	Chaos__V1__ProbeSpec s  = spec_http("sched", "/sluggish", 100, 1000);
	struct sched         sc = {.before_us = clk_now_us(), .interval_us = 100000};
	int64_t              late[10];

	(void)state;
	start_ok(&s);
	for (int i = 0; i < 10; i++) {
		Chaos__V1__Event       *e;
		Chaos__V1__ProbeSample *p = recv_sample("sched", 5000, &e);

		assert_true(p->healthy);
		late[i] = sched_lateness(&sc, e);
		wire_free(e);
	}
	assert_true(median_i64(late, 10) < 80000);
}

static void
test_overrun_skips_slots_instead_of_bursting(void **state)
{
	/* Timeout 180 ms at 50 ms: each check eats at least 4 slots (0, 50,
	 * 100, 150); the next starts on a slot, never right after the timeout
	 * (sched_lateness fails a sample that comes before its slot). A busy
	 * machine may wake the prober late and skip one slot more: the sample
	 * says how many it skipped. Waiting an uncounted slot more each time
	 * would add 50 ms per sample (100 ms in the median of 5). */
	Chaos__V1__ProbeSpec s  = spec_http("overrun", "/slow", 50, 180);
	struct sched         sc = {.before_us = clk_now_us(), .interval_us = 50000};
	int64_t              late[5];

	(void)state;
	start_ok(&s);
	for (int i = 0; i < 5; i++) {
		Chaos__V1__Event       *e;
		Chaos__V1__ProbeSample *p = recv_sample("overrun", 5000, &e);

		assert_int_equal(p->error_class, EC_TIMEOUT);
		assert_true(slots_skipped(p) >= 3);
		late[i] = sched_lateness(&sc, e);
		wire_free(e);
	}
	assert_true(median_i64(late, 5) < 75000);
}

struct arrival {
	long want; /* slow_arrived reaches it */
};

static bool
slow_has_arrived(void *arg)
{
	return atomic_load(&slow_arrived) >= ((struct arrival *)arg)->want;
}

static void
test_stop_interrupts_a_check_in_flight(void **state)
{
	Chaos__V1__ProbeSpec s = spec_http("stop-busy", "/slow", 5000, 3000);
	Chaos__V1__Event    *e;
	int64_t              t0;
	struct arrival       a = {atomic_load(&slow_arrived) + 1};

	(void)state;
	start_ok(&s);
	/* the first check now waits on /slow */
	assert_true(wait_until(slow_has_arrived, &a, WAIT_GENEROUS_MS));
	t0 = clk_mono_us();
	assert_int_equal(probe_stop(fx.ps, "stop-busy"), CHAOS_OK);
	/* Loose, but well short of the answer (SLOW_MS) or the timeout. */
	assert_true(clk_mono_us() - t0 < SLOW_MS * 1000 / 2);
	/* An abandoned check is not a failure of the target: no sample. */
	assert_null(e = recv_event("stop-busy", 200));
	assert_int_equal(probe_count(fx.ps), 0);
}

static void
test_stop_wakes_a_sleeping_probe(void **state)
{
	Chaos__V1__ProbeSpec s = spec_http("stop-idle", "/height", 10000, 1000);
	Chaos__V1__Event    *e;
	int64_t              t0;

	(void)state;
	start_ok(&s);
	recv_sample("stop-idle", 2000, &e);
	wire_free(e);
	t0 = clk_mono_us();
	assert_int_equal(probe_stop(fx.ps, "stop-idle"), CHAOS_OK);
	/* Loose, but far short of the 10 s sleep it must cut. */
	assert_true(clk_mono_us() - t0 < 1000000);
}

static void
test_start_is_idempotent_by_id(void **state)
{
	Chaos__V1__ProbeSpec a = spec_http("idem", "/height", 100, 1000);
	Chaos__V1__ProbeSpec b = spec_http("idem", "/503", 100, 1000);
	Chaos__V1__Event    *e;
	int                  n = 0;
	int64_t              deadline;

	(void)state;
	start_ok(&a);
	start_ok(&b);
	assert_int_equal(probe_count(fx.ps), 1);
	deadline = clk_mono_us() + 550000;
	/* One probe at 100 ms has at most 6 slots in 550 ms (a loaded machine
	 * may skip some); two would give ~12. */
	while ((e = recv_event("idem", (int)((deadline - clk_mono_us()) / 1000))) !=
	       NULL) {
		assert_true(e->sample->healthy); /* still the first spec */
		wire_free(e);
		n++;
	}
	assert_true(n >= 1 && n <= 7);
	assert_int_equal(probe_stop(fx.ps, "idem"), CHAOS_OK);
	assert_int_equal(probe_stop(fx.ps, "idem"), CHAOS_ENOENT);
}

/* user:password@ in the URL goes out as Basic authorization, percent-
 * decoded, as curl sends it: the request is read off a raw listener. */
static void
test_http_credentials_are_sent_as_basic(void **state)
{
	Chaos__V1__ProbeSpec s = CHAOS__V1__PROBE_SPEC__INIT;
	uint16_t             port;
	int                  lfd = loopback_listen(1, &port), fd;
	char                 target[96], req[1024] = "";
	ssize_t              n;
	struct timeval       tv = {.tv_sec = 3};

	(void)state;
	assert_true(lfd >= 0);
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(target, sizeof(target), "http://u:p%%40ss@127.0.0.1:%u/", port);
	s = wire_fix_probe_spec("auth", CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP, target,
	                        1000, 2000);
	start_ok(&s);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, req, sizeof(req) - 1, 0);
	assert_true(n > 0);
	probe_stop(fx.ps, "auth");
	close(fd);
	close(lfd);
	/* base64("u:p@ss") */
	assert_non_null(strstr(req, "\r\nAuthorization: Basic dTpwQHNz\r\n"));
	assert_non_null(strstr(req, "\r\nUser-Agent: chaos-agent-probe/"));
}

static void
test_start_rejects_bad_specs(void **state)
{
	Chaos__V1__ProbeSpec s;
	chaos_why            why = {{0}};

	(void)state;
	s = spec_http("bad", "/height", 5, 1000);
	assert_int_equal(probe_start(fx.ps, &s, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "interval"));
	s = spec_http("bad", "/height", 50, 0);
	assert_int_equal(probe_start(fx.ps, &s, &why), CHAOS_EINVAL);
	s = spec_http("bad id", "/height", 50, 100);
	assert_int_equal(probe_start(fx.ps, &s, &why), CHAOS_EINVAL);
	s        = spec_http("bad", "", 50, 100);
	s.target = "ftp://127.0.0.1/";
	assert_int_equal(probe_start(fx.ps, &s, &why), CHAOS_EINVAL);
	s.kind   = CHAOS__V1__PROBE_KIND__PROBE_KIND_TCP;
	s.target = "127.0.0.1";
	assert_int_equal(probe_start(fx.ps, &s, &why), CHAOS_EINVAL);
	s.target = "127.0.0.1:70000";
	assert_int_equal(probe_start(fx.ps, &s, &why), CHAOS_EINVAL);
	s.kind = CHAOS__V1__PROBE_KIND__PROBE_KIND_POSTGRES; /* not a conninfo */
	assert_int_equal(probe_start(fx.ps, &s, &why), CHAOS_EINVAL);
	assert_null(strstr(why.text, "70000")); /* a conninfo is never quoted back */
	s.kind = (Chaos__V1__ProbeKind)42;
	assert_int_equal(probe_start(fx.ps, &s, &why), CHAOS_EUNSUPPORTED);
	assert_int_equal(probe_count(fx.ps), 0);
	assert_int_equal(probe_stop(fx.ps, "bad"), CHAOS_ENOENT);
}

/* ---- TCP ---- */

static Chaos__V1__ProbeSpec
spec_tcp(const char *id, const char *target, uint32_t interval_ms)
{
	return wire_fix_probe_spec(id, CHAOS__V1__PROBE_KIND__PROBE_KIND_TCP, target,
	                           interval_ms, 1000);
}

static void
test_set_holds_at_most_64_probes(void **state)
{
	char                 target[64], id[32];
	chaos_why            why = {{0}};
	Chaos__V1__ProbeSpec s;
	int64_t              t0;

	(void)state;
	snprintf(target, sizeof(target), "127.0.0.1:%u", fx.net.srv.port);
	for (int i = 0; i < PROBE_MAX; i++) {
		snprintf(id, sizeof(id), "many-%d", i);
		s = spec_tcp(id, target, 10000);
		start_ok(&s);
	}
	s = spec_tcp("one-too-many", target, 10000);
	assert_int_equal(probe_start(fx.ps, &s, &why), CHAOS_EBUSY);
	s = spec_tcp("many-7", target, 10000);
	assert_int_equal(probe_start(fx.ps, &s, &why), CHAOS_OK);
	assert_int_equal(probe_count(fx.ps), PROBE_MAX);
	t0 = clk_mono_us();
	probe_stop_all(fx.ps);
	/* Loose, but far short of their 10 s sleeps. */
	assert_true(clk_mono_us() - t0 < 5000000);
	assert_int_equal(probe_count(fx.ps), 0);
}

/* ---- connectivity checks ---- */

static void
test_conncheck_reports_each_target(void **state)
{
	char                        open[32], closed[32];
	char                       *targets[] = {open, closed, "not-an-address:1"};
	Chaos__V1__ConnCheckSpec    spec      = CHAOS__V1__CONN_CHECK_SPEC__INIT;
	Chaos__V1__Event           *e;
	Chaos__V1__ConnCheckResult *r;

	(void)state;
	snprintf(open, sizeof(open), "127.0.0.1:%u", fx.net.srv.port);
	snprintf(closed, sizeof(closed), "127.0.0.1:%u", loopback_closed_port());
	spec.check_id   = "cc-1";
	spec.targets    = targets;
	spec.n_targets  = 3;
	spec.timeout_ms = 1000;
	assert_int_equal(conncheck_start(fx.net.sink.ev, &spec, NULL), CHAOS_OK);
	assert_non_null(e = recv_event("cc-1", 2000));
	r = e->conn;
	assert_int_equal(r->n_results, 3);
	assert_string_equal(r->results[0]->target, open);
	assert_true(r->results[0]->ok);
	assert_int_equal(r->results[0]->error_class, EC_NONE);
	assert_string_equal(r->results[1]->target, closed);
	assert_false(r->results[1]->ok);
	assert_int_equal(r->results[1]->error_class, EC_REFUSED);
	assert_false(r->results[2]->ok);
	assert_int_equal(r->results[2]->error_class, EC_OTHER);
	for (size_t i = 0; i < 3; i++)
		assert_true(r->results[i]->latency_us < 1000000);
	wire_free(e);
}

static void
test_conncheck_rejects_bad_specs_and_drains(void **state)
{
	char                    *targets[] = {"127.0.0.1:1"};
	Chaos__V1__ConnCheckSpec spec      = CHAOS__V1__CONN_CHECK_SPEC__INIT;
	int64_t                  t0;

	(void)state;
	spec.check_id   = "cc-bad";
	spec.timeout_ms = 1000;
	assert_int_equal(conncheck_start(fx.net.sink.ev, &spec, NULL),
	                 CHAOS_EINVAL); /* no targets */
	spec.targets    = targets;
	spec.n_targets  = 1;
	spec.timeout_ms = 0;
	assert_int_equal(conncheck_start(fx.net.sink.ev, &spec, NULL), CHAOS_EINVAL);
	spec.timeout_ms = 1000;
	spec.check_id   = "bad id";
	assert_int_equal(conncheck_start(fx.net.sink.ev, &spec, NULL), CHAOS_EINVAL);
	spec.check_id = "cc-drain";
	assert_int_equal(conncheck_start(fx.net.sink.ev, &spec, NULL), CHAOS_OK);
	t0 = clk_mono_us();
	conncheck_drain();
	/* The check was refused at once; loose, but short of its timeout. */
	assert_true(clk_mono_us() - t0 < 800000);
	spec.check_id = "cc-after";
	assert_int_equal(conncheck_start(fx.net.sink.ev, &spec, NULL), CHAOS_OK);
	Chaos__V1__Event *e = recv_event("cc-after", 2000);
	assert_non_null(e);
	wire_free(e);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int
main(void)
{
#define FIRST(i)                                                                         \
	{                                                                                \
		first_cases[i].name, test_first_sample, test_setup, test_teardown,       \
		    (void *)&first_cases[i]                                              \
	}
	const struct CMUnitTest tests[] = {
	    T(test_http_200_with_rising_height_is_healthy),
	    T(test_http_fixed_height_is_unhealthy_after_window),
	    T(test_http_slow_answer_times_out_on_time),
	    T(test_samples_keep_the_interval_without_drift),
	    T(test_overrun_skips_slots_instead_of_bursting),
	    T(test_stop_interrupts_a_check_in_flight),
	    T(test_stop_wakes_a_sleeping_probe),
	    T(test_start_is_idempotent_by_id),
	    T(test_http_credentials_are_sent_as_basic),
	    T(test_start_rejects_bad_specs),
	    T(test_set_holds_at_most_64_probes),
	    T(test_conncheck_reports_each_target),
	    T(test_conncheck_rejects_bad_specs_and_drains),
	    FIRST(0),
	    FIRST(1),
	    FIRST(2),
	    FIRST(3),
	    FIRST(4),
	    FIRST(5),
	    FIRST(6),
	    FIRST(7),
	    FIRST(8),
	    FIRST(9),
	    FIRST(10),
	    FIRST(11),
	    FIRST(12),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
