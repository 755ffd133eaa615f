// SPDX-License-Identifier: MIT
/* Valid wire messages and decoder adapters; see wire_fix.h. */
#include "tests/support/wire_fix.h"

#include <string.h>

#define WIRE_FIX_ADAPTER(name, fn, type)                                                 \
	static chaos_err name(const void *buf, size_t len, void **out, chaos_why *why)   \
	{                                                                                \
		type     *m  = *out;                                                     \
		chaos_err rv = fn(buf, len, &m, why);                                    \
		*out         = m;                                                        \
		return rv;                                                               \
	}

WIRE_FIX_ADAPTER(wire_fix_dec_poll, wire_decode_poll, Chaos__V1__Poll)
WIRE_FIX_ADAPTER(wire_fix_dec_reply, wire_decode_reply, Chaos__V1__Reply)
WIRE_FIX_ADAPTER(wire_fix_dec_event, wire_decode_event, Chaos__V1__Event)
WIRE_FIX_ADAPTER(wire_fix_dec_ctl_req, wire_decode_control_request,
                 Chaos__V1__ControlRequest)
WIRE_FIX_ADAPTER(wire_fix_dec_ctl_resp, wire_decode_control_response,
                 Chaos__V1__ControlResponse)

const wire_fix_decode_fn wire_fix_decoders[WIRE_FIX_N_KINDS] = {
    [WIRE_FIX_POLL]     = wire_fix_dec_poll,
    [WIRE_FIX_REPLY]    = wire_fix_dec_reply,
    [WIRE_FIX_EVENT]    = wire_fix_dec_event,
    [WIRE_FIX_CTL_REQ]  = wire_fix_dec_ctl_req,
    [WIRE_FIX_CTL_RESP] = wire_fix_dec_ctl_resp,
};

void
wire_fix_ident_init(struct wire_fix_ident *f, char *agent_id)
{
	chaos__v1__identity__init(&f->id);
	chaos__v1__label__init(&f->label);
	f->label.key      = "team";
	f->label.value    = "ledger-core";
	f->labels[0]      = &f->label;
	f->ips[0]         = "10.77.0.21";
	f->ips[1]         = "fd00::21";
	f->id.agent_id    = agent_id;
	f->id.pod         = "db-0";
	f->id.namespace_  = "ledger";
	f->id.node        = "worker-1";
	f->id.role        = CHAOS__V1__ROLE__ROLE_DATABASE;
	f->id.n_labels    = 1;
	f->id.labels      = f->labels;
	f->id.n_ips       = 2;
	f->id.ips         = f->ips;
	f->id.version     = "0.1.0";
	f->id.has_pid     = true;
	f->id.pid         = 4242;
	f->id.incarnation = WIRE_FIX_T0_US - 5000000;
}

void
wire_fix_poll_init(struct wire_fix_poll *f)
{
	chaos__v1__poll__init(&f->poll);
	f->poll.protocol_version = WIRE_VERSION;
	f->poll.agent_id         = "ledger/db-0";
	f->poll.poll_seq         = 7;
	f->poll.t1_agent_us      = WIRE_FIX_T0_US;
	wire_fix_ident_init(&f->ident, "ledger/db-0");
}

void
wire_fix_poll_add_identity(struct wire_fix_poll *f)
{
	f->poll.identity = &f->ident.id;
}

void
wire_fix_poll_add_proof(struct wire_fix_poll *f)
{
	f->poll.identity = &f->ident.id;
	chaos__v1__identity_proof__init(&f->proof);
	for (int i = 0; i < 2; i++) {
		memset(f->cert_der[i], 0x30 + i, sizeof(f->cert_der[i]));
		f->certs[i] =
		    (ProtobufCBinaryData) {sizeof(f->cert_der[i]), f->cert_der[i]};
	}
	memset(f->sig, 0x5a, sizeof(f->sig));
	f->proof.n_certificates = 2;
	f->proof.certificates   = f->certs;
	f->proof.signature      = (ProtobufCBinaryData) {sizeof(f->sig), f->sig};
	f->poll.identity_proof  = &f->proof;
}

