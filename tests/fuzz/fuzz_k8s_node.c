// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the pods of one node as the controller takes them
 * from the Kubernetes API (k8s_node_page_parse in controller/k8s_node.c,
 * over k8s_page_walk in controller/k8s_list.c): who a node agent's targets
 * are comes from these answers. The input is the HTTP body of a PodList.
 *
 * Beyond "no crash, no leak": every pod taken has a name and a namespace,
 * at most K8S_MAX_LABELS labels, and every text NUL-terminated in its
 * array; never more pods than items[] elements; a page appended twice
 * gives the same pods twice and the same continue token; a refused one
 * says why.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/k8s_parse.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_pod(const struct k8s_pod_meta *p)
{
	fuzz_require(fuzz_terminated(p->name, sizeof(p->name)) && p->name[0] != '\0');
	fuzz_require(fuzz_terminated(p->namespace_, sizeof(p->namespace_)) &&
	             p->namespace_[0] != '\0');
	fuzz_require(fuzz_terminated(p->uid, sizeof(p->uid)));
	fuzz_require(fuzz_terminated(p->pod_ip, sizeof(p->pod_ip)));
	fuzz_require(p->n_labels <= K8S_MAX_LABELS);
	for (size_t i = 0; i < p->n_labels; i++)
		fuzz_require(
		    fuzz_terminated(p->label_key[i], sizeof(p->label_key[i])) &&
		    fuzz_terminated(p->label_value[i], sizeof(p->label_value[i])));
}

/* The same page into the same vector again: the same pods after the first. */
static void
fuzz_check_append(const struct k8s_resp *r, const char *cont)
{
	struct k8s_pod_meta *v = NULL;
	size_t               n = 0, cap = 0, first;
	char                *c1 = NULL, *c2 = NULL;

	fuzz_require(k8s_node_page_parse(r, &v, &n, &cap, &c1, NULL) == CHAOS_OK);
	first = n;
	fuzz_require(k8s_node_page_parse(r, &v, &n, &cap, &c2, NULL) == CHAOS_OK);
	fuzz_require(n == 2 * first && n <= cap);
	for (size_t i = 0; i < first; i++)
		fuzz_require(memcmp(&v[i], &v[first + i], sizeof(v[i])) == 0);
	fuzz_require(strcmp(c1, cont) == 0 && strcmp(c2, cont) == 0);
	free(c1);
	free(c2);
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_resp      r = {.status = 200, .len = size};
	struct k8s_pod_meta *v = NULL;
	size_t               n = 0, cap = 0;
	char                *cont = NULL;
	chaos_why            why  = {{0}};
	chaos_err            rc;

	if ((r.body = fuzz_body(data, size)) == NULL)
		return 0;
	rc = k8s_node_page_parse(&r, &v, &n, &cap, &cont, &why);
	if (rc == CHAOS_OK) {
		fuzz_require(cont != NULL && n <= cap &&
		             n <= fuzz_json_items(r.body, r.len));
		for (size_t i = 0; i < n; i++)
			fuzz_check_pod(&v[i]);
		fuzz_check_append(&r, cont);
	} else {
		fuzz_require(rc == CHAOS_EPROTO || rc == CHAOS_ETOOBIG ||
		             rc == CHAOS_ENOMEM);
		fuzz_require(cont == NULL && why.text[0] != '\0');
	}
	free(cont);
	free(v);
	free(r.body);
	return 0;
}
