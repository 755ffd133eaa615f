// SPDX-License-Identifier: MIT
/*
 * Pods through the Kubernetes API: list (with paging), delete, and wait
 * for Ready. The Ready condition decides readiness, never the phase: a pod
 * is "Running" as soon as its containers start, long before its readiness
 * probe passes and a Service sends it traffic.
 */
#include "controller/k8s.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "controller/k8s_http.h"
#include "controller/k8s_parse.h"

#define K8S_MAX_PODS 100000

/* ---- pods ---- */

static void
k8s_pod_ready(json_t *status, struct k8s_pod *p)
{
	json_t *conds = json_object_get(status, "conditions");
	size_t  i;
	json_t *cd;

	json_array_foreach(conds, i, cd)
	{
		const char *type = json_string_value(json_object_get(cd, "type"));
		const char *st   = json_string_value(json_object_get(cd, "status"));
		const char *when =
		    json_string_value(json_object_get(cd, "lastTransitionTime"));

		if (type == NULL || strcmp(type, "Ready") != 0)
			continue;
		p->ready = st != NULL && strcmp(st, "True") == 0;
		if (when == NULL || !clk_parse_iso8601(when, &p->ready_changed_us))
			p->ready_changed_us = 0;
	}
}

/* One items[] element; false when it is not a pod we can use. */
static bool
k8s_pod_parse(json_t *item, struct k8s_pod *p)
{
	json_t     *meta   = json_object_get(item, "metadata");
	json_t     *status = json_object_get(item, "status");
	const char *created;

	memset(p, 0, sizeof(*p));
	if (!k8s_copy(p->name, sizeof(p->name), k8s_jstr(meta, "name", NULL)) ||
	    p->name[0] == '\0' ||
	    !k8s_copy(p->uid, sizeof(p->uid), k8s_jstr(meta, "uid", NULL)) ||
	    p->uid[0] == '\0')
		return false;
	/* Optional fields: a pod not yet scheduled has no node, IP or phase. */
	if (!k8s_copy(p->phase, sizeof(p->phase), k8s_jstr(status, "phase", NULL)) ||
	    !k8s_copy(p->pod_ip, sizeof(p->pod_ip), k8s_jstr(status, "podIP", NULL)) ||
	    !k8s_copy(p->node_name, sizeof(p->node_name),
	              k8s_jstr(item, "spec", "nodeName")))
		return false;
	created = k8s_jstr(meta, "creationTimestamp", NULL);
	if (created != NULL && !clk_parse_iso8601(created, &p->created_us))
		return false;
	p->deleting = json_object_get(meta, "deletionTimestamp") != NULL &&
	    !json_is_null(json_object_get(meta, "deletionTimestamp"));
	k8s_pod_ready(status, p);
	return true;
}

static chaos_err
k8s_podvec_push(struct k8s_podvec *pv, const struct k8s_pod *p, chaos_why *why)
{
	switch (k8s_vec_push((void **)&pv->v, &pv->n, &pv->cap, sizeof(*p), p,
	                     K8S_MAX_PODS)) {
	case CHAOS_OK:
		return CHAOS_OK;
	case CHAOS_ETOOBIG:
		return chaos_fail(why, CHAOS_ETOOBIG,
		                  "more than %d pods match; narrow the label selector",
		                  K8S_MAX_PODS);
	default:
		return chaos_fail(why, CHAOS_ENOMEM, "out of memory");
	}
}

/* One items[] element of a namespace's list: a pod without a name or uid
 * or with a malformed field fails the list rather than being missed. */
static chaos_err
k8s_pod_take(json_t *item, size_t i, void *ctx, chaos_why *why)
{
	struct k8s_pod p;

	if (!k8s_pod_parse(item, &p))
		return chaos_fail(why, CHAOS_EPROTO,
		                  "pod list item %zu lacks a valid metadata.name/uid "
		                  "or has a malformed field",
		                  i);
	return k8s_podvec_push(ctx, &p, why);
}

static void
k8s_pod_restart(void *ctx)
{
	((struct k8s_podvec *)ctx)->n = 0;
}

/* See k8s_parse.h. */
chaos_err
k8s_page_parse(const struct k8s_resp *r, struct k8s_podvec *pv, char **cont,
               chaos_why *why)
{
	return k8s_page_walk(r, k8s_pod_take, pv, cont, why);
}

static int
k8s_pod_cmp(const void *a, const void *b)
{
	return strcmp(((const struct k8s_pod *)a)->name,
	              ((const struct k8s_pod *)b)->name);
}

