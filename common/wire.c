// SPDX-License-Identifier: MIT
#include "common/wire.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"

#define WIRE_MAX_DEPTH 8

int
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
		bool space = *p == '\n' || *p == '\t' || *p == '\r';
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

static int wire_check_generic(const ProtobufCMessage *m, int depth, const char **reason);

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

static int
wire_check_value(const ProtobufCFieldDescriptor *f, const void *v, int depth,
                 const char **reason)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_ENUM:
		if (protobuf_c_enum_descriptor_get_value(f->descriptor,
		                                         *(const int *)v) == NULL) {
			*reason = "unknown enum value";
			return CHAOS_EPROTO;
		}
		return CHAOS_OK;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)v;
		/* Fields named *_json carry whole documents (scenario settings
		 * and results): larger, and whitespace is allowed. */
		size_t nlen = strlen(f->name);
		bool   doc  = nlen > 5 && strcmp(f->name + nlen - 5, "_json") == 0;
		if (s != NULL &&
		    !wire_text_ok(s, doc ? WIRE_MAX_CONTROL : WIRE_MAX_TEXT_LEN, doc)) {
			*reason = "string too long, not UTF-8 or with control characters";
			return CHAOS_EPROTO;
		}
		return CHAOS_OK;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)v;
		return sub == NULL ? CHAOS_OK
		                   : wire_check_generic(sub, depth + 1, reason);
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

/* Walks every present field: enum values must be known, strings must be
 * clean text, repeated fields bounded, nesting bounded. */
static int
wire_check_generic(const ProtobufCMessage *m, int depth, const char **reason)
{
	const ProtobufCMessageDescriptor *d    = m->descriptor;
	const char                       *base = (const char *)m;

	if (depth > WIRE_MAX_DEPTH) {
		*reason = "nested too deeply";
		return CHAOS_EPROTO;
	}
	if (!wire_unknown_fields_ok(m)) {
		*reason = "invalid field number";
		return CHAOS_EPROTO;
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		int                             rv;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t      n   = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)(base + f->offset);
			if (n > WIRE_MAX_REPEATED) {
				*reason = "too many repeated values";
				return CHAOS_EPROTO;
			}
			for (size_t k = 0; k < n; k++)
				if ((rv =
				         wire_check_value(f, arr + k * wire_value_size(f),
				                          depth, reason)) != CHAOS_OK)
					return rv;
			continue;
		}
		if (!wire_field_present(m, f))
			continue;
		if ((rv = wire_check_value(f, base + f->offset, depth, reason)) !=
		    CHAOS_OK)
			return rv;
	}
	return CHAOS_OK;
}

int
wire_check_id(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > WIRE_MAX_ID_LEN)
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

int
wire_check_cidr(const char *s)
{
	char           addr[INET_ADDRSTRLEN + 4];
	const char    *slash;
	struct in_addr a;
	uint32_t       prefix;
	size_t         n;

	if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(addr))
		return CHAOS_EINVAL;
	slash = strchr(s, '/');
	if (slash != NULL) {
		if (flags_parse_u32(slash + 1, 0, 32, &prefix) != CHAOS_OK)
			return CHAOS_EINVAL;
		n = (size_t)(slash - s);
	}
	memcpy(addr, s, n);
	addr[n] = '\0';
	return inet_pton(AF_INET, addr, &a) == 1 ? CHAOS_OK : CHAOS_EINVAL;
}

static int
wire_fail(const char **reason, const char *why)
{
	*reason = why;
	return CHAOS_EPROTO;
}

int
wire_check_identity(const Chaos__V1__Identity *id, const char **reason)
{
	unsigned char addr[16];

	if (wire_check_id(id->agent_id) != CHAOS_OK)
		return wire_fail(reason, "identity: bad agent_id");
	if (wire_check_id(id->pod) != CHAOS_OK ||
	    wire_check_id(id->namespace_) != CHAOS_OK)
		return wire_fail(reason, "identity: bad pod or namespace name");
	if (id->node[0] == '\0' || strlen(id->node) > WIRE_MAX_ID_LEN)
		return wire_fail(reason, "identity: bad node name");
	if (id->role == CHAOS__V1__ROLE__ROLE_UNSPECIFIED)
		return wire_fail(reason, "identity: role unspecified");
	if (id->incarnation <= 0)
		return wire_fail(reason, "identity: incarnation must be positive");
	if (id->n_ips > 64 || id->n_labels > 64)
		return wire_fail(reason, "identity: too many ips or labels");
	for (size_t i = 0; i < id->n_ips; i++)
		if (inet_pton(AF_INET, id->ips[i], addr) != 1 &&
		    inet_pton(AF_INET6, id->ips[i], addr) != 1)
			return wire_fail(reason, "identity: ip is not an address");
	for (size_t i = 0; i < id->n_labels; i++)
		if (id->labels[i]->key[0] == '\0')
			return wire_fail(reason, "identity: empty label key");
	return CHAOS_OK;
}

