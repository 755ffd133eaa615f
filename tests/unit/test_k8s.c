// SPDX-License-Identifier: MIT
/*
 * The Kubernetes driver against tests/fake_k8s/server.py, a fake API server
 * on 127.0.0.1 that speaks the real API's JSON and status codes. Each test
 * starts its own server (a fresh cluster: two Ready coordinator pods) and
 * kills it afterwards; the server also dies with this process.
 *
 * argv[1] is the path of server.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

static const char *server_py;
static bool        have_openssl;

struct fake {
	pid_t    pid;
	uint16_t port;
	char     url[64];
	char     dir[64];    /* temp dir: token, certificates, service account */
	char     token[128]; /* path of the token file */
};

/* ---- helpers ---- */

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

/* Starts server.py with extra arguments (NULL-terminated). */
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

static size_t
sink(char *data, size_t size, size_t nmemb, void *arg)
{
	json_t     **out = arg;
	json_error_t je;

	json_decref(*out);
	*out = json_loadb(data, size * nmemb, 0, &je);
	return size * nmemb;
}

/* A control request to the fake; returns its JSON answer (caller decrefs). */
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

/* How many API requests with this method (and path prefix) the fake saw. */
static size_t
fake_count(const struct fake *f, const char *method, const char *path_prefix)
{
	json_t *st = fake_ctl(f, "/_fake/stats", NULL), *r;
	size_t  i, n = 0;

	json_array_foreach(json_object_get(st, "requests"), i, r)
	{
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *p = json_string_value(json_object_get(r, "path"));

		if (strcmp(m, method) == 0 &&
		    (path_prefix == NULL ||
		     strncmp(p, path_prefix, strlen(path_prefix)) == 0))
			n++;
	}
	json_decref(st);
	return n;
}

/* Field `key` of the fake's last API request with this method; static copy. */
static const char *
fake_last(const struct fake *f, const char *method, const char *key)
{
	static char buf[1024];
	json_t     *st = fake_ctl(f, "/_fake/stats", NULL), *r;
	size_t      i;

	buf[0] = '\0';
	json_array_foreach(json_object_get(st, "requests"), i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "method")), method) == 0)
			snprintf(buf, sizeof(buf), "%s",
			         json_string_value(json_object_get(r, key)));
	}
	json_decref(st);
	return buf;
}

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
client_for(const struct fake *f, const struct k8s_config *cfg)
{
	struct k8s_client *c = NULL;
	char               err[512];
	int                rc = k8s_client_new(cfg, &c, err, sizeof(err));

	if (rc != CHAOS_OK)
		fail_msg("k8s_client_new: %s: %s", chaos_strerror(rc), err);
	(void)f;
	return c;
}

static int
setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_k8s.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->token, sizeof(f->token), "%s/token", f->dir);
	write_file(f->token, TOKEN "\n");
	fake_start(f, NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fake *f      = *state;
	char        *argv[] = {"rm", "-rf", f->dir, NULL};

	fake_stop(f);
	run_quiet(argv);
	free(f);
	return 0;
}

static const struct k8s_pod *
find_pod(const struct k8s_pod *pods, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(pods[i].name, name) == 0)
			return &pods[i];
	fail_msg("pod %s not in the list", name);
	return NULL;
}

/* ---- list ---- */

