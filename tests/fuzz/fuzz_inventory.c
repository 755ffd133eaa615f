// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the inventory parser (inv_parse in
 * controller/inventory.c), which reads the --inventory file at start and
 * again whenever it changes while the controller runs. The input is the
 * file.
 *
 * Beyond "no crash, no leak": a taken inventory has at most INV_MAX_PODS
 * pods, each with a name, a namespace, an agent role and an address or a
 * netns name, every text NUL-terminated in its array, no two sharing a pod,
 * an address or a netns name, so that each is found by its own netns and
 * address; parsing it again gives the same pods; a refused one says why.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/inventory.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_pod(const struct inv *v, const struct inv_pod *e)
{
	const struct ttab_pod *p = &e->pod;
	char                   ips[1][16];

	fuzz_require(fuzz_terminated(p->name, sizeof(p->name)) && p->name[0] != '\0');
	fuzz_require(fuzz_terminated(p->namespace_, sizeof(p->namespace_)) &&
	             p->namespace_[0] != '\0');
	fuzz_require(fuzz_terminated(p->ip, sizeof(p->ip)));
	fuzz_require(fuzz_terminated(e->netns, sizeof(e->netns)));
	fuzz_require(p->ip[0] != '\0' || e->netns[0] != '\0');
	fuzz_require(p->n_labels <= TTAB_MAX_LABELS);
	for (size_t i = 0; i < p->n_labels; i++)
		fuzz_require(
		    fuzz_terminated(p->label_key[i], sizeof(p->label_key[i])) &&
		    p->label_key[i][0] != '\0' &&
		    fuzz_terminated(p->label_value[i], sizeof(p->label_value[i])));
	if (e->netns[0] != '\0')
		fuzz_require(inv_match(v, e->netns, NULL, 0) == e);
	if (p->ip[0] != '\0') {
		memcpy(ips[0], p->ip, sizeof(ips[0]));
		fuzz_require(inv_match(v, "", (const char(*)[16])ips, 1) == e);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inv *v = NULL, *again = NULL;
	chaos_why   why = {{0}};
	chaos_err   rc  = inv_parse((const char *)data, size, &v, &why);

	if (rc != CHAOS_OK) {
		fuzz_require(rc == CHAOS_EINVAL || rc == CHAOS_ENOMEM);
		fuzz_require(v == NULL);
		fuzz_require(rc == CHAOS_ENOMEM || why.text[0] != '\0');
		return 0;
	}
	fuzz_require(v != NULL && v->n <= INV_MAX_PODS);
	for (size_t i = 0; i < v->n; i++)
		fuzz_check_pod(v, &v->pods[i]);
	fuzz_require(inv_parse((const char *)data, size, &again, NULL) == CHAOS_OK);
	fuzz_require(again->n == v->n &&
	             memcmp(again->pods, v->pods, v->n * sizeof(v->pods[0])) == 0);
	inv_free(again);
	inv_free(v);
	return 0;
}
