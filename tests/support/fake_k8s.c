// SPDX-License-Identifier: MIT
#include "tests/support/fake_k8s.h"

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "common/clock.h"
#include "tests/support/shell.h"
#include "tests/support/wait.h"

/* How long the fake has to end after SIGTERM before it gets SIGKILL. */
#define FAKE_K8S_TERM_MS 5000

static const char *fake_k8s_server_py;
static bool        fake_k8s_openssl;

int
fake_k8s_run_words(const char *fmt, ...)
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
	return shell_run_quiet(argv);
}

int
fake_k8s_init(int argc, char **argv)
{
	char *py[] = {"python3", "-c", "import http.server, ssl", NULL};

	if (argc < 2) {
		fprintf(stderr, "usage: %s tests/fake_k8s/server.py\n", argv[0]);
		return 2;
	}
	fake_k8s_server_py = argv[1];
	if (shell_run_quiet(py) != 0) {
		fprintf(stderr, "%s: python3 not found; skipping\n", argv[0]);
		return 77;
	}
	fake_k8s_openssl = fake_k8s_run_words("openssl version") == 0;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return -1;
}

bool
fake_k8s_have_openssl(void)
{
	return fake_k8s_openssl;
}

void
fake_k8s_write_file(const char *path, const char *text)
{
	char  tmp[256];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0);
}

void
fake_k8s_make_cert(const char *dir, const char *name)
{
	assert_int_equal(fake_k8s_run_words("openssl req -x509 -newkey ec -pkeyopt "
	                                    "ec_paramgen_curve:prime256v1 -nodes -days "
	                                    "1 -subj /CN=127.0.0.1 -addext "
	                                    "subjectAltName=IP:127.0.0.1 -keyout "
	                                    "%s/%s.key -out %s/%s.crt",
	                                    dir, name, dir, name),
	                 0);
}

/* The port the server prints on its first line, or 0 when it ended (or
 * said nothing for WAIT_GENEROUS_MS: a loaded machine starts python
 * slowly). */