void
wire_fix_poll_add_acks_times_faults(struct wire_fix_poll *f)
{
	f->poll.has_prev_t1_agent_us = f->poll.has_prev_t2_ctl_us = true;
	f->poll.has_prev_t3_ctl_us = f->poll.has_prev_t4_agent_us = true;
	f->poll.prev_t1_agent_us                                  = WIRE_FIX_T0_US - 1000;
	f->poll.prev_t2_ctl_us                                    = WIRE_FIX_T0_US - 900;
	f->poll.prev_t3_ctl_us                                    = WIRE_FIX_T0_US - 850;
	f->poll.prev_t4_agent_us                                  = WIRE_FIX_T0_US - 700;
	for (int i = 0; i < 2; i++) {
		chaos__v1__ack__init(&f->ack[i]);
		f->ack[i].command_id = 40 + (uint64_t)i;
		f->acks[i]           = &f->ack[i];
	}
	f->ack[0].status               = CHAOS__V1__STATUS__STATUS_OK;
	f->ack[0].has_applied_agent_us = true;
	f->ack[0].applied_agent_us     = WIRE_FIX_T0_US - 1200;
	f->ack[1].status               = CHAOS__V1__STATUS__STATUS_FAILED;
	f->ack[1].error                = "nft: table busy";
	f->poll.n_acks                 = 2;
	f->poll.acks                   = f->acks;
	f->faults[0]                   = "run-1/fault-1";
	f->faults[1]                   = "run-1/fault-2";
	f->poll.n_active_faults        = 2;
	f->poll.active_faults          = f->faults;
}

void
wire_fix_cmd_init(struct wire_fix_cmd *f, uint64_t id)
{
	chaos__v1__command__init(&f->cmd);
	f->cmd.command_id = id;
	f->peers[0]       = "10.77.0.22/32";
	f->peers[1]       = "10.78.0.0/16";
	f->ports[0]       = 5432;
	f->ports[1]       = 8080;
	f->exempt[0]      = "10.77.0.2";
	f->exempt[1]      = "127.0.0.0/8";
}

static void
wire_fix_partition(struct wire_fix_cmd *f)
{
	chaos__v1__partition_fault__init(&f->partition);
	f->partition.n_peers       = 2;
	f->partition.peers         = f->peers;
	f->partition.has_direction = true;
	f->partition.direction     = CHAOS__V1__DIRECTION__DIRECTION_IN;
	f->partition.n_ports       = 2;
	f->partition.ports         = f->ports;
	f->partition.has_proto     = true;
	f->partition.proto         = CHAOS__V1__L4_PROTO__L4_TCP;
	f->fault.partition         = &f->partition;
}

static void
wire_fix_port(struct wire_fix_cmd *f)
{
	chaos__v1__port_fault__init(&f->port);
	f->port.n_ports  = 1;
	f->port.ports    = f->ports;
	f->port.has_mode = true;
	f->port.mode     = CHAOS__V1__REJECT_MODE__REJECT_MODE_RESET;
	f->fault.port    = &f->port;
}

static void
wire_fix_latency(struct wire_fix_cmd *f)
{
	chaos__v1__latency_fault__init(&f->latency);
	f->latency.port                   = 5432;
	f->latency.delay_ms               = 250;
	f->latency.has_jitter_ms          = true;
	f->latency.jitter_ms              = 50;
	f->latency.has_terminate_existing = true;
	f->latency.terminate_existing     = true;
	f->latency.pg_dsn                 = "host=/run/postgresql dbname=ledger";
	f->fault.latency                  = &f->latency;
}

static void
wire_fix_kill(struct wire_fix_cmd *f)
{
	chaos__v1__kill_fault__init(&f->kill);
	f->kill.process_name = "postgres";
	f->kill.has_signal   = true;
	f->kill.signal       = 15;
	f->fault.kill        = &f->kill;
}

