// SPDX-License-Identifier: MIT
#include "common/wire.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/limits.h"
#include "common/url.h"

#define WIRE_MAX_DEPTH 8

chaos_err
wire_pack(const ProtobufCMessage *m, size_t max_size, nng_msg **out)
{
	size_t   len = protobuf_c_message_get_packed_size(m);
	nng_msg *msg = NULL;

	if (len > max_size)
		return CHAOS_ETOOBIG;
	if (nng_msg_alloc(&msg, len) != 0)
		return CHAOS_ENOMEM;
	/* __pack writes exactly the packed size with no bounds check, which is
	 * what the allocation above provides. */
	protobuf_c_message_pack(m, nng_msg_body(msg));
	*out = msg;
	return CHAOS_OK;
}

void *
wire_copy(const ProtobufCMessage *m)
{
	size_t            len = protobuf_c_message_get_packed_size(m);
	uint8_t          *buf = malloc(len ? len : 1);
	ProtobufCMessage *copy;

	if (buf == NULL)
		return NULL;
	protobuf_c_message_pack(m, buf);
	copy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
	free(buf);
	return copy;
}

void
wire_free(void *msg)
{
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, NULL);
}

/* Valid UTF-8 without control characters: strings end up in logs, JSON and
 * terminal tables, so nothing that can forge a line or escape is let in. */
static bool
wire_text_ok(const char *s, size_t max, bool allow_space)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t               n = 0;

	while (*p != '\0') {
		int  extra = 0;
		bool space;
		/* printable ASCII, nearly every byte: no more to look at */
		if (*p >= 0x20 && *p < 0x7f) {
			p++;
			if (++n > max)
				return false;
			continue;
		}
		space = *p == '\n' || *p == '\t' || *p == '\r';
		if ((*p < 0x20 && !(allow_space && space)) || *p == 0x7f)
			return false;
		if (*p >= 0x80) {
			if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
				extra = 1;
			else if ((*p & 0xf0) == 0xe0)
				extra = 2;
			else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
				extra = 3;
			else
				return false;
		}
		for (int i = 1; i <= extra; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		/* Overlong forms (an overlong '\n' is still a newline to a lax
		 * reader), UTF-16 surrogates, code points past U+10FFFF, and the
		 * C1 controls U+0080..U+009F (NEL, CSI). */
		if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
		    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f) ||
		    (p[0] == 0xc2 && p[1] < 0xa0))
			return false;
		p += 1 + extra;
		n += 1 + (size_t)extra;
		if (n > max)
			return false;
	}
	return true;
}

static chaos_err wire_check_generic(const ProtobufCMessage *m, int depth, chaos_why *why);

static bool
wire_field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0)
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	return true;
}

/* Fields named *_json carry whole documents (scenario settings and
 * results): larger, and whitespace is allowed. */
static bool
wire_field_is_doc(const ProtobufCFieldDescriptor *f)
{
	size_t nlen = strlen(f->name);

	return f->type == PROTOBUF_C_TYPE_STRING && nlen > 5 &&
	    strcmp(f->name + nlen - 5, "_json") == 0;
}

/* doc: wire_field_is_doc(f), asked once per field, not per value. */
static chaos_err
wire_check_value(const ProtobufCFieldDescriptor *f, const void *v, bool doc, int depth,
                 chaos_why *why)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_ENUM:
		if (protobuf_c_enum_descriptor_get_value(f->descriptor,
		                                         *(const int *)v) == NULL) {
			return chaos_fail(why, CHAOS_EPROTO, "unknown enum value");
		}
		return CHAOS_OK;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)v;
		if (s != NULL &&
		    !wire_text_ok(s, doc ? WIRE_MAX_CONTROL : LIMIT_TEXT_LEN, doc)) {
			return chaos_fail(
			    why, CHAOS_EPROTO,
			    "string too long, not UTF-8 or with control characters");
		}
		return CHAOS_OK;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)v;
		return sub == NULL ? CHAOS_OK : wire_check_generic(sub, depth + 1, why);
	}
	default:
		return CHAOS_OK;
	}
}

static size_t
wire_value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

/* Unknown fields are kept for forward compatibility, but protobuf-c's tag
 * parser lets an overlong field number 0 through and wraps numbers past
 * 2^29 - 1: such a field does not survive re-packing (the registry copies
 * identities by pack + unpack), so refuse it here. */
