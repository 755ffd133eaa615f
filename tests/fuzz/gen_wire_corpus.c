// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpus of fuzz_wire: one file per message shape, as the
 * fuzz target reads it (first byte = decoder, then the packed message).
 * "ok-*" seeds must decode and "bad-*" seeds must be refused; the generator
 * checks both before writing, so a stale seed fails loudly.
 *
 * usage: gen_wire_corpus OUT_DIR      (committed as tests/fuzz/corpus/wire)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"

/* The fuzz target's decoder order. */
enum gen_kind { GEN_POLL, GEN_REPLY, GEN_EVENT, GEN_CTL_REQ, GEN_CTL_RESP };

#define GEN_T0 1700000000000000LL

static const char *gen_dir;
static int         gen_failures;

static int
gen_decode(enum gen_kind kind, const uint8_t *buf, size_t len, chaos_why *reason)
{
	void *m  = NULL;
	int   rv = CHAOS_EINVAL;

	switch (kind) {
	case GEN_POLL:
		rv = wire_decode_poll(buf, len, (Chaos__V1__Poll **)&m, reason);
		break;
	case GEN_REPLY:
		rv = wire_decode_reply(buf, len, (Chaos__V1__Reply **)&m, reason);
		break;
	case GEN_EVENT:
		rv = wire_decode_event(buf, len, (Chaos__V1__Event **)&m, reason);
		break;
	case GEN_CTL_REQ:
		rv = wire_decode_control_request(
		    buf, len, (Chaos__V1__ControlRequest **)&m, reason);
		break;
	case GEN_CTL_RESP:
		rv = wire_decode_control_response(
		    buf, len, (Chaos__V1__ControlResponse **)&m, reason);
		break;
	}
	wire_free(m);
	return rv;
}

/* Packs m behind its decoder byte, followed by extra raw bytes (an unknown
 * field), checks the verdict and writes the file. */
static void
gen_emit_raw(const char *name, enum gen_kind kind, const ProtobufCMessage *m,
             const uint8_t *extra, size_t extra_len)
{
	size_t    len    = protobuf_c_message_get_packed_size(m) + extra_len;
	uint8_t  *buf    = malloc(len + 1);
	chaos_why reason = {{0}};
	bool      want   = strncmp(name, "ok-", 3) == 0;
	char      path[4096];
	FILE     *f;

	if (buf == NULL) {
		gen_failures++;
		return;
	}
	buf[0] = (uint8_t)kind;
	protobuf_c_message_pack(m, buf + 1);
	if (extra_len > 0)
		memcpy(buf + 1 + len - extra_len, extra, extra_len);
	if ((gen_decode(kind, buf + 1, len, &reason) == CHAOS_OK) != want) {
		fprintf(stderr, "gen_wire_corpus: %s: %s (%s)\n", name,
		        want ? "refused" : "accepted", reason.text);
		gen_failures++;
	}
	snprintf(path, sizeof(path), "%s/%s", gen_dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(buf, 1, len + 1, f) != len + 1) {
		perror(path);
		gen_failures++;
	}
	if (f != NULL)
		fclose(f);
	free(buf);
}

static void
gen_emit(const char *name, enum gen_kind kind, const ProtobufCMessage *m)
{
	gen_emit_raw(name, kind, m, NULL, 0);
}

static void
gen_identity(Chaos__V1__Identity *id, Chaos__V1__Label *label, Chaos__V1__Label **labels,
             char **ips)
{
	chaos__v1__identity__init(id);
	chaos__v1__label__init(label);
	label->key      = "team";
	label->value    = "ledger";
	labels[0]       = label;
	ips[0]          = "10.77.0.21";
	ips[1]          = "fd00::21";
	id->agent_id    = "ledger/db-0";
	id->pod         = "db-0";
	id->namespace_  = "ledger";
	id->node        = "worker-1";
	id->role        = CHAOS__V1__ROLE__ROLE_DATABASE;
	id->n_labels    = 1;
	id->labels      = labels;
	id->n_ips       = 2;
	id->ips         = ips;
	id->version     = "0.1.0";
	id->has_pid     = true;
	id->pid         = 42;
	id->incarnation = GEN_T0 - 5000000;
}

