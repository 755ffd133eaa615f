// SPDX-License-Identifier: MIT
/*
 * The Kubernetes driver's single calls against the fake API server
 * (tests/support/fake_k8s.h), as rows of a table: what the fake is made to
 * do, one call (list, delete, wait for Ready), what must come back. Each row
 * runs as its own test, named for the behaviour it shows, against a fake of
 * its own.
 *
 * argv[1] is the path of server.py.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "controller/k8s.h"
#include "tests/support/fake_k8s.h"

#define CONFIG FAKE_K8S_CONFIG /* the fake's control path, short for the table */
#define CHAIN_OF_7 "{\"name\":\"chain\",\"labels\":{\"app\":\"chain\"},\"replicas\":7}"

/* The fake's /_fake/config body that fails requests of one method. */
#define FAULT(method, status)                                                            \
	"{\"faults\":[{\"method\":\"" method "\",\"status\":" #status "}]}"
#define FAULTS(method, status, count)                                                    \
	"{\"faults\":[{\"method\":\"" method "\",\"status\":" #status                    \
	",\"count\":" #count "}]}"
/* How many API requests of a kind the fake must have answered. */
#define API_GETS(n) .count_method = "GET", .count_prefix = "/api/", .want_count = (n)
#define DELETES(n) .count_method = "DELETE", .want_count = (n)
#define NOTHING_SENT .count_method = "*", .count_prefix = "/api/", .want_count = 0

enum api_call { CALL_LIST, CALL_DELETE, CALL_WAIT };
enum api_url { URL_FAKE, URL_NOT_K8S, URL_NOBODY };

struct api_case {
	const char *name;
	/* the fake and the client */
	const char  *args[3];    /* extra server flags */
	const char  *post[2][2]; /* {control path, JSON} posted before the call */
	const char  *token_text; /* the token file's content; NULL: FAKE_K8S_TOKEN */
	const char  *ca;         /* serve https; the client trusts <ca>.crt */
	enum api_url url;        /* the fake, a path that is not the API, a dead port */
	unsigned     page_limit;
	int          max_retries;
	long         timeout_ms; /* 0: 5000 */
	/* the call */
	enum api_call call;
	const char   *ns; /* NULL: FAKE_K8S_NS */
	const char *arg;  /* list, wait: the selector (NULL: FAKE_K8S_SEL); delete: pod */
	const char *uid;  /* delete: the uid precondition */
	int64_t     grace;
	size_t      expected;    /* wait */
	int64_t     deadline_us; /* wait: from now */
	long        poll_ms;     /* wait */
	/* what must come back */
	chaos_err   want;
	size_t      want_n;         /* list, wait: pods; delete: 1 when already gone */
	const char *why_has[4];     /* "@URL", "@TOKEN", "@CA": the paths in use */
	const char *log_has;        /* a line the call logged */
	const char *query_has[2];   /* in the last GET's query */
	const char *count_method;   /* how many API requests ("*": all) */
	const char *count_prefix;   /* with this path prefix (NULL: any) */
	size_t      want_count;     /* ... the fake answered */
	int64_t     min_us, max_us; /* bounds on the call's duration; 0: none */
	const char *then_sel;       /* then a list of then_sel has then_n pods */
	size_t      then_n;
};

/* ---- the table of single calls ---- */

