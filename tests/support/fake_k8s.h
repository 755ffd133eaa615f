/* SPDX-License-Identifier: MIT */
/*
 * tests/fake_k8s/server.py for the Kubernetes driver's tests: a fake API
 * server on 127.0.0.1 that speaks the real API's JSON and status codes,
 * one per test (a fresh cluster: two Ready coordinator pods), killed
 * afterwards and also when the test process dies. With it: the temp
 * directory holding the token (and certificates), the client made for it,
 * and the checks the test files share. Failures are cmocka failures.
 */
#ifndef CHAOS_TESTS_FAKE_K8S_H
#define CHAOS_TESTS_FAKE_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "controller/k8s.h"

#define FAKE_K8S_TOKEN "test-token"
#define FAKE_K8S_NS "staging"
#define FAKE_K8S_SEL "app=coordinator"
#define FAKE_K8S_UNTOUCHED                                                               \
	"(untouched)" /* why's text before a call that must succeed                      \
	               */
#define FAKE_K8S_CONFIG "/_fake/config"

struct fake_k8s {
	pid_t       pid;
	uint16_t    port;
	char        url[64];
	char        dir[64];    /* temp dir: token, certificates, service account */
	char        token[128]; /* path of the token file */
	const void *row;        /* the test's initial state (a table row), or NULL */
};

/* What main() does first: argv[1] is the path of server.py. Returns -1 to
 * go on, or the status to exit with (2: usage; 77: no python3, skipped). */
int fake_k8s_init(int argc, char **argv);

/* Whether openssl can make certificates (the TLS tests skip without). */
bool fake_k8s_have_openssl(void);

/* cmocka setup: a temp dir with the token file; the initial state becomes
 * f->row and *state the struct fake_k8s. */
int fake_k8s_setup_dir(void **state);

/* cmocka setup: fake_k8s_setup_dir() and the server started. */
int fake_k8s_setup(void **state);

/* cmocka teardown for both: stops the server, removes the dir. */
int fake_k8s_teardown(void **state);

/* Starts server.py with extra arguments (NULL-terminated, or NULL). */
void fake_k8s_start(struct fake_k8s *f, const char *const *extra);

/* Restarts it with TLS (certificate dir/server.crt, made here). */
void fake_k8s_restart_tls(struct fake_k8s *f);

/* Writes text to path through a rename (a new inode, as kubelet's atomic
 * token update does). */
void fake_k8s_write_file(const char *path, const char *text);

/* A self-signed certificate for 127.0.0.1 at dir/name.{crt,key}. */
void fake_k8s_make_cert(const char *dir, const char *name);

/* Posts a control request (JSON body) to the fake. Controls are answered
 * even while the fake stalls the API. */
void fake_k8s_post(const struct fake_k8s *f, const char *path, const char *body);

/* How many API requests with this method ("*": any) and path prefix (NULL:
 * any) the fake has answered; field `key` of the last one (a static copy)
 * in *last when last is not NULL. */
size_t fake_k8s_seen(const struct fake_k8s *f, const char *method, const char *prefix,
                     const char *key, const char **last);

/* Field key of the last request with this method (a static copy). */
const char *fake_k8s_last(const struct fake_k8s *f, const char *method, const char *key);

/* Waits until the fake says stalled == want with `held` API requests held:
 * a signal or another thread's request has arrived, or a released one has
 * been let go. */
void fake_k8s_wait_stall(const struct fake_k8s *f, bool want, long held);

/* The client configuration for the fake: its URL, the token file, plain
 * http allowed, 5 s timeout, 20 ms backoff. */
struct k8s_config fake_k8s_config(const struct fake_k8s *f);

/* k8s_client_new() that must succeed. */
struct k8s_client *fake_k8s_client(const struct k8s_config *cfg);

/* Fails unless text contains sub; what names the text. */
void fake_k8s_assert_has(const char *what, const char *text, const char *sub);

/* Lists ns/sel and expects success with want pods, sorted by name without
 * duplicates, and why untouched. The caller frees the list when it keeps
 * it (out != NULL). */
void fake_k8s_expect_list(struct k8s_client *c, const char *ns, const char *sel,
                          size_t want, struct k8s_pod **out);

/* Runs a command line whose words have no spaces, silenced; its exit
 * status, or -1. */
int fake_k8s_run_words(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