static void
wire_fix_loss(struct wire_fix_cmd *f)
{
	chaos__v1__loss_fault__init(&f->loss);
	f->loss.n_peers = 1;
	f->loss.peers   = f->peers;
	f->loss.percent = 30;
	f->fault.loss   = &f->loss;
}

void
wire_fix_cmd_fault(struct wire_fix_cmd *f, Chaos__V1__FaultSpec__KindCase kind)
{
	chaos__v1__fault_spec__init(&f->fault);
	f->fault.fault_id        = "run-1/fault-3";
	f->fault.lease_ms        = 3000;
	f->fault.hard_end_ctl_us = WIRE_FIX_T0_US + 60000000;
	f->fault.target          = "db-0";
	f->fault.n_exempt        = 2;
	f->fault.exempt          = f->exempt;
	f->fault.kind_case       = kind;
	switch (kind) {
	case CHAOS__V1__FAULT_SPEC__KIND_PARTITION:
		wire_fix_partition(f);
		break;
	case CHAOS__V1__FAULT_SPEC__KIND_PORT:
		wire_fix_port(f);
		break;
	case CHAOS__V1__FAULT_SPEC__KIND_LATENCY:
		wire_fix_latency(f);
		break;
	case CHAOS__V1__FAULT_SPEC__KIND_KILL:
		wire_fix_kill(f);
		break;
	case CHAOS__V1__FAULT_SPEC__KIND_LOSS:
		wire_fix_loss(f);
		break;
	default:
		break;
	}
	f->cmd.body_case   = CHAOS__V1__COMMAND__BODY_APPLY_FAULT;
	f->cmd.apply_fault = &f->fault;
}

void
wire_fix_cmd_probe(struct wire_fix_cmd *f)
{
	chaos__v1__probe_spec__init(&f->probe);
	f->probe.probe_id          = "probe-height";
	f->probe.kind              = CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP;
	f->probe.target            = "http://10.77.0.30:8545/status";
	f->probe.interval_ms       = 250;
	f->probe.timeout_ms        = 1000;
	f->probe.has_expect_status = true;
	f->probe.expect_status     = 200;
	f->probe.json_field        = "height";
	f->cmd.body_case           = CHAOS__V1__COMMAND__BODY_START_PROBE;
	f->cmd.start_probe         = &f->probe;
}

Chaos__V1__ProbeSpec
wire_fix_probe_spec(const char *id, Chaos__V1__ProbeKind kind, const char *target,
                    uint32_t interval_ms, uint32_t timeout_ms)
{
	Chaos__V1__ProbeSpec s = CHAOS__V1__PROBE_SPEC__INIT;

	s.probe_id    = (char *)id;
	s.kind        = kind;
	s.target      = (char *)target;
	s.interval_ms = interval_ms;
	s.timeout_ms  = timeout_ms;
	return s;
}

void
wire_fix_cmd_load(struct wire_fix_cmd *f)
{
	chaos__v1__load_spec__init(&f->load);
	f->load.load_id     = "load-1";
	f->load.url         = "http://10.77.0.30:8080/tx";
	f->load.rate_rps    = 200;
	f->load.concurrency = 32;
	f->load.duration_ms = 60000;
	f->load.timeout_ms  = 2000;
	f->cmd.body_case    = CHAOS__V1__COMMAND__BODY_START_LOAD;
	f->cmd.start_load   = &f->load;
}

void
wire_fix_reply_init(struct wire_fix_reply *f)
{
	chaos__v1__reply__init(&f->reply);
	f->reply.protocol_version = WIRE_VERSION;
	f->reply.poll_seq         = 7;
	f->reply.t2_ctl_us        = WIRE_FIX_T0_US + 100;
	f->reply.t3_ctl_us        = WIRE_FIX_T0_US + 180;
	f->reply.heartbeat_ms     = 500;
	wire_fix_cmd_init(&f->c, 41);
	f->cmds[0]          = &f->c.cmd;
	f->reply.n_commands = 1;
	f->reply.commands   = f->cmds;
}