static int
wire_check_ports(const uint32_t *ports, size_t n, const char **reason)
{
	if (n > 64)
		return wire_fail(reason, "fault: too many ports");
	for (size_t i = 0; i < n; i++)
		if (ports[i] == 0 || ports[i] > 65535)
			return wire_fail(reason, "fault: port out of range 1..65535");
	return CHAOS_OK;
}

static int
wire_check_peers(char **peers, size_t n, const char **reason)
{
	if (n == 0 || n > WIRE_MAX_PEERS)
		return wire_fail(reason, "fault: peer list empty or too long");
	for (size_t i = 0; i < n; i++)
		if (wire_check_cidr(peers[i]) != CHAOS_OK)
			return wire_fail(reason, "fault: peer is not an IPv4 CIDR");
	return CHAOS_OK;
}

static int
wire_check_fault_kind(const Chaos__V1__FaultSpec *f, const char **reason)
{
	switch (f->kind_case) {
	case CHAOS__V1__FAULT_SPEC__KIND_PARTITION:
		if (wire_check_peers(f->partition->peers, f->partition->n_peers, reason))
			return CHAOS_EPROTO;
		return wire_check_ports(f->partition->ports, f->partition->n_ports,
		                        reason);
	case CHAOS__V1__FAULT_SPEC__KIND_PORT:
		if (f->port->n_ports == 0)
			return wire_fail(reason, "fault: port fault without ports");
		if (f->port->direction == CHAOS__V1__DIRECTION__DIRECTION_OUT &&
		    wire_check_peers(f->port->peers, f->port->n_peers, reason) !=
		        CHAOS_OK)
			return CHAOS_EPROTO;
		return wire_check_ports(f->port->ports, f->port->n_ports, reason);
	case CHAOS__V1__FAULT_SPEC__KIND_LATENCY:
		if (f->latency->port == 0 || f->latency->port > 65535)
			return wire_fail(reason, "fault: latency port out of range");
		if (f->latency->delay_ms > 600000 ||
		    f->latency->jitter_ms > f->latency->delay_ms)
			return wire_fail(reason,
			                 "fault: latency delay or jitter out of range");
		if (f->latency->direction == CHAOS__V1__DIRECTION__DIRECTION_OUT &&
		    wire_check_peers(f->latency->peers, f->latency->n_peers, reason) !=
		        CHAOS_OK)
			return CHAOS_EPROTO;
		return CHAOS_OK;
	case CHAOS__V1__FAULT_SPEC__KIND_PG_TERMINATE:
		if (f->pg_terminate->dsn[0] == '\0')
			return wire_fail(reason, "fault: pg_terminate needs a DSN");
		return CHAOS_OK;
	case CHAOS__V1__FAULT_SPEC__KIND_KILL:
		if (f->kill->process_name[0] == '\0' || f->kill->signal < 0 ||
		    f->kill->signal > 64)
			return wire_fail(
			    reason,
			    "fault: kill needs a process name and a signal 0..64");
		return CHAOS_OK;
	case CHAOS__V1__FAULT_SPEC__KIND_LOSS:
		if (f->loss->percent == 0 || f->loss->percent > 100)
			return wire_fail(reason,
			                 "fault: loss percent out of range 1..100");
		return wire_check_peers(f->loss->peers, f->loss->n_peers, reason);
	default:
		return wire_fail(reason, "fault: no kind set");
	}
}

int
wire_check_fault_spec(const Chaos__V1__FaultSpec *f, const char **reason)
{
	if (wire_check_id(f->fault_id) != CHAOS_OK)
		return wire_fail(reason, "fault: bad fault_id");
	if (f->lease_ms < 100 || f->lease_ms > 600000)
		return wire_fail(reason, "fault: lease_ms out of range 100..600000");
	if (f->hard_end_ctl_us <= 0)
		return wire_fail(reason, "fault: hard end time missing");
	for (size_t i = 0; i < f->n_exempt; i++)
		if (wire_check_cidr(f->exempt[i]) != CHAOS_OK)
			return wire_fail(reason,
			                 "fault: exempt entry is not an IPv4 CIDR");
	return wire_check_fault_kind(f, reason);
}