static bool
wire_unknown_fields_ok(const ProtobufCMessage *m)
{
	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0 ||
		    m->unknown_fields[i].tag > 0x1fffffffu)
			return false;
	return true;
}

/* How many values repeated field f of d may hold: the agents of a control
 * answer as many as a controller serves, anything else LIMIT_REPEATED. */
static size_t
wire_repeated_max(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
	return d == &chaos__v1__control_response__descriptor &&
	        f->offset == offsetof(Chaos__V1__ControlResponse, agents)
	    ? LIMIT_AGENTS
	    : LIMIT_REPEATED;
}

static chaos_err
wire_check_repeated(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                    int depth, chaos_why *why)
{
	const char *base = (const char *)m;
	size_t      n    = *(const size_t *)(base + f->quantifier_offset);
	const char *arr  = *(char *const *)(base + f->offset);
	size_t      size = wire_value_size(f);
	bool        doc  = wire_field_is_doc(f);
	chaos_err   rv;

	if (n > wire_repeated_max(m->descriptor, f))
		return chaos_fail(why, CHAOS_EPROTO, "too many repeated values");
	for (size_t k = 0; k < n; k++)
		if ((rv = wire_check_value(f, arr + k * size, doc, depth, why)) !=
		    CHAOS_OK)
			return rv;
	return CHAOS_OK;
}

/* Walks every present field: enum values must be known, strings must be
 * clean text, repeated fields bounded, nesting bounded. */
static chaos_err
wire_check_generic(const ProtobufCMessage *m, int depth, chaos_why *why)
{
	const ProtobufCMessageDescriptor *d    = m->descriptor;
	const char                       *base = (const char *)m;

	if (depth > WIRE_MAX_DEPTH) {
		return chaos_fail(why, CHAOS_EPROTO, "nested too deeply");
	}
	if (!wire_unknown_fields_ok(m)) {
		return chaos_fail(why, CHAOS_EPROTO, "invalid field number");
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		chaos_err                       rv;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			if ((rv = wire_check_repeated(m, f, depth, why)) != CHAOS_OK)
				return rv;
			continue;
		}
		if (!wire_field_present(m, f))
			continue;
		if ((rv = wire_check_value(f, base + f->offset, wire_field_is_doc(f),
		                           depth, why)) != CHAOS_OK)
			return rv;
	}
	return CHAOS_OK;
}

chaos_err
wire_check_id(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > LIMIT_ID_LEN)
		return CHAOS_EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
		      c == '/' || c == ':'))
			return CHAOS_EINVAL;
	}
	return CHAOS_OK;
}

/* The end of the four octets inet_pton(AF_INET) accepts at p (decimal,
 * no leading zeros, each <= 255), or NULL. Written out because a node
 * agent's reply checks thousands of peers before any target starts. */
static const char *
wire_ipv4_end(const char *p)
{
	for (int octet = 0; octet < 4; octet++) {
		unsigned v = 0, digits = 0;
		if (octet > 0 && *p++ != '.')
			return NULL;
		for (; *p >= '0' && *p <= '9'; p++, digits++) {
			v = v * 10 + (unsigned)(*p - '0');
			if ((digits > 0 && v < 10) || v > 255)
				return NULL; /* a leading zero, or too big */
		}
		if (digits == 0)
			return NULL;
	}
	return p;
}

chaos_err
wire_check_cidr(const char *s)
{
	const char *p;
	uint32_t    prefix = 0;
	size_t      n;

	if (s == NULL || (n = strlen(s)) == 0 || n >= INET_ADDRSTRLEN + 4 ||
	    (p = wire_ipv4_end(s)) == NULL)
		return CHAOS_EINVAL;
	if (*p == '\0')
		return CHAOS_OK;
	/* "/n": decimal 0..32, leading zeros allowed (as flags_parse_u32) */
	if (*p++ != '/' || *p < '0' || *p > '9')
		return CHAOS_EINVAL;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((prefix = prefix * 10 + (uint32_t)(*p - '0')) > 32)
			return CHAOS_EINVAL;
	return *p == '\0' ? CHAOS_OK : CHAOS_EINVAL;
}

static chaos_err
wire_fail(chaos_why *why, const char *text)
{
	return chaos_fail(why, CHAOS_EPROTO, "%s", text);
}