void
wire_fix_reply_challenge(struct wire_fix_reply *f)
{
	static uint8_t nonce[32] = {0x9e, 0x37, 0x79, 0xb9, 0x7f, 0x4a, 0x7c, 0x15};

	f->reply.n_commands             = 0;
	f->reply.commands               = NULL;
	f->reply.has_instance_id        = true;
	f->reply.instance_id            = 0x1234567890abcdefULL;
	f->reply.refused                = "identity: prove it";
	f->reply.has_identity_challenge = true;
	f->reply.identity_challenge     = (ProtobufCBinaryData) {sizeof(nonce), nonce};
}

void
wire_fix_event_init(struct wire_fix_event *f)
{
	chaos__v1__event__init(&f->ev);
	f->ev.protocol_version = WIRE_VERSION;
	f->ev.agent_id         = "ledger/db-0";
	f->ev.seq              = 12;
	f->ev.t_agent_us       = WIRE_FIX_T0_US + 999;
	wire_fix_ident_init(&f->ident, "ledger/db-0");
}

void
wire_fix_event_hello(struct wire_fix_event *f)
{
	chaos__v1__hello__init(&f->hello);
	f->hello.identity = &f->ident.id;
	f->ev.body_case   = CHAOS__V1__EVENT__BODY_HELLO;
	f->ev.hello       = &f->hello;
}

void
wire_fix_event_fault_state(struct wire_fix_event *f, const char *detail)
{
	chaos__v1__fault_state__init(&f->state);
	f->state.fault_id = "run-1/fault-3";
	f->state.phase    = CHAOS__V1__FAULT_PHASE__FAULT_PHASE_APPLIED;
	f->state.detail   = (char *)detail;
	f->ev.body_case   = CHAOS__V1__EVENT__BODY_FAULT_STATE;
	f->ev.fault_state = &f->state;
}

void
wire_fix_event_sample(struct wire_fix_event *f)
{
	chaos__v1__probe_sample__init(&f->sample);
	f->sample.probe_id        = "probe-db";
	f->sample.healthy         = false;
	f->sample.latency_us      = 1234;
	f->sample.has_error_class = true;
	f->sample.error_class     = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_SQL;
	f->sample.sqlstate        = "57P01";
	f->sample.has_value       = true;
	f->sample.value           = -5;
	f->sample.has_connect_us  = true;
	f->sample.connect_us      = 800;
	f->sample.detail          = "terminating connection due to administrator command";
	f->ev.body_case           = CHAOS__V1__EVENT__BODY_SAMPLE;
	f->ev.sample              = &f->sample;
}

void
wire_fix_event_load(struct wire_fix_event *f)
{
	chaos__v1__load_report__init(&f->load);
	f->load.load_id   = "load-1";
	f->load.scheduled = 1000;
	f->load.ok        = 990;
	f->load.late      = 3;
	for (int i = 0; i < 3; i++)
		f->errors[i] = (uint64_t)i * 2;
	for (int i = 0; i < 4; i++)
		f->hist[i] = 100u << i;
	f->load.n_errors_by_class = 3;
	f->load.errors_by_class   = f->errors;
	f->load.n_latency_hist    = 4;
	f->load.latency_hist      = f->hist;
	f->load.final             = true;
	f->ev.body_case           = CHAOS__V1__EVENT__BODY_LOAD;
	f->ev.load                = &f->load;
}

void
wire_fix_ctl_req_init(struct wire_fix_ctl_req            *f,
                      Chaos__V1__ControlRequest__BodyCase body)
{
	chaos__v1__control_request__init(&f->req);
	chaos__v1__list_agents_request__init(&f->list);
	chaos__v1__stats_request__init(&f->stats);
	chaos__v1__status_request__init(&f->status);
	chaos__v1__results_request__init(&f->results);
	f->req.protocol_version = WIRE_VERSION;
	f->req.body_case        = body;
	if (body == CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS)
		f->req.list_agents = &f->list;
	else if (body == CHAOS__V1__CONTROL_REQUEST__BODY_STATS)
		f->req.stats = &f->stats;
	else if (body == CHAOS__V1__CONTROL_REQUEST__BODY_STATUS)
		f->req.status = &f->status;
	else if (body == CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS)
		f->req.results = &f->results;
}