static void
test_list_reads_pod_fields_and_ready_condition_not_phase(void **state)
{
	struct fake          *f    = *state;
	struct k8s_config     cfg  = test_config(f);
	struct k8s_client    *c    = client_for(f, &cfg);
	struct k8s_pod       *pods = NULL;
	const struct k8s_pod *p;
	size_t                n = 0;
	char                  err[512];

	fake_post(f, "/_fake/pods",
	          "{\"name\":\"web-a\",\"labels\":{\"app\":\"web\"},"
	          "\"phase\":\"Running\",\"ready\":true,\"podIP\":\"10.244.1.7\","
	          "\"nodeName\":\"node-1\"}");
	/* Running but its readiness probe fails: must not count as ready. */
	fake_post(f, "/_fake/pods",
	          "{\"name\":\"web-b\",\"labels\":{\"app\":\"web\"},"
	          "\"phase\":\"Running\",\"ready\":false,\"podIP\":\"10.244.1.8\","
	          "\"nodeName\":\"node-2\"}");
	fake_post(
	    f, "/_fake/pods",
	    "{\"name\":\"web-c\",\"labels\":{\"app\":\"web\"},"
	    "\"phase\":\"Pending\",\"ready\":false,\"podIP\":\"\",\"nodeName\":\"\"}");
	fake_post(f, "/_fake/pods", "{\"name\":\"other\",\"labels\":{\"app\":\"db\"}}");

	assert_int_equal(k8s_list_pods(c, NS, "app=web", &pods, &n, err, sizeof(err)),
	                 CHAOS_OK);
	assert_int_equal(n, 3);
	assert_string_equal(pods[0].name, "web-a"); /* sorted by name */
	p = find_pod(pods, n, "web-a");
	assert_string_equal(p->phase, "Running");
	assert_true(p->ready);
	assert_false(p->deleting);
	assert_string_equal(p->pod_ip, "10.244.1.7");
	assert_string_equal(p->node_name, "node-1");
	assert_int_equal(strlen(p->uid), 36);
	assert_true(p->created_us > clk_now_us() - 120 * 1000000LL &&
	            p->created_us <= clk_now_us());
	assert_true(p->ready_changed_us > 0);
	p = find_pod(pods, n, "web-b");
	assert_string_equal(p->phase, "Running");
	assert_false(p->ready);
	p = find_pod(pods, n, "web-c");
	assert_string_equal(p->phase, "Pending");
	assert_false(p->ready);
	assert_string_equal(p->pod_ip, "");
	assert_string_equal(p->node_name, "");
	/* The selector travels URL-encoded, as kubectl sends it. */
	assert_non_null(strstr(fake_last(f, "GET", "query"), "labelSelector=app%3Dweb"));
	free(pods);
	k8s_client_free(c);
}

static void
test_list_follows_limit_and_continue_pages(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c;
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               err[512];

	cfg.page_limit = 3;
	c              = client_for(f, &cfg);
	fake_post(f, "/_fake/workloads",
	          "{\"name\":\"chain\",\"labels\":{\"app\":\"chain\"},\"replicas\":7}");
	assert_int_equal(k8s_list_pods(c, NS, "app=chain", &pods, &n, err, sizeof(err)),
	                 CHAOS_OK);
	assert_int_equal(n, 7);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(pods[i - 1].name, pods[i].name) <
		            0); /* no duplicates */
	assert_int_equal(fake_count(f, "GET", "/api/"), 3);
	assert_non_null(strstr(fake_last(f, "GET", "query"), "continue="));
	assert_non_null(strstr(fake_last(f, "GET", "query"), "limit=3"));
	free(pods);
	k8s_client_free(c);
}

static void
test_list_starts_over_when_continue_token_expired(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c;
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               err[512];

	cfg.page_limit = 3;
	c              = client_for(f, &cfg);
	fake_post(f, "/_fake/workloads",
	          "{\"name\":\"chain\",\"labels\":{\"app\":\"chain\"},\"replicas\":7}");
	fake_post(f, "/_fake/config", "{\"expire_continue\":1}");
	assert_int_equal(k8s_list_pods(c, NS, "app=chain", &pods, &n, err, sizeof(err)),
	                 CHAOS_OK);
	assert_int_equal(n, 7);
	/* page 1, 410 on page 2, then pages 1-3 again */
	assert_int_equal(fake_count(f, "GET", "/api/"), 5);
	free(pods);
	k8s_client_free(c);
}

static void
test_list_of_empty_selection_is_empty(void **state)
{
	struct fake       *f    = *state;
	struct k8s_config  cfg  = test_config(f);
	struct k8s_client *c    = client_for(f, &cfg);
	struct k8s_pod    *pods = (struct k8s_pod *)&cfg; /* must be overwritten */
	size_t             n    = 99;
	char               err[512];

	assert_int_equal(k8s_list_pods(c, NS, "app=nothing", &pods, &n, err, sizeof(err)),
	                 CHAOS_OK);
	assert_int_equal(n, 0);
	assert_null(pods);
	k8s_client_free(c);
}