chaos_err
k8s_list_pods(struct k8s_client *c, const char *ns, const char *label_selector,
              struct k8s_pod **pods, size_t *n, chaos_why *why)
{
	struct k8s_podvec pv = {0};
	struct k8s_list   l  = {.ns       = ns,
	                        .sel_key  = "labelSelector",
	                        .selector = label_selector,
	                        .take     = k8s_pod_take,
	                        .restart  = k8s_pod_restart,
	                        .ctx      = &pv};
	chaos_err         rc;

	if (!k8s_valid_name(ns, 63, false))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "namespace '%s' is not a valid Kubernetes name",
		                  ns != NULL ? ns : "");
	if ((rc = k8s_list_all(c, &l, why)) != CHAOS_OK) {
		free(pv.v);
		return rc;
	}
	if (pv.n > 1)
		qsort(pv.v, pv.n, sizeof(*pv.v), k8s_pod_cmp);
	if (pv.n == 0) {
		free(pv.v);
		pv.v = NULL;
	}
	*pods = pv.v;
	*n    = pv.n;
	return CHAOS_OK;
}

static char *
k8s_delete_body(int64_t grace_seconds, const char *uid)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "kind", "DeleteOptions", "apiVersion",
	                      "v1", "gracePeriodSeconds", (json_int_t)grace_seconds);
	char   *s = NULL;

	if (o == NULL)
		return NULL;
	if (uid == NULL ||
	    json_object_set_new(o, "preconditions", json_pack("{s:s}", "uid", uid)) == 0)
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* 404, or a uid precondition that failed (409): the pod we meant is gone
 * already, which is what a delete wants. Logged, since it is not a failure
 * but an SRE may wonder why a pod was not deleted. */
static bool
k8s_delete_was_gone(chaos_err rc, const struct k8s_resp *r, const char *ns,
                    const char *name, const char *uid)
{
	if (rc == CHAOS_ENOENT && r->status == 404) {
		log_info("k8s: pod \"%s/%s\" was already gone (404)", ns, name);
		return true;
	}
	if (rc == CHAOS_EEXIST && r->status == 409 && uid != NULL) {
		log_info("k8s: pod \"%s/%s\" with uid %s was already gone: the name now "
		         "belongs to a replacement, left alone",
		         ns, name, uid);
		return true;
	}
	return false;
}

chaos_err
k8s_delete_pod(struct k8s_client *c, const char *ns, const char *name,
               int64_t grace_seconds, const char *uid, bool *already_gone, chaos_why *why)
{
	struct k8s_resp r   = {0};
	char           *url = NULL, *body = NULL;
	struct k8s_req q = {.method = "DELETE", .verb = "delete", .ns = ns, .name = name};
	chaos_why      req_why = {""};
	bool           gone    = false;
	chaos_err      rc;

	if (!k8s_valid_name(ns, 63, false) || !k8s_valid_name(name, 253, true) ||
	    grace_seconds < 0)
		return chaos_fail(
		    why, CHAOS_EINVAL,
		    "delete pod '%s/%s' grace %lld: not a valid namespace, pod "
		    "name or grace period",
		    ns != NULL ? ns : "", name != NULL ? name : "",
		    (long long)grace_seconds);
	if (asprintf(&url, "%s/api/v1/namespaces/%s/pods/%s", c->api_url, ns, name) < 0)
		url = NULL;
	if (url == NULL || (body = k8s_delete_body(grace_seconds, uid)) == NULL) {
		rc = chaos_fail(why, CHAOS_ENOMEM, "out of memory");
		goto out;
	}
	q.url  = url;
	q.body = body;
	rc     = k8s_do(c, &q, &r, &req_why);
	if (rc != CHAOS_OK && (gone = k8s_delete_was_gone(rc, &r, ns, name, uid)))
		rc = CHAOS_OK;
	if (rc != CHAOS_OK)
		rc = chaos_fail(why, rc, "%s", req_why.text);
	else if (already_gone != NULL)
		*already_gone = gone;
out:
	k8s_resp_reset(&r);
	free(url);
	free(body);
	return rc;
}

/* ---- waiting for Ready ---- */

static bool
k8s_uid_in(const char *uid, const char *const *uids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (uids[i] != NULL && strcmp(uids[i], uid) == 0)
			return true;
	return false;
}