int
wire_check_hostport(const char *s)
{
	char        host[64];
	const char *colon = s != NULL ? strrchr(s, ':') : NULL;
	uint32_t    port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host) ||
	    flags_parse_u32(colon + 1, 1, 65535, &port) != CHAOS_OK)
		return CHAOS_EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	return strchr(host, '/') == NULL && wire_check_cidr(host) == CHAOS_OK
	    ? CHAOS_OK
	    : CHAOS_EINVAL;
}

static int
wire_check_conn_spec(const Chaos__V1__ConnCheckSpec *c, const char **reason)
{
	if (wire_check_id(c->check_id) != CHAOS_OK || c->n_targets > 256 ||
	    c->timeout_ms == 0 || c->timeout_ms > 60000)
		return wire_fail(reason, "command: bad connectivity check");
	for (size_t i = 0; i < c->n_targets; i++)
		if (wire_check_hostport(c->targets[i]) != CHAOS_OK)
			return wire_fail(reason,
			                 "command: connectivity target is not ipv4:port");
	return CHAOS_OK;
}

static int
wire_check_command(const Chaos__V1__Command *c, const char **reason)
{
	if (c->command_id == 0)
		return wire_fail(reason, "command: id 0");
	switch (c->body_case) {
	case CHAOS__V1__COMMAND__BODY_APPLY_FAULT:
		return wire_check_fault_spec(c->apply_fault, reason);
	case CHAOS__V1__COMMAND__BODY_REVERT_FAULT:
		return wire_check_id(c->revert_fault)
		    ? wire_fail(reason, "command: bad fault id")
		    : CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_START_PROBE:
		if (wire_check_id(c->start_probe->probe_id) ||
		    c->start_probe->kind ==
		        CHAOS__V1__PROBE_KIND__PROBE_KIND_UNSPECIFIED ||
		    c->start_probe->interval_ms < 10 || c->start_probe->timeout_ms == 0 ||
		    c->start_probe->target[0] == '\0')
			return wire_fail(reason, "command: bad probe spec");
		return CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_STOP_PROBE:
		return wire_check_id(c->stop_probe)
		    ? wire_fail(reason, "command: bad probe id")
		    : CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_STOP_LOAD:
		return wire_check_id(c->stop_load)
		    ? wire_fail(reason, "command: bad load id")
		    : CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_START_LOAD:
		if (wire_check_id(c->start_load->load_id) ||
		    c->start_load->rate_rps == 0 || c->start_load->rate_rps > 1000000 ||
		    c->start_load->concurrency == 0 ||
		    c->start_load->concurrency > 10000 || c->start_load->timeout_ms == 0)
			return wire_fail(reason, "command: bad load spec");
		return CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_REVERT_ALL:
		return CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_CHECK_CONN:
		return wire_check_conn_spec(c->check_conn, reason);
	default:
		return wire_fail(reason, "command: no body");
	}
}

/* The common front half of every decoder: size cap, protobuf-c, version,
 * then the generic walk. */
static int
wire_unpack(const ProtobufCMessageDescriptor *d, const void *buf, size_t len, size_t max,
            ProtobufCMessage **out, const char **reason)
{
	ProtobufCMessage *m;
	uint32_t          version;
	int               rv;

	if (len > max) {
		*reason = "message over the size limit";
		return CHAOS_ETOOBIG;
	}
	if (len == 0)
		return wire_fail(reason, "empty message");
	m = protobuf_c_message_unpack(d, NULL, len, buf);
	if (m == NULL)
		return wire_fail(reason,
		                 "not a valid protobuf message of the expected type");
	/* protocol_version is field 1 of every top-level message. */
	version = *(const uint32_t *)((const char *)m + d->fields[0].offset);
	if (version != WIRE_VERSION) {
		protobuf_c_message_free_unpacked(m, NULL);
		*reason = "unsupported protocol version";
		return CHAOS_EVERSION;
	}
	if ((rv = wire_check_generic(m, 0, reason)) != CHAOS_OK) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rv;
	}
	*out = m;
	return CHAOS_OK;
}