chaos_err
wire_check_identity(const Chaos__V1__Identity *id, chaos_why *why)
{
	unsigned char addr[16];

	if (wire_check_id(id->agent_id) != CHAOS_OK)
		return wire_fail(why, "identity: bad agent_id");
	if (wire_check_id(id->pod) != CHAOS_OK ||
	    wire_check_id(id->namespace_) != CHAOS_OK)
		return wire_fail(why, "identity: bad pod or namespace name");
	if (id->node[0] == '\0' || strlen(id->node) > LIMIT_ID_LEN)
		return wire_fail(why, "identity: bad node name");
	if (id->role == CHAOS__V1__ROLE__ROLE_UNSPECIFIED)
		return wire_fail(why, "identity: role unspecified");
	if (id->incarnation <= 0)
		return wire_fail(why, "identity: incarnation must be positive");
	if (id->n_ips > 64 || id->n_labels > 64)
		return wire_fail(why, "identity: too many ips or labels");
	for (size_t i = 0; i < id->n_ips; i++)
		if (inet_pton(AF_INET, id->ips[i], addr) != 1 &&
		    inet_pton(AF_INET6, id->ips[i], addr) != 1)
			return wire_fail(why, "identity: ip is not an address");
	for (size_t i = 0; i < id->n_labels; i++)
		if (id->labels[i]->key[0] == '\0')
			return wire_fail(why, "identity: empty label key");
	return CHAOS_OK;
}

static chaos_err
wire_check_ports(const uint32_t *ports, size_t n, chaos_why *why)
{
	if (n > LIMIT_FAULT_MAX_PORTS)
		return wire_fail(why, "fault: too many ports");
	for (size_t i = 0; i < n; i++)
		if (ports[i] < LIMIT_PORT_MIN || ports[i] > LIMIT_PORT_MAX)
			return wire_fail(why, "fault: port out of range 1..65535");
	return CHAOS_OK;
}

static chaos_err
wire_check_peers(char **peers, size_t n, chaos_why *why)
{
	if (n == 0 || n > LIMIT_PEERS)
		return wire_fail(why, "fault: peer list empty or too long");
	for (size_t i = 0; i < n; i++)
		if (wire_check_cidr(peers[i]) != CHAOS_OK)
			return wire_fail(why, "fault: peer is not an IPv4 CIDR");
	return CHAOS_OK;
}

static chaos_err
wire_check_fault_kind(const Chaos__V1__FaultSpec *f, chaos_why *why)
{
	switch (f->kind_case) {
	case CHAOS__V1__FAULT_SPEC__KIND_PARTITION:
		if (wire_check_peers(f->partition->peers, f->partition->n_peers, why))
			return CHAOS_EPROTO;
		return wire_check_ports(f->partition->ports, f->partition->n_ports, why);
	case CHAOS__V1__FAULT_SPEC__KIND_PORT:
		if (f->port->n_ports == 0)
			return wire_fail(why, "fault: port fault without ports");
		if (f->port->direction == CHAOS__V1__DIRECTION__DIRECTION_OUT &&
		    wire_check_peers(f->port->peers, f->port->n_peers, why) != CHAOS_OK)
			return CHAOS_EPROTO;
		return wire_check_ports(f->port->ports, f->port->n_ports, why);
	case CHAOS__V1__FAULT_SPEC__KIND_LATENCY:
		if (f->latency->port < LIMIT_PORT_MIN ||
		    f->latency->port > LIMIT_PORT_MAX)
			return wire_fail(why, "fault: latency port out of range");
		if (f->latency->delay_ms > LIMIT_DELAY_MAX_MS ||
		    f->latency->jitter_ms > f->latency->delay_ms)
			return wire_fail(why,
			                 "fault: latency delay or jitter out of range");
		if (f->latency->direction == CHAOS__V1__DIRECTION__DIRECTION_OUT &&
		    wire_check_peers(f->latency->peers, f->latency->n_peers, why) !=
		        CHAOS_OK)
			return CHAOS_EPROTO;
		return CHAOS_OK;
	case CHAOS__V1__FAULT_SPEC__KIND_PG_TERMINATE:
		if (f->pg_terminate->dsn[0] == '\0')
			return wire_fail(why, "fault: pg_terminate needs a DSN");
		return CHAOS_OK;
	case CHAOS__V1__FAULT_SPEC__KIND_KILL:
		if (f->kill->process_name[0] == '\0' || f->kill->signal < 0 ||
		    f->kill->signal > 64)
			return wire_fail(
			    why, "fault: kill needs a process name and a signal 0..64");
		return CHAOS_OK;
	case CHAOS__V1__FAULT_SPEC__KIND_LOSS:
		if (f->loss->percent == 0 || f->loss->percent > LIMIT_LOSS_MAX_PERCENT)
			return wire_fail(why, "fault: loss percent out of range 1..100");
		return wire_check_peers(f->loss->peers, f->loss->n_peers, why);
	default:
		return wire_fail(why, "fault: no kind set");
	}
}

