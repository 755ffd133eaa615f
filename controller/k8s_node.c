// SPDX-License-Identifier: MIT
/*
 * The pods of one node, in every namespace: what the controller needs to
 * say who a node agent's targets are (by pod UID, else by pod IP). One
 * cluster-wide list with fieldSelector=spec.nodeName, paged.
 */
#include "controller/k8s.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "controller/k8s_http.h"

#define K8S_NODE_MAX_PODS 10000 /* far above kubelet's maxPods */
#define K8S_NODE_MAX_PAGES 1000

struct k8s_metavec {
	struct k8s_pod_meta *v;
	size_t               n, cap;
};

static const char *
k8s_node_str(json_t *obj, const char *k1, const char *k2)
{
	json_t *v = json_object_get(obj, k1);

	return json_string_value(k2 != NULL ? json_object_get(v, k2) : v);
}

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
	if (!k8s_copy(p->name, sizeof(p->name), k8s_node_str(meta, "name", NULL)) ||
	    p->name[0] == '\0' ||
	    !k8s_copy(p->namespace_, sizeof(p->namespace_),
	              k8s_node_str(meta, "namespace", NULL)) ||
	    p->namespace_[0] == '\0' ||
	    !k8s_copy(p->uid, sizeof(p->uid), k8s_node_str(meta, "uid", NULL)) ||
	    !k8s_copy(p->pod_ip, sizeof(p->pod_ip),
	              k8s_node_str(item, "status", "podIP")))
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

/* Appends one PodList page; *cont gets metadata.continue (malloc'd). */
static chaos_err
k8s_node_page(const struct k8s_resp *r, struct k8s_metavec *pv, char **cont,
              chaos_why *why)
{
	json_error_t        je;
	json_t             *root = json_loadb(r->body ? r->body : "", r->len, 0, &je);
	json_t             *items, *item;
	const char         *kind, *next;
	size_t              i;
	struct k8s_pod_meta p;
	chaos_err           rc = CHAOS_OK;

	if (root == NULL)
		return chaos_fail(why, CHAOS_EPROTO, "pod list is not JSON: %s", je.text);
	kind  = k8s_node_str(root, "kind", NULL);
	items = json_object_get(root, "items");
	if (kind == NULL || strcmp(kind, "PodList") != 0) {
		rc = chaos_fail(why, CHAOS_EPROTO, "answer is not a PodList");
		goto out;
	}
	json_array_foreach(items, i, item)
	{
		if (!k8s_node_parse(item, &p))
			continue; /* not a pod we could name: never matched */
		if ((rc = k8s_node_push(pv, &p, why)) != CHAOS_OK)
			goto out;
	}
	next = k8s_node_str(root, "metadata", "continue");
	if ((*cont = strdup(next != NULL ? next : "")) == NULL)
		rc = chaos_fail(why, CHAOS_ENOMEM, "out of memory");
out:
	json_decref(root);
	return rc;
}

static chaos_err
k8s_node_url(struct k8s_client *c, const char *node, const char *cont, char **url,
             chaos_why *why)
{
	char     *ct = NULL, sel[K8S_NAME_LEN + 32];
	char     *esc;
	chaos_err rc = CHAOS_OK;

	snprintf(sel, sizeof(sel), "spec.nodeName=%s", node);
	esc = curl_easy_escape(c->curl, sel, 0);
	if (esc == NULL ||
	    (cont != NULL && cont[0] != '\0' &&
	     (ct = curl_easy_escape(c->curl, cont, 0)) == NULL) ||
	    asprintf(url, "%s/api/v1/pods?fieldSelector=%s&limit=%u%s%s", c->api_url, esc,
	             c->page_limit, ct ? "&continue=" : "", ct ? ct : "") < 0) {
		*url = NULL;
		rc   = chaos_fail(why, CHAOS_ENOMEM, "out of memory");
	}
	curl_free(esc);
	curl_free(ct);
	return rc;
}

chaos_err
k8s_list_node_pods(struct k8s_client *c, const char *node, struct k8s_pod_meta **pods,
                   size_t *n, chaos_why *why)
{
	struct k8s_metavec pv   = {0};
	struct k8s_resp    r    = {0};
	struct k8s_req     q    = {.method = "GET", .verb = "list"};
	char              *cont = NULL, *url = NULL;
	chaos_err          rc = CHAOS_OK;

	if (!k8s_valid_name(node, 253, true))
		return chaos_fail(why, CHAOS_EINVAL, "node name '%s' is not a DNS name",
		                  node ? node : "");
	for (int page = 0; page < K8S_NODE_MAX_PAGES; page++) {
		free(url);
		if ((rc = k8s_node_url(c, node, cont, &url, why)) != CHAOS_OK)
			break;
		q.url = url;
		free(cont);
		cont = NULL;
		if ((rc = k8s_do(c, &q, &r, why)) != CHAOS_OK ||
		    (rc = k8s_node_page(&r, &pv, &cont, why)) != CHAOS_OK ||
		    cont[0] == '\0')
			break;
		k8s_resp_reset(&r);
	}
	free(url);
	free(cont);
	k8s_resp_reset(&r);
	if (rc != CHAOS_OK) {
		free(pv.v);
		return rc;
	}
	*pods = pv.v;
	*n    = pv.n;
	return CHAOS_OK;
}
