/* SPDX-License-Identifier: MIT */
/*
 * Valid wire messages built in caller storage, for the unit tests of
 * common/wire.c (which spoil one field at a time) and the fuzz corpus
 * generator (which writes them as seeds); and one decoder adapter per message
 * type, so a table of decoders can be walked. Every *_init() result decodes.
 * Strings are string literals: nothing here is allocated or freed.
 */
#ifndef CHAOS_TESTS_WIRE_FIX_H
#define CHAOS_TESTS_WIRE_FIX_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/wire.h"

#define WIRE_FIX_T0_US 1700000000000000LL /* 2023-11-14T22:13:20Z */

/* The decoders, in the fuzz target's order (its first input byte). */
enum wire_fix_kind {
	WIRE_FIX_POLL,
	WIRE_FIX_REPLY,
	WIRE_FIX_EVENT,
	WIRE_FIX_CTL_REQ,
	WIRE_FIX_CTL_RESP,
	WIRE_FIX_N_KINDS
};

/* wire_decode_*() with the message as void *. *out is passed through as the
 * decoder's initial *out, so a caller can check it is left alone on failure. */
typedef chaos_err (*wire_fix_decode_fn)(const void *buf, size_t len, void **out,
                                        chaos_why *why);
extern const wire_fix_decode_fn wire_fix_decoders[WIRE_FIX_N_KINDS];

struct wire_fix_ident {
	Chaos__V1__Identity id;
	Chaos__V1__Label    label;
	Chaos__V1__Label   *labels[1];
	char               *ips[2];
};

/* A database pod "db-0" in namespace "ledger" with one label, two IPs. */
void wire_fix_ident_init(struct wire_fix_ident *f, char *agent_id);

struct wire_fix_poll {
	Chaos__V1__Poll       poll;
	struct wire_fix_ident ident;
	Chaos__V1__Ack        ack[2];
	Chaos__V1__Ack       *acks[2];
	char                 *faults[2];
	/* wire_fix_poll_add_proof() */
	Chaos__V1__IdentityProof proof;
	ProtobufCBinaryData      certs[2];
	uint8_t                  cert_der[2][64];
	uint8_t                  sig[72];
};

/* A minimal poll from "ledger/db-0": no identity, acks, times or faults. */
void wire_fix_poll_init(struct wire_fix_poll *f);

/* Adds the identity (f->ident). */
void wire_fix_poll_add_identity(struct wire_fix_poll *f);

/* Adds the identity and an answer to an identity challenge: two
 * "certificates" of 64 bytes and a 72-byte "signature" (sizes only: the
 * wire checks no more; controller/identity_check.c does). */
void wire_fix_poll_add_proof(struct wire_fix_poll *f);

/* Adds the previous exchange's four times, an OK and a FAILED ack (ids 40,
 * 41) and two active faults. */
void wire_fix_poll_add_acks_times_faults(struct wire_fix_poll *f);

/* One command of each kind. */
struct wire_fix_cmd {
	Chaos__V1__Command        cmd;
	Chaos__V1__FaultSpec      fault;
	Chaos__V1__PartitionFault partition;
	Chaos__V1__PortFault      port;
	Chaos__V1__LatencyFault   latency;
	Chaos__V1__KillFault      kill;
	Chaos__V1__LossFault      loss;
	Chaos__V1__ProbeSpec      probe;
	Chaos__V1__LoadSpec       load;
	char                     *peers[2];
	uint32_t                  ports[2];
	char                     *exempt[2];
};

/* A command with this id and no body yet. */
void wire_fix_cmd_init(struct wire_fix_cmd *f, uint64_t id);

/* The body: apply a fault of this kind (run-1/fault-3 on db-0, lease 3 s);
 * KIND__NOT_SET leaves the fault without a kind. */
void wire_fix_cmd_fault(struct wire_fix_cmd *f, Chaos__V1__FaultSpec__KindCase kind);

