// SPDX-License-Identifier: MIT
#include "controller/targets.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"
#include "controller/inventory.h"

#define TARGETS_MAX_NODES 64 /* distinct nodes asked about per round */

struct targets_node {
	char                 name[LIMIT_ID_LEN + 1];
	struct k8s_pod_meta *pods;
	size_t               n;
	bool                 ok;
	char                 error[512];
};

struct targets {
	struct ttab       *t;
	char              *inv_path;
	struct inv        *inv;
	struct stat        inv_st;
	struct k8s_client *k8s;
	char               last_k8s_error[512];
	char               last_inv_error[512];
	pthread_t          thread;
	atomic_bool        stop;
};

/* ---- the inventory, re-read when the file changes ---- */

/* An inventory not taken: logged when it is not the last one's reason. */
static void
targets_inv_error(struct targets *r, const char *text)
{
	if (strcmp(text, r->last_inv_error) != 0)
		log_error("inventory not taken (the previous one stays): %s", text);
	snprintf(r->last_inv_error, sizeof(r->last_inv_error), "%s", text);
}

static void
targets_reload(struct targets *r)
{
	struct stat st;
	struct inv *v   = NULL;
	chaos_why   why = {{0}};

	if (r->inv_path == NULL)
		return;
	if (stat(r->inv_path, &st) != 0) {
		/* removed or unreadable: said once, as a malformed one is */
		snprintf(why.text, sizeof(why.text), "%s: %s", r->inv_path,
		         strerror(errno));
		targets_inv_error(r, why.text);
		return;
	}
	if ((st.st_mtim.tv_sec == r->inv_st.st_mtim.tv_sec &&
	     st.st_mtim.tv_nsec == r->inv_st.st_mtim.tv_nsec &&
	     st.st_size == r->inv_st.st_size && st.st_ino == r->inv_st.st_ino))
		return;
	r->inv_st = st;
	if (inv_load(r->inv_path, &v, &why) != CHAOS_OK) {
		targets_inv_error(r, why.text);
		return;
	}
	r->last_inv_error[0] = '\0';
	log_info("inventory %s: %zu pods", r->inv_path, v->n);
	inv_free(r->inv);
	r->inv = v;
}

/* ---- the Kubernetes API: one list per node ---- */

static void
targets_note_k8s(struct targets *r, const char *node, const char *error)
{
	if (strcmp(error, r->last_k8s_error) == 0)
		return;
	snprintf(r->last_k8s_error, sizeof(r->last_k8s_error), "%s", error);
	if (error[0] != '\0')
		log_warn("kubernetes: cannot list the pods of node %s: %s", node, error);
	else
		log_info("kubernetes: pods listed again");
}

static struct targets_node *
targets_node_pods(struct targets *r, struct targets_node *nodes, size_t *n_nodes,
                  const char *node)
{
	struct targets_node *tn;
	chaos_why            why = {{0}};

	for (size_t i = 0; i < *n_nodes; i++)
		if (strcmp(nodes[i].name, node) == 0)
			return &nodes[i];
	if (*n_nodes == TARGETS_MAX_NODES)
		return NULL;
	tn = &nodes[(*n_nodes)++];
	memset(tn, 0, sizeof(*tn));
	snprintf(tn->name, sizeof(tn->name), "%s", node);
	tn->ok = k8s_list_node_pods(r->k8s, node, &tn->pods, &tn->n, &why) == CHAOS_OK;
	if (!tn->ok)
		snprintf(tn->error, sizeof(tn->error), "%s", why.text);
	targets_note_k8s(r, node, tn->error);
	return tn;
}

