// SPDX-License-Identifier: MIT
/*
 * The Kubernetes driver in calls of several steps against the fake API
 * server (tests/support/fake_k8s.h): what a list reads of a pod, a delete
 * and the wait for its replacement, a rotated token, the fake's stall
 * switched at run time, the in-cluster configuration.
 *
 * argv[1] is the path of server.py.
 */
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/err.h"
#include "controller/k8s.h"
#include "tests/support/fake_k8s.h"

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
	struct fake_k8s   *f   = *state;
	struct k8s_config  cfg = fake_k8s_config(f);
	struct k8s_client *c   = fake_k8s_client(&cfg);
	struct k8s_pod    *pods;

	for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++)
		fake_k8s_post(f, "/_fake/pods", posts[i]);
	fake_k8s_expect_list(c, FAKE_K8S_NS, "app=web", 3, &pods); /* sorted by name */
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
	fake_k8s_assert_has("last query", fake_k8s_last(f, "GET", "query"),
	                    "labelSelector=app%3Dweb");
	free(pods);
	k8s_client_free(c);
}

/* Deletes p with its uid as precondition; the request the fake saw is the
 * one the API documents. */
static void
delete_checked(const struct fake_k8s *f, struct k8s_client *c, const struct k8s_pod *p)
{
	char      want[512];
	bool      gone = true;
	chaos_why why  = {FAKE_K8S_UNTOUCHED};

	assert_int_equal(k8s_delete_pod(c, FAKE_K8S_NS, p->name, 0, p->uid, &gone, &why),
	                 CHAOS_OK);
	assert_false(gone);
	assert_string_equal(why.text, FAKE_K8S_UNTOUCHED);
	snprintf(want, sizeof(want),
	         "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
	         "\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"%s\"}}",
	         p->uid);
	assert_string_equal(fake_k8s_last(f, "DELETE", "body"), want);
	snprintf(want, sizeof(want), "/api/v1/namespaces/staging/pods/%s", p->name);
	assert_string_equal(fake_k8s_last(f, "DELETE", "path"), want);
}