static void
gen_polls(void)
{
	Chaos__V1__Poll     p = CHAOS__V1__POLL__INIT;
	Chaos__V1__Identity id;
	Chaos__V1__Label    label, *labels[1];
	char               *ips[2];
	Chaos__V1__Ack      ack[2]    = {CHAOS__V1__ACK__INIT, CHAOS__V1__ACK__INIT};
	Chaos__V1__Ack     *acks[2]   = {&ack[0], &ack[1]};
	char               *faults[2] = {"run-1/fault-1", "run-1/fault-2"};
	/* An unknown field a newer peer may send, and field number 0 in an
	 * overlong tag: protobuf-c takes both, wire.c must refuse the second. */
	static const uint8_t field_99[] = {0x98, 0x06, 0x2a};
	static const uint8_t field_0[]  = {0x81, 0x00, 1, 2, 3, 4, 5, 6, 7, 8};

	gen_identity(&id, &label, labels, ips);
	p.protocol_version = WIRE_VERSION;
	p.agent_id         = "ledger/db-0";
	p.poll_seq         = 1;
	p.t1_agent_us      = GEN_T0;
	gen_emit("ok-poll-minimal", GEN_POLL, &p.base);
	gen_emit_raw("ok-poll-unknown-field", GEN_POLL, &p.base, field_99,
	             sizeof(field_99));
	gen_emit_raw("bad-poll-field-number-0", GEN_POLL, &p.base, field_0,
	             sizeof(field_0));
	p.identity = &id;
	gen_emit("ok-poll-identity", GEN_POLL, &p.base);
	p.identity             = NULL;
	p.poll_seq             = 2;
	p.has_prev_t1_agent_us = p.has_prev_t2_ctl_us = true;
	p.has_prev_t3_ctl_us = p.has_prev_t4_agent_us = true;
	p.prev_t1_agent_us                            = GEN_T0 - 1000;
	p.prev_t2_ctl_us                              = GEN_T0 - 900;
	p.prev_t3_ctl_us                              = GEN_T0 - 850;
	p.prev_t4_agent_us                            = GEN_T0 - 700;
	ack[0].command_id                             = 7;
	ack[0].status                                 = CHAOS__V1__STATUS__STATUS_OK;
	ack[0].has_applied_agent_us                   = true;
	ack[0].applied_agent_us                       = GEN_T0 - 1200;
	ack[1].command_id                             = 8;
	ack[1].status                                 = CHAOS__V1__STATUS__STATUS_FAILED;
	ack[1].error                                  = "nft: table busy";
	p.n_acks                                      = 2;
	p.acks                                        = acks;
	p.n_active_faults                             = 2;
	p.active_faults                               = faults;
	gen_emit("ok-poll-acks-times-faults", GEN_POLL, &p.base);
	p.protocol_version = 2;
	gen_emit("bad-poll-version", GEN_POLL, &p.base);
	p.protocol_version = WIRE_VERSION;
	p.n_acks           = 0;
	p.identity         = &id;
	id.agent_id        = "ledger/db-1";
	gen_emit("bad-poll-identity-other-agent", GEN_POLL, &p.base);
}

/* Storage for one command of any kind. */
struct gen_cmd {
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
	char                     *exempt[1];
};