/* A port that was free a moment ago and has no listener. */
static void
url_of_nobody(char *url, size_t len)
{
	struct sockaddr_in sa = {.sin_family      = AF_INET,
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t          sl = sizeof(sa);
	int                fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	snprintf(url, len, "http://127.0.0.1:%u", ntohs(sa.sin_port));
}

/* One row's run: the client, what the call gave back, and the paths that
 * "@URL", "@TOKEN" and "@CA" stand for. */
struct run {
	struct k8s_client *c;
	char               url[96], ca[128];
	chaos_err          rc;
	size_t             n; /* pods listed or Ready; delete: 1 when already gone */
	bool               list_ok; /* a list wrote *pods as k8s.h says */
	chaos_why          why;
	int64_t            took_us;
	char               log[2048]; /* what the call logged, when the row asks */
};

/* Sets the fake up as the row says and makes the client. */
static void
case_client(struct fake_k8s *f, const struct api_case *k, struct run *r)
{
	struct k8s_config cfg = fake_k8s_config(f);

	if (k->ca != NULL) {
		if (!fake_k8s_have_openssl())
			skip();
		fake_k8s_restart_tls(f);
		if (strcmp(k->ca, "server") != 0)
			fake_k8s_make_cert(f->dir, k->ca);
		snprintf(r->ca, sizeof(r->ca), "%s/%s.crt", f->dir, k->ca);
		cfg.ca_file    = r->ca;
		cfg.allow_http = false;
	}
	for (size_t i = 0; i < 2 && k->post[i][0] != NULL; i++)
		fake_k8s_post(f, k->post[i][0], k->post[i][1]);
	if (k->token_text != NULL)
		fake_k8s_write_file(f->token, k->token_text);
	if (k->url == URL_NOBODY)
		url_of_nobody(r->url, sizeof(r->url));
	else
		snprintf(r->url, sizeof(r->url), "%s%s", f->url,
		         k->url == URL_NOT_K8S ? "/not-k8s" : "");
	cfg.api_url     = r->url;
	cfg.page_limit  = k->page_limit;
	cfg.max_retries = k->max_retries;
	cfg.timeout_ms  = k->timeout_ms > 0 ? k->timeout_ms : cfg.timeout_ms;
	r->c            = fake_k8s_client(&cfg);
}

/* A list writes *pods only on success: NULL when there are none, else
 * sorted by name without duplicates. */
static bool
list_shape_ok(chaos_err rc, const struct k8s_pod *pods, size_t n, const void *before)
{
	if (rc != CHAOS_OK)
		return pods == before;
	if (n == 0)
		return pods == NULL;
	for (size_t i = 1; i < n; i++)
		if (strcmp(pods[i - 1].name, pods[i].name) >= 0)
			return false;
	return true;
}

/* The row's call, with nothing that can fail a test in between (it may run
 * with stderr captured). */
static void
case_call(const struct api_case *k, struct run *r)
{
	const char           *ns    = k->ns != NULL ? k->ns : FAKE_K8S_NS;
	const char           *sel   = k->arg != NULL ? k->arg : FAKE_K8S_SEL;
	struct k8s_pod       *pods  = (struct k8s_pod *)r; /* must be overwritten */
	struct k8s_ready_pod *ready = NULL;
	bool                  gone  = false;
	int64_t               t0    = clk_mono_us();

	r->n = 99; /* must be overwritten */
	if (k->call == CALL_LIST)
		r->rc = k8s_list_pods(r->c, ns, sel, &pods, &r->n, &r->why);
	else if (k->call == CALL_DELETE)
		r->rc =
		    k8s_delete_pod(r->c, ns, k->arg, k->grace, k->uid, &gone, &r->why);
	else
		r->rc = k8s_wait_ready(r->c, ns, sel, k->expected, NULL, 0,
		                       clk_mono_us() + k->deadline_us, k->poll_ms, &ready,
		                       &r->n, &r->why);
	r->took_us = clk_mono_us() - t0;
	if (k->call == CALL_DELETE)
		r->n = gone;
	r->list_ok = k->call != CALL_LIST || list_shape_ok(r->rc, pods, r->n, r);
	if (k->call == CALL_LIST && r->rc == CHAOS_OK)
		free(pods);
	free(ready);
}

/* Runs the call with stderr going to a file, to read what it logged. */
static void
case_call_logged(const struct fake_k8s *f, const struct api_case *k, struct run *r)
{
	char    path[128];
	int     saved, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", f->dir);
	fd    = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	saved = dup(STDERR_FILENO);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, STDERR_FILENO);
	case_call(k, r);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n                     = pread(fd, r->log, sizeof(r->log) - 1, 0);
	r->log[n > 0 ? n : 0] = '\0';
	close(fd);
}

static void
case_check_reason(const struct fake_k8s *f, const struct api_case *k, const struct run *r)
{
	if (k->want == CHAOS_OK) {
		/* A failure on the way (a retry, a 404 on delete) leaves no text. */
		assert_string_equal(r->why.text, FAKE_K8S_UNTOUCHED);
		return;
	}
	print_message("  why: %s\n", r->why.text);
	for (size_t i = 0; i < 4 && k->why_has[i] != NULL; i++) {
		const char *s = k->why_has[i];

		s = strcmp(s, "@URL") == 0     ? r->url
		    : strcmp(s, "@TOKEN") == 0 ? f->token
		    : strcmp(s, "@CA") == 0    ? r->ca
		                               : s;
		fake_k8s_assert_has("why", r->why.text, s);
	}
}