chaos_err
wire_check_fault_spec(const Chaos__V1__FaultSpec *f, chaos_why *why)
{
	if (wire_check_id(f->fault_id) != CHAOS_OK)
		return wire_fail(why, "fault: bad fault_id");
	if (f->lease_ms < LIMIT_LEASE_MIN_MS || f->lease_ms > LIMIT_LEASE_MAX_MS)
		return chaos_fail(why, CHAOS_EPROTO,
		                  "fault: lease_ms out of range %u..%u",
		                  LIMIT_LEASE_MIN_MS, LIMIT_LEASE_MAX_MS);
	if (f->hard_end_ctl_us <= 0)
		return wire_fail(why, "fault: hard end time missing");
	for (size_t i = 0; i < f->n_exempt; i++)
		if (wire_check_cidr(f->exempt[i]) != CHAOS_OK)
			return wire_fail(why, "fault: exempt entry is not an IPv4 CIDR");
	return wire_check_fault_kind(f, why);
}

chaos_err
wire_check_hostport(const char *s)
{
	char     host[256];
	uint16_t port;

	if (url_parse_hostport(s, host, sizeof(host), &port, NULL) != CHAOS_OK)
		return CHAOS_EINVAL;
	return strchr(host, '/') == NULL && wire_check_cidr(host) == CHAOS_OK
	    ? CHAOS_OK
	    : CHAOS_EINVAL;
}

static chaos_err
wire_check_conn_spec(const Chaos__V1__ConnCheckSpec *c, chaos_why *why)
{
	if (wire_check_id(c->check_id) != CHAOS_OK ||
	    c->n_targets > LIMIT_CONNCHECK_MAX_TARGETS || c->timeout_ms == 0 ||
	    c->timeout_ms > LIMIT_TIMEOUT_MAX_MS)
		return wire_fail(why, "command: bad connectivity check");
	for (size_t i = 0; i < c->n_targets; i++)
		if (wire_check_hostport(c->targets[i]) != CHAOS_OK)
			return wire_fail(why,
			                 "command: connectivity target is not ipv4:port");
	return CHAOS_OK;
}

/* A node agent's target key as a command names it: the command's and the
 * fault's, when both are set, must agree. */
static chaos_err
wire_check_command_target(const Chaos__V1__Command *c, chaos_why *why)
{
	const char *ft = c->body_case == CHAOS__V1__COMMAND__BODY_APPLY_FAULT
	    ? c->apply_fault->target
	    : NULL;

	if (c->target != NULL && c->target[0] != '\0' &&
	    wire_check_id(c->target) != CHAOS_OK)
		return wire_fail(why, "command: bad target");
	if (ft != NULL && ft[0] != '\0' && wire_check_id(ft) != CHAOS_OK)
		return wire_fail(why, "fault: bad target");
	if (ft != NULL && ft[0] != '\0' && c->target != NULL && c->target[0] != '\0' &&
	    strcmp(ft, c->target) != 0)
		return wire_fail(why, "command: target differs from the fault's target");
	return CHAOS_OK;
}