/* ---- delete and recovery ---- */

static void
test_delete_then_wait_ready_sees_new_pods_after_startup_delay(void **state)
{
	struct fake          *f     = *state;
	struct k8s_config     cfg   = test_config(f);
	struct k8s_client    *c     = client_for(f, &cfg);
	struct k8s_pod       *pods  = NULL;
	struct k8s_ready_pod *ready = NULL;
	size_t                n = 0, nready = 0;
	const char           *old[2];
	char                  err[512], body[512];
	int64_t               t0;
	bool                  gone = true;

	fake_post(f, "/_fake/config", "{\"startup_delay\":0.6,\"pending_delay\":0.2}");
	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_OK);
	assert_int_equal(n, 2);
	assert_true(pods[0].ready && pods[1].ready);
	t0 = clk_now_us();
	for (size_t i = 0; i < 2; i++) {
		old[i] = pods[i].uid;
		assert_int_equal(k8s_delete_pod(c, NS, pods[i].name, 0, pods[i].uid,
		                                &gone, err, sizeof(err)),
		                 CHAOS_OK);
		assert_false(gone);
	}
	snprintf(body, sizeof(body),
	         "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
	         "\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"%s\"}}",
	         pods[1].uid);
	assert_string_equal(fake_last(f, "DELETE", "body"), body);
	snprintf(body, sizeof(body), "/api/v1/namespaces/staging/pods/%s", pods[1].name);
	assert_string_equal(fake_last(f, "DELETE", "path"), body);

	assert_int_equal(k8s_wait_ready(c, NS, SEL, 2, old, 2,
	                                clk_mono_us() + 10 * 1000000LL, 50, &ready,
	                                &nready, err, sizeof(err)),
	                 CHAOS_OK);
	assert_int_equal(nready, 2);
	for (size_t i = 0; i < nready; i++) {
		int64_t after = ready[i].observed_us - t0;

		assert_string_not_equal(ready[i].uid, old[0]);
		assert_string_not_equal(ready[i].uid, old[1]);
		assert_string_not_equal(ready[i].name, pods[0].name);
		assert_string_not_equal(ready[i].name, pods[1].name);
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
test_delete_unknown_pod_is_already_gone(void **state)
{
	struct fake       *f    = *state;
	struct k8s_config  cfg  = test_config(f);
	struct k8s_client *c    = client_for(f, &cfg);
	bool               gone = false;
	char               err[512];

	assert_int_equal(k8s_delete_pod(c, NS, "coordinator-gone-x1", 0, NULL, &gone, err,
	                                sizeof(err)),
	                 CHAOS_OK);
	assert_true(gone);
	assert_non_null(strstr(err, "already gone"));
	k8s_client_free(c);
}

static void
test_delete_with_stale_uid_leaves_replacement_alone(void **state)
{
	struct fake       *f    = *state;
	struct k8s_config  cfg  = test_config(f);
	struct k8s_client *c    = client_for(f, &cfg);
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	bool               gone = false;
	char               err[512];

	fake_post(f, "/_fake/pods", "{\"name\":\"db-0\",\"labels\":{\"app\":\"db\"}}");
	assert_int_equal(k8s_delete_pod(c, NS, "db-0", 0,
	                                "00000000-0000-0000-0000-000000000000", &gone,
	                                err, sizeof(err)),
	                 CHAOS_OK);
	assert_true(gone);
	assert_non_null(strstr(err, "replacement"));
	assert_int_equal(k8s_list_pods(c, NS, "app=db", &pods, &n, err, sizeof(err)),
	                 CHAOS_OK);
	assert_int_equal(n, 1);
	free(pods);
	k8s_client_free(c);
}

static void
test_wait_ready_times_out_with_what_recovered(void **state)
{
	struct fake          *f     = *state;
	struct k8s_config     cfg   = test_config(f);
	struct k8s_client    *c     = client_for(f, &cfg);
	struct k8s_ready_pod *ready = NULL;
	size_t                n     = 0;
	char                  err[512];
	int64_t               start = clk_mono_us();

	assert_int_equal(k8s_wait_ready(c, NS, SEL, 3, NULL, 0, start + 400000, 100,
	                                &ready, &n, err, sizeof(err)),
	                 CHAOS_ETIMEDOUT);
	assert_int_equal(n, 2);
	assert_non_null(strstr(err, "2 of 3"));
	assert_true(clk_mono_us() - start < 2000000);
	free(ready);
	k8s_client_free(c);
}

static void
test_wait_ready_rides_out_server_errors(void **state)
{
	struct fake          *f   = *state;
	struct k8s_config     cfg = test_config(f);
	struct k8s_client    *c;
	struct k8s_ready_pod *ready = NULL;
	size_t                n     = 0;
	char                  err[512];

	cfg.max_retries = -1; /* the wait's polls are the retries */
	c               = client_for(f, &cfg);
	fake_post(f, "/_fake/config",
	          "{\"faults\":[{\"method\":\"GET\",\"status\":503,\"count\":3}]}");
	assert_int_equal(k8s_wait_ready(c, NS, SEL, 2, NULL, 0, clk_mono_us() + 5000000,
	                                20, &ready, &n, err, sizeof(err)),
	                 CHAOS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(fake_count(f, "GET", "/api/"), 4);
	free(ready);
	k8s_client_free(c);
}

/* ---- errors ---- */

static void
test_delete_forbidden_names_verb_resource_and_role_rule(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c   = client_for(f, &cfg);
	char               err[1024];

	fake_post(f, "/_fake/config",
	          "{\"faults\":[{\"method\":\"DELETE\",\"status\":403}]}");
	assert_int_equal(k8s_delete_pod(c, NS, "x", 0, NULL, NULL, err, sizeof(err)),
	                 CHAOS_EPERM);
	print_message("  err: %s\n", err);
	assert_non_null(strstr(err, "forbidden"));
	assert_non_null(
	    strstr(err, "cannot \"delete\" \"pods\" in namespace \"staging\""));
	assert_non_null(strstr(
	    err, "{apiGroups: [\"\"], resources: [\"pods\"], verbs: [\"delete\"]}"));
	assert_non_null(strstr(err, "system:serviceaccount:chaos:chaos-controller"));
	assert_int_equal(fake_count(f, "DELETE", NULL), 1);
	k8s_client_free(c);
}

static void
test_list_forbidden_names_list_verb(void **state)
{
	struct fake       *f    = *state;
	struct k8s_config  cfg  = test_config(f);
	struct k8s_client *c    = client_for(f, &cfg);
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               err[1024];

	fake_post(f, "/_fake/config",
	          "{\"faults\":[{\"method\":\"GET\",\"status\":403}]}");
	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_EPERM);
	print_message("  err: %s\n", err);
	assert_non_null(strstr(err, "cannot \"list\" \"pods\""));
	assert_non_null(strstr(err, "verbs: [\"list\"]"));
	assert_int_equal(fake_count(f, "GET", "/api/"), 1); /* a 403 is not retried */
	k8s_client_free(c);
}

static void
test_wrong_token_is_unauthorized(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c;
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               err[1024];

	write_file(f->token, "expired-token\n");
	c = client_for(f, &cfg);
	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_EPERM);
	print_message("  err: %s\n", err);
	assert_non_null(strstr(err, "401"));
	assert_non_null(strstr(err, "invalid or expired"));
	assert_non_null(strstr(err, f->token));
	k8s_client_free(c);
}