static void
case_check_after(const struct fake_k8s *f, const struct api_case *k, const struct run *r)
{
	if (k->count_method != NULL)
		assert_int_equal(
		    fake_k8s_seen(f, k->count_method, k->count_prefix, NULL, NULL),
		    k->want_count);
	for (size_t i = 0; i < 2 && k->query_has[i] != NULL; i++)
		fake_k8s_assert_has("last query", fake_k8s_last(f, "GET", "query"),
		                    k->query_has[i]);
	if (k->log_has != NULL)
		fake_k8s_assert_has("log", r->log, k->log_has);
	if ((k->min_us > 0 && r->took_us < k->min_us) ||
	    (k->max_us > 0 && r->took_us > k->max_us))
		fail_msg("%s took %lld us; want %lld..%lld", k->name,
		         (long long)r->took_us, (long long)k->min_us,
		         (long long)k->max_us);
	if (k->then_sel != NULL)
		fake_k8s_expect_list(r->c, FAKE_K8S_NS, k->then_sel, k->then_n, NULL);
}

static void
test_api_case(void **state)
{
	struct fake_k8s       *f = *state;
	const struct api_case *k = f->row;
	struct run             r = {.why = {FAKE_K8S_UNTOUCHED}};

	case_client(f, k, &r);
	if (k->log_has != NULL)
		case_call_logged(f, k, &r);
	else
		case_call(k, &r);
	if (r.rc != k->want)
		fail_msg("%s: %s (%s), want %s", k->name, chaos_strerror(r.rc),
		         r.why.text, chaos_strerror(k->want));
	assert_true(r.list_ok);
	/* A failed list leaves n alone; a wait that timed out writes it. */
	if (r.rc == CHAOS_OK || k->call != CALL_LIST)
		assert_int_equal(r.n, k->want_n);
	case_check_reason(f, k, &r);
	case_check_after(f, k, &r);
	k8s_client_free(r.c);
}

