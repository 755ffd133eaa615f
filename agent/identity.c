// SPDX-License-Identifier: MIT
#include "agent/identity.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/flags.h"
#include "common/wire.h"

static const char *
identity_pick(const char *flag, const char *env_name, const char *fallback)
{
	const char *env = getenv(env_name);

	if (flag != NULL)
		return flag;
	if (env != NULL && *env != '\0')
		return env;
	return fallback;
}

static chaos_err
identity_copy_name(char *dst, const char *src, const char *what, chaos_why *why)
{
	if (wire_check_id(src) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "%s must be 1..%u characters of [A-Za-z0-9._:/-]", what,
		                  LIMIT_ID_LEN);
	snprintf(dst, IDENTITY_NAME_LEN, "%s", src);
	return CHAOS_OK;
}

/* An agent's roles, from the Role enum: all but unspecified and controller. */
static chaos_err
identity_role(const char *role, int *out, chaos_why *why)
{
	const ProtobufCEnumDescriptor *d          = &chaos__v1__role__descriptor;
	char                           names[128] = "", name[32];
	size_t                         n          = 0;

	if (role != NULL && wire_enum_parse(d, role, out) == CHAOS_OK &&
	    *out != CHAOS__V1__ROLE__ROLE_UNSPECIFIED &&
	    *out != CHAOS__V1__ROLE__ROLE_CONTROLLER)
		return CHAOS_OK;
	for (unsigned i = 0; i < d->n_values; i++) {
		int v = d->values[i].value;
		if (v == CHAOS__V1__ROLE__ROLE_UNSPECIFIED ||
		    v == CHAOS__V1__ROLE__ROLE_CONTROLLER || n >= sizeof(names))
			continue;
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "",
		                      wire_enum_name(d, v, name, sizeof(name)));
	}
	return chaos_fail(why, CHAOS_EINVAL,
	                  "role (--role or CHAOS_ROLE) must be one of %s", names);
}

static chaos_err
identity_labels(const struct identity_args *args, struct identity *id, chaos_why *why)
{
	for (size_t i = 0; i < args->n_labels; i++) {
		char        buf[256];
		const char *k, *v;
		if (strlen(args->labels[i]) >= 64 ||
		    flags_parse_label(args->labels[i], buf, &k, &v) != CHAOS_OK) {
			return chaos_fail(
			    why, CHAOS_EINVAL,
			    "--label must be key=value with [A-Za-z0-9._/-], under 64 "
			    "characters");
		}
		snprintf(id->label_key[i], sizeof(id->label_key[i]), "%s", k);
		snprintf(id->label_value[i], sizeof(id->label_value[i]), "%s", v);
	}
	id->n_labels = args->n_labels;
	return CHAOS_OK;
}

chaos_err
identity_resolve(const struct identity_args *args, struct identity *id, chaos_why *why)
{
	char      host[IDENTITY_NAME_LEN] = "localhost";
	chaos_err rv;

	memset(id, 0, sizeof(*id));
	gethostname(host, sizeof(host) - 1);
	if ((rv = identity_copy_name(
	         id->pod, identity_pick(args->pod, "CHAOS_POD_NAME", host),
	         "pod name (--pod or CHAOS_POD_NAME)", why)) != CHAOS_OK ||
	    (rv = identity_copy_name(
	         id->namespace_,
	         identity_pick(args->namespace_, "CHAOS_NAMESPACE", "default"),
	         "namespace (--namespace or CHAOS_NAMESPACE)", why)) != CHAOS_OK ||
	    (rv = identity_copy_name(
	         id->node, identity_pick(args->node, "CHAOS_NODE_NAME", host),
	         "node name (--node or CHAOS_NODE_NAME)", why)) != CHAOS_OK ||
	    (rv = identity_role(identity_pick(args->role, "CHAOS_ROLE", NULL), &id->role,
	                        why)) != CHAOS_OK)
		return rv;
	if (args->id != NULL) {
		if ((rv = identity_copy_name(id->agent_id, args->id, "--id", why)) !=
		    CHAOS_OK)
			return rv;
	} else if (snprintf(id->agent_id, sizeof(id->agent_id), "%s/%s", id->namespace_,
	                    id->pod) >= (int)sizeof(id->agent_id)) {
		return chaos_fail(why, CHAOS_EINVAL,
		                  "namespace/pod is longer than %u characters; pass --id",
		                  LIMIT_ID_LEN);
	}
	if ((rv = identity_labels(args, id, why)) != CHAOS_OK)
		return rv;
	id->incarnation = clk_now_us();
	return identity_read_ips(id);
}

chaos_err
identity_read_ips(struct identity *id)
{
	struct ifaddrs *all = NULL;

	if (getifaddrs(&all) != 0)
		return CHAOS_ESYS;
	id->n_ips = 0;
	for (struct ifaddrs *a = all; a != NULL && id->n_ips < IDENTITY_MAX_IPS;
	     a                 = a->ifa_next) {
		const void *addr;
		if (a->ifa_addr == NULL || (a->ifa_flags & IFF_LOOPBACK) != 0)
			continue;
		if (a->ifa_addr->sa_family == AF_INET)
			addr = &((struct sockaddr_in *)a->ifa_addr)->sin_addr;
		else if (a->ifa_addr->sa_family == AF_INET6)
			addr = &((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr;
		else
			continue;
		/* Link-local IPv6 is useless to peers in other pods. */
		if (a->ifa_addr->sa_family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)addr))
			continue;
		inet_ntop(a->ifa_addr->sa_family, addr, id->ips[id->n_ips],
		          sizeof(id->ips[0]));
		id->n_ips++;
	}
	freeifaddrs(all);
	return CHAOS_OK;
}

void
identity_to_pb(const struct identity *id, struct identity_pb *pb)
{
	chaos__v1__identity__init(&pb->msg);
	pb->msg.agent_id    = (char *)id->agent_id;
	pb->msg.pod         = (char *)id->pod;
	pb->msg.namespace_  = (char *)id->namespace_;
	pb->msg.node        = (char *)id->node;
	pb->msg.role        = id->role;
	pb->msg.incarnation = id->incarnation;
	pb->msg.version     = CHAOS_VERSION;
	pb->msg.has_pid     = true;
	pb->msg.pid         = (uint32_t)getpid();
	pb->msg.has_mode    = id->mode != CHAOS__V1__AGENT_MODE__AGENT_MODE_UNSPECIFIED;
	pb->msg.mode        = id->mode;
	for (size_t i = 0; i < id->n_labels; i++) {
		chaos__v1__label__init(&pb->label[i]);
		pb->label[i].key   = (char *)id->label_key[i];
		pb->label[i].value = (char *)id->label_value[i];
		pb->label_ptr[i]   = &pb->label[i];
	}
	pb->msg.n_labels = id->n_labels;
	pb->msg.labels   = pb->label_ptr;
	for (size_t i = 0; i < id->n_ips; i++)
		pb->ip_ptr[i] = (char *)id->ips[i];
	pb->msg.n_ips = id->n_ips;
	pb->msg.ips   = pb->ip_ptr;
}