static void
test_rotated_token_is_read_again(void **state)
{
	struct fake       *f    = *state;
	struct k8s_config  cfg  = test_config(f);
	struct k8s_client *c    = client_for(f, &cfg);
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               err[1024];

	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_OK);
	free(pods);
	fake_post(f, "/_fake/config", "{\"token\":\"rotated-token\"}");
	write_file(f->token, "rotated-token");
	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_OK);
	assert_int_equal(n, 2);
	free(pods);
	k8s_client_free(c);
}

static void
test_list_retries_5xx_then_succeeds(void **state)
{
	struct fake       *f    = *state;
	struct k8s_config  cfg  = test_config(f);
	struct k8s_client *c    = client_for(f, &cfg);
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               err[1024];

	fake_post(f, "/_fake/config",
	          "{\"faults\":[{\"method\":\"GET\",\"status\":503,\"count\":2}]}");
	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_OK);
	assert_int_equal(n, 2);
	assert_string_equal(err, "");
	assert_int_equal(fake_count(f, "GET", "/api/"), 3);
	free(pods);
	k8s_client_free(c);
}

static void
test_list_5xx_gives_up_with_status_message(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c;
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               err[1024];

	cfg.max_retries = 2;
	c               = client_for(f, &cfg);
	fake_post(f, "/_fake/config",
	          "{\"faults\":[{\"method\":\"GET\",\"status\":500}]}");
	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_ESYS);
	print_message("  err: %s\n", err);
	assert_non_null(strstr(err, "500 InternalError"));
	assert_non_null(strstr(err, "etcdserver: request timed out"));
	assert_non_null(strstr(err, "3 attempts"));
	assert_int_equal(fake_count(f, "GET", "/api/"), 3);
	k8s_client_free(c);
}

