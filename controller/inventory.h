/* SPDX-License-Identifier: MIT */
/*
 * The inventory: who the pods are, for a controller without a Kubernetes
 * API (the sandbox writes one), so that a node agent's targets resolve to
 * pods by their netns name or IP address. A JSON file:
 *
 *   {"pods": [{"name": "chain-0", "namespace": "chaos-sandbox",
 *              "role": "blockchain", "labels": {"app": "chain"},
 *              "ip": "10.231.0.30", "netns": "chaos-chain-0"}, ...]}
 *
 * name, namespace and role are required; at least one of ip and netns.
 * Strict: an unknown key, a bad name or address, or a pod listed twice is
 * an error naming the entry, and nothing of the file is taken.
 */
#ifndef CHAOS_CONTROLLER_INVENTORY_H
#define CHAOS_CONTROLLER_INVENTORY_H

#include <stddef.h>

#include "common/err.h"
#include "common/limits.h"
#include "controller/target_table.h"

#define INV_MAX_PODS 4096

struct inv_pod {
	struct ttab_pod pod; /* pod.ip: "" when only netns is given */
	char            netns[LIMIT_NETNS_NAME_LEN + 1];
};

struct inv {
	struct inv_pod *pods;
	size_t          n;
};

/* Parses text (len bytes) into *out (free with inv_free). CHAOS_EINVAL
 * with why ("pods[3]: role 'x' ...") for a bad file, CHAOS_ENOMEM. */
chaos_err inv_parse(const char *text, size_t len, struct inv **out, chaos_why *why);

/* Reads and parses path. Also CHAOS_ENOENT/CHAOS_EPERM for the file. */
chaos_err inv_load(const char *path, struct inv **out, chaos_why *why);

void inv_free(struct inv *v);

/* The entry for a namespace named netns ("" none) holding ips[0..n):
 * by name first, then by address (ips[0] first); NULL when none. */
const struct inv_pod *inv_match(const struct inv *v, const char *netns,
                                const char (*ips)[16], size_t    n);

#endif