static int
wire_check_poll(const Chaos__V1__Poll *p, const char **reason)
{
	if (wire_check_id(p->agent_id) != CHAOS_OK)
		return wire_fail(reason, "poll: bad agent_id");
	if (p->poll_seq == 0 || p->t1_agent_us <= 0)
		return wire_fail(reason, "poll: sequence or time missing");
	if (p->identity != NULL && wire_check_identity(p->identity, reason) != CHAOS_OK)
		return CHAOS_EPROTO;
	if (p->identity != NULL && strcmp(p->identity->agent_id, p->agent_id) != 0)
		return wire_fail(reason, "poll: identity is for another agent");
	for (size_t i = 0; i < p->n_acks; i++)
		if (p->acks[i]->command_id == 0 ||
		    p->acks[i]->status == CHAOS__V1__STATUS__STATUS_UNSPECIFIED)
			return wire_fail(reason, "poll: ack without id or status");
	for (size_t i = 0; i < p->n_active_faults; i++)
		if (wire_check_id(p->active_faults[i]) != CHAOS_OK)
			return wire_fail(reason, "poll: bad active fault id");
	return CHAOS_OK;
}

static int
wire_check_reply(const Chaos__V1__Reply *r, const char **reason)
{
	if (r->poll_seq == 0 || r->t2_ctl_us <= 0 || r->t3_ctl_us < r->t2_ctl_us)
		return wire_fail(reason, "reply: sequence or times invalid");
	if (r->heartbeat_ms < 10 || r->heartbeat_ms > 60000)
		return wire_fail(reason, "reply: heartbeat out of range 10..60000 ms");
	for (size_t i = 0; i < r->n_commands; i++)
		if (wire_check_command(r->commands[i], reason) != CHAOS_OK)
			return CHAOS_EPROTO;
	return CHAOS_OK;
}

static int
wire_check_event(const Chaos__V1__Event *e, const char **reason)
{
	if (wire_check_id(e->agent_id) != CHAOS_OK)
		return wire_fail(reason, "event: bad agent_id");
	if (e->seq == 0 || e->t_agent_us <= 0)
		return wire_fail(reason, "event: sequence or time missing");
	switch (e->body_case) {
	case CHAOS__V1__EVENT__BODY_HELLO:
		if (wire_check_identity(e->hello->identity, reason) != CHAOS_OK)
			return CHAOS_EPROTO;
		if (strcmp(e->hello->identity->agent_id, e->agent_id) != 0)
			return wire_fail(reason, "event: hello for another agent");
		return CHAOS_OK;
	case CHAOS__V1__EVENT__BODY_SAMPLE:
		return wire_check_id(e->sample->probe_id)
		    ? wire_fail(reason, "event: bad probe_id")
		    : CHAOS_OK;
	case CHAOS__V1__EVENT__BODY_FAULT_STATE:
		if (wire_check_id(e->fault_state->fault_id) ||
		    e->fault_state->phase ==
		        CHAOS__V1__FAULT_PHASE__FAULT_PHASE_UNSPECIFIED)
			return wire_fail(reason, "event: bad fault state");
		return CHAOS_OK;
	case CHAOS__V1__EVENT__BODY_LOAD:
		return wire_check_id(e->load->load_id)
		    ? wire_fail(reason, "event: bad load_id")
		    : CHAOS_OK;
	case CHAOS__V1__EVENT__BODY_CONN:
		return wire_check_id(e->conn->check_id)
		    ? wire_fail(reason, "event: bad check_id")
		    : CHAOS_OK;
	default:
		return wire_fail(reason, "event: no body");
	}
}

#define WIRE_DECODER(fn, type, desc, max, check)                                         \
	int fn(const void *buf, size_t len, type **out, const char **reason)             \
	{                                                                                \
		ProtobufCMessage *m  = NULL;                                             \
		int               rv = wire_unpack(&desc, buf, len, max, &m, reason);    \
		if (rv != CHAOS_OK)                                                      \
			return rv;                                                       \
		if ((rv = check((const type *)m, reason)) != CHAOS_OK) {                 \
			protobuf_c_message_free_unpacked(m, NULL);                       \
			return rv;                                                       \
		}                                                                        \
		*out = (type *)m;                                                        \
		return CHAOS_OK;                                                         \
	}

static int
wire_check_control_request(const Chaos__V1__ControlRequest *r, const char **reason)
{
	switch (r->body_case) {
	case CHAOS__V1__CONTROL_REQUEST__BODY_RUN:
		if (wire_check_id(r->run->scenario) != CHAOS_OK)
			return wire_fail(reason, "control: bad scenario name");
		return CHAOS_OK;
	case CHAOS__V1__CONTROL_REQUEST__BODY__NOT_SET:
		return wire_fail(reason, "control: no request body");
	default:
		return CHAOS_OK;
	}
}

static int
wire_check_control_response(const Chaos__V1__ControlResponse *r, const char **reason)
{
	for (size_t i = 0; i < r->n_agents; i++)
		if (wire_check_identity(r->agents[i]->identity, reason) != CHAOS_OK)
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
