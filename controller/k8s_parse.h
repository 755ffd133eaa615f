/* SPDX-License-Identifier: MIT */
/*
 * Inside the Kubernetes driver only: the PodList page parser of k8s_pods.c,
 * declared here so that its fuzz target (tests/fuzz/fuzz_k8s_page.c) can
 * feed it arbitrary API answers. Other modules use k8s_list_pods (k8s.h).
 */
#ifndef CHAOS_CONTROLLER_K8S_PARSE_H
#define CHAOS_CONTROLLER_K8S_PARSE_H

#include <stddef.h>

#include "common/err.h"
#include "controller/k8s.h"
#include "controller/k8s_http.h"

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

#endif