static void
test_list_429_honours_retry_after(void **state)
{
	struct fake       *f    = *state;
	struct k8s_config  cfg  = test_config(f);
	struct k8s_client *c    = client_for(f, &cfg);
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               err[1024];
	int64_t            t0 = clk_mono_us();

	fake_post(f, "/_fake/config",
	          "{\"faults\":[{\"method\":\"GET\",\"status\":429,\"count\":1}]}");
	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_OK);
	assert_true(clk_mono_us() - t0 >= 900000); /* Retry-After: 1 */
	free(pods);
	k8s_client_free(c);
}

static void
test_delete_5xx_is_not_retried(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c   = client_for(f, &cfg);
	char               err[1024];

	fake_post(f, "/_fake/config",
	          "{\"faults\":[{\"method\":\"DELETE\",\"status\":503}]}");
	assert_int_equal(k8s_delete_pod(c, NS, "x", 0, NULL, NULL, err, sizeof(err)),
	                 CHAOS_ESYS);
	print_message("  err: %s\n", err);
	assert_non_null(strstr(err, "503 ServiceUnavailable"));
	assert_non_null(
	    strstr(err, "the server is currently unable to handle the request"));
	assert_int_equal(fake_count(f, "DELETE", NULL), 1);
	k8s_client_free(c);
}

static void
test_not_an_api_server_is_reported(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c;
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               url[96], err[1024];

	snprintf(url, sizeof(url), "%s/not-k8s", f->url);
	cfg.api_url = url;
	c           = client_for(f, &cfg);
	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_ENOENT);
	print_message("  err: %s\n", err);
	assert_non_null(strstr(err, "404 page not found"));
	k8s_client_free(c);
}

static void
test_connection_refused_says_what_to_check(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c;
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               url[64], err[1024];
	struct sockaddr_in sa  = {.sin_family      = AF_INET,
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t          len = sizeof(sa);
	int                fd  = socket(AF_INET, SOCK_STREAM, 0);

	/* A port that was free a moment ago and has no listener. */
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", ntohs(sa.sin_port));
	cfg.api_url = url;
	c           = client_for(f, &cfg);
	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_ECONN);
	print_message("  err: %s\n", err);
	assert_non_null(strstr(err, url));
	assert_non_null(strstr(err, "Connection refused"));
	assert_non_null(strstr(err, "check the API URL"));
	k8s_client_free(c);
}

/* ---- configuration and TLS ---- */

static void
test_plain_http_needs_explicit_flag(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c   = NULL;
	char               err[512];

	cfg.allow_http = false;
	assert_int_equal(k8s_client_new(&cfg, &c, err, sizeof(err)), CHAOS_EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "https"));
	cfg.api_url = "ftp://example";
	assert_int_equal(k8s_client_new(&cfg, &c, err, sizeof(err)), CHAOS_EINVAL);
}

