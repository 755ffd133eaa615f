// SPDX-License-Identifier: MIT
/*
 * The open-loop load generator against a keep-alive HTTP server this test
 * runs on 127.0.0.1 (tests/support/http_srv.h: canned answers, a stall
 * that can be switched on), and the HTTP/1.x response parser under it.
 * Reports go through a real events PUSH socket to a PULL socket here, so
 * what is asserted is what the controller would decode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/events.h"
#include "agent/http1.h"
#include "agent/load.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/hist.h"
#include "common/wire.h"
#include "tests/support/http_fixture.h"
#include "tests/support/loopback.h"
#include "tests/support/wait.h"

#define EC(x) CHAOS__V1__ERROR_CLASS__ERROR_CLASS_##x
/* How long /slow holds its answer: long against what stopping a load may
 * take on a loaded machine, so that a stop held by it would show. */
#define SLOW_MS 1000

/* ---- the HTTP server's answers (tests/support/http_srv.h) ---- */

/* /stall holds its answers while the monotonic time is in [from, until). */
struct stall {
	atomic_long from, until;
};

static struct stall stall;

/* /slow requests that reached the server. */
static atomic_long slow_arrived;

static bool
route(struct http_srv *s, int fd, const char *path)
{
	if (strcmp(path, "/ok") == 0) {
		http_srv_reply(fd, 200, "", "ok");
	} else if (strcmp(path, "/503") == 0) {
		http_srv_reply(fd, 503, "", "down");
	} else if (strcmp(path, "/404") == 0) {
		http_srv_reply(fd, 404, "", "no");
	} else if (strcmp(path, "/chunked") == 0) {
		http_srv_send(fd,
		              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		              "3\r\nabc\r\n10;x=y\r\n0123456789abcdef\r\n0\r\nX-T: "
		              "1\r\n\r\n");
	} else if (strcmp(path, "/close") == 0) {
		http_srv_reply(fd, 200, "Connection: close\r\n", "bye");
		return false;
	} else if (strcmp(path, "/drop") == 0) {
		/* Says keep-alive, then closes: the client finds out on reuse. */
		http_srv_reply(fd, 200, "", "dropped");
		return false;
	} else if (strcmp(path, "/hang") == 0) {
		http_srv_hold(s, fd, 5000);
		return false;
	} else if (strcmp(path, "/slow") == 0) {
		atomic_fetch_add(&slow_arrived, 1);
		http_srv_hold(s, fd, SLOW_MS);
		http_srv_reply(fd, 200, "", "slow");
	} else if (strcmp(path, "/?q=1") == 0) { /* asked as "http://host:port?q=1" */
		http_srv_reply(fd, 200, "", "query");
	} else if (strcmp(path, "/stall") == 0) {
		int64_t now = clk_mono_us(), until = atomic_load(&stall.until);
		if (now >= atomic_load(&stall.from) && now < until)
			http_srv_hold(s, s->stop_fd, (int)((until - now) / 1000) + 1);
		http_srv_reply(fd, 200, "", "ok");
	} else {
		http_srv_reply(fd, 404, "", "?");
	}
	return true;
}

/* ---- the controller side: a PULL socket, reports summed per load ---- */

struct run {
	const char *id;
	bool        final_seen;
	int64_t     final_at_mono;
	/* Sums of the interval reports. */
	uint64_t     n_intervals, scheduled, ok, late, errors[EC(OTHER) + 1];
	struct hist *hist;
	int64_t      last_start;
	uint32_t     interval_ms;
	/* The final report. */
	uint64_t     f_scheduled, f_ok, f_late, f_errors[EC(OTHER) + 1];
	struct hist *f_hist;
	uint32_t     f_interval_ms;
};

struct fixture {
	struct http_fixture net;
	struct load_set    *ls;
};

static struct fixture fx;

static void
run_init(struct run *r, const char *id)
{
	memset(r, 0, sizeof(*r));
	r->id         = id;
	r->last_start = INT64_MIN;
	assert_int_equal(hist_new(&r->hist), CHAOS_OK);
	assert_int_equal(hist_new(&r->f_hist), CHAOS_OK);
}

static void
run_fini(struct run *r)
{
	hist_free(r->hist);
	hist_free(r->f_hist);
}

static uint64_t
sum_errors(const uint64_t *e, size_t n)
{
	uint64_t t = 0;

	for (size_t i = 0; i < n; i++)
		t += e[i];
	return t;
}