static void
test_delete_then_wait_ready_sees_new_pods_after_startup_delay(void **state)
{
	struct fake_k8s      *f   = *state;
	struct k8s_config     cfg = fake_k8s_config(f);
	struct k8s_client    *c   = fake_k8s_client(&cfg);
	struct k8s_pod       *pods;
	struct k8s_ready_pod *ready  = NULL;
	size_t                nready = 0;
	const char           *old[2];
	chaos_why             why = {FAKE_K8S_UNTOUCHED};
	int64_t               t0;

	fake_k8s_post(f, FAKE_K8S_CONFIG,
	              "{\"startup_delay\":0.6,\"pending_delay\":0.2}");
	fake_k8s_expect_list(c, FAKE_K8S_NS, FAKE_K8S_SEL, 2, &pods);
	assert_true(pods[0].ready && pods[1].ready);
	t0 = clk_now_us();
	for (size_t i = 0; i < 2; i++) {
		old[i] = pods[i].uid;
		delete_checked(f, c, &pods[i]);
	}
	assert_int_equal(k8s_wait_ready(c, FAKE_K8S_NS, FAKE_K8S_SEL, 2, old, 2,
	                                clk_mono_us() + 10 * 1000000LL, 50, &ready,
	                                &nready, &why),
	                 CHAOS_OK);
	assert_string_equal(why.text, FAKE_K8S_UNTOUCHED);
	assert_int_equal(nready, 2);
	for (size_t i = 0; i < nready; i++) {
		int64_t after = ready[i].observed_us - t0;

		for (size_t j = 0; j < 2; j++) {
			assert_string_not_equal(ready[i].uid, old[j]);
			assert_string_not_equal(ready[i].name, pods[j].name);
		}
		/* Pending 0.2 s + Running-not-Ready 0.6 s: never before; seen
		 * within a poll or two, or later on a loaded machine (loose). */
		if (after < 750000 || after > 8000000)
			fail_msg("pod %s ready after %lld us; expected 0.8-8 s",
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
	struct fake_k8s   *f   = *state;
	struct k8s_config  cfg = fake_k8s_config(f);
	struct k8s_client *c   = fake_k8s_client(&cfg);

	fake_k8s_expect_list(c, FAKE_K8S_NS, FAKE_K8S_SEL, 2, NULL);
	fake_k8s_post(f, FAKE_K8S_CONFIG, "{\"token\":\"rotated-token\"}");
	fake_k8s_write_file(f->token, "rotated-token");
	fake_k8s_expect_list(c, FAKE_K8S_NS, FAKE_K8S_SEL, 2, NULL);
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

	h->rc = k8s_list_pods(h->c, FAKE_K8S_NS, FAKE_K8S_SEL, &pods, &n, NULL);
	free(pods);
	return NULL;
}

/* The stall is switched by signals (SIGUSR1 on, SIGUSR2 off) and by the
 * control endpoint; a request held by a stall is answered once it ends. */
static void
test_stall_switches_at_run_time_by_signal_and_control(void **state)
{
	struct fake_k8s   *f   = *state;
	struct k8s_config  cfg = fake_k8s_config(f);
	struct k8s_client *quick, *patient;
	struct k8s_pod    *pods = NULL;
	size_t             n;
	struct held_list   h;
	pthread_t          th;

	cfg.max_retries = -1;
	cfg.timeout_ms  = 300;
	quick           = fake_k8s_client(&cfg);
	cfg.timeout_ms  = 10000;
	patient         = fake_k8s_client(&cfg);
	fake_k8s_expect_list(quick, FAKE_K8S_NS, FAKE_K8S_SEL, 2, NULL);
	kill(f->pid, SIGUSR1);
	fake_k8s_wait_stall(f, true, 0);
	assert_int_equal(k8s_list_pods(quick, FAKE_K8S_NS, FAKE_K8S_SEL, &pods, &n, NULL),
	                 CHAOS_ETIMEDOUT);
	kill(f->pid, SIGUSR2);
	fake_k8s_wait_stall(f, false, 0);
	fake_k8s_expect_list(quick, FAKE_K8S_NS, FAKE_K8S_SEL, 2, NULL);

	fake_k8s_post(f, FAKE_K8S_CONFIG, "{\"stall\":true}");
	h = (struct held_list) {patient, CHAOS_ESYS};
	assert_int_equal(pthread_create(&th, NULL, held_list_run, &h), 0);
	fake_k8s_wait_stall(f, true, 1); /* the request arrived and is held */
	fake_k8s_post(f, FAKE_K8S_CONFIG, "{\"stall\":false}");
	pthread_join(th, NULL);
	assert_int_equal(h.rc, CHAOS_OK);
	k8s_client_free(quick);
	k8s_client_free(patient);
}

static void
test_in_cluster_config_uses_service_account_files(void **state)
{
	static const char *const files[][2] = {{"token", FAKE_K8S_TOKEN},
	                                       {"namespace", FAKE_K8S_NS}};
	struct fake_k8s         *f          = *state;
	struct k8s_config        cfg        = {0};
	struct k8s_client       *c;
	char                     sa[128], path[192], from[192], port[8], want[64];

	if (!fake_k8s_have_openssl())
		skip();
	snprintf(sa, sizeof(sa), "%s/sa", f->dir);
	assert_int_equal(mkdir(sa, 0700), 0);
	cfg.sa_dir = sa;
	fake_k8s_restart_tls(f);
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", sa, files[i][0]);
		fake_k8s_write_file(path, files[i][1]);
	}
	snprintf(from, sizeof(from), "%s/server.crt", f->dir);
	snprintf(path, sizeof(path), "%s/ca.crt", sa);
	assert_int_equal(rename(from, path), 0);
	snprintf(port, sizeof(port), "%u", f->port);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	c = fake_k8s_client(&cfg);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	snprintf(want, sizeof(want), "https://127.0.0.1:%u", f->port);
	assert_string_equal(k8s_client_api_url(c), want);
	assert_string_equal(k8s_client_namespace(c), FAKE_K8S_NS);
	fake_k8s_expect_list(c, k8s_client_namespace(c), FAKE_K8S_SEL, 2, NULL);
	k8s_client_free(c);
}

int
main(int argc, char **argv)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_k8s_setup, fake_k8s_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_list_reads_pod_fields_and_ready_condition_not_phase),
	    T(test_delete_then_wait_ready_sees_new_pods_after_startup_delay),
	    T(test_rotated_token_is_read_again),
	    T(test_stall_switches_at_run_time_by_signal_and_control),
	    T(test_in_cluster_config_uses_service_account_files),
	};
#undef T
	int rv = fake_k8s_init(argc, argv);

	if (rv >= 0)
		return rv;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