static void
test_bad_names_are_refused_before_sending(void **state)
{
	struct fake       *f    = *state;
	struct k8s_config  cfg  = test_config(f);
	struct k8s_client *c    = client_for(f, &cfg);
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               err[512];

	assert_int_equal(k8s_list_pods(c, "Staging", SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_EINVAL);
	assert_int_equal(
	    k8s_delete_pod(c, NS, "../secrets/x", 0, NULL, NULL, err, sizeof(err)),
	    CHAOS_EINVAL);
	assert_int_equal(k8s_delete_pod(c, NS, "x", -1, NULL, NULL, err, sizeof(err)),
	                 CHAOS_EINVAL);
	assert_int_equal(fake_count(f, "GET", "/api/") + fake_count(f, "DELETE", NULL),
	                 0);
	k8s_client_free(c);
}

/* A self-signed certificate for 127.0.0.1 at dir/name.{crt,key}. */
static void
make_cert(const char *dir, const char *name)
{
	char  crt[128], key[128];
	char *argv[] = {"openssl",
	                "req",
	                "-x509",
	                "-newkey",
	                "ec",
	                "-pkeyopt",
	                "ec_paramgen_curve:prime256v1",
	                "-nodes",
	                "-days",
	                "1",
	                "-subj",
	                "/CN=127.0.0.1",
	                "-addext",
	                "subjectAltName=IP:127.0.0.1",
	                "-keyout",
	                key,
	                "-out",
	                crt,
	                NULL};

	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	assert_int_equal(run_quiet(argv), 0);
}

/* Restarts the fake with TLS; fills the paths of its certificate. */
static void
fake_restart_tls(struct fake *f, char *crt, size_t len)
{
	char key[128];

	make_cert(f->dir, "server");
	snprintf(crt, len, "%s/server.crt", f->dir);
	snprintf(key, sizeof(key), "%s/server.key", f->dir);
	fake_stop(f);
	{
		const char *extra[] = {"--tls-cert", crt, "--tls-key", key, NULL};

		fake_start(f, extra);
	}
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%u", f->port);
}

static void
test_https_checks_the_server_against_the_ca(void **state)
{
	struct fake       *f   = *state;
	struct k8s_config  cfg = test_config(f);
	struct k8s_client *c;
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               crt[128], other[128], err[1024];

	if (!have_openssl)
		skip();
	fake_restart_tls(f, crt, sizeof(crt));
	cfg.api_url    = f->url;
	cfg.allow_http = false;
	cfg.ca_file    = crt;
	c              = client_for(f, &cfg);
	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_OK);
	assert_int_equal(n, 2);
	free(pods);
	k8s_client_free(c);

	make_cert(f->dir, "other");
	snprintf(other, sizeof(other), "%s/other.crt", f->dir);
	cfg.ca_file = other;
	c           = client_for(f, &cfg);
	assert_int_equal(k8s_list_pods(c, NS, SEL, &pods, &n, err, sizeof(err)),
	                 CHAOS_ECONN);
	print_message("  err: %s\n", err);
	assert_non_null(strstr(err, "TLS"));
	assert_non_null(strstr(err, other));
	assert_non_null(strstr(err, "CA"));
	k8s_client_free(c);
}

