/* SPDX-License-Identifier: MIT */
/*
 * Kubernetes platform driver (DESIGN section 4): list pods by label selector,
 * read their Ready condition, delete pods, and wait for replacements to
 * become Ready. Plain REST over libcurl + jansson against the API server,
 * with the in-cluster service account or an explicit URL, token and CA.
 *
 * A client is used by one thread at a time (one curl easy handle, kept so
 * the TLS connection is reused). Every function that can fail returns a
 * chaos_err and takes a `chaos_why *why` last (NULL allowed), written only
 * on failure with one line that says what to do:
 *   CHAOS_EINVAL    bad usage: an unusable API URL (not http(s), plain http
 *                   without allow_http, no host, a query), a bad name or
 *                   grace period, a token file that is not a bare token, or
 *                   400/422 from the API
 *   CHAOS_ENOENT    not running in a pod (KUBERNETES_SERVICE_HOST/PORT
 *                   unset or unusable), a token or CA file that does not
 *                   exist, or 404 on a list (wrong URL: not a Kubernetes API)
 *   CHAOS_EPERM     a token or CA file we may not read, 403 (names the verb,
 *                   resource, namespace and the Role rule to add) or 401
 *                   (token invalid or expired)
 *   CHAOS_ECONN     API unreachable, refused, TLS failure (names the URL and
 *                   the CA file to check)
 *   CHAOS_ETIMEDOUT request or wait deadline passed
 *   CHAOS_ESYS      5xx from the API (with its Status message)
 *   CHAOS_EBUSY     429 Too Many Requests after the retries
 *   CHAOS_EPROTO    an answer that is not the JSON the API sends
 *   CHAOS_ETOOBIG   an answer or a list over the driver's bounds
 *   CHAOS_ENOMEM    out of memory
 * GETs are retried on 5xx, 429 and dropped connections, a bounded number of
 * times with exponential backoff; a DELETE is never retried (the first one
 * may have been applied).
 */
#ifndef CHAOS_CONTROLLER_K8S_H
#define CHAOS_CONTROLLER_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define K8S_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define K8S_NAME_LEN 254 /* DNS-1123 subdomain (253) + NUL */
#define K8S_UID_LEN 40
#define K8S_PHASE_LEN 16
#define K8S_IP_LEN 46

struct k8s_config {
	/* API server URL ("https://10.96.0.1:443"). NULL: in-cluster, from
	 * KUBERNETES_SERVICE_HOST/PORT and the service account directory. */
	const char *api_url;
	/* Bearer token file, re-read when it changes (kubelet rotates it).
	 * NULL: <sa_dir>/token in-cluster, none with api_url; "": none. */
	const char *token_file;
	/* CA bundle for https. NULL: <sa_dir>/ca.crt in-cluster, the system
	 * CAs with api_url; "": the system CAs. */
	const char *ca_file;
	const char *sa_dir;             /* NULL: K8S_SA_DIR (tests point it elsewhere) */
	bool        allow_http;         /* accept http:// (tests only); https otherwise */
	long        timeout_ms;         /* whole request; 0: 10000 */
	long        connect_timeout_ms; /* 0: 3000 */
	int         max_retries;        /* GET retries; 0: 3, negative: none */
	long        backoff_ms;         /* first retry delay, doubled each time; 0: 200 */
	unsigned    page_limit;         /* list page size (limit=); 0: 500 */
};

struct k8s_client;

/* One pod as the API reports it. Times are microseconds since the epoch
 * (the API gives whole seconds); 0 when absent. */
struct k8s_pod {
	char    name[K8S_NAME_LEN];
	char    uid[K8S_UID_LEN];
	char    phase[K8S_PHASE_LEN]; /* Pending, Running, Succeeded, Failed, Unknown */
	bool    ready;                /* condition Ready has status "True" */
	bool    deleting;             /* metadata.deletionTimestamp is set */
	char    pod_ip[K8S_IP_LEN];   /* "" until the pod has one */
	char    node_name[K8S_NAME_LEN];
	int64_t created_us;       /* metadata.creationTimestamp */
	int64_t ready_changed_us; /* Ready condition's lastTransitionTime */
};

/* A pod seen Ready by k8s_wait_ready. */
struct k8s_ready_pod {
	char name[K8S_NAME_LEN];
	char uid[K8S_UID_LEN];
	/* Controller wall clock when the first list showing it Ready came
	 * back: at most one poll interval after it became Ready. */
	int64_t observed_us;
	int64_t ready_changed_us; /* the API's lastTransitionTime (whole seconds) */
};