static int
k8s_ready_cmp(const void *a, const void *b)
{
	const struct k8s_ready_pod *x = a, *y = b;

	if (x->observed_us != y->observed_us)
		return x->observed_us < y->observed_us ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Rebuilds the Ready set from one list: a pod keeps the time it was first
 * seen Ready while it stays Ready; a pod that left or turned unready drops
 * out. *cur is replaced. */
static chaos_err
k8s_ready_update(struct k8s_ready_pod **cur, size_t *ncur, const struct k8s_pod *pods,
                 size_t npods, const char *const *excl, size_t nexcl, int64_t now_us)
{
	struct k8s_ready_pod *nv = NULL;
	size_t                nn = 0;

	if (npods > 0 && (nv = calloc(npods, sizeof(*nv))) == NULL)
		return CHAOS_ENOMEM;
	for (size_t i = 0; i < npods; i++) {
		const struct k8s_pod *p = &pods[i];
		struct k8s_ready_pod *r = &nv[nn];

		if (!p->ready || p->deleting || k8s_uid_in(p->uid, excl, nexcl))
			continue;
		memcpy(r->name, p->name, sizeof(r->name));
		memcpy(r->uid, p->uid, sizeof(r->uid));
		r->ready_changed_us = p->ready_changed_us;
		r->observed_us      = now_us;
		for (size_t j = 0; j < *ncur; j++)
			if (strcmp((*cur)[j].uid, p->uid) == 0)
				r->observed_us = (*cur)[j].observed_us;
		nn++;
	}
	free(*cur);
	*cur  = nv;
	*ncur = nn;
	return CHAOS_OK;
}

static bool
k8s_wait_transient(chaos_err rc)
{
	return rc == CHAOS_ECONN || rc == CHAOS_ETIMEDOUT || rc == CHAOS_ESYS ||
	    rc == CHAOS_EBUSY;
}

static void
k8s_wait_sleep(int64_t deadline_mono_us, long poll_ms)
{
	int64_t left = (deadline_mono_us - clk_mono_us()) / 1000;

	k8s_sleep_ms(left < poll_ms ? (long)(left > 0 ? left : 0) : poll_ms);
}

/* One poll: the Ready set from a fresh list. A failed list leaves the set
 * as it was and its reason in last; a good one clears last. */
static chaos_err
k8s_wait_poll(struct k8s_client *c, const char *ns, const char *selector,
              const char *const *excl, size_t nexcl, struct k8s_ready_pod **cur,
              size_t *ncur, chaos_why *last)
{
	struct k8s_pod *pods  = NULL;
	size_t          npods = 0;
	chaos_err       rc;

	if ((rc = k8s_list_pods(c, ns, selector, &pods, &npods, last)) != CHAOS_OK)
		return rc;
	last->text[0] = '\0';
	rc = k8s_ready_update(cur, ncur, pods, npods, excl, nexcl, clk_now_us());
	free(pods);
	return rc == CHAOS_OK ? CHAOS_OK : chaos_fail(last, rc, "out of memory");
}

chaos_err
k8s_wait_ready(struct k8s_client *c, const char *ns, const char *label_selector,
               size_t expected, const char *const *exclude_uids, size_t n_exclude,
               int64_t deadline_mono_us, long poll_ms, struct k8s_ready_pod **ready,
               size_t *n, chaos_why *why)
{
	struct k8s_ready_pod *cur  = NULL;
	size_t                ncur = 0;
	chaos_why             last = {""};
	chaos_err             rc;

	if (poll_ms <= 0)
		poll_ms = 100;
	c->deadline_mono_us = deadline_mono_us;
	for (;;) {
		rc = k8s_wait_poll(c, ns, label_selector, exclude_uids, n_exclude, &cur,
		                   &ncur, &last);
		if (rc == CHAOS_OK && ncur >= expected)
			break;
		if (rc != CHAOS_OK && !k8s_wait_transient(rc)) {
			chaos_fail(why, rc, "%s", last.text);
			break;
		}
		if (clk_mono_us() >= deadline_mono_us) {
			rc = chaos_fail(
			    why, CHAOS_ETIMEDOUT,
			    "%zu of %zu pods matching '%s' in \"%s\" Ready at "
			    "the deadline%s%s",
			    ncur, expected, label_selector != NULL ? label_selector : "",
			    ns, last.text[0] != '\0' ? "; last list error: " : "",
			    last.text);
			break;
		}
		k8s_wait_sleep(deadline_mono_us, poll_ms);
	}
	c->deadline_mono_us = 0;
	if (rc == CHAOS_OK || rc == CHAOS_ETIMEDOUT) {
		if (ncur > 1)
			qsort(cur, ncur, sizeof(*cur), k8s_ready_cmp);
		*ready = cur;
		*n     = ncur;
		return rc;
	}
	free(cur);
	return rc;
}