static chaos_err
wire_check_command(const Chaos__V1__Command *c, chaos_why *why)
{
	if (c->command_id == 0)
		return wire_fail(why, "command: id 0");
	if (wire_check_command_target(c, why) != CHAOS_OK)
		return CHAOS_EPROTO;
	switch (c->body_case) {
	case CHAOS__V1__COMMAND__BODY_APPLY_FAULT:
		return wire_check_fault_spec(c->apply_fault, why);
	case CHAOS__V1__COMMAND__BODY_REVERT_FAULT:
		return wire_check_id(c->revert_fault)
		    ? wire_fail(why, "command: bad fault id")
		    : CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_START_PROBE:
		if (wire_check_id(c->start_probe->probe_id) ||
		    c->start_probe->kind ==
		        CHAOS__V1__PROBE_KIND__PROBE_KIND_UNSPECIFIED ||
		    c->start_probe->interval_ms < LIMIT_PROBE_INTERVAL_MIN_MS ||
		    c->start_probe->timeout_ms == 0 || c->start_probe->target[0] == '\0')
			return wire_fail(why, "command: bad probe spec");
		return CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_STOP_PROBE:
		return wire_check_id(c->stop_probe)
		    ? wire_fail(why, "command: bad probe id")
		    : CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_STOP_LOAD:
		return wire_check_id(c->stop_load)
		    ? wire_fail(why, "command: bad load id")
		    : CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_START_LOAD:
		if (wire_check_id(c->start_load->load_id) ||
		    c->start_load->rate_rps == 0 ||
		    c->start_load->rate_rps > LIMIT_LOAD_MAX_RATE ||
		    c->start_load->concurrency == 0 ||
		    c->start_load->concurrency > LIMIT_LOAD_MAX_CONCURRENCY ||
		    c->start_load->timeout_ms == 0)
			return wire_fail(why, "command: bad load spec");
		return CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_REVERT_ALL:
		return CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_CHECK_CONN:
		return wire_check_conn_spec(c->check_conn, why);
	default:
		return wire_fail(why, "command: no body");
	}
}

/* The common front half of every decoder: size cap, protobuf-c, version,
 * then the generic walk. */
static chaos_err
wire_unpack(const ProtobufCMessageDescriptor *d, const void *buf, size_t len, size_t max,
            ProtobufCMessage **out, chaos_why *why)
{
	ProtobufCMessage *m;
	uint32_t          version;
	chaos_err         rv;

	if (len > max) {
		return chaos_fail(why, CHAOS_ETOOBIG, "message over the size limit");
	}
	if (len == 0)
		return wire_fail(why, "empty message");
	m = protobuf_c_message_unpack(d, NULL, len, buf);
	if (m == NULL)
		return wire_fail(why,
		                 "not a valid protobuf message of the expected type");
	/* protocol_version is field 1 of every top-level message. */
	version = *(const uint32_t *)((const char *)m + d->fields[0].offset);
	if (version != WIRE_VERSION) {
		protobuf_c_message_free_unpacked(m, NULL);
		return chaos_fail(why, CHAOS_EVERSION, "unsupported protocol version");
	}
	if ((rv = wire_check_generic(m, 0, why)) != CHAOS_OK) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rv;
	}
	*out = m;
	return CHAOS_OK;
}

chaos_err
wire_check_netns_name(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > LIMIT_NETNS_NAME_LEN || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0 || strchr(s, '/') != NULL || strchr(s, ':') != NULL)
		return CHAOS_EINVAL;
	return wire_check_id(s);
}

chaos_err
wire_check_pod_uid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return CHAOS_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F') || s[i] == '-'))
			return CHAOS_EINVAL;
	return CHAOS_OK;
}

static chaos_err
wire_check_target(const Chaos__V1__Target *t, chaos_why *why)
{
	struct in_addr a;

	if (wire_check_id(t->key) != CHAOS_OK)
		return wire_fail(why, "targets: bad key");
	if (t->netns_name != NULL && wire_check_netns_name(t->netns_name) != CHAOS_OK)
		return wire_fail(why, "targets: bad netns name");
	if (t->pod_uid != NULL && wire_check_pod_uid(t->pod_uid) != CHAOS_OK)
		return wire_fail(why, "targets: bad pod uid");
	if (t->n_ips > LIMIT_TARGET_IPS)
		return wire_fail(why, "targets: too many addresses");
	for (size_t i = 0; i < t->n_ips; i++)
		if (inet_pton(AF_INET, t->ips[i], &a) != 1)
			return wire_fail(why, "targets: address is not IPv4");
	return CHAOS_OK;
}

