/* SPDX-License-Identifier: MIT */
/*
 * Packing and validated unpacking of the protocol in proto/chaos.proto.
 *
 * protobuf-c accepts far too much (empty buffers, unknown enum values, any
 * string); wire_decode_*() run protobuf-c and then check every field, so a
 * message that comes back is safe to use. On failure why says what was
 * wrong, for the "dropped" counter and the log.
 */
#ifndef CHAOS_COMMON_WIRE_H
#define CHAOS_COMMON_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "common/err.h"
#include "common/limits.h"
#include "proto/chaos.pb-c.h"

#define WIRE_VERSION CHAOS__V1__VERSION__VERSION_CURRENT

/* Receive caps, set on every socket with NNG_OPT_RECVMAXSZ. Anything larger
 * closes the pipe inside NNG; anything over the per-kind limit below but
 * within the socket cap is dropped and counted by us. */
#define WIRE_MAX_SESSION (256u * 1024u)
#define WIRE_MAX_EVENT (64u * 1024u)
#define WIRE_MAX_CONTROL (4u * 1024u * 1024u)
#define WIRE_SOCKET_SLACK 1024u /* socket cap = per-kind limit + slack */

/* Field limits are in common/limits.h (LIMIT_ID_LEN, LIMIT_TEXT_LEN, ...). */

/* Packs any message into a new NNG message (*out owned by the caller).
 * Returns CHAOS_OK, CHAOS_ENOMEM, or CHAOS_ETOOBIG above max_size. */
chaos_err wire_pack(const ProtobufCMessage *m, size_t max_size, nng_msg **out);

/* Unpacks and validates. On success *out is owned by the caller and freed
 * with wire_free(). Returns CHAOS_ETOOBIG, CHAOS_EPROTO or CHAOS_EVERSION
 * with why set. */
chaos_err wire_decode_poll(const void *buf, size_t len, Chaos__V1__Poll **out,
                           chaos_why *why);
chaos_err wire_decode_reply(const void *buf, size_t len, Chaos__V1__Reply **out,
                            chaos_why *why);
chaos_err wire_decode_event(const void *buf, size_t len, Chaos__V1__Event **out,
                            chaos_why *why);
chaos_err wire_decode_control_request(const void *buf, size_t len,
                                      Chaos__V1__ControlRequest **out, chaos_why *why);
chaos_err wire_decode_control_response(const void *buf, size_t len,
                                       Chaos__V1__ControlResponse **out, chaos_why *why);

/* A deep copy of m (protobuf-c has none: a pack/unpack round trip), owned
 * by the caller and freed with wire_free(); NULL when out of memory. */
void *wire_copy(const ProtobufCMessage *m);

/* Frees a message returned by wire_decode_*() or wire_copy(); NULL is fine. */
void wire_free(void *msg);

/* Field checks shared with the code that builds messages. */
chaos_err wire_check_identity(const Chaos__V1__Identity *id, chaos_why *why);
chaos_err wire_check_fault_spec(const Chaos__V1__FaultSpec *f, chaos_why *why);
chaos_err wire_check_id(const char *s);       /* CHAOS_OK for a valid id */
chaos_err wire_check_cidr(const char *s);     /* "a.b.c.d" or "a.b.c.d/n" */
chaos_err wire_check_hostport(const char *s); /* "a.b.c.d:port" */
/* A name under /run/netns as targets carry it: an id without '/' or ':',
 * at most LIMIT_NETNS_NAME_LEN. */
chaos_err wire_check_netns_name(const char *s);
/* A Kubernetes pod UID: hex digits and dashes, 1..64. */
chaos_err wire_check_pod_uid(const char *s);
/* A node agent's target list (version, bound, keys unique, each target). */
chaos_err wire_check_target_list(const Chaos__V1__TargetList *l, chaos_why *why);

/* A protocol enum value's short name: the proto name without its type's
 * prefix, in lower case (ROLE_BLOCKCHAIN -> "blockchain",
 * RUN_STATE_SUCCEEDED -> "succeeded"), written into buf and returned;
 * "unknown" for a value the enum does not have. */
const char *wire_enum_name(const ProtobufCEnumDescriptor *d, int value, char *buf,
                           size_t len);

/* The inverse of wire_enum_name; CHAOS_EINVAL for a name the enum lacks. */
chaos_err wire_enum_parse(const ProtobufCEnumDescriptor *d, const char *name, int *value);

#endif