static uint16_t
fake_k8s_read_port(int fd)
{
	char          line[32];
	size_t        len = 0;
	struct pollfd p   = {.fd = fd, .events = POLLIN};
	int64_t       end = clk_mono_us() + WAIT_GENEROUS_MS * 1000LL;

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

void
fake_k8s_start(struct fake_k8s *f, const char *const *extra)
{
	const char *argv[32] = {"python3",        fake_k8s_server_py,
	                        "--port",         "0",
	                        "--token",        FAKE_K8S_TOKEN,
	                        "--namespace",    FAKE_K8S_NS,
	                        "--workload",     "coordinator:" FAKE_K8S_SEL ":2",
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
	f->port = fake_k8s_read_port(pfd[0]);
	close(pfd[0]);
	assert_true(f->port != 0);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", f->port);
}

/* SIGTERM, then waits for the exit on a pidfd (an event, not a polling
 * loop); SIGKILL if it takes longer than FAKE_K8S_TERM_MS. */
static void
fake_k8s_stop(struct fake_k8s *f)
{
	int           pfd;
	struct pollfd p;

	if (f->pid <= 0)
		return;
	pfd = pidfd_open(f->pid, 0);
	kill(f->pid, SIGTERM);
	p = (struct pollfd) {.fd = pfd, .events = POLLIN};
	if (pfd < 0 || poll(&p, 1, FAKE_K8S_TERM_MS) != 1)
		kill(f->pid, SIGKILL);
	if (pfd >= 0)
		close(pfd);
	waitpid(f->pid, NULL, 0);
	f->pid = 0;
}

void
fake_k8s_restart_tls(struct fake_k8s *f)
{
	char        crt[128], key[128];
	const char *extra[] = {"--tls-cert", crt, "--tls-key", key, NULL};

	fake_k8s_make_cert(f->dir, "server");
	snprintf(crt, sizeof(crt), "%s/server.crt", f->dir);
	snprintf(key, sizeof(key), "%s/server.key", f->dir);
	fake_k8s_stop(f);
	fake_k8s_start(f, extra);
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%u", f->port);
}

static size_t
fake_k8s_sink(char *data, size_t size, size_t nmemb, void *arg)
{
	json_t     **out = arg;
	json_error_t je;

	json_decref(*out);
	*out = json_loadb(data, size * nmemb, 0, &je);
	return size * nmemb;
}

/* A control request to the fake; returns its JSON answer (caller decrefs). */
static json_t *
fake_k8s_ctl(const struct fake_k8s *f, const char *path, const char *body)
{
	char    url[128];
	CURL   *h    = curl_easy_init();
	json_t *out  = NULL;
	long    code = 0;

	snprintf(url, sizeof(url), "%s%s", f->url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L); /* our own test server */
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fake_k8s_sink);
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

void
fake_k8s_post(const struct fake_k8s *f, const char *path, const char *body)
{
	json_decref(fake_k8s_ctl(f, path, body));
}

size_t
fake_k8s_seen(const struct fake_k8s *f, const char *method, const char *prefix,
              const char *key, const char **last)
{
	static char buf[1024];
	json_t     *st = fake_k8s_ctl(f, "/_fake/stats", NULL), *r;
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

const char *
fake_k8s_last(const struct fake_k8s *f, const char *method, const char *key)
{
	const char *last;

	fake_k8s_seen(f, method, NULL, key, &last);
	return last;
}

struct fake_k8s_stall {
	const struct fake_k8s *f;
	bool                   want;
	long                   held;
};

static bool
fake_k8s_stall_is(void *arg)
{
	const struct fake_k8s_stall *w  = arg;
	json_t                      *st = fake_k8s_ctl(w->f, "/_fake/stats", NULL);
	bool ok = json_is_true(json_object_get(st, "stalled")) == w->want &&
	    json_integer_value(json_object_get(st, "held")) == w->held;

	json_decref(st);
	return ok;
}

void
fake_k8s_wait_stall(const struct fake_k8s *f, bool want, long held)
{
	struct fake_k8s_stall w = {f, want, held};

	if (!wait_until(fake_k8s_stall_is, &w, WAIT_GENEROUS_MS))
		fail_msg("the fake did not reach stalled=%d with %ld held requests", want,
		         held);
}

int
fake_k8s_setup_dir(void **state)
{
	struct fake_k8s *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->row = *state;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_k8s.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->token, sizeof(f->token), "%s/token", f->dir);
	fake_k8s_write_file(f->token, FAKE_K8S_TOKEN "\n");
	*state = f;
	return 0;
}

int
fake_k8s_setup(void **state)
{
	fake_k8s_setup_dir(state);
	fake_k8s_start(*state, NULL);
	return 0;
}

int
fake_k8s_teardown(void **state)
{
	struct fake_k8s *f = *state;

	fake_k8s_stop(f);
	fake_k8s_run_words("rm -rf %s", f->dir);
	free(f);
	return 0;
}

struct k8s_config
fake_k8s_config(const struct fake_k8s *f)
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

struct k8s_client *
fake_k8s_client(const struct k8s_config *cfg)
{
	struct k8s_client *c = NULL;
	chaos_why          why;
	chaos_err          rc = k8s_client_new(cfg, &c, &why);

	if (rc != CHAOS_OK)
		fail_msg("k8s_client_new: %s: %s", chaos_strerror(rc), why.text);
	return c;
}

void
fake_k8s_assert_has(const char *what, const char *text, const char *sub)
{
	if (strstr(text, sub) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", what, text, sub);
}

void
fake_k8s_expect_list(struct k8s_client *c, const char *ns, const char *sel, size_t want,
                     struct k8s_pod **out)
{
	struct k8s_pod *pods = NULL;
	size_t          n    = 0;
	chaos_why       why  = {FAKE_K8S_UNTOUCHED};
	chaos_err       rc   = k8s_list_pods(c, ns, sel, &pods, &n, &why);

	if (rc != CHAOS_OK)
		fail_msg("list %s/%s: %s: %s", ns, sel, chaos_strerror(rc), why.text);
	assert_string_equal(why.text, FAKE_K8S_UNTOUCHED);
	assert_int_equal(n, want);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(pods[i - 1].name, pods[i].name) < 0);
	if (out != NULL)
		*out = pods;
	else
		free(pods);
}