chaos_err
wire_check_target_list(const Chaos__V1__TargetList *l, chaos_why *why)
{
	if (l->version == 0)
		return wire_fail(why, "targets: version 0");
	if (l->n_targets > LIMIT_NODE_TARGETS)
		return wire_fail(why, "targets: too many");
	for (size_t i = 0; i < l->n_targets; i++) {
		if (wire_check_target(l->targets[i], why) != CHAOS_OK)
			return CHAOS_EPROTO;
		for (size_t k = 0; k < i; k++)
			if (strcmp(l->targets[k]->key, l->targets[i]->key) == 0)
				return wire_fail(why, "targets: key listed twice");
	}
	return CHAOS_OK;
}

/* A proof's sizes (its contents are the controller's to judge): one to
 * LIMIT_PROOF_CERTS certificates, none empty or over its limit, and a
 * signature. */
static chaos_err
wire_check_proof(const Chaos__V1__IdentityProof *proof, chaos_why *why)
{
	if (proof->n_certificates == 0 || proof->n_certificates > LIMIT_PROOF_CERTS)
		return chaos_fail(why, CHAOS_EPROTO,
		                  "poll: identity proof needs 1..%u certificates",
		                  LIMIT_PROOF_CERTS);
	for (size_t i = 0; i < proof->n_certificates; i++)
		if (proof->certificates[i].len == 0 ||
		    proof->certificates[i].len > LIMIT_PROOF_CERT_LEN)
			return wire_fail(why,
			                 "poll: identity proof certificate empty or "
			                 "too long");
	if (proof->signature.len == 0 || proof->signature.len > LIMIT_PROOF_SIG_LEN)
		return wire_fail(why, "poll: identity proof signature empty or too long");
	return CHAOS_OK;
}

static chaos_err
wire_check_poll(const Chaos__V1__Poll *p, chaos_why *why)
{
	if (wire_check_id(p->agent_id) != CHAOS_OK)
		return wire_fail(why, "poll: bad agent_id");
	if (p->poll_seq == 0 || p->t1_agent_us <= 0)
		return wire_fail(why, "poll: sequence or time missing");
	if (p->identity != NULL && wire_check_identity(p->identity, why) != CHAOS_OK)
		return CHAOS_EPROTO;
	if (p->identity != NULL && strcmp(p->identity->agent_id, p->agent_id) != 0)
		return wire_fail(why, "poll: identity is for another agent");
	if (p->identity_proof != NULL && p->identity == NULL)
		return wire_fail(why,
		                 "poll: identity proof without the identity it proves");
	if (p->identity_proof != NULL &&
	    wire_check_proof(p->identity_proof, why) != CHAOS_OK)
		return CHAOS_EPROTO;
	for (size_t i = 0; i < p->n_acks; i++)
		if (p->acks[i]->command_id == 0 ||
		    p->acks[i]->status == CHAOS__V1__STATUS__STATUS_UNSPECIFIED)
			return wire_fail(why, "poll: ack without id or status");
	for (size_t i = 0; i < p->n_active_faults; i++)
		if (wire_check_id(p->active_faults[i]) != CHAOS_OK)
			return wire_fail(why, "poll: bad active fault id");
	return CHAOS_OK;
}

static chaos_err
wire_check_reply(const Chaos__V1__Reply *r, chaos_why *why)
{
	if (r->poll_seq == 0 || r->t2_ctl_us <= 0 || r->t3_ctl_us < r->t2_ctl_us)
		return wire_fail(why, "reply: sequence or times invalid");
	if (r->heartbeat_ms < 10 || r->heartbeat_ms > 60000)
		return wire_fail(why, "reply: heartbeat out of range 10..60000 ms");
	for (size_t i = 0; i < r->n_commands; i++)
		if (wire_check_command(r->commands[i], why) != CHAOS_OK)
			return CHAOS_EPROTO;
	if (r->has_instance_id && r->instance_id == 0)
		return wire_fail(why, "reply: instance id 0");
	for (size_t i = 0; i < r->n_live_faults; i++)
		if (wire_check_id(r->live_faults[i]) != CHAOS_OK)
			return wire_fail(why, "reply: bad live fault id");
	if (r->has_identity_challenge &&
	    (r->identity_challenge.len < LIMIT_NONCE_MIN ||
	     r->identity_challenge.len > LIMIT_NONCE_MAX))
		return chaos_fail(why, CHAOS_EPROTO,
		                  "reply: identity challenge must be %u..%u bytes",
		                  LIMIT_NONCE_MIN, LIMIT_NONCE_MAX);
	/* nothing is granted to a connection that has not proven who it is */
	if (r->has_identity_challenge && (r->n_commands > 0 || r->n_live_faults > 0))
		return wire_fail(why,
		                 "reply: an identity challenge that grants commands or "
		                 "leases");
	return CHAOS_OK;
}

