// SPDX-License-Identifier: MIT
/*
 * Paged pod lists, for every list the driver makes (a namespace's pods by
 * label, a node's pods cluster-wide by field): the URL with limit= and the
 * continue token, one PodList page at a time, and the whole list started
 * over when the API says the token expired (410 Gone).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "controller/k8s_http.h"
#include "controller/k8s_parse.h"

#define K8S_MAX_PAGES 10000 /* bounds the continue loop */
#define K8S_LIST_RESTARTS 3 /* after 410 Gone (continue token expired) */

const char *
k8s_jstr(json_t *obj, const char *k1, const char *k2)
{
	json_t *v = json_object_get(obj, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	return json_string_value(v);
}

/* See k8s_parse.h. */
chaos_err
k8s_page_walk(const struct k8s_resp *r, k8s_take_fn take, void *ctx, char **cont,
              chaos_why *why)
{
	json_t      *root, *items, *item;
	json_error_t je;
	const char  *kind, *next;
	size_t       i;
	chaos_err    rc = CHAOS_OK;

	if ((root = json_loadb(r->body != NULL ? r->body : "", r->len, 0, &je)) == NULL)
		return chaos_fail(why, CHAOS_EPROTO, "pod list is not JSON: %s (line %d)",
		                  je.text, je.line);
	kind  = k8s_jstr(root, "kind", NULL);
	items = json_object_get(root, "items");
	/* An empty list may come as "items": null. */
	if (kind == NULL || strcmp(kind, "PodList") != 0 ||
	    (items != NULL && !json_is_array(items) && !json_is_null(items))) {
		rc = chaos_fail(why, CHAOS_EPROTO, "answer is not a PodList (kind %s)",
		                kind != NULL ? kind : "missing");
		goto out;
	}
	json_array_foreach(items, i, item)
	{
		if ((rc = take(item, i, ctx, why)) != CHAOS_OK)
			goto out;
	}
	next = k8s_jstr(root, "metadata", "continue");
	if ((*cont = strdup(next != NULL ? next : "")) == NULL)
		rc = chaos_fail(why, CHAOS_ENOMEM, "out of memory");
out:
	json_decref(root);
	return rc;
}

static chaos_err
k8s_list_url(const struct k8s_client *c, const struct k8s_list *l, const char *cont,
             char **url, chaos_why *why)
{
	char     *sel = NULL, *ct = NULL, *coll = NULL;
	chaos_err rc = CHAOS_OK;

	if ((l->ns != NULL ? asprintf(&coll, "namespaces/%s/pods", l->ns)
	                   : asprintf(&coll, "pods")) < 0)
		coll = NULL;
	if (coll == NULL ||
	    (l->selector != NULL && l->selector[0] != '\0' &&
	     (sel = curl_easy_escape(c->curl, l->selector, 0)) == NULL) ||
	    (cont != NULL && cont[0] != '\0' &&
	     (ct = curl_easy_escape(c->curl, cont, 0)) == NULL) ||
	    asprintf(url, "%s/api/v1/%s?limit=%u%s%s%s%s%s%s", c->api_url, coll,
	             c->page_limit, sel != NULL ? "&" : "", sel != NULL ? l->sel_key : "",
	             sel != NULL ? "=" : "", sel != NULL ? sel : "",
	             ct != NULL ? "&continue=" : "", ct != NULL ? ct : "") < 0) {
		*url = NULL;
		rc   = chaos_fail(why, CHAOS_ENOMEM, "out of memory");
	}
	free(coll);
	curl_free(sel);
	curl_free(ct);
	return rc;
}

/* One pass over every page. *expired is set when a continue token was
 * refused with 410 Gone: the caller starts over. */
static chaos_err
k8s_list_pass(struct k8s_client *c, const struct k8s_list *l, bool *expired,
              chaos_why *why)
{
	struct k8s_resp r    = {0};
	char           *cont = NULL, *url = NULL;
	struct k8s_req  q  = {.method = "GET", .verb = "list", .ns = l->ns};
	chaos_err       rc = CHAOS_OK;

	for (int page = 0; page < K8S_MAX_PAGES; page++) {
		free(url);
		if ((rc = k8s_list_url(c, l, cont, &url, why)) != CHAOS_OK)
			break;
		q.url = url;
		rc    = k8s_do(c, &q, &r, why);
		if (rc != CHAOS_OK) {
			*expired = r.status == 410 && cont != NULL && cont[0] != '\0';
			break;
		}
		free(cont);
		cont = NULL;
		if ((rc = k8s_page_walk(&r, l->take, l->ctx, &cont, why)) != CHAOS_OK ||
		    cont[0] == '\0')
			break;
		k8s_resp_reset(&r);
		if (page + 1 == K8S_MAX_PAGES)
			rc = chaos_fail(why, CHAOS_ETOOBIG,
			                "pod list still continues after %d pages",
			                K8S_MAX_PAGES);
	}
	free(url);
	free(cont);
	k8s_resp_reset(&r);
	return rc;
}

/* The passes write a local why: a pass that ends in 410 Gone and is
 * started over must leave nothing in the caller's. */
chaos_err
k8s_list_all(struct k8s_client *c, const struct k8s_list *l, chaos_why *why)
{
	chaos_why pass_why = {""};
	bool      expired;
	chaos_err rc = CHAOS_OK;

	for (int pass = 0; pass <= K8S_LIST_RESTARTS; pass++) {
		expired = false;
		l->restart(l->ctx);
		rc = k8s_list_pass(c, l, &expired, &pass_why);
		if (!expired)
			break;
		log_info("k8s: list continue token expired (410); listing again from the "
		         "start");
	}
	return rc == CHAOS_OK ? CHAOS_OK : chaos_fail(why, rc, "%s", pass_why.text);
}
