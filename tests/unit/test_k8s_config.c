// SPDX-License-Identifier: MIT
/*
 * The Kubernetes driver's configuration, checked by k8s_client_new() before
 * anything is sent (rows of a table; no server), and the RFC 3339 times the
 * API hands back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "controller/k8s.h"
#include "tests/support/fake_k8s.h"

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
	{"unreadable_token_file_is_permission", "https://10.96.0.1", .token = FAKE_K8S_TOKEN,
	 .token_mode = 0200, .want = CHAOS_EPERM, .why_has = {"Permission denied"}},
	{"token_with_spaces_is_refused", "https://10.96.0.1", .token = "Bearer " FAKE_K8S_TOKEN,
	 .want = CHAOS_EINVAL, .why_has = {"spaces or control characters"}},
	{"empty_token_is_refused", "https://10.96.0.1", .token = "\n",
	 .want = CHAOS_EINVAL, .why_has = {"is empty"}},
	{"missing_ca_file_is_not_found", "https://10.96.0.1", .ca_at = "no-ca.crt",
	 .want = CHAOS_ENOENT, .why_has = {"CA file", "no-ca.crt"}},
};
// clang-format on

/* The configuration of one row; paths are built in buf. */
static struct k8s_config
config_of(const struct fake_k8s *f, const struct config_case *k, char (*buf)[192])
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
		fake_k8s_write_file(buf[0], k->token);
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
	const struct fake_k8s *f = *state;

	for (size_t i = 0; i < sizeof(config_cases) / sizeof(config_cases[0]); i++) {
		const struct config_case *k = &config_cases[i];
		char                      paths[2][192];
		struct k8s_config         cfg = config_of(f, k, paths);
		struct k8s_client        *c   = NULL;
		chaos_why                 why = {FAKE_K8S_UNTOUCHED};
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
			assert_string_equal(why.text, FAKE_K8S_UNTOUCHED);
		}
		for (size_t j = 0; rc != CHAOS_OK && j < 2 && k->why_has[j] != NULL; j++)
			fake_k8s_assert_has(k->name, why.text, k->why_has[j]);
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
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_time_accepts_rfc3339_only),
	    cmocka_unit_test_setup_teardown(test_client_new_checks_its_configuration,
	                                    fake_k8s_setup_dir, fake_k8s_teardown),
	};

	(void)argc;
	(void)argv;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