/* Checks one report on its own, then adds it to r. */
static void
run_add(struct run *r, const Chaos__V1__LoadReport *rep)
{
	struct hist *h = rep->final ? r->f_hist : r->hist;

	assert_false(r->final_seen); /* nothing after the final report */
	assert_int_equal(rep->n_errors_by_class, EC(OTHER) + 1);
	assert_int_equal(rep->scheduled,
	                 rep->ok + rep->late +
	                     sum_errors(rep->errors_by_class, rep->n_errors_by_class));
	assert_true(rep->has_interval_start_agent_us && rep->has_interval_ms);
	assert_int_equal(hist_add_counts(h, rep->latency_hist, rep->n_latency_hist),
	                 CHAOS_OK);
	if (rep->final) {
		r->final_seen    = true;
		r->final_at_mono = clk_mono_us();
		r->f_scheduled   = rep->scheduled;
		r->f_ok          = rep->ok;
		r->f_late        = rep->late;
		r->f_interval_ms = rep->interval_ms;
		memcpy(r->f_errors, rep->errors_by_class, sizeof(r->f_errors));
		assert_int_equal(hist_count(h),
		                 rep->ok); /* latencies of ok requests only */
		return;
	}
	/* Intervals come once each, in order, aligned on interval_ms. */
	assert_true(rep->scheduled > 0);
	assert_true(rep->interval_start_agent_us > r->last_start);
	if (r->interval_ms != 0) {
		assert_int_equal(rep->interval_ms, r->interval_ms);
		assert_int_equal((rep->interval_start_agent_us - r->last_start) %
		                     (rep->interval_ms * 1000),
		                 0);
	}
	r->last_start  = rep->interval_start_agent_us;
	r->interval_ms = rep->interval_ms;
	r->n_intervals++;
	r->scheduled += rep->scheduled;
	r->ok += rep->ok;
	r->late += rep->late;
	for (size_t i = 0; i < rep->n_errors_by_class; i++)
		r->errors[i] += rep->errors_by_class[i];
	assert_int_equal(hist_count(r->hist), r->ok);
}

/* Whether runs[0..n) have reported what a test waits for. */
typedef bool (*runs_done_fn)(const struct run *runs, size_t n);

static bool
all_final(const struct run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!runs[i].final_seen)
			return false;
	return true;
}

/* Receives reports until done(runs, n) holds, or fails after timeout_ms. */
static void
collect_until(struct run *runs, size_t n, runs_done_fn done, int timeout_ms)
{
	int64_t deadline = clk_mono_us() + (int64_t)timeout_ms * 1000;

	while (!done(runs, n)) {
		int64_t           left = (deadline - clk_mono_us()) / 1000;
		Chaos__V1__Event *e    = NULL;
		chaos_why         why  = {{0}};
		chaos_err         rv;

		if (left <= 0)
			fail_msg("the loads did not report in time (%d ms)", timeout_ms);
		if ((rv = event_sink_recv(&fx.net.sink, (int)left, &e, &why)) ==
		    CHAOS_ETIMEDOUT)
			continue;
		if (rv != CHAOS_OK)
			fail_msg("%s", why.text);
		for (size_t i = 0; e->body_case == CHAOS__V1__EVENT__BODY_LOAD && i < n;
		     i++)
			if (strcmp(runs[i].id, e->load->load_id) == 0)
				run_add(&runs[i], e->load);
		wire_free(e);
	}
}

/* Receives reports until every run has its final one. The deadline only
 * ends a test that already failed: generous, for a loaded machine. */
static void
collect(struct run *runs, size_t n)
{
	collect_until(runs, n, all_final, WAIT_GENEROUS_MS);
}