/* The body: start an HTTP probe "probe-height" every 250 ms. */
void wire_fix_cmd_probe(struct wire_fix_cmd *f);

/* A probe spec of this kind: id and target (borrowed), checked every
 * interval_ms with timeout_ms; no expectations. */
Chaos__V1__ProbeSpec wire_fix_probe_spec(const char *id, Chaos__V1__ProbeKind kind,
                                         const char *target, uint32_t interval_ms,
                                         uint32_t timeout_ms);

/* The body: start load "load-1", 200 rps, 32 connections, for 60 s. */
void wire_fix_cmd_load(struct wire_fix_cmd *f);

struct wire_fix_reply {
	Chaos__V1__Reply    reply;
	Chaos__V1__Command *cmds[1];
	struct wire_fix_cmd c;
};

/* A reply (poll_seq 7, heartbeat 500 ms) carrying one command, id 41, whose
 * body the caller sets (wire_fix_cmd_*()). */
void wire_fix_reply_init(struct wire_fix_reply *f);

/* Turns it into an identity challenge: no command, a 32-byte nonce (in
 * static storage), and the refusal line for older agents. */
void wire_fix_reply_challenge(struct wire_fix_reply *f);

struct wire_fix_event {
	Chaos__V1__Event       ev;
	Chaos__V1__Hello       hello;
	struct wire_fix_ident  ident;
	Chaos__V1__ProbeSample sample;
	Chaos__V1__FaultState  state;
	Chaos__V1__LoadReport  load;
	uint64_t               errors[3];
	uint64_t               hist[4];
};

/* An event from "ledger/db-0", seq 12, with no body yet. */
void wire_fix_event_init(struct wire_fix_event *f);

/* The body: hello with f->ident. */
void wire_fix_event_hello(struct wire_fix_event *f);

/* The body: fault run-1/fault-3 applied; detail (may be NULL) is not copied. */
void wire_fix_event_fault_state(struct wire_fix_event *f, const char *detail);

/* The body: an unhealthy PostgreSQL probe sample (SQLSTATE 57P01). */
void wire_fix_event_sample(struct wire_fix_event *f);

/* The body: the final load report of load-1 (1000 scheduled, 990 ok). */
void wire_fix_event_load(struct wire_fix_event *f);

struct wire_fix_ctl_req {
	Chaos__V1__ControlRequest    req;
	Chaos__V1__ListAgentsRequest list;
	Chaos__V1__StatsRequest      stats;
	Chaos__V1__StatusRequest     status;
	Chaos__V1__ResultsRequest    results;
};

/* A control request with this body (LIST_AGENTS: every namespace, STATS,
 * STATUS, RESULTS: every run); BODY__NOT_SET leaves it without one. */
void wire_fix_ctl_req_init(struct wire_fix_ctl_req            *f,
                           Chaos__V1__ControlRequest__BodyCase body);

struct wire_fix_ctl_resp {
	Chaos__V1__ControlResponse resp;
	Chaos__V1__AgentInfo       info;
	Chaos__V1__AgentInfo      *infos[1];
	Chaos__V1__EndpointStats   ep;
	Chaos__V1__EndpointStats  *eps[1];
	struct wire_fix_ident      ident;
	char                      *faults[1];
	Chaos__V1__RunInfo         run;
	Chaos__V1__RunInfo        *runs[1];
	Chaos__V1__LiveFault       live;
	Chaos__V1__LiveFault      *lives[1];
};

/* An answer to "agents": one lost agent with its clock and one active fault,
 * the events endpoint's counters, the time and the heartbeat. */
void wire_fix_ctl_resp_init(struct wire_fix_ctl_resp *f);

/* Turns it into an answer to "status": run 12 (network_partition) running
 * with its last progress line, its fault r12-partition-chain-0 in force on
 * chain-0 with its lease and hard end, and the lost agent with its time. */
void wire_fix_ctl_resp_status(struct wire_fix_ctl_resp *f);

#endif