static void
test_in_cluster_config_uses_service_account_files(void **state)
{
	struct fake       *f    = *state;
	struct k8s_config  cfg  = {0};
	struct k8s_client *c    = NULL;
	struct k8s_pod    *pods = NULL;
	size_t             n    = 0;
	char               crt[128], sa[128], path[192], port[8], want[64], err[1024];

	snprintf(sa, sizeof(sa), "%s/sa", f->dir);
	assert_int_equal(mkdir(sa, 0700), 0);
	cfg.sa_dir = sa;
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(k8s_client_new(&cfg, &c, err, sizeof(err)), CHAOS_EINVAL);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
	if (!have_openssl)
		skip();
	fake_restart_tls(f, crt, sizeof(crt));
	snprintf(path, sizeof(path), "%s/token", sa);
	write_file(path, TOKEN);
	snprintf(path, sizeof(path), "%s/namespace", sa);
	write_file(path, NS);
	snprintf(path, sizeof(path), "%s/ca.crt", sa);
	assert_int_equal(rename(crt, path), 0);
	snprintf(port, sizeof(port), "%u", f->port);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	c = client_for(f, &cfg);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	snprintf(want, sizeof(want), "https://127.0.0.1:%u", f->port);
	assert_string_equal(k8s_client_api_url(c), want);
	assert_string_equal(k8s_client_namespace(c), NS);
	assert_int_equal(
	    k8s_list_pods(c, k8s_client_namespace(c), SEL, &pods, &n, err, sizeof(err)),
	    CHAOS_OK);
	assert_int_equal(n, 2);
	free(pods);
	k8s_client_free(c);
}

/* ---- pure parsing ---- */

static void
test_parse_time_accepts_rfc3339_only(void **state)
{
	int64_t us = 0;

	(void)state;
	assert_true(clk_parse_iso8601("2026-11-26T20:35:17Z", &us));
	assert_int_equal(us, 1795725317LL * 1000000);
	assert_true(clk_parse_iso8601("2026-11-26T20:35:17.123456Z", &us));
	assert_int_equal(us, 1795725317LL * 1000000 + 123456);
	assert_true(clk_parse_iso8601("2026-11-26T21:35:17+01:00", &us));
	assert_int_equal(us, 1795725317LL * 1000000);
	assert_false(clk_parse_iso8601("2026-11-26 20:35:17Z", &us));
	assert_false(clk_parse_iso8601("2026-13-26T20:35:17Z", &us));
	assert_false(clk_parse_iso8601("2026-11-26T20:35:17", &us));
	assert_false(clk_parse_iso8601("2026-11-26T20:35:17Zjunk", &us));
	assert_false(clk_parse_iso8601("+026-11-26T20:35:17Z", &us));
	assert_false(clk_parse_iso8601(NULL, &us));
}

static bool
have_program(char *name)
{
	char *argv[] = {name, "version", NULL};

	return run_quiet(argv) == 0;
}

int
main(int argc, char **argv)
{
	char                   *py[] = {"python3", "-c", "import http.server, ssl", NULL};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_time_accepts_rfc3339_only),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_list_reads_pod_fields_and_ready_condition_not_phase),
	    T(test_list_follows_limit_and_continue_pages),
	    T(test_list_starts_over_when_continue_token_expired),
	    T(test_list_of_empty_selection_is_empty),
	    T(test_delete_then_wait_ready_sees_new_pods_after_startup_delay),
	    T(test_delete_unknown_pod_is_already_gone),
	    T(test_delete_with_stale_uid_leaves_replacement_alone),
	    T(test_wait_ready_times_out_with_what_recovered),
	    T(test_wait_ready_rides_out_server_errors),
	    T(test_delete_forbidden_names_verb_resource_and_role_rule),
	    T(test_list_forbidden_names_list_verb),
	    T(test_wrong_token_is_unauthorized),
	    T(test_rotated_token_is_read_again),
	    T(test_list_retries_5xx_then_succeeds),
	    T(test_list_5xx_gives_up_with_status_message),
	    T(test_list_429_honours_retry_after),
	    T(test_delete_5xx_is_not_retried),
	    T(test_not_an_api_server_is_reported),
	    T(test_connection_refused_says_what_to_check),
	    T(test_plain_http_needs_explicit_flag),
	    T(test_bad_names_are_refused_before_sending),
	    T(test_https_checks_the_server_against_the_ca),
	    T(test_in_cluster_config_uses_service_account_files),
#undef T
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s tests/fake_k8s/server.py\n", argv[0]);
		return 2;
	}
	server_py = argv[1];
	if (run_quiet(py) != 0) {
		fprintf(stderr, "test_k8s: python3 not found; skipping\n");
		return 77;
	}
	have_openssl = have_program("openssl");
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