/* Every report of a finished run adds up to its final totals. */
static void
assert_intervals_sum_to_final(const struct run *r)
{
	assert_true(r->final_seen);
	assert_int_equal(r->scheduled, r->f_scheduled);
	assert_int_equal(r->ok, r->f_ok);
	assert_int_equal(r->late, r->f_late);
	assert_memory_equal(r->errors, r->f_errors, sizeof(r->errors));
	assert_int_equal(hist_count(r->hist), hist_count(r->f_hist));
	size_t          n1, n2;
	const uint64_t *c1 = hist_counts(r->hist, &n1), *c2 = hist_counts(r->f_hist, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(c1, c2, n1 * sizeof(uint64_t));
}

static int
group_setup(void **state)
{
	(void)state;
	return http_fixture_open(&fx.net, "test_load", route);
}

static int
group_teardown(void **state)
{
	(void)state;
	http_fixture_close(&fx.net);
	return 0;
}

static int
test_setup(void **state)
{
	(void)state;
	return load_set_new(fx.net.sink.ev, &fx.ls) == CHAOS_OK ? 0 : -1;
}

static int
test_teardown(void **state)
{
	(void)state;
	load_set_free(fx.ls);
	fx.ls = NULL;
	return 0;
}

static Chaos__V1__LoadSpec
spec(const char *id, const char *path, uint32_t rate, uint32_t conc, uint32_t duration_ms,
     uint32_t timeout_ms)
{
	static char         urls[8][192];
	static int          next;
	Chaos__V1__LoadSpec s = CHAOS__V1__LOAD_SPEC__INIT;
	char               *u = urls[next++ % 8];

	if (path[0] == '/')
		snprintf(u, sizeof(urls[0]), "%s%s", fx.net.base, path);
	else
		snprintf(u, sizeof(urls[0]), "%s", path);
	s.load_id     = (char *)id;
	s.url         = u;
	s.rate_rps    = rate;
	s.concurrency = conc;
	s.duration_ms = duration_ms;
	s.timeout_ms  = timeout_ms;
	return s;
}

static void
start_ok(const Chaos__V1__LoadSpec *s)
{
	chaos_why why = {{0}};

	if (load_start(fx.ls, s, &why) != CHAOS_OK)
		fail_msg("load_start %s: %s", s->load_id, why.text);
}

/* ---- the load generator ---- */

static void
test_rate_is_kept_and_intervals_sum_to_final(void **state)
{
	/* 64 connections: a request may take 320 ms before its slot finds
	 * none free, so a busy machine does not make requests late. */
	Chaos__V1__LoadSpec s = spec("rate", "/ok", 200, 64, 2000, 1000);
	struct run          r;
	int64_t             t0 = clk_mono_us();
	uint64_t            p50;

	(void)state;
	run_init(&r, "rate");
	start_ok(&s);
	collect(&r, 1);
	/* 200/s for 2 s is 400 slots exactly; a loopback server answers all. */
	assert_int_equal(r.f_scheduled, 400);
	assert_true(r.f_ok >= 396);
	assert_int_equal(r.f_ok + r.f_late + sum_errors(r.f_errors, EC(OTHER) + 1), 400);
	assert_int_equal(r.n_intervals, 20);
	assert_int_equal(r.interval_ms, 100);
	assert_int_equal(r.f_interval_ms, 2000);
	assert_intervals_sum_to_final(&r);
	/* It ran for its duration, not faster; slower only by what the
	 * machine's load adds (the ceiling is loose on purpose). */
	assert_true(r.final_at_mono - t0 >= 1990000 && r.final_at_mono - t0 < 5000000);
	assert_true(hist_percentile(r.f_hist, 50, &p50));
	assert_true(p50 < 250000);
	run_fini(&r);
}

static void
test_stalled_server_makes_late_requests_not_delayed_ones(void **state)
{
	Chaos__V1__LoadSpec s = spec("stall", "/stall", 200, 8, 2000, 2000);
	struct run          r;
	uint64_t            max, p50;
	int64_t             now = clk_mono_us(), t0 = now;

	(void)state;
	/* From 0.5 s to 1 s into the run every answer is held until 1 s. */
	atomic_store(&stall.from, now + 500000);
	atomic_store(&stall.until, now + 1000000);
	run_init(&r, "stall");
	start_ok(&s);
	collect(&r, 1);
	assert_int_equal(r.f_scheduled, 400);
	assert_int_equal(r.f_ok + r.f_late + sum_errors(r.f_errors, EC(OTHER) + 1), 400);
	assert_int_equal(sum_errors(r.f_errors, EC(OTHER) + 1), 0);
	/* 8 requests take the 8 connections at ~0.5 s; the ~92 slots due
	 * until 1 s find none free: late, never sent afterwards. A loaded
	 * machine answers the held ones later, so a few slots after 1 s may
	 * find no connection either: the ceiling is loose. */
	print_message("stall: %llu late, %llu ok\n", (unsigned long long)r.f_late,
	              (unsigned long long)r.f_ok);
	assert_true(r.f_late >= 80 && r.f_late <= 140);
	/* The schedule went on meanwhile: the run did not take ~2.5 s more. */
	assert_true(r.final_at_mono - t0 < 4500000);
	/* Latency from the scheduled time shows the stall in full. */
	assert_true(hist_max(r.f_hist, &max));
	assert_true(max >= 450000 && max < 1500000);
	assert_true(hist_percentile(r.f_hist, 50, &p50));
	assert_true(p50 < 250000);
	assert_intervals_sum_to_final(&r);
	run_fini(&r);
}

static void
test_error_classes(void **state)
{
	char                refused[64];
	struct run          r[4];
	Chaos__V1__LoadSpec s[4];

	(void)state;
	snprintf(refused, sizeof(refused), "http://127.0.0.1:%u/",
	         loopback_closed_port());
	/* As many connections as slots: none can be late, so every slot is
	 * the error asked for, however slowly a loaded machine answers. */
	s[0] = spec("refused", refused, 50, 25, 500, 1000);
	s[1] = spec("5xx", "/503", 50, 25, 500, 1000);
	s[2] = spec("other", "/404", 50, 25, 500, 1000);
	s[3] = spec("timeout", "/hang", 20, 10, 500, 200);
	for (int i = 0; i < 4; i++) {
		run_init(&r[i], s[i].load_id);
		start_ok(&s[i]);
	}
	collect(r, 4);
	assert_int_equal(r[0].f_scheduled, 25);
	assert_int_equal(r[0].f_errors[EC(REFUSED)], 25);
	assert_int_equal(r[1].f_errors[EC(HTTP_5XX)], 25);
	assert_int_equal(r[2].f_errors[EC(HTTP_OTHER)], 25);
	assert_int_equal(r[3].f_scheduled, 10);
	assert_int_equal(r[3].f_errors[EC(TIMEOUT)], 10);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(r[i].f_ok, 0);
		assert_int_equal(hist_count(r[i].f_hist),
		                 0); /* no latency for failures */
		assert_intervals_sum_to_final(&r[i]);
		run_fini(&r[i]);
	}
}