static void
gen_fault(struct gen_cmd *c, uint64_t id)
{
	chaos__v1__command__init(&c->cmd);
	chaos__v1__fault_spec__init(&c->fault);
	c->peers[0]              = "10.77.0.22/32";
	c->peers[1]              = "10.78.0.0/16";
	c->ports[0]              = 5432;
	c->ports[1]              = 8080;
	c->exempt[0]             = "10.77.0.2";
	c->fault.fault_id        = "run-1/fault-3";
	c->fault.lease_ms        = 3000;
	c->fault.hard_end_ctl_us = GEN_T0 + 60000000;
	c->fault.n_exempt        = 1;
	c->fault.exempt          = c->exempt;
	c->cmd.command_id        = id;
	c->cmd.body_case         = CHAOS__V1__COMMAND__BODY_APPLY_FAULT;
	c->cmd.apply_fault       = &c->fault;
	chaos__v1__partition_fault__init(&c->partition);
	c->partition.n_peers       = 2;
	c->partition.peers         = c->peers;
	c->partition.has_direction = true;
	c->partition.direction     = CHAOS__V1__DIRECTION__DIRECTION_BOTH;
	c->partition.n_ports       = 1;
	c->partition.ports         = c->ports;
	c->partition.has_proto     = true;
	c->partition.proto         = CHAOS__V1__L4_PROTO__L4_TCP;
	chaos__v1__port_fault__init(&c->port);
	c->port.n_ports  = 2;
	c->port.ports    = c->ports;
	c->port.has_mode = true;
	c->port.mode     = CHAOS__V1__REJECT_MODE__REJECT_MODE_DROP;
	chaos__v1__latency_fault__init(&c->latency);
	c->latency.port          = 5432;
	c->latency.delay_ms      = 250;
	c->latency.has_jitter_ms = true;
	c->latency.jitter_ms     = 50;
	c->latency.pg_dsn        = "host=/run/postgresql";
	chaos__v1__kill_fault__init(&c->kill);
	c->kill.process_name = "postgres";
	c->kill.has_signal   = true;
	c->kill.signal       = 9;
	chaos__v1__loss_fault__init(&c->loss);
	c->loss.n_peers = 1;
	c->loss.peers   = c->peers;
	c->loss.percent = 30;
}

static void
gen_reply_with(const char *name, Chaos__V1__Command **cmds, size_t n,
               bool identity_needed)
{
	Chaos__V1__Reply r = CHAOS__V1__REPLY__INIT;

	r.protocol_version    = WIRE_VERSION;
	r.poll_seq            = 3;
	r.t2_ctl_us           = GEN_T0 + 100;
	r.t3_ctl_us           = GEN_T0 + 180;
	r.heartbeat_ms        = 500;
	r.n_commands          = n;
	r.commands            = cmds;
	r.has_identity_needed = identity_needed;
	r.identity_needed     = identity_needed;
	gen_emit(name, GEN_REPLY, &r.base);
}

