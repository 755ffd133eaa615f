// SPDX-License-Identifier: MIT
/*
 * The Kubernetes driver against tests/fake_k8s/server.py, a fake API server
 * on 127.0.0.1 that speaks the real API's JSON and status codes. Each test
 * starts its own server (a fresh cluster: two Ready coordinator pods) and
 * kills it afterwards; the server also dies with this process.
 *
 * Most cases are rows of a table: api_cases (what the fake is made to do,
 * one call, what must come back; each row runs as its own test, named for
 * the behaviour it shows) and config_cases (k8s_client_new alone). Tests
 * that need several steps are functions.
 *
 * argv[1] is the path of server.py.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "common/clock.h"
#include "common/err.h"
#include "controller/k8s.h"

#define TOKEN "test-token"
#define NS "staging"
#define SEL "app=coordinator"
#define UNTOUCHED "(untouched)" /* why's text before a call that must succeed */
#define CONFIG "/_fake/config"
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

static const char *server_py;
static bool        have_openssl;

enum api_call { CALL_LIST, CALL_DELETE, CALL_WAIT };
enum api_url { URL_FAKE, URL_NOT_K8S, URL_NOBODY };

struct api_case {
	const char *name;
	/* the fake and the client */
	const char  *args[3];    /* extra server flags */
	const char  *post[2][2]; /* {control path, JSON} posted before the call */
	const char  *token_text; /* the token file's content; NULL: TOKEN */
	const char  *ca;         /* serve https; the client trusts <ca>.crt */
	enum api_url url;        /* the fake, a path that is not the API, a dead port */
	unsigned     page_limit;
	int          max_retries;
	long         timeout_ms; /* 0: 5000 */
	/* the call */
	enum api_call call;
	const char   *ns;  /* NULL: NS */
	const char   *arg; /* list, wait: the selector (NULL: SEL); delete: pod */
	const char   *uid; /* delete: the uid precondition */
	int64_t       grace;
	size_t        expected;    /* wait */
	int64_t       deadline_us; /* wait: from now */
	long          poll_ms;     /* wait */
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

struct fake {
	pid_t    pid;
	uint16_t port;
	char     url[64];
	char     dir[64];         /* temp dir: token, certificates, service account */
	char     token[128];      /* path of the token file */
	const struct api_case *k; /* the table row this test runs, or NULL */
};

/* ---- processes and files ---- */

static void
write_file(const char *path, const char *text)
{
	char  tmp[256];
	FILE *f;

	/* A rename gives a new inode, as kubelet's atomic token update does. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0);
}

/* Runs argv to completion with stdout/stderr silenced; its exit status. */
static int
run_quiet(char *const argv[])
{
	pid_t pid = fork();
	int   st;

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* run_quiet() of a command line whose words have no spaces. */
static int
run_words(const char *fmt, ...)
{
	char    line[1024], *argv[32], *save = NULL;
	size_t  n = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *w = strtok_r(line, " ", &save); w != NULL && n < 31;) {
		argv[n++] = w;
		w         = strtok_r(NULL, " ", &save);
	}
	argv[n] = NULL;
	return run_quiet(argv);
}

/* A self-signed certificate for 127.0.0.1 at dir/name.{crt,key}. */
static void
make_cert(const char *dir, const char *name)
{
	assert_int_equal(run_words("openssl req -x509 -newkey ec -pkeyopt "
	                           "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
	                           "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
	                           "-keyout %s/%s.key -out %s/%s.crt",
	                           dir, name, dir, name),
	                 0);
}

static uint16_t
read_port(int fd)
{
	char          line[32];
	size_t        len = 0;
	struct pollfd p   = {.fd = fd, .events = POLLIN};
	int64_t       end = clk_mono_us() + 10 * 1000000;

	while (len < sizeof(line) - 1 && clk_mono_us() < end) {
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		if ((n = read(fd, line + len, 1)) <= 0)
			return 0;
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	return (uint16_t)strtoul(line, NULL, 10);
}

/* ---- the fake API server ---- */

/* Starts server.py with extra arguments (NULL-terminated, or NULL). */
static void
fake_start(struct fake *f, const char *const *extra)
{
	const char *argv[32] = {"python3",        server_py,
	                        "--port",         "0",
	                        "--token",        TOKEN,
	                        "--namespace",    NS,
	                        "--workload",     "coordinator:" SEL ":2",
	                        "--max-lifetime", "120"};
	size_t      n        = 12;
	int         pfd[2];

	for (; extra != NULL && *extra != NULL && n < 31; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	assert_int_equal(pipe(pfd), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		/* Never outlive the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	f->port = read_port(pfd[0]);
	close(pfd[0]);
	assert_true(f->port != 0);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", f->port);
}

static void
fake_stop(struct fake *f)
{
	int st;

	if (f->pid <= 0)
		return;
	kill(f->pid, SIGTERM);
	for (int i = 0; i < 40; i++) {
		if (waitpid(f->pid, &st, WNOHANG) == f->pid) {
			f->pid = 0;
			return;
		}
		usleep(50000);
	}
	kill(f->pid, SIGKILL);
	waitpid(f->pid, &st, 0);
	f->pid = 0;
}

/* Restarts the fake with TLS (certificate dir/server.crt). */
static void
fake_restart_tls(struct fake *f)
{
	char        crt[128], key[128];
	const char *extra[] = {"--tls-cert", crt, "--tls-key", key, NULL};

	make_cert(f->dir, "server");
	snprintf(crt, sizeof(crt), "%s/server.crt", f->dir);
	snprintf(key, sizeof(key), "%s/server.key", f->dir);
	fake_stop(f);
	fake_start(f, extra);
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%u", f->port);
}

static size_t
sink(char *data, size_t size, size_t nmemb, void *arg)
{
	json_t     **out = arg;
	json_error_t je;

	json_decref(*out);
	*out = json_loadb(data, size * nmemb, 0, &je);
	return size * nmemb;
}

/* A control request to the fake; returns its JSON answer (caller decrefs).
 * The controls are answered even while the fake stalls the API. */
static json_t *
fake_ctl(const struct fake *f, const char *path, const char *body)
{
	char    url[128];
	CURL   *h    = curl_easy_init();
	json_t *out  = NULL;
	long    code = 0;

	snprintf(url, sizeof(url), "%s%s", f->url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L); /* our own test server */
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	if (body != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	assert_int_equal(code, 200);
	assert_non_null(out);
	return out;
}

static void
fake_post(const struct fake *f, const char *path, const char *body)
{
	json_decref(fake_ctl(f, path, body));
}

/* How many API requests with this method ("*": any) and path prefix (NULL:
 * any) the fake has answered; field `key` of the last one (static copy) in
 * *last when last is not NULL. */
static size_t
fake_seen(const struct fake *f, const char *method, const char *prefix, const char *key,
          const char **last)
{
	static char buf[1024];
	json_t     *st = fake_ctl(f, "/_fake/stats", NULL), *r;
	size_t      i, n = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(st, "requests"), i, r)
	{
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *p = json_string_value(json_object_get(r, "path"));

		if ((strcmp(method, "*") != 0 && strcmp(m, method) != 0) ||
		    (prefix != NULL && strncmp(p, prefix, strlen(prefix)) != 0))
			continue;
		n++;
		if (key != NULL)
			snprintf(buf, sizeof(buf), "%s",
			         json_string_value(json_object_get(r, key)));
	}
	json_decref(st);
	if (last != NULL)
		*last = buf;
	return n;
}

static const char *
fake_last(const struct fake *f, const char *method, const char *key)
{
	const char *last;

	fake_seen(f, method, NULL, key, &last);
	return last;
}

/* Waits (5 s at most) until the fake's stats say stalled == want with
 * `held` API requests held: a signal or another thread's request has
 * arrived, or a released one has been let go, so no sleep guesses. */
static void
fake_wait_stall(const struct fake *f, bool want, long held)
{
	int64_t end = clk_mono_us() + 5 * 1000000;

	while (clk_mono_us() < end) {
		json_t *st = fake_ctl(f, "/_fake/stats", NULL);
		bool    ok = json_is_true(json_object_get(st, "stalled")) == want &&
		    json_integer_value(json_object_get(st, "held")) == held;

		json_decref(st);
		if (ok)
			return;
		usleep(10000);
	}
	fail_msg("the fake did not reach stalled=%d with %ld held requests", want, held);
}

/* ---- fixtures ---- */

/* A temp dir with the token file; setup() also starts the fake. */
static int
setup_dir(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->k = *state; /* the table row (prestate), or NULL */
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_k8s.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->token, sizeof(f->token), "%s/token", f->dir);
	write_file(f->token, TOKEN "\n");
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	struct fake *f;

	setup_dir(state);
	f = *state;
	fake_start(f, f->k != NULL ? f->k->args : NULL);
	return 0;
}

static int
teardown(void **state)
{
	struct fake *f = *state;

	fake_stop(f);
	run_words("rm -rf %s", f->dir);
	free(f);
	return 0;
}

/* ---- the client and its results ---- */

static struct k8s_config
test_config(const struct fake *f)
{
	struct k8s_config cfg = {
	    .api_url    = f->url,
	    .token_file = f->token,
	    .allow_http = true,
	    .timeout_ms = 5000,
	    .backoff_ms = 20,
	};
	return cfg;
}

static struct k8s_client *
client_for(const struct k8s_config *cfg)
{
	struct k8s_client *c = NULL;
	chaos_why          why;
	chaos_err          rc = k8s_client_new(cfg, &c, &why);

	if (rc != CHAOS_OK)
		fail_msg("k8s_client_new: %s: %s", chaos_strerror(rc), why.text);
	return c;
}

static void
assert_has(const char *what, const char *text, const char *sub)
{
	if (strstr(text, sub) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", what, text, sub);
}

/* Lists ns/sel and expects success with want pods, sorted by name without
 * duplicates, and why untouched. The caller frees the list when it keeps
 * it (out != NULL). */
static void
expect_list(struct k8s_client *c, const char *ns, const char *sel, size_t want,
            struct k8s_pod **out)
{
	struct k8s_pod *pods = NULL;
	size_t          n    = 0;
	chaos_why       why  = {UNTOUCHED};
	chaos_err       rc   = k8s_list_pods(c, ns, sel, &pods, &n, &why);

	if (rc != CHAOS_OK)
		fail_msg("list %s/%s: %s: %s", ns, sel, chaos_strerror(rc), why.text);
	assert_string_equal(why.text, UNTOUCHED);
	assert_int_equal(n, want);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(pods[i - 1].name, pods[i].name) < 0);
	if (out != NULL)
		*out = pods;
	else
		free(pods);
}

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
case_client(struct fake *f, const struct api_case *k, struct run *r)
{
	struct k8s_config cfg = test_config(f);

	if (k->ca != NULL) {
		if (!have_openssl)
			skip();
		fake_restart_tls(f);
		if (strcmp(k->ca, "server") != 0)
			make_cert(f->dir, k->ca);
		snprintf(r->ca, sizeof(r->ca), "%s/%s.crt", f->dir, k->ca);
		cfg.ca_file    = r->ca;
		cfg.allow_http = false;
	}
	for (size_t i = 0; i < 2 && k->post[i][0] != NULL; i++)
		fake_post(f, k->post[i][0], k->post[i][1]);
	if (k->token_text != NULL)
		write_file(f->token, k->token_text);
	if (k->url == URL_NOBODY)
		url_of_nobody(r->url, sizeof(r->url));
	else
		snprintf(r->url, sizeof(r->url), "%s%s", f->url,
		         k->url == URL_NOT_K8S ? "/not-k8s" : "");
	cfg.api_url     = r->url;
	cfg.page_limit  = k->page_limit;
	cfg.max_retries = k->max_retries;
	cfg.timeout_ms  = k->timeout_ms > 0 ? k->timeout_ms : cfg.timeout_ms;
	r->c            = client_for(&cfg);
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
	const char           *ns    = k->ns != NULL ? k->ns : NS;
	const char           *sel   = k->arg != NULL ? k->arg : SEL;
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
case_call_logged(const struct fake *f, const struct api_case *k, struct run *r)
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
case_check_reason(const struct fake *f, const struct api_case *k, const struct run *r)
{
	if (k->want == CHAOS_OK) {
		/* A failure on the way (a retry, a 404 on delete) leaves no text. */
		assert_string_equal(r->why.text, UNTOUCHED);
		return;
	}
	print_message("  why: %s\n", r->why.text);
	for (size_t i = 0; i < 4 && k->why_has[i] != NULL; i++) {
		const char *s = k->why_has[i];

		s = strcmp(s, "@URL") == 0     ? r->url
		    : strcmp(s, "@TOKEN") == 0 ? f->token
		    : strcmp(s, "@CA") == 0    ? r->ca
		                               : s;
		assert_has("why", r->why.text, s);
	}
}

static void
case_check_after(const struct fake *f, const struct api_case *k, const struct run *r)
{
	if (k->count_method != NULL)
		assert_int_equal(
		    fake_seen(f, k->count_method, k->count_prefix, NULL, NULL),
		    k->want_count);
	for (size_t i = 0; i < 2 && k->query_has[i] != NULL; i++)
		assert_has("last query", fake_last(f, "GET", "query"), k->query_has[i]);
	if (k->log_has != NULL)
		assert_has("log", r->log, k->log_has);
	if ((k->min_us > 0 && r->took_us < k->min_us) ||
	    (k->max_us > 0 && r->took_us > k->max_us))
		fail_msg("%s took %lld us; want %lld..%lld", k->name,
		         (long long)r->took_us, (long long)k->min_us,
		         (long long)k->max_us);
	if (k->then_sel != NULL)
		expect_list(r->c, NS, k->then_sel, k->then_n, NULL);
}

static void
test_api_case(void **state)
{
	struct fake           *f = *state;
	const struct api_case *k = f->k;
	struct run             r = {.why = {UNTOUCHED}};

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
	 .want = CHAOS_ETIMEDOUT, .want_n = 2, .why_has = {"2 of 3"}, .max_us = 2000000},
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

	/* ---- an API server that is slow or does not answer ---- */
	{"stalled_api_times_out_and_says_what_to_check", .args = {"--stall"},
	 .max_retries = -1, .timeout_ms = 300, .want = CHAOS_ETIMEDOUT,
	 .why_has = {"did not answer in time", "check the API URL", "@URL"},
	 .min_us = 250000, .max_us = 3000000},
	/* What a plan that waits on an unreachable API gets: its deadline. */
	{"wait_ready_gives_up_on_stalled_api_at_its_deadline", .args = {"--stall"},
	 .call = CALL_WAIT, .expected = 2, .deadline_us = 600000, .poll_ms = 50,
	 .want = CHAOS_ETIMEDOUT, .want_n = 0,
	 .why_has = {"0 of 2", "last list error", "did not answer in time"},
	 .min_us = 550000, .max_us = 2000000},
	{"delayed_api_is_waited_for", .args = {"--delay-ms", "300"}, .want_n = 2,
	 .min_us = 300000},
	{"stall_ends_when_its_bound_passes",
	 .post = {{CONFIG, "{\"stall\":true,\"stall_for\":0.5}"}}, .want_n = 2,
	 .min_us = 450000, .max_us = 4000000},
};
// clang-format on

#define N_API_CASES (sizeof(api_cases) / sizeof(api_cases[0]))

/* ---- tests with several steps ---- */

static void
test_list_reads_pod_fields_and_ready_condition_not_phase(void **state)
{
	static const char *const posts[] = {
	    "{\"name\":\"web-a\",\"labels\":{\"app\":\"web\"},\"phase\":\"Running\","
	    "\"ready\":true,\"podIP\":\"10.244.1.7\",\"nodeName\":\"node-1\"}",
	    /* Running but its readiness probe fails: must not count as ready. */
	    "{\"name\":\"web-b\",\"labels\":{\"app\":\"web\"},\"phase\":\"Running\","
	    "\"ready\":false,\"podIP\":\"10.244.1.8\",\"nodeName\":\"node-2\"}",
	    "{\"name\":\"web-c\",\"labels\":{\"app\":\"web\"},\"phase\":\"Pending\","
	    "\"ready\":false,\"podIP\":\"\",\"nodeName\":\"\"}",
	    "{\"name\":\"other\",\"labels\":{\"app\":\"db\"}}",
	};
	static const struct {
		const char *name, *phase, *ip, *node;
		bool        ready;
	} want[] = {
	    {"web-a", "Running", "10.244.1.7", "node-1", true},
	    {"web-b", "Running", "10.244.1.8", "node-2", false},
	    {"web-c", "Pending", "", "", false},
	};
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c   = client_for(&cfg);
	struct k8s_pod    *pods;

	for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++)
		fake_post(f, "/_fake/pods", posts[i]);
	expect_list(c, NS, "app=web", 3, &pods); /* sorted by name */
	for (size_t i = 0; i < 3; i++) {
		const struct k8s_pod *p = &pods[i];

		assert_string_equal(p->name, want[i].name);
		assert_string_equal(p->phase, want[i].phase);
		assert_int_equal(p->ready, want[i].ready);
		assert_false(p->deleting);
		assert_string_equal(p->pod_ip, want[i].ip);
		assert_string_equal(p->node_name, want[i].node);
		assert_int_equal(strlen(p->uid), 36);
		assert_true(p->created_us > clk_now_us() - 120 * 1000000LL &&
		            p->created_us <= clk_now_us());
	}
	assert_true(pods[0].ready_changed_us > 0);
	/* The selector travels URL-encoded, as kubectl sends it. */
	assert_has("last query", fake_last(f, "GET", "query"), "labelSelector=app%3Dweb");
	free(pods);
	k8s_client_free(c);
}

/* Deletes p with its uid as precondition; the request the fake saw is the
 * one the API documents. */
static void
delete_checked(const struct fake *f, struct k8s_client *c, const struct k8s_pod *p)
{
	char      want[512];
	bool      gone = true;
	chaos_why why  = {UNTOUCHED};

	assert_int_equal(k8s_delete_pod(c, NS, p->name, 0, p->uid, &gone, &why),
	                 CHAOS_OK);
	assert_false(gone);
	assert_string_equal(why.text, UNTOUCHED);
	snprintf(want, sizeof(want),
	         "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
	         "\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"%s\"}}",
	         p->uid);
	assert_string_equal(fake_last(f, "DELETE", "body"), want);
	snprintf(want, sizeof(want), "/api/v1/namespaces/staging/pods/%s", p->name);
	assert_string_equal(fake_last(f, "DELETE", "path"), want);
}

static void
test_delete_then_wait_ready_sees_new_pods_after_startup_delay(void **state)
{
	struct fake          *f   = *state;
	struct k8s_config     cfg = test_config(f);
	struct k8s_client    *c   = client_for(&cfg);
	struct k8s_pod       *pods;
	struct k8s_ready_pod *ready  = NULL;
	size_t                nready = 0;
	const char           *old[2];
	chaos_why             why = {UNTOUCHED};
	int64_t               t0;

	fake_post(f, CONFIG, "{\"startup_delay\":0.6,\"pending_delay\":0.2}");
	expect_list(c, NS, SEL, 2, &pods);
	assert_true(pods[0].ready && pods[1].ready);
	t0 = clk_now_us();
	for (size_t i = 0; i < 2; i++) {
		old[i] = pods[i].uid;
		delete_checked(f, c, &pods[i]);
	}
	assert_int_equal(k8s_wait_ready(c, NS, SEL, 2, old, 2,
	                                clk_mono_us() + 10 * 1000000LL, 50, &ready,
	                                &nready, &why),
	                 CHAOS_OK);
	assert_string_equal(why.text, UNTOUCHED);
	assert_int_equal(nready, 2);
	for (size_t i = 0; i < nready; i++) {
		int64_t after = ready[i].observed_us - t0;

		for (size_t j = 0; j < 2; j++) {
			assert_string_not_equal(ready[i].uid, old[j]);
			assert_string_not_equal(ready[i].name, pods[j].name);
		}
		/* Pending 0.2 s + Running-not-Ready 0.6 s, seen within a poll or two. */
		if (after < 750000 || after > 3000000)
			fail_msg("pod %s ready after %lld us; expected 0.8-3 s",
			         ready[i].name, (long long)after);
	}
	assert_true(ready[0].observed_us <= ready[1].observed_us);
	free(ready);
	free(pods);
	k8s_client_free(c);
}

static void
test_rotated_token_is_read_again(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c   = client_for(&cfg);

	expect_list(c, NS, SEL, 2, NULL);
	fake_post(f, CONFIG, "{\"token\":\"rotated-token\"}");
	write_file(f->token, "rotated-token");
	expect_list(c, NS, SEL, 2, NULL);
	k8s_client_free(c);
}

struct held_list {
	struct k8s_client *c;
	chaos_err          rc;
};

static void *
held_list_run(void *arg)
{
	struct held_list *h    = arg;
	struct k8s_pod   *pods = NULL;
	size_t            n    = 0;

	h->rc = k8s_list_pods(h->c, NS, SEL, &pods, &n, NULL);
	free(pods);
	return NULL;
}

/* The stall is switched by signals (SIGUSR1 on, SIGUSR2 off) and by the
 * control endpoint; a request held by a stall is answered once it ends. */
static void
test_stall_switches_at_run_time_by_signal_and_control(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *quick, *patient;
	struct k8s_pod    *pods = NULL;
	size_t             n;
	struct held_list   h;
	pthread_t          th;

	cfg.max_retries = -1;
	cfg.timeout_ms  = 300;
	quick           = client_for(&cfg);
	cfg.timeout_ms  = 10000;
	patient         = client_for(&cfg);
	expect_list(quick, NS, SEL, 2, NULL);
	kill(f->pid, SIGUSR1);
	fake_wait_stall(f, true, 0);
	assert_int_equal(k8s_list_pods(quick, NS, SEL, &pods, &n, NULL), CHAOS_ETIMEDOUT);
	kill(f->pid, SIGUSR2);
	fake_wait_stall(f, false, 0);
	expect_list(quick, NS, SEL, 2, NULL);

	fake_post(f, CONFIG, "{\"stall\":true}");
	h = (struct held_list) {patient, CHAOS_ESYS};
	assert_int_equal(pthread_create(&th, NULL, held_list_run, &h), 0);
	fake_wait_stall(f, true, 1); /* the request arrived and is held */
	fake_post(f, CONFIG, "{\"stall\":false}");
	pthread_join(th, NULL);
	assert_int_equal(h.rc, CHAOS_OK);
	k8s_client_free(quick);
	k8s_client_free(patient);
}

static void
test_in_cluster_config_uses_service_account_files(void **state)
{
	static const char *const files[][2] = {{"token", TOKEN}, {"namespace", NS}};
	struct fake             *f          = *state;
	struct k8s_config        cfg        = {0};
	struct k8s_client       *c;
	char                     sa[128], path[192], from[192], port[8], want[64];

	if (!have_openssl)
		skip();
	snprintf(sa, sizeof(sa), "%s/sa", f->dir);
	assert_int_equal(mkdir(sa, 0700), 0);
	cfg.sa_dir = sa;
	fake_restart_tls(f);
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", sa, files[i][0]);
		write_file(path, files[i][1]);
	}
	snprintf(from, sizeof(from), "%s/server.crt", f->dir);
	snprintf(path, sizeof(path), "%s/ca.crt", sa);
	assert_int_equal(rename(from, path), 0);
	snprintf(port, sizeof(port), "%u", f->port);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	c = client_for(&cfg);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	snprintf(want, sizeof(want), "https://127.0.0.1:%u", f->port);
	assert_string_equal(k8s_client_api_url(c), want);
	assert_string_equal(k8s_client_namespace(c), NS);
	expect_list(c, k8s_client_namespace(c), SEL, 2, NULL);
	k8s_client_free(c);
}

/* ---- the configuration, before anything is sent ---- */

struct config_case {
	const char *name;
	const char *api_url; /* NULL: in-cluster, from env_host/env_port */
	bool        allow_http;
	const char *env_host, *env_port; /* KUBERNETES_SERVICE_*; NULL: unset */
	const char *token;               /* the content of a new token file */
	const char *token_at;            /* ... or this path under the temp dir */
	mode_t      token_mode;          /* of the new token file; 0: 0600 */
	const char *ca_at;               /* a CA file path under the temp dir */
	chaos_err   want;
	const char *why_has[2];
	const char *want_url; /* k8s_client_api_url on success */
};

/* A row a case, laid out as a table. */
// clang-format off
static const struct config_case config_cases[] = {
	{"plain_http_needs_explicit_flag", "http://127.0.0.1:6443",
	 .want = CHAOS_EINVAL, .why_has = {"https", "plain http"}},
	{"other_scheme_is_refused", "ftp://example",
	 .want = CHAOS_EINVAL, .why_has = {"ftp://example", "scheme not allowed; allowed: https://"}},
	{"not_a_url_is_bad_usage", "notaurl", .allow_http = true,
	 .want = CHAOS_EINVAL, .why_has = {"Kubernetes API URL 'notaurl'", "not a URL"}},
	{"port_out_of_range_is_refused", "https://10.96.0.1:99999",
	 .want = CHAOS_EINVAL, .why_has = {"99999", "1..65535"}},
	{"url_with_query_is_refused", "https://10.96.0.1/api?watch=1",
	 .want = CHAOS_EINVAL, .why_has = {"query"}},
	{"trailing_slash_is_dropped", "http://127.0.0.1:6443/", .allow_http = true,
	 .want_url = "http://127.0.0.1:6443"},
	{"https_without_port_is_accepted", "https://kubernetes.default.svc",
	 .want_url = "https://kubernetes.default.svc"},
	{"outside_a_pod_without_url_is_environment", NULL,
	 .want = CHAOS_ENOENT, .why_has = {"KUBERNETES_SERVICE_HOST", "--kube-api"}},
	{"unusable_service_env_is_environment", NULL, .env_host = "10.96.0.1",
	 .env_port = "https", .want = CHAOS_ENOENT,
	 .why_has = {"KUBERNETES_SERVICE_HOST/PORT do not make a usable URL"}},
	{"missing_token_file_is_not_found", "https://10.96.0.1", .token_at = "no-token",
	 .want = CHAOS_ENOENT, .why_has = {"no-token", "is the service account token mounted?"}},
	{"unreadable_token_file_is_permission", "https://10.96.0.1", .token = TOKEN,
	 .token_mode = 0200, .want = CHAOS_EPERM, .why_has = {"Permission denied"}},
	{"token_with_spaces_is_refused", "https://10.96.0.1", .token = "Bearer " TOKEN,
	 .want = CHAOS_EINVAL, .why_has = {"spaces or control characters"}},
	{"empty_token_is_refused", "https://10.96.0.1", .token = "\n",
	 .want = CHAOS_EINVAL, .why_has = {"is empty"}},
	{"missing_ca_file_is_not_found", "https://10.96.0.1", .ca_at = "no-ca.crt",
	 .want = CHAOS_ENOENT, .why_has = {"CA file", "no-ca.crt"}},
};
// clang-format on

/* The configuration of one row; paths are built in buf. */
static struct k8s_config
config_of(const struct fake *f, const struct config_case *k, char (*buf)[192])
{
	struct k8s_config cfg = {.api_url    = k->api_url,
	                         .token_file = k->api_url != NULL ? f->token : NULL,
	                         .allow_http = k->allow_http,
	                         .sa_dir     = f->dir};

	if (k->token != NULL || k->token_at != NULL) {
		snprintf(buf[0], sizeof(buf[0]), "%s/%s", f->dir,
		         k->token_at != NULL ? k->token_at : "row-token");
		cfg.token_file = buf[0];
	}
	if (k->token != NULL) {
		write_file(buf[0], k->token);
		assert_int_equal(chmod(buf[0], k->token_mode ? k->token_mode : 0600), 0);
	}
	if (k->ca_at != NULL) {
		snprintf(buf[1], sizeof(buf[1]), "%s/%s", f->dir, k->ca_at);
		cfg.ca_file = buf[1];
	}
	return cfg;
}

static void
setenv_or_unset(const char *name, const char *value)
{
	if (value != NULL)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

static void
test_client_new_checks_its_configuration(void **state)
{
	const struct fake *f = *state;

	for (size_t i = 0; i < sizeof(config_cases) / sizeof(config_cases[0]); i++) {
		const struct config_case *k = &config_cases[i];
		char                      paths[2][192];
		struct k8s_config         cfg = config_of(f, k, paths);
		struct k8s_client        *c   = NULL;
		chaos_why                 why = {UNTOUCHED};
		chaos_err                 rc;

		/* root reads any file: the permission row needs another user */
		if (k->token_mode != 0 && geteuid() == 0)
			continue;
		setenv_or_unset("KUBERNETES_SERVICE_HOST", k->env_host);
		setenv_or_unset("KUBERNETES_SERVICE_PORT", k->env_port);
		rc = k8s_client_new(&cfg, &c, &why);
		unsetenv("KUBERNETES_SERVICE_HOST");
		unsetenv("KUBERNETES_SERVICE_PORT");
		if (rc != k->want)
			fail_msg("%s: %s (%s), want %s", k->name, chaos_strerror(rc),
			         why.text, chaos_strerror(k->want));
		if (rc == CHAOS_OK) {
			assert_string_equal(k8s_client_api_url(c), k->want_url);
			assert_string_equal(why.text, UNTOUCHED);
		}
		for (size_t j = 0; rc != CHAOS_OK && j < 2 && k->why_has[j] != NULL; j++)
			assert_has(k->name, why.text, k->why_has[j]);
		assert_true(rc == CHAOS_OK || c == NULL);
		k8s_client_free(c);
	}
}

/* ---- pure parsing ---- */

static void
test_parse_time_accepts_rfc3339_only(void **state)
{
	static const struct {
		const char *text;
		bool        ok;
		int64_t     us;
	} cases[] = {
	    {"2026-11-26T20:35:17Z", true, 1795725317LL * 1000000},
	    {"2026-11-26T20:35:17.123456Z", true, 1795725317LL * 1000000 + 123456},
	    {"2026-11-26T21:35:17+01:00", true, 1795725317LL * 1000000},
	    {"2026-11-26 20:35:17Z", false, 0},
	    {"2026-13-26T20:35:17Z", false, 0},
	    {"2026-11-26T20:35:17", false, 0},
	    {"2026-11-26T20:35:17Zjunk", false, 0},
	    {"+026-11-26T20:35:17Z", false, 0},
	    {NULL, false, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t us = 0;

		assert_int_equal(clk_parse_iso8601(cases[i].text, &us), cases[i].ok);
		if (cases[i].ok)
			assert_int_equal(us, cases[i].us);
	}
}

int
main(int argc, char **argv)
{
	char *py[] = {"python3", "-c", "import http.server, ssl", NULL};
	static struct CMUnitTest tests[N_API_CASES + 8] = {
	    cmocka_unit_test(test_parse_time_accepts_rfc3339_only),
	    cmocka_unit_test_setup_teardown(test_client_new_checks_its_configuration,
	                                    setup_dir, teardown),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_list_reads_pod_fields_and_ready_condition_not_phase),
	    T(test_delete_then_wait_ready_sees_new_pods_after_startup_delay),
	    T(test_rotated_token_is_read_again),
	    T(test_stall_switches_at_run_time_by_signal_and_control),
	    T(test_in_cluster_config_uses_service_account_files),
#undef T
	};
	size_t n = 7;

	for (size_t i = 0; i < N_API_CASES; i++)
		tests[n++] = (struct CMUnitTest) {api_cases[i].name, test_api_case, setup,
		                                  teardown, (void *)&api_cases[i]};
	if (argc < 2) {
		fprintf(stderr, "usage: %s tests/fake_k8s/server.py\n", argv[0]);
		return 2;
	}
	server_py = argv[1];
	if (run_quiet(py) != 0) {
		fprintf(stderr, "test_k8s: python3 not found; skipping\n");
		return 77;
	}
	have_openssl = run_words("openssl version") == 0;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return _cmocka_run_group_tests("test_k8s", tests, n, NULL, NULL);
}
