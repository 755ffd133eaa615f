// SPDX-License-Identifier: MIT
#include "controller/inventory.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/wire.h"

#define INV_MAX_BYTES (4u * 1024u * 1024u)

static const char *const inv_keys[] = {"name", "namespace", "role", "labels",
                                       "ip",   "netns",     NULL};

static bool
inv_key_known(const char *k)
{
	for (size_t i = 0; inv_keys[i] != NULL; i++)
		if (strcmp(inv_keys[i], k) == 0)
			return true;
	return false;
}

/* A string member that is a valid id (or absent when optional). */
static chaos_err
inv_name(json_t *o, const char *key, char *dst, size_t len, bool required, size_t i,
         chaos_why *why)
{
	json_t     *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	if (v == NULL && !required)
		return CHAOS_OK;
	if (s == NULL || strlen(s) >= len || wire_check_id(s) != CHAOS_OK ||
	    strchr(s, '/') != NULL)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "pods[%zu]: \"%s\" must be a name of [A-Za-z0-9._:-]",
		                  i, key);
	snprintf(dst, len, "%s", s);
	return CHAOS_OK;
}

static chaos_err
inv_role(json_t *o, struct ttab_pod *p, size_t i, chaos_why *why)
{
	const char *s = json_string_value(json_object_get(o, "role"));

	if (s == NULL ||
	    wire_enum_parse(&chaos__v1__role__descriptor, s, &p->role) != CHAOS_OK ||
	    p->role == CHAOS__V1__ROLE__ROLE_UNSPECIFIED ||
	    p->role == CHAOS__V1__ROLE__ROLE_CONTROLLER ||
	    p->role == CHAOS__V1__ROLE__ROLE_NODE)
		return chaos_fail(
		    why, CHAOS_EINVAL,
		    "pods[%zu]: \"role\" must be blockchain, coordinator or "
		    "database",
		    i);
	return CHAOS_OK;
}

static chaos_err
inv_labels(json_t *o, struct ttab_pod *p, size_t i, chaos_why *why)
{
	json_t     *labels = json_object_get(o, "labels"), *v;
	const char *k;

	if (labels == NULL)
		return CHAOS_OK;
	if (!json_is_object(labels) || json_object_size(labels) > TTAB_MAX_LABELS)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "pods[%zu]: \"labels\" must be an object of at most %d "
		                  "strings",
		                  i, TTAB_MAX_LABELS);
	json_object_foreach(labels, k, v)
	{
		char        kv[200], buf[200];
		const char *lk, *lv;
		if (!json_is_string(v) ||
		    snprintf(kv, sizeof(kv), "%s=%s", k, json_string_value(v)) >= 128 ||
		    strlen(k) >= 64 || strlen(json_string_value(v)) >= 64 ||
		    flags_parse_label(kv, buf, &lk, &lv) != CHAOS_OK)
			return chaos_fail(why, CHAOS_EINVAL,
			                  "pods[%zu]: label \"%s\": key and value of "
			                  "[A-Za-z0-9._/-], under 64 characters",
			                  i, k);
		snprintf(p->label_key[p->n_labels], sizeof(p->label_key[0]), "%s", lk);
		snprintf(p->label_value[p->n_labels], sizeof(p->label_value[0]), "%s",
		         lv);
		p->n_labels++;
	}
	return CHAOS_OK;
}

static chaos_err
inv_where(json_t *o, struct inv_pod *e, size_t i, chaos_why *why)
{
	json_t        *ip = json_object_get(o, "ip");
	struct in_addr a;

	if (ip != NULL &&
	    (!json_is_string(ip) || inet_pton(AF_INET, json_string_value(ip), &a) != 1))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "pods[%zu]: \"ip\" must be an IPv4 address", i);
	if (ip != NULL)
		snprintf(e->pod.ip, sizeof(e->pod.ip), "%s", json_string_value(ip));
	if (json_object_get(o, "netns") != NULL &&
	    (!json_is_string(json_object_get(o, "netns")) ||
	     wire_check_netns_name(json_string_value(json_object_get(o, "netns"))) !=
	         CHAOS_OK))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "pods[%zu]: \"netns\" must be a name under /run/netns",
		                  i);
	if (json_object_get(o, "netns") != NULL)
		snprintf(e->netns, sizeof(e->netns), "%s",
		         json_string_value(json_object_get(o, "netns")));
	if (e->pod.ip[0] == '\0' && e->netns[0] == '\0')
		return chaos_fail(
		    why, CHAOS_EINVAL,
		    "pods[%zu]: give \"ip\" or \"netns\" (or both) to find it", i);
	return CHAOS_OK;
}

static chaos_err
inv_entry(json_t *o, struct inv_pod *e, size_t i, chaos_why *why)
{
	const char *k;
	json_t     *v;
	chaos_err   rv;

	if (!json_is_object(o))
		return chaos_fail(why, CHAOS_EINVAL, "pods[%zu]: not an object", i);
	json_object_foreach(o, k, v)
	{
		if (!inv_key_known(k))
			return chaos_fail(
			    why, CHAOS_EINVAL,
			    "pods[%zu]: unknown key \"%s\" (name, namespace, "
			    "role, labels, ip, netns)",
			    i, k);
	}
	if ((rv = inv_name(o, "name", e->pod.name, sizeof(e->pod.name), true, i, why)) !=
	        CHAOS_OK ||
	    (rv = inv_name(o, "namespace", e->pod.namespace_, sizeof(e->pod.namespace_),
	                   true, i, why)) != CHAOS_OK ||
	    (rv = inv_role(o, &e->pod, i, why)) != CHAOS_OK ||
	    (rv = inv_labels(o, &e->pod, i, why)) != CHAOS_OK)
		return rv;
	return inv_where(o, e, i, why);
}