static void
test_chunked_and_closing_answers_count_as_ok(void **state)
{
	/* As many connections as slots: none can be late (see above). */
	Chaos__V1__LoadSpec s[3] = {spec("chunked", "/chunked", 100, 50, 500, 1000),
	                            spec("close", "/close", 100, 50, 500, 1000),
	                            spec("drop", "/drop", 100, 50, 500, 1000)};
	struct run          r[3];

	(void)state;
	for (int i = 0; i < 3; i++) {
		run_init(&r[i], s[i].load_id);
		start_ok(&s[i]);
	}
	collect(r, 3);
	for (int i = 0; i < 3; i++) {
		/* A connection closed after an answer is not a failure: the
		 * next request goes on a fresh one. */
		assert_int_equal(r[i].f_scheduled, 50);
		assert_int_equal(r[i].f_ok, 50);
		assert_intervals_sum_to_final(&r[i]);
		run_fini(&r[i]);
	}
}

/* common/url.h splits the URL; the request line is still origin-form. */
static void
test_url_without_a_path_asks_for_the_root(void **state)
{
	char                url[96];
	Chaos__V1__LoadSpec s = spec("query", "", 100, 20, 200, 1000);
	struct run          r;

	(void)state;
	snprintf(url, sizeof(url), "%s?q=1#fragment", fx.net.base);
	s.url = url;
	run_init(&r, "query");
	start_ok(&s);
	collect(&r, 1);
	assert_int_equal(r.f_scheduled, 20);
	assert_int_equal(r.f_ok, 20);
	run_fini(&r);
}

/* Enough answers counted in the interval reports to stop the load. */
static bool
ten_ok(const struct run *runs, size_t n)
{
	(void)n;
	return runs[0].ok >= 10;
}