static void
targets_pod_from_k8s(const struct k8s_pod_meta *m, struct ttab_answer *a)
{
	struct ttab_pod *p = &a->pod;

	a->found = true;
	snprintf(a->source, sizeof(a->source), "kubernetes");
	snprintf(p->name, sizeof(p->name), "%s", m->name);
	snprintf(p->namespace_, sizeof(p->namespace_), "%s", m->namespace_);
	snprintf(p->ip, sizeof(p->ip), "%s", m->pod_ip);
	for (size_t i = 0; i < m->n_labels && p->n_labels < TTAB_MAX_LABELS; i++) {
		if (strcmp(m->label_key[i], TARGETS_ROLE_LABEL) == 0 &&
		    (wire_enum_parse(&chaos__v1__role__descriptor, m->label_value[i],
		                     &p->role) != CHAOS_OK ||
		     p->role == CHAOS__V1__ROLE__ROLE_CONTROLLER))
			p->role = CHAOS__V1__ROLE__ROLE_UNSPECIFIED;
		snprintf(p->label_key[p->n_labels], sizeof(p->label_key[0]), "%s",
		         m->label_key[i]);
		snprintf(p->label_value[p->n_labels], sizeof(p->label_value[0]), "%s",
		         m->label_value[i]);
		p->n_labels++;
	}
}

/* By pod UID first (exact), else by IP (not a hostNetwork pod's). */
static const struct k8s_pod_meta *
targets_k8s_match(const struct targets_node *tn, const struct ttab_query *q)
{
	for (size_t i = 0; q->uid[0] != '\0' && i < tn->n; i++)
		if (strcmp(tn->pods[i].uid, q->uid) == 0)
			return &tn->pods[i];
	for (size_t i = 0; i < tn->n; i++)
		for (size_t k = 0; k < q->n_ips && !tn->pods[i].host_network; k++)
			if (tn->pods[i].pod_ip[0] != '\0' &&
			    strcmp(tn->pods[i].pod_ip, q->ips[k]) == 0)
				return &tn->pods[i];
	return NULL;
}

/* ---- one answer ---- */

static void
targets_pod_from_inv(const struct inv_pod *e, struct ttab_answer *a)
{
	a->found = true;
	a->pod   = e->pod;
	snprintf(a->source, sizeof(a->source), "inventory");
}

/* Why a target is not resolved: what was tried, with what it carried. */
static void
targets_not_found(struct targets *r, const struct targets_node *tn,
                  const struct ttab_query *q, struct ttab_answer *a)
{
	size_t n = 0;

	n += (size_t)snprintf(
	    a->reason + n, sizeof(a->reason) - n,
	    "netns %s, %s, pod uid %s: ", q->netns[0] ? q->netns : "unnamed",
	    q->n_ips ? q->ips[0] : "no IPv4", q->uid[0] ? q->uid : "unknown");
	if (r->k8s != NULL && n < sizeof(a->reason))
		n += (size_t)snprintf(
		    a->reason + n, sizeof(a->reason) - n, "%s; ",
		    tn == NULL    ? "too many nodes to ask the Kubernetes API"
		        : !tn->ok ? "the Kubernetes API could not be asked"
		                  : "no such pod on its node in the Kubernetes API");
	if (r->inv != NULL && n < sizeof(a->reason))
		snprintf(a->reason + n, sizeof(a->reason) - n, "not in the inventory");
	else if (r->k8s == NULL && n < sizeof(a->reason))
		snprintf(
		    a->reason + n, sizeof(a->reason) - n,
		    "the controller has no inventory (--inventory) and no Kubernetes "
		    "API (--kube-api)");
}

static void
targets_answer(struct targets *r, struct targets_node *nodes, size_t *n_nodes,
               const struct ttab_query *q, struct ttab_answer *a)
{
	struct targets_node       *tn = NULL;
	const struct k8s_pod_meta *m;
	const struct inv_pod      *e;

	memset(a, 0, sizeof(*a));
	if (r->k8s != NULL && q->node[0] != '\0' &&
	    (tn = targets_node_pods(r, nodes, n_nodes, q->node)) != NULL && tn->ok &&
	    (m = targets_k8s_match(tn, q)) != NULL) {
		targets_pod_from_k8s(m, a);
		return;
	}
	if (r->inv != NULL &&
	    (e = inv_match(r->inv, q->netns, q->ips, q->n_ips)) != NULL) {
		targets_pod_from_inv(e, a);
		return;
	}
	targets_not_found(r, tn, q, a);
}

