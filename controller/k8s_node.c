// SPDX-License-Identifier: MIT
/*
 * The pods of one node, in every namespace: what the controller needs to
 * say who a node agent's targets are (by pod UID, else by pod IP). One
 * cluster-wide list with fieldSelector=spec.nodeName, paged (k8s_list.c).
 */
#include "controller/k8s.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "controller/k8s_http.h"
#include "controller/k8s_parse.h"

#define K8S_NODE_MAX_PODS 10000 /* far above kubelet's maxPods */

struct k8s_metavec {
	struct k8s_pod_meta *v;
	size_t               n, cap;
};

static void
k8s_node_labels(json_t *labels, struct k8s_pod_meta *p)
{
	const char *k;
	json_t     *v;

	json_object_foreach(labels, k, v)
	{
		const char *val = json_string_value(v);
		if (p->n_labels == K8S_MAX_LABELS || val == NULL ||
		    !k8s_copy(p->label_key[p->n_labels], sizeof(p->label_key[0]), k) ||
		    !k8s_copy(p->label_value[p->n_labels], sizeof(p->label_value[0]),
		              val))
			continue;
		p->n_labels++;
	}
}

/* One items[] element; false when it lacks what a pod has. */
static bool
k8s_node_parse(json_t *item, struct k8s_pod_meta *p)
{
	json_t *meta = json_object_get(item, "metadata");

	memset(p, 0, sizeof(*p));
	if (!k8s_copy(p->name, sizeof(p->name), k8s_jstr(meta, "name", NULL)) ||
	    p->name[0] == '\0' ||
	    !k8s_copy(p->namespace_, sizeof(p->namespace_),
	              k8s_jstr(meta, "namespace", NULL)) ||
	    p->namespace_[0] == '\0' ||
	    !k8s_copy(p->uid, sizeof(p->uid), k8s_jstr(meta, "uid", NULL)) ||
	    !k8s_copy(p->pod_ip, sizeof(p->pod_ip), k8s_jstr(item, "status", "podIP")))
		return false;
	p->host_network =
	    json_is_true(json_object_get(json_object_get(item, "spec"), "hostNetwork"));
	k8s_node_labels(json_object_get(meta, "labels"), p);
	return true;
}

static chaos_err
k8s_node_push(struct k8s_metavec *pv, const struct k8s_pod_meta *p, chaos_why *why)
{
	chaos_err rv = k8s_vec_push((void **)&pv->v, &pv->n, &pv->cap, sizeof(*p), p,
	                            K8S_NODE_MAX_PODS);

	if (rv == CHAOS_ETOOBIG)
		return chaos_fail(why, rv, "more than %d pods on one node",
		                  K8S_NODE_MAX_PODS);
	return rv == CHAOS_OK ? rv : chaos_fail(why, rv, "out of memory");
}

/* One items[] element: a pod we cannot name is left out, never matched. */
static chaos_err
k8s_node_take(json_t *item, size_t i, void *ctx, chaos_why *why)
{
	struct k8s_pod_meta p;

	(void)i;
	return k8s_node_parse(item, &p) ? k8s_node_push(ctx, &p, why) : CHAOS_OK;
}

static void
k8s_node_restart(void *ctx)
{
	((struct k8s_metavec *)ctx)->n = 0;
}

chaos_err
k8s_node_page_parse(const struct k8s_resp *r, struct k8s_pod_meta **pods, size_t *n,
                    size_t *cap, char **cont, chaos_why *why)
{
	struct k8s_metavec pv = {*pods, *n, *cap};
	chaos_err          rc = k8s_page_walk(r, k8s_node_take, &pv, cont, why);

	*pods = pv.v;
	*n    = pv.n;
	*cap  = pv.cap;
	return rc;
}

chaos_err
k8s_list_node_pods(struct k8s_client *c, const char *node, struct k8s_pod_meta **pods,
                   size_t *n, chaos_why *why)
{
	struct k8s_metavec pv = {0};
	char               sel[K8S_NAME_LEN + 32];
	struct k8s_list    l = {.sel_key  = "fieldSelector",
	                        .selector = sel,
	                        .take     = k8s_node_take,
	                        .restart  = k8s_node_restart,
	                        .ctx      = &pv};
	chaos_err          rc;

	if (!k8s_valid_name(node, 253, true))
		return chaos_fail(why, CHAOS_EINVAL, "node name '%s' is not a DNS name",
		                  node ? node : "");
	snprintf(sel, sizeof(sel), "spec.nodeName=%s", node);
	if ((rc = k8s_list_all(c, &l, why)) != CHAOS_OK) {
		free(pv.v);
		return rc;
	}
	*pods = pv.v;
	*n    = pv.n;
	return CHAOS_OK;
}