static void
test_stop_cancels_in_flight_uncounted_and_sends_final(void **state)
{
	/* 50/s, each answer held 1 s: ~50 requests are always in flight. */
	Chaos__V1__LoadSpec s = spec("stop", "/slow", 50, 100, 10000, 5000);
	struct run          r;
	int64_t             t_start, t_stop, t_stopped;
	long                arrived;

	(void)state;
	run_init(&r, "stop");
	t_start = clk_mono_us();
	start_ok(&s);
	collect_until(&r, 1, ten_ok, WAIT_GENEROUS_MS);
	t_stop = clk_mono_us();
	assert_int_equal(load_stop(fx.ls, "stop"), CHAOS_OK);
	t_stopped = clk_mono_us();
	arrived   = atomic_load(&slow_arrived);
	/* In-flight requests do not hold it: waiting for them would take up to
	 * SLOW_MS; the ceiling leaves a loaded machine half of that. */
	assert_true(t_stopped - t_stop < SLOW_MS * 1000 / 2);
	assert_int_equal(load_count(fx.ls), 0);
	collect(&r, 1);
	/* The requests in flight at the stop reached the server but were
	 * cancelled: in no count. Every counted one is ok. */
	print_message("stop: %ld requests arrived, %llu counted\n", arrived,
	              (unsigned long long)r.f_scheduled);
	assert_true(r.f_ok >= 10);
	assert_true(r.f_scheduled < (uint64_t)arrived);
	assert_int_equal(r.f_ok + r.f_late + sum_errors(r.f_errors, EC(OTHER) + 1),
	                 r.f_scheduled);
	assert_int_equal(r.f_ok, r.f_scheduled);
	/* The final report spans the run up to the stop: the intervals
	 * reported before it (the last may be cut short), and no more than
	 * the time from start to stop. */
	assert_true(r.f_interval_ms >= (r.n_intervals - 1) * r.interval_ms);
	assert_true(r.f_interval_ms <= (t_stopped - t_start) / 1000 + 1);
	assert_intervals_sum_to_final(&r);
	/* Stopping it again is fine (it ran); an unknown id is not. */
	assert_int_equal(load_stop(fx.ls, "stop"), CHAOS_OK);
	assert_int_equal(load_stop(fx.ls, "never-started"), CHAOS_ENOENT);
	run_fini(&r);
}

static bool
no_load(void *ls)
{
	return load_count(ls) == 0;
}

static void
test_start_is_idempotent_by_load_id(void **state)
{
	Chaos__V1__LoadSpec s = spec("idem", "/ok", 100, 4, 500, 1000);
	struct run          r;
	Chaos__V1__Event   *e = NULL;

	(void)state;
	run_init(&r, "idem");
	start_ok(&s);
	start_ok(&s); /* a replayed command: no second run */
	assert_int_equal(load_count(fx.ls), 1);
	collect(&r, 1);
	assert_int_equal(r.f_scheduled, 50);
	assert_intervals_sum_to_final(&r);
	/* After it ended (its thread exits just after the final report):
	 * still no second run. */
	assert_true(wait_until(no_load, fx.ls, WAIT_GENEROUS_MS));
	start_ok(&s);
	assert_int_equal(load_count(fx.ls), 0);
	assert_int_equal(event_sink_recv(&fx.net.sink, 300, &e, NULL), CHAOS_ETIMEDOUT);
	run_fini(&r);
}

static void
test_interval_widens_for_long_timeouts(void **state)
{
	Chaos__V1__LoadSpec s = spec("wide", "/ok", 20, 4, 1000, 60000);
	struct run          r;

	(void)state;
	run_init(&r, "wide");
	start_ok(&s);
	collect(&r, 1);
	/* 256 - 2 intervals must cover 60 s + 1 s of margin. */
	assert_int_equal(r.interval_ms, 241);
	assert_int_equal(r.f_scheduled, 20);
	assert_intervals_sum_to_final(&r);
	run_fini(&r);
}

