/* SPDX-License-Identifier: MIT */
/*
 * Inside the Kubernetes driver only (k8s.c: client, HTTP, errors;
 * k8s_pods.c: pods). Not for use by other modules: they include k8s.h.
 */
#ifndef CHAOS_CONTROLLER_K8S_HTTP_H
#define CHAOS_CONTROLLER_K8S_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/err.h"

struct k8s_client {
	CURL           *curl;
	char           *api_url;    /* no trailing '/' */
	char           *token_file; /* NULL: send no token */
	char           *token;
	dev_t           token_dev;
	ino_t           token_ino;
	struct timespec token_mtime;
	char           *ca_file; /* NULL: system CAs */
	char            ns[64];
	bool            allow_http;
	long            timeout_ms;
	long            connect_timeout_ms;
	int             max_retries;
	long            backoff_ms;
	unsigned        page_limit;
	int64_t         deadline_mono_us; /* 0: none; set while k8s_wait_ready runs */
	uint64_t        rng;
};

/* One request, and the words our error messages use for it. */
struct k8s_req {
	const char *method; /* "GET" or "DELETE" */
	const char *url;
	const char *body; /* NULL: none */
	const char *verb; /* RBAC verb: "list", "delete" */
	const char *ns;
	const char *name; /* NULL for a collection */
};

struct k8s_resp {
	long   status;
	char  *body; /* NUL-terminated */
	size_t len, cap;
	bool   overflow;
	long   retry_after_s;
};

/* Runs a request with its retries (GETs only, see k8s.h). CHAOS_OK when a
 * 2xx arrived and r holds it (why untouched, whatever the failed attempts
 * said); otherwise the mapped error with why written, and r still holds a
 * non-2xx answer (status 0 when none arrived) so the caller can treat 404,
 * 409 or 410 as it needs. Free r with k8s_resp_reset(). */
chaos_err k8s_do(struct k8s_client *c, const struct k8s_req *q, struct k8s_resp *r,
                 chaos_why *why);

/* Frees the body and zeroes r. */
void k8s_resp_reset(struct k8s_resp *r);

/* DNS-1123 label (dots false, namespaces) or subdomain (dots true, pod
 * names) of at most max characters. */
bool k8s_valid_name(const char *s, size_t max, bool dots);

/* Copies src ("" for NULL) into dst; false, dst untouched, if too long. */
bool k8s_copy(char *dst, size_t len, const char *src);

/* Appends item (elem bytes) to the growing array *v of *n (capacity
 * *cap), at most max items. CHAOS_OK, CHAOS_ETOOBIG (full) or
 * CHAOS_ENOMEM; the array is unchanged on failure. */
chaos_err k8s_vec_push(void **v, size_t *n, size_t *cap, size_t elem, const void *item,
                       size_t max);

/* Sleeps ms milliseconds, resuming after signals. */
void k8s_sleep_ms(long ms);

#endif
