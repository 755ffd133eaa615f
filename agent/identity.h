/* SPDX-License-Identifier: MIT */
/*
 * The agent's identity: who it is (pod, namespace, node, role, labels) and
 * the IPs of its own interfaces. Flags win over the environment
 * (CHAOS_POD_NAME, CHAOS_NAMESPACE, CHAOS_NODE_NAME, CHAOS_ROLE).
 */
#ifndef CHAOS_AGENT_IDENTITY_H
#define CHAOS_AGENT_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"
#include "proto/chaos.pb-c.h"

#define IDENTITY_MAX_LABELS 16
#define IDENTITY_MAX_IPS 16
#define IDENTITY_NAME_LEN (LIMIT_ID_LEN + 1)

struct identity {
	char    agent_id[IDENTITY_NAME_LEN]; /* "<namespace>/<pod>" unless --id */
	char    pod[IDENTITY_NAME_LEN];
	char    namespace_[IDENTITY_NAME_LEN];
	char    node[IDENTITY_NAME_LEN];
	int     role; /* Chaos__V1__Role */
	char    label_key[IDENTITY_MAX_LABELS][64];
	char    label_value[IDENTITY_MAX_LABELS][64];
	size_t  n_labels;
	char    ips[IDENTITY_MAX_IPS][46];
	size_t  n_ips;
	int64_t incarnation; /* process start, us */
	int     mode;        /* Chaos__V1__AgentMode; set by the caller */
};

/* Inputs before defaults: NULL fields fall back to the environment, then to
 * defaults (pod: hostname, namespace: "default", node: hostname). */
struct identity_args {
	const char *id;
	const char *pod;
	const char *namespace_;
	const char *node;
	const char *role;
	const char *labels[IDENTITY_MAX_LABELS]; /* "key=value" */
	size_t      n_labels;
};

/* Fills id from args, the environment and the interfaces. Returns CHAOS_OK,
 * or CHAOS_EINVAL with *why naming the bad value (for a usage error). */
chaos_err identity_resolve(const struct identity_args *args, struct identity *id,
                           chaos_why *why);

/* Re-reads the IPs of the current network namespace's interfaces (not
 * loopback) into id. Returns CHAOS_OK or CHAOS_ESYS. */
chaos_err identity_read_ips(struct identity *id);

/* Fills a protobuf view of id. The view points into id and into the
 * caller-provided storage; it lives as long as both. */
struct identity_pb {
	Chaos__V1__Identity msg;
	Chaos__V1__Label    label[IDENTITY_MAX_LABELS];
	Chaos__V1__Label   *label_ptr[IDENTITY_MAX_LABELS];
	char               *ip_ptr[IDENTITY_MAX_IPS];
};
void identity_to_pb(const struct identity *id, struct identity_pb *pb);

#endif