static void
test_bad_specs_are_refused(void **state)
{
	static const struct {
		const char *id, *url;
		uint32_t    rate, conc, duration_ms, timeout_ms, report_ms;
		chaos_err   rv;
		const char *why; /* in the reason; NULL: not checked */
	} bad[] = {
	    {"bad", "https://127.0.0.1/", 10, 1, 100, 100, 0, CHAOS_EUNSUPPORTED,
	     "https"},
	    {"bad", "ftp://127.0.0.1/", 10, 1, 100, 100, 0, CHAOS_EINVAL, "scheme"},
	    {"bad", "http://127.0.0.1:99999/", 10, 1, 100, 100, 0, CHAOS_EINVAL, "99999"},
	    {"bad", "http://user@127.0.0.1/", 10, 1, 100, 100, 0, CHAOS_EINVAL, "user@"},
	    {"bad", "http://127.0.0.1/a b", 10, 1, 100, 100, 0, CHAOS_EINVAL, NULL},
	    {"bad", "/ok", 0, 1, 100, 100, 0, CHAOS_EINVAL, "rate_rps"},
	    {"bad", "/ok", 10, 0, 100, 100, 0, CHAOS_EINVAL, "concurrency"},
	    {"bad", "/ok", 10, 1, 0, 100, 0, CHAOS_EINVAL, "duration_ms"},
	    {"bad", "/ok", 10, 1, 100, 0, 0, CHAOS_EINVAL, "timeout_ms"},
	    {"bad", "/ok", 10, 1, 100, 100, 5, CHAOS_EINVAL, "report_interval_ms"},
	    {"", "/ok", 10, 1, 100, 100, 0, CHAOS_EINVAL, "load_id"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		Chaos__V1__LoadSpec s =
		    spec(bad[i].id, bad[i].url, bad[i].rate, bad[i].conc,
		         bad[i].duration_ms, bad[i].timeout_ms);
		chaos_why why = {{0}};

		print_message("bad spec %zu: %s\n", i, bad[i].url);
		s.has_report_interval_ms = bad[i].report_ms != 0;
		s.report_interval_ms     = bad[i].report_ms;
		assert_int_equal(load_start(fx.ls, &s, &why), bad[i].rv);
		if (bad[i].why != NULL && strstr(why.text, bad[i].why) == NULL)
			fail_msg("'%s' does not mention '%s'", why.text, bad[i].why);
	}
	assert_int_equal(load_count(fx.ls), 0);
}

/* ---- the response parser ---- */

/* Parses text fed in pieces of `step` bytes; returns the result and the
 * bytes taken in total. */
static enum http1_result
parse_in_steps(struct http1_resp *p, const char *text, size_t step, size_t *taken)
{
	size_t            len = strlen(text), off = 0, used = 0;
	enum http1_result r = HTTP1_MORE;

	http1_reset(p);
	while (off < len && r == HTTP1_MORE) {
		size_t n = len - off < step ? len - off : step;
		r        = http1_parse(p, text + off, n, &used);
		off += used;
	}
	*taken = off;
	return r;
}

/* The same outcome however the bytes are split. */
static void
assert_parses(const char *text, enum http1_result want, int status, bool keep)
{
	for (size_t step = 1; step <= strlen(text); step++) {
		struct http1_resp p;
		size_t            got;
		enum http1_result r = parse_in_steps(&p, text, step, &got);

		if (r != want)
			fail_msg("step %zu: result %d, want %d for: %s", step, r, want,
			         text);
		if (want != HTTP1_DONE)
			continue;
		assert_int_equal(p.status, status);
		assert_int_equal(p.keep_alive, keep);
		assert_int_equal(got,
		                 strlen(text)); /* the whole answer, nothing past it */
	}
}

static void
test_http1_parses_lengths_chunks_and_connection_rules(void **state)
{
	const char *chunked =
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
	    "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";

	(void)state;
	assert_parses("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", HTTP1_DONE, 200,
	              true);
	assert_parses("HTTP/1.1 503 Down\r\ncontent-length:0\r\n\r\n", HTTP1_DONE, 503,
	              true);
	assert_parses("HTTP/1.1 204 No Content\r\n\r\n", HTTP1_DONE, 204, true);
	assert_parses(chunked, HTTP1_DONE, 200, true);
	assert_parses(
	    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
	    HTTP1_DONE, 200, false);
	assert_parses("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", HTTP1_DONE, 200,
	              false);
	assert_parses(
	    "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx",
	    HTTP1_DONE, 200, true);
	/* An interim 100 is skipped; the final answer counts. */
	assert_parses("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 "
	              "Created\r\nContent-Length: 0\r\n\r\n",
	              HTTP1_DONE, 201, true);
	/* Long headers we do not need are fine. */
	assert_parses("HTTP/1.1 200 OK\r\nX-Long: "
	              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	              "aaaaaaaaaaaaaaaaaaaa\r\nContent-Length: 0\r\n\r\n",
	              HTTP1_DONE, 200, true);
}

/* What a body function collects; refuses more than `max` bytes. */
struct body_sink {
	char   buf[64];
	size_t len, max;
};

static bool
body_take(void *arg, const char *data, size_t len)
{
	struct body_sink *b = arg;

	if (len > b->max - b->len)
		return false;
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	return true;
}

/* The HTTP probe reads bodies through the parser: de-chunked, across an
 * interim answer, in pieces of any size; a refusal stops the parse with the
 * status known. */
static void
test_http1_hands_the_body_dechunked(void **state)
{
	const char *chunked = "HTTP/1.1 100 Continue\r\n\r\n"
	                      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                      "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nT: x\r\n\r\n";

	(void)state;
	for (size_t step = 1; step <= strlen(chunked); step++) {
		struct http1_resp p;
		struct body_sink  b   = {.max = sizeof(b.buf)};
		size_t            len = strlen(chunked), off = 0, used;
		enum http1_result r = HTTP1_MORE;

		http1_reset(&p);
		http1_set_body(&p, body_take, &b);
		while (off < len && r == HTTP1_MORE) {
			r = http1_parse(&p, chunked + off,
			                len - off < step ? len - off : step, &used);
			off += used;
		}
		assert_int_equal(r, HTTP1_DONE);
		assert_int_equal(b.len, 15);
		assert_memory_equal(b.buf, "hello0123456789", 15);
	}
	{
		struct http1_resp p;
		struct body_sink  b = {.max = 4};
		const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\ntoo long!";
		size_t      used;

		http1_reset(&p);
		http1_set_body(&p, body_take, &b);
		assert_false(http1_head_complete(&p));
		assert_int_equal(http1_parse(&p, t, strlen(t), &used), HTTP1_ERROR);
		assert_true(http1_head_complete(&p));
		assert_int_equal(p.status, 200);
	}
}

static void
test_http1_body_until_eof(void **state)
{
	struct http1_resp p;
	size_t            used;
	const char       *t = "HTTP/1.1 200 OK\r\n\r\nsome body";

	(void)state;
	http1_reset(&p);
	assert_int_equal(http1_parse(&p, t, strlen(t), &used), HTTP1_MORE);
	assert_int_equal(http1_eof(&p), HTTP1_DONE);
	assert_false(p.keep_alive);
	/* EOF in the middle of a sized body is a truncated answer. */
	t = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
	http1_reset(&p);
	assert_int_equal(http1_parse(&p, t, strlen(t), &used), HTTP1_MORE);
	assert_int_equal(http1_eof(&p), HTTP1_ERROR);
	/* EOF before anything. */
	http1_reset(&p);
	assert_int_equal(http1_eof(&p), HTTP1_ERROR);
	assert_false(p.got_bytes);
}

static void
test_http1_refuses_malformed_answers(void **state)
{
	static const char *bad[] = {
	    "HTTP/2 200 OK\r\n\r\n",
	    "HTTP/1.1 20 OK\r\n\r\n",
	    "HTTP/1.1 abc OK\r\n\r\n",
	    "ICY 200 OK\r\n\r\n",
	    "HTTP/1.1 101 Switching\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabX",
	    "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_parses(bad[i], HTTP1_ERROR, 0, false);
}

static void
test_http1_bounds_the_header_section(void **state)
{
	struct http1_resp p;
	size_t            used;
	char             *big = malloc(HTTP1_MAX_HEAD + 100);

	(void)state;
	strcpy(big, "HTTP/1.1 200 OK\r\nX: ");
	memset(big + strlen(big), 'a', HTTP1_MAX_HEAD);
	big[HTTP1_MAX_HEAD + 20] = '\0';
	http1_reset(&p);
	assert_int_equal(http1_parse(&p, big, strlen(big), &used), HTTP1_ERROR);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rate_is_kept_and_intervals_sum_to_final,
	                                    test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_stalled_server_makes_late_requests_not_delayed_ones, test_setup,
	        test_teardown),
	    cmocka_unit_test_setup_teardown(test_error_classes, test_setup,
	                                    test_teardown),
	    cmocka_unit_test_setup_teardown(test_chunked_and_closing_answers_count_as_ok,
	                                    test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_stop_cancels_in_flight_uncounted_and_sends_final, test_setup,
	        test_teardown),
	    cmocka_unit_test_setup_teardown(test_start_is_idempotent_by_load_id,
	                                    test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_interval_widens_for_long_timeouts,
	                                    test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_url_without_a_path_asks_for_the_root,
	                                    test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_specs_are_refused, test_setup,
	                                    test_teardown),
	    cmocka_unit_test(test_http1_parses_lengths_chunks_and_connection_rules),
	    cmocka_unit_test(test_http1_body_until_eof),
	    cmocka_unit_test(test_http1_hands_the_body_dechunked),
	    cmocka_unit_test(test_http1_refuses_malformed_answers),
	    cmocka_unit_test(test_http1_bounds_the_header_section),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
