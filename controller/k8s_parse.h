/* SPDX-License-Identifier: MIT */
/*
 * Inside the Kubernetes driver only: paged pod lists (k8s_list.c), which
 * k8s_pods.c and k8s_node.c both list through, and the PodList page parser
 * of k8s_pods.c, declared here so that its fuzz target
 * (tests/fuzz/fuzz_k8s_page.c) can feed it arbitrary API answers; the
 * same for a node's pods and the API's Status object (fuzz_k8s_node.c,
 * fuzz_k8s_status.c). Other
 * modules use k8s_list_pods and k8s_list_node_pods (k8s.h).
 */
#ifndef CHAOS_CONTROLLER_K8S_PARSE_H
#define CHAOS_CONTROLLER_K8S_PARSE_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "controller/k8s.h"
#include "controller/k8s_http.h"

/* The string at obj.k1, or at obj.k1.k2 when k2 is not NULL; NULL when
 * absent or not a string. Borrowed from obj. */
const char *k8s_jstr(json_t *obj, const char *k1, const char *k2);

/* Takes element i of a PodList page's items[] into the list being built
 * (ctx): CHAOS_OK, or a failure with why filled, which ends the list. */
typedef chaos_err (*k8s_take_fn)(json_t *item, size_t i, void *ctx, chaos_why *why);

/* One pod list: which pods it asks for and where their items go. */
struct k8s_list {
	const char *ns;       /* the namespace; NULL: every namespace */
	const char *sel_key;  /* "labelSelector" or "fieldSelector" */
	const char *selector; /* its value; NULL or "": every pod */
	k8s_take_fn take;
	void (*restart)(void *ctx); /* forgets what was taken: the list starts over */
	void *ctx;
};

/* Runs take over the items of one PodList page (r->body, r->len bytes). On
 * success *cont is metadata.continue ("" at the end of the list), a
 * malloc'd string the caller frees. CHAOS_EPROTO for an answer that is not
 * a PodList, CHAOS_ENOMEM, or whatever take fails with; on failure *cont is
 * left alone. */
chaos_err k8s_page_walk(const struct k8s_resp *r, k8s_take_fn take, void *ctx,
                        char **cont, chaos_why *why);

/* Lists every page of l (limit= from the client, following continue
 * tokens); a list whose token expired (410 Gone) is restarted from the
 * first page, a bounded number of times. Errors as k8s_list_pods (k8s.h);
 * CHAOS_ETOOBIG past the page bound. */
chaos_err k8s_list_all(struct k8s_client *c, const struct k8s_list *l, chaos_why *why);

/* The pods of a list so far: v has cap entries, n used; the owner frees v. */
struct k8s_podvec {
	struct k8s_pod *v;
	size_t          n, cap;
};

/* Appends the items of one PodList page (r->body, r->len bytes) to pv. On
 * success *cont is metadata.continue ("" at the end of the list), a malloc'd
 * string the caller frees. CHAOS_EPROTO for an answer that is not a PodList
 * or an item without a valid metadata.name/uid or with a malformed field,
 * CHAOS_ETOOBIG past the driver's pod bound, CHAOS_ENOMEM; on failure *cont
 * is left alone (or NULL) and pv may hold the items before the bad one. */
chaos_err k8s_page_parse(const struct k8s_resp *r, struct k8s_podvec *pv, char **cont,
                         chaos_why *why);

/* The pods of one PodList page as k8s_list_node_pods() (k8s.h) takes them,
 * appended to *pods (*n used of *cap; the owner frees *pods): an item
 * without a name, a namespace or with an over-long field is left out, never
 * matched. On success *cont is metadata.continue, malloc'd. Errors as
 * k8s_page_walk, and CHAOS_ETOOBIG past the per-node bound. */
chaos_err k8s_node_page_parse(const struct k8s_resp *r, struct k8s_pod_meta **pods,
                              size_t *n, size_t *cap, char **cont, chaos_why *why);

#define K8S_MSG_MAX 400 /* API text quoted in our messages */

/* What a non-2xx answer says: the API's Status object, else the start of
 * whatever answered (a proxy's page), without control bytes. */
struct k8s_status {
	char reason[64];
	char message[K8S_MSG_MAX]; /* never empty: "(no message)" */
};

/* Reads r's body (NULL or not JSON allowed) into *st; cannot fail. */
void k8s_status_parse(const struct k8s_resp *r, struct k8s_status *st);

#endif