static chaos_err
wire_check_event(const Chaos__V1__Event *e, chaos_why *why)
{
	if (wire_check_id(e->agent_id) != CHAOS_OK)
		return wire_fail(why, "event: bad agent_id");
	if (e->seq == 0 || e->t_agent_us <= 0)
		return wire_fail(why, "event: sequence or time missing");
	switch (e->body_case) {
	case CHAOS__V1__EVENT__BODY_HELLO:
		if (wire_check_identity(e->hello->identity, why) != CHAOS_OK)
			return CHAOS_EPROTO;
		if (strcmp(e->hello->identity->agent_id, e->agent_id) != 0)
			return wire_fail(why, "event: hello for another agent");
		return CHAOS_OK;
	case CHAOS__V1__EVENT__BODY_SAMPLE:
		return wire_check_id(e->sample->probe_id)
		    ? wire_fail(why, "event: bad probe_id")
		    : CHAOS_OK;
	case CHAOS__V1__EVENT__BODY_FAULT_STATE:
		if (wire_check_id(e->fault_state->fault_id) ||
		    e->fault_state->phase ==
		        CHAOS__V1__FAULT_PHASE__FAULT_PHASE_UNSPECIFIED)
			return wire_fail(why, "event: bad fault state");
		return CHAOS_OK;
	case CHAOS__V1__EVENT__BODY_LOAD:
		return wire_check_id(e->load->load_id)
		    ? wire_fail(why, "event: bad load_id")
		    : CHAOS_OK;
	case CHAOS__V1__EVENT__BODY_CONN:
		return wire_check_id(e->conn->check_id)
		    ? wire_fail(why, "event: bad check_id")
		    : CHAOS_OK;
	case CHAOS__V1__EVENT__BODY_TARGETS:
		return wire_check_target_list(e->targets, why);
	default:
		return wire_fail(why, "event: no body");
	}
}

#define WIRE_DECODER(fn, type, desc, max, check)                                         \
	chaos_err fn(const void *buf, size_t len, type **out, chaos_why *why)            \
	{                                                                                \
		ProtobufCMessage *m  = NULL;                                             \
		chaos_err         rv = wire_unpack(&desc, buf, len, max, &m, why);       \
		if (rv != CHAOS_OK)                                                      \
			return rv;                                                       \
		if ((rv = check((const type *)m, why)) != CHAOS_OK) {                    \
			protobuf_c_message_free_unpacked(m, NULL);                       \
			return rv;                                                       \
		}                                                                        \
		*out = (type *)m;                                                        \
		return CHAOS_OK;                                                         \
	}

static chaos_err
wire_check_control_request(const Chaos__V1__ControlRequest *r, chaos_why *why)
{
	switch (r->body_case) {
	case CHAOS__V1__CONTROL_REQUEST__BODY_RUN:
		if (wire_check_id(r->run->scenario) != CHAOS_OK)
			return wire_fail(why, "control: bad scenario name");
		return CHAOS_OK;
	case CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS:
		if (r->results->has_run_id && r->results->run_id == 0)
			return wire_fail(why, "control: run id 0");
		return CHAOS_OK;
	case CHAOS__V1__CONTROL_REQUEST__BODY__NOT_SET:
		return wire_fail(why, "control: no request body");
	default:
		return CHAOS_OK;
	}
}

/* A pod behind a node agent that resolved to no pod (or that only the
 * inventory names) has no identity yet: only its listing id. */
static bool
wire_agent_info_partial(const Chaos__V1__AgentInfo *a)
{
	return a->target != NULL &&
	    (a->target->state == CHAOS__V1__TARGET_STATE__TARGET_STATE_UNRESOLVED ||
	     a->target->state == CHAOS__V1__TARGET_STATE__TARGET_STATE_MISSING);
}

static chaos_err
wire_check_run_info(const Chaos__V1__RunInfo *ri, chaos_why *why)
{
	if (ri->run_id == 0 || wire_check_id(ri->scenario) != CHAOS_OK)
		return wire_fail(why, "control: run without id or scenario");
	if (ri->state == CHAOS__V1__RUN_STATE__RUN_STATE_UNSPECIFIED)
		return wire_fail(why, "control: run state unspecified");
	return CHAOS_OK;
}