/* The inventory's pods that no target matched. */
static void
targets_missing(struct targets *r, const struct ttab_query *q, size_t n)
{
	struct ttab_missing *m = NULL;
	size_t               k = 0;

	if (r->inv != NULL && n > 0 && (m = calloc(r->inv->n, sizeof(*m))) == NULL)
		return;
	for (size_t i = 0; m != NULL && i < r->inv->n; i++) {
		const struct inv_pod *e    = &r->inv->pods[i];
		bool                  seen = false;
		for (size_t j = 0; j < n && !seen; j++)
			seen = inv_match(r->inv, q[j].netns, q[j].ips, q[j].n_ips) == e;
		if (seen)
			continue;
		m[k].pod = e->pod;
		snprintf(m[k].reason, sizeof(m[k].reason),
		         "the inventory names it (%s%s%s%s) but no node agent reports a "
		         "network namespace with that %s",
		         e->pod.ip[0] ? "ip " : "", e->pod.ip,
		         e->pod.ip[0] && e->netns[0] ? ", " : "",
		         e->netns[0] ? e->netns : "",
		         e->pod.ip[0] && e->netns[0] ? "name or address"
		             : e->netns[0]           ? "name"
		                                     : "address");
		k++;
	}
	ttab_set_missing(r->t, m, k);
	free(m);
}

static void
targets_round(struct targets *r)
{
	struct targets_node nodes[TARGETS_MAX_NODES];
	size_t              n_nodes = 0;
	struct ttab_query  *q       = NULL;
	size_t              n       = ttab_queries(r->t, &q);
	struct ttab_answer *a       = calloc(n ? n : 1, sizeof(*a));

	targets_reload(r);
	for (size_t i = 0; a != NULL && i < n; i++)
		targets_answer(r, nodes, &n_nodes, &q[i], &a[i]);
	if (a != NULL)
		ttab_resolve(r->t, q, a, n);
	targets_missing(r, q, n);
	for (size_t i = 0; i < n_nodes; i++)
		free(nodes[i].pods);
	free(a);
	free(q);
}

static void *
targets_main(void *arg)
{
	struct targets *r    = arg;
	uint64_t        seen = 0;

	while (!atomic_load(&r->stop)) {
		targets_round(r);
		ttab_wait(r->t, &seen, TARGETS_REFRESH_MS);
	}
	return NULL;
}

chaos_err
targets_start(struct ttab *t, const struct targets_config *cfg, struct targets **out,
              chaos_why *why)
{
	struct targets *r = calloc(1, sizeof(*r));
	chaos_err       rv;
	int             rc;

	if (r == NULL)
		return CHAOS_ENOMEM;
	r->t = t;
	if (cfg->inventory != NULL) {
		if ((r->inv_path = strdup(cfg->inventory)) == NULL) {
			rv = CHAOS_ENOMEM;
			goto fail;
		}
		if ((rv = inv_load(cfg->inventory, &r->inv, why)) != CHAOS_OK)
			goto fail;
		stat(cfg->inventory, &r->inv_st); /* read: a change shows later */
		log_info("inventory %s: %zu pods", cfg->inventory, r->inv->n);
	}
	if (cfg->kube != NULL &&
	    (rv = k8s_client_new(cfg->kube, &r->k8s, why)) != CHAOS_OK)
		goto fail;
	if ((rc = pthread_create(&r->thread, NULL, targets_main, r)) != 0) {
		rv = chaos_fail(why, CHAOS_ESYS, "resolver thread: %s", strerror(rc));
		goto fail;
	}
	*out = r;
	return CHAOS_OK;
fail:
	k8s_client_free(r->k8s);
	inv_free(r->inv);
	free(r->inv_path);
	free(r);
	return rv;
}

void
targets_stop(struct targets *r)
{
	if (r == NULL)
		return;
	atomic_store(&r->stop, true);
	ttab_wake(r->t);
	pthread_join(r->thread, NULL);
	k8s_client_free(r->k8s);
	inv_free(r->inv);
	free(r->inv_path);
	free(r);
}