static void
gen_replies(void)
{
	static const struct {
		const char                    *name;
		Chaos__V1__FaultSpec__KindCase kind;
	} faults[] = {
	    {"ok-reply-partition", CHAOS__V1__FAULT_SPEC__KIND_PARTITION},
	    {"ok-reply-port", CHAOS__V1__FAULT_SPEC__KIND_PORT},
	    {"ok-reply-latency", CHAOS__V1__FAULT_SPEC__KIND_LATENCY},
	    {"ok-reply-kill", CHAOS__V1__FAULT_SPEC__KIND_KILL},
	    {"ok-reply-loss", CHAOS__V1__FAULT_SPEC__KIND_LOSS},
	};
	struct gen_cmd      c, d;
	Chaos__V1__Command *cmds[2] = {&c.cmd, &d.cmd};

	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		gen_fault(&c, 10 + i);
		c.fault.kind_case = faults[i].kind;
		c.fault.partition = &c.partition; /* union: set the one that matches */
		switch (faults[i].kind) {
		case CHAOS__V1__FAULT_SPEC__KIND_PORT:
			c.fault.port = &c.port;
			break;
		case CHAOS__V1__FAULT_SPEC__KIND_LATENCY:
			c.fault.latency = &c.latency;
			break;
		case CHAOS__V1__FAULT_SPEC__KIND_KILL:
			c.fault.kill = &c.kill;
			break;
		case CHAOS__V1__FAULT_SPEC__KIND_LOSS:
			c.fault.loss = &c.loss;
			break;
		default:
			break;
		}
		gen_reply_with(faults[i].name, cmds, 1, false);
	}

	gen_fault(&c, 20);
	c.cmd.body_case    = CHAOS__V1__COMMAND__BODY_REVERT_FAULT;
	c.cmd.revert_fault = "run-1/fault-3";
	gen_reply_with("ok-reply-revert-fault", cmds, 1, false);
	c.cmd.body_case  = CHAOS__V1__COMMAND__BODY_STOP_PROBE;
	c.cmd.stop_probe = "probe-1";
	gen_reply_with("ok-reply-stop-probe", cmds, 1, false);
	c.cmd.body_case = CHAOS__V1__COMMAND__BODY_STOP_LOAD;
	c.cmd.stop_load = "load-1";
	gen_reply_with("ok-reply-stop-load", cmds, 1, false);
	c.cmd.body_case  = CHAOS__V1__COMMAND__BODY_REVERT_ALL;
	c.cmd.revert_all = true;
	gen_reply_with("ok-reply-revert-all", cmds, 1, false);

	chaos__v1__probe_spec__init(&c.probe);
	c.probe.probe_id          = "probe-1";
	c.probe.kind              = CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP;
	c.probe.target            = "http://10.77.0.30:8545/status";
	c.probe.interval_ms       = 250;
	c.probe.timeout_ms        = 1000;
	c.probe.has_expect_status = true;
	c.probe.expect_status     = 200;
	c.probe.json_field        = "height";
	c.cmd.body_case           = CHAOS__V1__COMMAND__BODY_START_PROBE;
	c.cmd.start_probe         = &c.probe;
	gen_reply_with("ok-reply-start-probe", cmds, 1, false);

	chaos__v1__load_spec__init(&c.load);
	c.load.load_id     = "load-1";
	c.load.url         = "http://10.77.0.30:8080/tx";
	c.load.rate_rps    = 200;
	c.load.concurrency = 16;
	c.load.duration_ms = 60000;
	c.load.timeout_ms  = 2000;
	c.cmd.body_case    = CHAOS__V1__COMMAND__BODY_START_LOAD;
	c.cmd.start_load   = &c.load;
	gen_fault(&d, 21);
	d.fault.kind_case = CHAOS__V1__FAULT_SPEC__KIND_PARTITION;
	d.fault.partition = &d.partition;
	gen_reply_with("ok-reply-two-commands", cmds, 2, false);
	gen_reply_with("ok-reply-identity-needed", NULL, 0, true);

	d.peers[1] = "10.78.0.0/33";
	gen_reply_with("bad-reply-partition-prefix-33", cmds + 1, 1, false);
}

static void
gen_events(void)
{
	Chaos__V1__Event       e      = CHAOS__V1__EVENT__INIT;
	Chaos__V1__Hello       hello  = CHAOS__V1__HELLO__INIT;
	Chaos__V1__ProbeSample sample = CHAOS__V1__PROBE_SAMPLE__INIT;
	Chaos__V1__FaultState  state  = CHAOS__V1__FAULT_STATE__INIT;
	Chaos__V1__LoadReport  load   = CHAOS__V1__LOAD_REPORT__INIT;
	Chaos__V1__Identity    id;
	Chaos__V1__Label       label, *labels[1];
	char                  *ips[2];
	uint64_t               errors[3] = {0, 4, 1};
	uint64_t               hist[4]   = {10, 200, 30, 1};

	gen_identity(&id, &label, labels, ips);
	e.protocol_version = WIRE_VERSION;
	e.agent_id         = "ledger/db-0";
	e.seq              = 1;
	e.t_agent_us       = GEN_T0;
	gen_emit("bad-event-no-body", GEN_EVENT, &e.base);
	hello.identity = &id;
	e.body_case    = CHAOS__V1__EVENT__BODY_HELLO;
	e.hello        = &hello;
	gen_emit("ok-event-hello", GEN_EVENT, &e.base);

	sample.probe_id        = "probe-1";
	sample.latency_us      = 1234;
	sample.has_error_class = true;
	sample.error_class     = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_5XX;
	sample.has_http_status = true;
	sample.http_status     = 503;
	sample.has_value       = true;
	sample.value           = 1200345;
	sample.detail          = "503 Service Unavailable";
	e.seq                  = 2;
	e.body_case            = CHAOS__V1__EVENT__BODY_SAMPLE;
	e.sample               = &sample;
	gen_emit("ok-event-sample", GEN_EVENT, &e.base);

	state.fault_id = "run-1/fault-3";
	state.phase    = CHAOS__V1__FAULT_PHASE__FAULT_PHASE_APPLIED;
	state.detail   = "2 rules";
	e.seq          = 3;
	e.body_case    = CHAOS__V1__EVENT__BODY_FAULT_STATE;
	e.fault_state  = &state;
	gen_emit("ok-event-fault-state", GEN_EVENT, &e.base);
	state.detail = "caf\xc3";
	gen_emit("bad-event-invalid-utf8", GEN_EVENT, &e.base);

	load.load_id           = "load-1";
	load.scheduled         = 1000;
	load.ok                = 990;
	load.late              = 2;
	load.n_errors_by_class = 3;
	load.errors_by_class   = errors;
	load.n_latency_hist    = 4;
	load.latency_hist      = hist;
	load.final             = true;
	e.seq                  = 4;
	e.body_case            = CHAOS__V1__EVENT__BODY_LOAD;
	e.load                 = &load;
	gen_emit("ok-event-load", GEN_EVENT, &e.base);
}