static chaos_err
wire_check_live_fault(const Chaos__V1__LiveFault *f, chaos_why *why)
{
	if (wire_check_id(f->agent_id) != CHAOS_OK || wire_check_id(f->pod) != CHAOS_OK ||
	    wire_check_id(f->fault_id) != CHAOS_OK)
		return wire_fail(why, "control: fault with a bad agent, pod or fault id");
	return CHAOS_OK;
}

static chaos_err
wire_check_control_response(const Chaos__V1__ControlResponse *r, chaos_why *why)
{
	for (size_t i = 0; i < r->n_agents; i++) {
		const Chaos__V1__AgentInfo *a = r->agents[i];
		if (wire_agent_info_partial(a)) {
			if (wire_check_id(a->identity->agent_id) != CHAOS_OK)
				return wire_fail(why, "identity: bad agent_id");
		} else if (wire_check_identity(a->identity, why) != CHAOS_OK) {
			return CHAOS_EPROTO;
		}
		if (a->target != NULL &&
		    a->target->state == CHAOS__V1__TARGET_STATE__TARGET_STATE_UNSPECIFIED)
			return wire_fail(why, "agent info: target state unspecified");
	}
	for (size_t i = 0; i < r->n_runs; i++)
		if (wire_check_run_info(r->runs[i], why) != CHAOS_OK)
			return CHAOS_EPROTO;
	for (size_t i = 0; i < r->n_faults; i++)
		if (wire_check_live_fault(r->faults[i], why) != CHAOS_OK)
			return CHAOS_EPROTO;
	return CHAOS_OK;
}

WIRE_DECODER(wire_decode_poll, Chaos__V1__Poll, chaos__v1__poll__descriptor,
             WIRE_MAX_SESSION, wire_check_poll)
WIRE_DECODER(wire_decode_reply, Chaos__V1__Reply, chaos__v1__reply__descriptor,
             WIRE_MAX_SESSION, wire_check_reply)
WIRE_DECODER(wire_decode_event, Chaos__V1__Event, chaos__v1__event__descriptor,
             WIRE_MAX_EVENT, wire_check_event)
WIRE_DECODER(wire_decode_control_request, Chaos__V1__ControlRequest,
             chaos__v1__control_request__descriptor, WIRE_MAX_CONTROL,
             wire_check_control_request)
WIRE_DECODER(wire_decode_control_response, Chaos__V1__ControlResponse,
             chaos__v1__control_response__descriptor, WIRE_MAX_CONTROL,
             wire_check_control_response)

static void
wire_enum_prefix(const ProtobufCEnumDescriptor *d, char *out, size_t len)
{
	size_t n = 0;

	/* "RunState" -> "RUN_STATE_": the proto style guide's value prefix */
	for (const char *p = d->short_name; *p != '\0' && n + 3 < len; p++) {
		if (p != d->short_name && *p >= 'A' && *p <= 'Z')
			out[n++] = '_';
		out[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	}
	out[n++] = '_';
	out[n]   = '\0';
}

const char *
wire_enum_name(const ProtobufCEnumDescriptor *d, int value, char *buf, size_t len)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
	char                      prefix[64];
	const char               *name;
	size_t                    n = 0;

	if (v == NULL) {
		snprintf(buf, len, "unknown");
		return buf;
	}
	wire_enum_prefix(d, prefix, sizeof(prefix));
	name = v->name;
	if (strncmp(name, prefix, strlen(prefix)) == 0)
		name += strlen(prefix);
	for (; *name != '\0' && n + 1 < len; name++)
		buf[n++] =
		    (char)(*name >= 'A' && *name <= 'Z' ? *name - 'A' + 'a' : *name);
	buf[n] = '\0';
	return buf;
}

chaos_err
wire_enum_parse(const ProtobufCEnumDescriptor *d, const char *name, int *value)
{
	char buf[64];

	for (unsigned i = 0; name != NULL && i < d->n_values; i++)
		if (strcmp(wire_enum_name(d, d->values[i].value, buf, sizeof(buf)),
		           name) == 0) {
			*value = d->values[i].value;
			return CHAOS_OK;
		}
	return CHAOS_EINVAL;
}
