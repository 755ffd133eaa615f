// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the Kubernetes driver's PodList page parser
 * (k8s_page_parse in controller/k8s_pods.c, over k8s_page_walk in
 * controller/k8s_list.c), which reads whatever the API server, or something
 * posing as it, answers. The input is the HTTP body.
 *
 * Beyond "no crash, no leak": an accepted page yields one pod per items[]
 * element, each with a name and uid and every text field NUL-terminated in
 * its array; a page appended twice gives the same pods twice (the list
 * follows continue tokens into one vector); a refused one says why.
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
fuzz_check_pod(const struct k8s_pod *p)
{
	fuzz_require(fuzz_terminated(p->name, sizeof(p->name)) && p->name[0] != '\0');
	fuzz_require(fuzz_terminated(p->uid, sizeof(p->uid)) && p->uid[0] != '\0');
	fuzz_require(fuzz_terminated(p->phase, sizeof(p->phase)));
	fuzz_require(fuzz_terminated(p->pod_ip, sizeof(p->pod_ip)));
	fuzz_require(fuzz_terminated(p->node_name, sizeof(p->node_name)));
}

/* Parses the page a second time into the same vector: the same pods are
 * appended after the first ones, and the same continue token comes back. */
static void
fuzz_check_append(const struct k8s_resp *r, const char *cont)
{
	struct k8s_podvec pv = {0};
	char             *c1 = NULL, *c2 = NULL;
	size_t            n;

	fuzz_require(k8s_page_parse(r, &pv, &c1, NULL) == CHAOS_OK);
	n = pv.n;
	fuzz_require(k8s_page_parse(r, &pv, &c2, NULL) == CHAOS_OK);
	fuzz_require(pv.n == 2 * n && pv.n <= pv.cap);
	for (size_t i = 0; i < n; i++)
		fuzz_require(memcmp(&pv.v[i], &pv.v[n + i], sizeof(pv.v[i])) == 0);
	fuzz_require(strcmp(c1, cont) == 0 && strcmp(c2, cont) == 0);
	free(c1);
	free(c2);
	free(pv.v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* k8s_do hands the parser a NUL-terminated body of len bytes. */
	struct k8s_resp   r    = {.status = 200, .len = size};
	struct k8s_podvec pv   = {0};
	char             *cont = NULL;
	chaos_why         why  = {{0}};
	chaos_err         rc;

	if ((r.body = fuzz_body(data, size)) == NULL)
		return 0;
	rc = k8s_page_parse(&r, &pv, &cont, &why);
	if (rc == CHAOS_OK) {
		fuzz_require(cont != NULL && pv.n <= pv.cap);
		fuzz_require(pv.n == fuzz_json_items(r.body, r.len));
		for (size_t i = 0; i < pv.n; i++)
			fuzz_check_pod(&pv.v[i]);
		fuzz_check_append(&r, cont);
	} else {
		fuzz_require(rc == CHAOS_EPROTO || rc == CHAOS_ETOOBIG ||
		             rc == CHAOS_ENOMEM);
		fuzz_require(cont == NULL && why.text[0] != '\0');
	}
	free(cont);
	free(pv.v);
	free(r.body);
	return 0;
}