void
wire_fix_ctl_resp_init(struct wire_fix_ctl_resp *f)
{
	chaos__v1__control_response__init(&f->resp);
	chaos__v1__agent_info__init(&f->info);
	chaos__v1__endpoint_stats__init(&f->ep);
	wire_fix_ident_init(&f->ident, "ledger/db-0");
	f->faults[0]             = "run-1/fault-3";
	f->info.identity         = &f->ident.id;
	f->info.state            = CHAOS__V1__AGENT_STATE__AGENT_STATE_LOST;
	f->info.last_seen_ctl_us = WIRE_FIX_T0_US;
	f->info.has_clock_known = f->info.clock_known = true;
	f->info.has_clock_offset_ms                   = true;
	f->info.clock_offset_ms                       = -1.25;
	f->info.has_clock_error_ms                    = true;
	f->info.clock_error_ms                        = 0.5;
	f->info.lost_reason                           = "connection closed";
	f->info.has_events_gaps                       = true;
	f->info.events_gaps                           = 2;
	f->info.n_active_faults                       = 1;
	f->info.active_faults                         = f->faults;
	f->infos[0]                                   = &f->info;
	f->ep.name                                    = "events";
	f->ep.received                                = 100;
	f->ep.dropped                                 = 3;
	f->ep.last_reason                             = "event: bad fault state";
	f->eps[0]                                     = &f->ep;
	f->resp.protocol_version                      = WIRE_VERSION;
	f->resp.n_agents                              = 1;
	f->resp.agents                                = f->infos;
	f->resp.n_endpoints                           = 1;
	f->resp.endpoints                             = f->eps;
	f->resp.has_now_ctl_us                        = true;
	f->resp.now_ctl_us                            = WIRE_FIX_T0_US + 5;
	f->resp.has_heartbeat_ms                      = true;
	f->resp.heartbeat_ms                          = 500;
}

void
wire_fix_ctl_resp_status(struct wire_fix_ctl_resp *f)
{
	chaos__v1__run_info__init(&f->run);
	chaos__v1__live_fault__init(&f->live);
	f->run.run_id             = 12;
	f->run.scenario           = "network_partition";
	f->run.state              = CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING;
	f->run.has_started_ctl_us = true;
	f->run.started_ctl_us     = WIRE_FIX_T0_US - 4000000;
	f->run.last_progress      = "partition applied on 2 nodes";
	f->runs[0]                = &f->run;
	f->live.agent_id          = "ledger/chain-0";
	f->live.pod               = "chain-0";
	f->live.namespace_        = "ledger";
	f->live.fault_id          = "r12-partition-chain-0";
	f->live.kind              = "partition";
	f->live.has_lease_ms = f->live.has_lease_end_ctl_us = true;
	f->live.lease_ms                                    = 3000;
	f->live.lease_end_ctl_us                            = WIRE_FIX_T0_US + 2500000;
	f->live.has_hard_end_ctl_us                         = true;
	f->live.hard_end_ctl_us                             = WIRE_FIX_T0_US + 56000000;
	f->live.has_wanted = f->live.has_in_force = true;
	f->live.wanted = f->live.in_force = true;
	f->lives[0]                       = &f->live;
	f->info.has_lost_since_ctl_us     = true;
	f->info.lost_since_ctl_us         = WIRE_FIX_T0_US + 1500000;
	f->resp.n_endpoints               = 0;
	f->resp.n_runs                    = 1;
	f->resp.runs                      = f->runs;
	f->resp.n_faults                  = 1;
	f->resp.faults                    = f->lives;
}