static void
gen_control(void)
{
	Chaos__V1__ControlRequest    req  = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__ListAgentsRequest la   = CHAOS__V1__LIST_AGENTS_REQUEST__INIT;
	Chaos__V1__StatsRequest      st   = CHAOS__V1__STATS_REQUEST__INIT;
	Chaos__V1__ControlResponse   resp = CHAOS__V1__CONTROL_RESPONSE__INIT;
	Chaos__V1__AgentInfo     info = CHAOS__V1__AGENT_INFO__INIT, *infos[1] = {&info};
	Chaos__V1__EndpointStats ep = CHAOS__V1__ENDPOINT_STATS__INIT, *eps[1] = {&ep};
	Chaos__V1__Identity      id;
	Chaos__V1__Label         label, *labels[1];
	char                    *ips[2];
	char                    *faults[1] = {"run-1/fault-3"};

	req.protocol_version = WIRE_VERSION;
	req.body_case        = CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS;
	req.list_agents      = &la;
	gen_emit("ok-ctlreq-list-all", GEN_CTL_REQ, &req.base);
	la.namespace_ = "ledger";
	gen_emit("ok-ctlreq-list-namespace", GEN_CTL_REQ, &req.base);
	req.body_case = CHAOS__V1__CONTROL_REQUEST__BODY_STATS;
	req.stats     = &st;
	gen_emit("ok-ctlreq-stats", GEN_CTL_REQ, &req.base);

	gen_identity(&id, &label, labels, ips);
	info.identity         = &id;
	info.state            = CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED;
	info.last_seen_ctl_us = GEN_T0;
	info.has_clock_known = info.clock_known = true;
	info.has_clock_offset_ms = info.has_clock_error_ms = true;
	info.clock_offset_ms                               = -1.25;
	info.clock_error_ms                                = 0.5;
	info.has_events_received                           = true;
	info.events_received                               = 12;
	info.n_active_faults                               = 1;
	info.active_faults                                 = faults;
	ep.name                                            = "session";
	ep.received                                        = 100;
	ep.dropped                                         = 1;
	ep.last_reason                                     = "poll: bad agent_id";
	resp.protocol_version                              = WIRE_VERSION;
	resp.n_agents                                      = 1;
	resp.agents                                        = infos;
	resp.n_endpoints                                   = 1;
	resp.endpoints                                     = eps;
	resp.has_now_ctl_us                                = true;
	resp.now_ctl_us                                    = GEN_T0;
	resp.has_heartbeat_ms                              = true;
	resp.heartbeat_ms                                  = 500;
	gen_emit("ok-ctlresp-agents", GEN_CTL_RESP, &resp.base);
	resp.n_agents    = 0;
	resp.n_endpoints = 0;
	resp.error       = "no such namespace";
	gen_emit("ok-ctlresp-error", GEN_CTL_RESP, &resp.base);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_wire_corpus OUT_DIR\n");
		return 2;
	}
	gen_dir = argv[1];
	gen_polls();
	gen_replies();
	gen_events();
	gen_control();
	return gen_failures == 0 ? 0 : 1;
}