/* Each pod, address and netns name once: two entries for one of them
 * would make resolution depend on the file's order. */
static chaos_err
inv_unique(const struct inv *v, size_t i, chaos_why *why)
{
	const struct inv_pod *e = &v->pods[i];

	for (size_t k = 0; k < i; k++) {
		const struct inv_pod *o = &v->pods[k];
		if (strcmp(o->pod.name, e->pod.name) == 0 &&
		    strcmp(o->pod.namespace_, e->pod.namespace_) == 0)
			return chaos_fail(why, CHAOS_EINVAL,
			                  "pods[%zu]: pod %s/%s listed twice", i,
			                  e->pod.namespace_, e->pod.name);
		if ((e->pod.ip[0] && strcmp(o->pod.ip, e->pod.ip) == 0) ||
		    (e->netns[0] && strcmp(o->netns, e->netns) == 0))
			return chaos_fail(
			    why, CHAOS_EINVAL, "pods[%zu]: %s is also pods[%zu]'s", i,
			    e->pod.ip[0] && strcmp(o->pod.ip, e->pod.ip) == 0 ? e->pod.ip
			                                                      : e->netns,
			    k);
	}
	return CHAOS_OK;
}

static chaos_err
inv_take(json_t *pods, struct inv *v, chaos_why *why)
{
	size_t    i;
	json_t   *o;
	chaos_err rv;

	if (!json_is_array(pods) || json_array_size(pods) > INV_MAX_PODS)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "\"pods\" must be an array of at most %d entries",
		                  INV_MAX_PODS);
	if ((v->pods = calloc(json_array_size(pods) + 1, sizeof(*v->pods))) == NULL)
		return CHAOS_ENOMEM;
	json_array_foreach(pods, i, o)
	{
		if ((rv = inv_entry(o, &v->pods[i], i, why)) != CHAOS_OK)
			return rv;
		v->n = i + 1;
		if ((rv = inv_unique(v, i, why)) != CHAOS_OK)
			return rv;
	}
	return CHAOS_OK;
}

chaos_err
inv_parse(const char *text, size_t len, struct inv **out, chaos_why *why)
{
	json_error_t je;
	json_t      *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	struct inv  *v    = NULL;
	chaos_err    rv;

	if (root == NULL)
		return chaos_fail(why, CHAOS_EINVAL, "not JSON: %s (line %d)", je.text,
		                  je.line);
	if (!json_is_object(root) || json_object_size(root) != 1 ||
	    json_object_get(root, "pods") == NULL) {
		rv = chaos_fail(why, CHAOS_EINVAL, "must be an object {\"pods\": [...]}");
		goto out;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		rv = CHAOS_ENOMEM;
		goto out;
	}
	if ((rv = inv_take(json_object_get(root, "pods"), v, why)) == CHAOS_OK) {
		*out = v;
		v    = NULL;
	}
out:
	inv_free(v);
	json_decref(root);
	return rv;
}

chaos_err
inv_load(const char *path, struct inv **out, chaos_why *why)
{
	FILE     *f = fopen(path, "re");
	char     *buf;
	size_t    n;
	int       err;
	chaos_err rv;

	if (f == NULL)
		return chaos_fail(why, chaos_err_from_errno(errno), "%s: %s", path,
		                  strerror(errno));
	if ((buf = malloc(INV_MAX_BYTES + 1)) == NULL) {
		fclose(f);
		return CHAOS_ENOMEM;
	}
	n   = fread(buf, 1, INV_MAX_BYTES + 1, f);
	err = ferror(f) ? errno : 0; /* a directory opens, and reads EISDIR */
	fclose(f);
	if (err != 0)
		rv = chaos_fail(why, chaos_err_from_errno(err), "%s: %s", path,
		                strerror(err));
	else if (n > INV_MAX_BYTES)
		rv = chaos_fail(why, CHAOS_EINVAL, "%s: larger than %u bytes", path,
		                INV_MAX_BYTES);
	else if ((rv = inv_parse(buf, n, out, why)) != CHAOS_OK)
		chaos_fail_prefix(why, rv, "%s", path);
	free(buf);
	return rv;
}

void
inv_free(struct inv *v)
{
	if (v == NULL)
		return;
	free(v->pods);
	free(v);
}

const struct inv_pod *
inv_match(const struct inv *v, const char *netns, const char (*ips)[16], size_t n)
{
	for (size_t i = 0; netns != NULL && netns[0] != '\0' && i < v->n; i++)
		if (strcmp(v->pods[i].netns, netns) == 0)
			return &v->pods[i];
	/* the namespace's first address first: its primary one */
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < v->n; i++)
			if (v->pods[i].pod.ip[0] != '\0' &&
			    strcmp(v->pods[i].pod.ip, ips[k]) == 0)
				return &v->pods[i];
	return NULL;
}
