// SPDX-License-Identifier: MIT
#include "controller/allow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/k8s_http.h"

#define ALLOW_SA_NAMESPACE "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

void
allow_init(struct allow_list *a, const char *own_ns)
{
	memset(a, 0, sizeof(*a));
	if (own_ns != NULL && k8s_valid_name(own_ns, sizeof(a->own) - 1, false))
		snprintf(a->own, sizeof(a->own), "%s", own_ns);
}

void
allow_own_namespace(char *out, size_t len)
{
	const char *env = getenv("CHAOS_NAMESPACE");
	FILE       *f;

	out[0] = '\0';
	if (env != NULL && env[0] != '\0') {
		snprintf(out, len, "%s", env);
		return;
	}
	if ((f = fopen(ALLOW_SA_NAMESPACE, "r")) == NULL)
		return;
	if (fgets(out, (int)len, f) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	fclose(f);
}

static bool
allow_never(const struct allow_list *a, const char *ns)
{
	return strcmp(ns, ALLOW_NEVER) == 0 || (a->own[0] && strcmp(ns, a->own) == 0);
}

chaos_err
allow_add(struct allow_list *a, const char *ns, chaos_why *why)
{
	if (!k8s_valid_name(ns, sizeof(a->ns[0]) - 1, false))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "--allow-namespace '%s': allowed a namespace name "
		                  "(lower-case letters, digits, '-'; at most 63)",
		                  ns);
	if (allow_never(a, ns))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "--allow-namespace %s: never allowed (kube-system and "
		                  "the controller's own namespace%s%s are off limits)",
		                  ns, a->own[0] ? ", " : "", a->own);
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->ns[i], ns) == 0)
			return CHAOS_OK;
	if (a->n == ALLOW_MAX)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "--allow-namespace: at most %d namespaces", ALLOW_MAX);
	snprintf(a->ns[a->n++], sizeof(a->ns[0]), "%s", ns);
	return CHAOS_OK;
}

bool
allow_permits(const struct allow_list *a, const char *ns)
{
	if (ns == NULL || ns[0] == '\0' || allow_never(a, ns))
		return false;
	if (a->n == 0)
		return true;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->ns[i], ns) == 0)
			return true;
	return false;
}

const char *
allow_describe(const struct allow_list *a, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	if (a->n == 0) {
		snprintf(buf, len, "every namespace but %s%s%s", ALLOW_NEVER,
		         a->own[0] ? " and " : "", a->own);
		return buf;
	}
	for (size_t i = 0; i < a->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
		                         a->ns[i]);
	return buf;
}

chaos_err
allow_check(const struct allow_list *a, const char *what, const char *ns, chaos_why *why)
{
	char allowed[512];

	if (allow_permits(a, ns))
		return CHAOS_OK;
	return chaos_fail(why, CHAOS_EINVAL,
	                  "%s %s: not allowed by this controller; allowed: %s "
	                  "(chaos-controller --allow-namespace)",
	                  what, ns, allow_describe(a, allowed, sizeof(allowed)));
}