/* A row a case, laid out as a table. */
// clang-format off
static const struct api_case api_cases[] = {
	/* ---- list ---- */
	{"list_follows_limit_and_continue_pages", .page_limit = 3,
	 .post = {{"/_fake/workloads", CHAIN_OF_7}}, .arg = "app=chain", .want_n = 7,
	 .query_has = {"continue=", "limit=3"}, API_GETS(3)},
	/* page 1, 410 on page 2, then pages 1-3 again */
	{"list_starts_over_when_continue_token_expired", .page_limit = 3,
	 .post = {{"/_fake/workloads", CHAIN_OF_7}, {CONFIG, "{\"expire_continue\":1}"}},
	 .arg = "app=chain", .want_n = 7, API_GETS(5)},
	{"list_of_empty_selection_is_empty", .arg = "app=nothing", .want_n = 0},
	{"list_retries_5xx_then_succeeds", .post = {{CONFIG, FAULTS("GET", 503, 2)}},
	 .want_n = 2, API_GETS(3)},
	{"list_429_honours_retry_after", .post = {{CONFIG, FAULTS("GET", 429, 1)}},
	 .want_n = 2, .min_us = 900000 /* Retry-After: 1 */},

	/* ---- delete ---- */
	{"delete_unknown_pod_is_already_gone", .call = CALL_DELETE,
	 .arg = "coordinator-gone-x1", .want_n = 1, .log_has = "already gone"},
	{"delete_with_stale_uid_leaves_replacement_alone",
	 .post = {{"/_fake/pods", "{\"name\":\"db-0\",\"labels\":{\"app\":\"db\"}}"}},
	 .call = CALL_DELETE, .arg = "db-0", .uid = "00000000-0000-0000-0000-000000000000",
	 .want_n = 1, .log_has = "replacement", .then_sel = "app=db", .then_n = 1},

	/* ---- waiting for Ready ---- */
	{"wait_ready_times_out_with_what_recovered", .call = CALL_WAIT, .expected = 3,
	 .deadline_us = 400000, .poll_ms = 100,
	 .want = CHAOS_ETIMEDOUT, .want_n = 2, .why_has = {"2 of 3"}, .max_us = 4000000},
	/* the wait's polls are the retries */
	{"wait_ready_rides_out_server_errors", .post = {{CONFIG, FAULTS("GET", 503, 3)}},
	 .max_retries = -1, .call = CALL_WAIT, .expected = 2, .deadline_us = 5000000,
	 .poll_ms = 20, .want_n = 2, API_GETS(4)},

	/* ---- a failure says what to do about it ---- */
	{"delete_forbidden_names_verb_resource_and_role_rule",
	 .post = {{CONFIG, FAULT("DELETE", 403)}}, .call = CALL_DELETE, .arg = "x",
	 .want = CHAOS_EPERM,
	 .why_has = {"forbidden", "cannot \"delete\" \"pods\" in namespace \"staging\"",
	             "{apiGroups: [\"\"], resources: [\"pods\"], verbs: [\"delete\"]}",
	             "system:serviceaccount:chaos:chaos-controller"}, DELETES(1)},
	/* a 403 is not retried */
	{"list_forbidden_names_list_verb", .post = {{CONFIG, FAULT("GET", 403)}},
	 .want = CHAOS_EPERM, .why_has = {"cannot \"list\" \"pods\"", "verbs: [\"list\"]"},
	 API_GETS(1)},
	{"wrong_token_is_unauthorized", .token_text = "expired-token\n",
	 .want = CHAOS_EPERM, .why_has = {"401", "invalid or expired", "@TOKEN"}},
	{"list_5xx_gives_up_with_status_message", .post = {{CONFIG, FAULT("GET", 500)}},
	 .max_retries = 2, .want = CHAOS_ESYS,
	 .why_has = {"500 InternalError", "etcdserver: request timed out", "3 attempts"},
	 API_GETS(3)},
	{"delete_5xx_is_not_retried", .post = {{CONFIG, FAULT("DELETE", 503)}},
	 .call = CALL_DELETE, .arg = "x", .want = CHAOS_ESYS,
	 .why_has = {"503 ServiceUnavailable",
	             "the server is currently unable to handle the request"}, DELETES(1)},
	{"not_an_api_server_is_reported", .url = URL_NOT_K8S, .want = CHAOS_ENOENT,
	 .why_has = {"404 page not found"}},
	{"connection_refused_says_what_to_check", .url = URL_NOBODY, .want = CHAOS_ECONN,
	 .why_has = {"@URL", "Connection refused", "check the API URL"}},
	{"https_checks_the_server_against_the_ca", .ca = "server", .want_n = 2},
	{"https_server_the_ca_did_not_sign_is_refused", .ca = "other",
	 .want = CHAOS_ECONN, .why_has = {"TLS", "@CA", "CA"}},

	/* ---- bad names are refused before anything is sent ---- */
	{"list_in_invalid_namespace_is_refused_before_sending", .ns = "Staging",
	 .want = CHAOS_EINVAL, .why_has = {"namespace 'Staging' is not a valid"},
	 NOTHING_SENT},
	{"delete_of_path_like_name_is_refused_before_sending", .call = CALL_DELETE,
	 .arg = "../secrets/x", .want = CHAOS_EINVAL, .why_has = {"not a valid"},
	 NOTHING_SENT},
	{"delete_with_negative_grace_is_refused_before_sending", .call = CALL_DELETE,
	 .arg = "x", .grace = -1, .want = CHAOS_EINVAL, .why_has = {"grace -1"},
	 NOTHING_SENT},

	/* ---- an API server that is slow or does not answer ----
	 * The floors are tight; the ceilings are loose (a loaded machine) but
	 * stay under the client's 5 s timeout, which they tell apart from
	 * the shorter timeout or deadline the row asks for. */
	{"stalled_api_times_out_and_says_what_to_check", .args = {"--stall"},
	 .max_retries = -1, .timeout_ms = 300, .want = CHAOS_ETIMEDOUT,
	 .why_has = {"did not answer in time", "check the API URL", "@URL"},
	 .min_us = 250000, .max_us = 4000000},
	/* What a plan that waits on an unreachable API gets: its deadline. */
	{"wait_ready_gives_up_on_stalled_api_at_its_deadline", .args = {"--stall"},
	 .call = CALL_WAIT, .expected = 2, .deadline_us = 600000, .poll_ms = 50,
	 .want = CHAOS_ETIMEDOUT, .want_n = 0,
	 .why_has = {"0 of 2", "last list error", "did not answer in time"},
	 .min_us = 550000, .max_us = 4000000},
	{"delayed_api_is_waited_for", .args = {"--delay-ms", "300"}, .want_n = 2,
	 .min_us = 300000},
	{"stall_ends_when_its_bound_passes",
	 .post = {{CONFIG, "{\"stall\":true,\"stall_for\":0.5}"}}, .want_n = 2,
	 .min_us = 450000, .max_us = 4000000},
};
// clang-format on

#define N_API_CASES (sizeof(api_cases) / sizeof(api_cases[0]))

/* Each row's own fake, started with the row's extra flags. */
static int
case_setup(void **state)
{
	struct fake_k8s       *f;
	const struct api_case *k;

	fake_k8s_setup_dir(state);
	f = *state;
	k = f->row;
	fake_k8s_start(f, k->args);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct CMUnitTest tests[N_API_CASES];
	int                      rv = fake_k8s_init(argc, argv);

	if (rv >= 0)
		return rv;
	for (size_t i = 0; i < N_API_CASES; i++)
		tests[i] =
		    (struct CMUnitTest) {api_cases[i].name, test_api_case, case_setup,
		                         fake_k8s_teardown, (void *)&api_cases[i]};
	return _cmocka_run_group_tests("test_k8s_api", tests, N_API_CASES, NULL, NULL);
}