/* Checks the configuration (the API URL with url_parse, the token and CA
 * files, the in-cluster environment) and prepares a client; nothing is sent
 * yet, so an unreachable API shows only on the first request. *out is
 * written only on success; free it with k8s_client_free(). CHAOS_EINVAL for
 * an unusable URL or token file, CHAOS_ENOENT outside a pod without api_url
 * or for a missing file, CHAOS_EPERM for an unreadable one. */
chaos_err k8s_client_new(const struct k8s_config *cfg, struct k8s_client **out,
                         chaos_why *why);

void k8s_client_free(struct k8s_client *c);

/* Checks url as an API server's base URL, as k8s_client_new() does, for a
 * command line to refuse it while it parses: https:// (http:// too when
 * allow_http) with a host, no query or fragment. CHAOS_EINVAL with why. */
chaos_err k8s_url_check(const char *url, bool allow_http, chaos_why *why);

/* The API URL in use (without a trailing slash). */
const char *k8s_client_api_url(const struct k8s_client *c);

/* The namespace of the service account (in-cluster) or "" when unknown:
 * the default for --namespace when the controller runs in the cluster. */
const char *k8s_client_namespace(const struct k8s_client *c);

/* Lists the pods of namespace ns matching label_selector (NULL or "" = all),
 * following limit/continue pages (a list whose continue token expired is
 * started again, a bounded number of times). On success *pods is a new
 * array of *n pods sorted by name (NULL when 0) that the caller frees with
 * free(). */
chaos_err k8s_list_pods(struct k8s_client *c, const char *ns, const char *label_selector,
                        struct k8s_pod **pods, size_t *n, chaos_why *why);

/* Deletes pod ns/name with gracePeriodSeconds grace_seconds (0: at once). If
 * uid is not NULL it is sent as a precondition, so a replacement that took
 * the same name is never deleted by mistake. 200/202 are success; 404 (or
 * a uid precondition that no longer matches) is success too, with
 * *already_gone (may be NULL) set to true and the reason logged at info
 * level (why is left alone: it is not a failure). A DELETE is never
 * retried. */
chaos_err k8s_delete_pod(struct k8s_client *c, const char *ns, const char *name,
                         int64_t grace_seconds, const char *uid, bool *already_gone,
                         chaos_why *why);

/* Waits until at least `expected` pods matching the selector are Ready and
 * not being deleted, ignoring pods whose uid is in exclude_uids (the pods
 * just deleted), polling every poll_ms (<= 0: 100 ms) until the monotonic
 * deadline deadline_mono_us (clk_mono_us() time). List errors that may pass
 * (5xx, connection, timeout) are retried until the deadline; others end the
 * wait. On CHAOS_OK *ready is a new array of *n (>= expected) pods, sorted by
 * observed_us, freed with free(). On CHAOS_ETIMEDOUT *ready and *n are also
 * written, with the pods that were Ready at the last poll, so a report can
 * say how far recovery got, and why names the count and the last list
 * error. */
chaos_err k8s_wait_ready(struct k8s_client *c, const char *ns, const char *label_selector,
                         size_t expected, const char *const *exclude_uids,
                         size_t n_exclude, int64_t deadline_mono_us, long poll_ms,
                         struct k8s_ready_pod **ready, size_t *n, chaos_why *why);

/* A pod's identity, for a node agent's target: who it is and its labels. */
#define K8S_MAX_LABELS 16
struct k8s_pod_meta {
	char   name[K8S_NAME_LEN];
	char   namespace_[64];
	char   uid[K8S_UID_LEN];
	char   pod_ip[K8S_IP_LEN]; /* "" until it has one */
	bool   host_network;       /* its IP is the node's: never matched by IP */
	char   label_key[K8S_MAX_LABELS][64];
	char   label_value[K8S_MAX_LABELS][64];
	size_t n_labels; /* labels longer than 63 characters are left out */
};

/* Lists the pods scheduled on node `node` in every namespace
 * (fieldSelector spec.nodeName, paged like k8s_list_pods). Needs "list
 * pods" cluster-wide (a ClusterRole); a 403 says so. On success *pods is a
 * new array of *n (NULL when 0) freed with free(). Errors as
 * k8s_list_pods, CHAOS_EINVAL for a node name that is not a DNS name. */
chaos_err k8s_list_node_pods(struct k8s_client *c, const char *node,
                             struct k8s_pod_meta **pods, size_t *n, chaos_why *why);

#endif
