/* SPDX-License-Identifier: MIT */
/*
 * The namespaces runs may touch. The controller is started with them
 * (--allow-namespace, repeatable); kube-system and the controller's own
 * namespace are never allowed, whatever the flags say. Without any
 * --allow-namespace every other namespace is allowed (and the controller
 * says so when it starts). A run naming a namespace outside the list is
 * refused before any fault; a run naming none only selects targets in
 * allowed namespaces.
 *
 * Thread safety: filled once at start, then read only.
 */
#ifndef CHAOS_CONTROLLER_ALLOW_H
#define CHAOS_CONTROLLER_ALLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/limits.h"

#define ALLOW_MAX 64
#define ALLOW_NEVER "kube-system"

struct allow_list {
	char   ns[ALLOW_MAX][64]; /* namespace names are DNS-1123 labels: <= 63 */
	size_t n;
	char   own[64]; /* the controller's own namespace, "" when not known */
};

/* An empty list (every namespace but the never ones allowed) for a
 * controller running in own_ns (NULL or "" when unknown). */
void allow_init(struct allow_list *a, const char *own_ns);

/* The controller's own namespace from its environment: CHAOS_NAMESPACE,
 * else the service account's namespace file; "" when neither. */
void allow_own_namespace(char *out, size_t len);

/* Adds ns; CHAOS_EINVAL with why when it is not a namespace name, is
 * kube-system or the controller's own, or the list is full. */
chaos_err allow_add(struct allow_list *a, const char *ns, chaos_why *why);

/* Whether a run may touch ns (a real namespace name, never ""). */
bool allow_permits(const struct allow_list *a, const char *ns);

/* CHAOS_OK when ns is allowed; else CHAOS_EINVAL with why naming what
 * (e.g. "--namespace") and what is allowed. */
chaos_err allow_check(const struct allow_list *a, const char *what, const char *ns,
                      chaos_why *why);

/* "staging, team-a" or "every namespace but kube-system and chaos" into buf. */
const char *allow_describe(const struct allow_list *a, char *buf, size_t len);

#endif
