// SPDX-License-Identifier: MIT
/*
 * common/wire.c: every message built in memory, packed with wire_pack() and
 * decoded with wire_decode_*() comes back equal; every kind of bad input is
 * refused with the right CHAOS_E*, a reason, and *out left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"
#include "tests/support/wire_fix.h"

#define T0_US WIRE_FIX_T0_US

/* ------------------------------------------------------------------------ */
/* Pack-and-decode helpers over wire_fix_decoders, so tests share the checks. */

/* Names the table entry being checked, for failure messages. */
static char case_label[64];
#define CASE(...) snprintf(case_label, sizeof(case_label), __VA_ARGS__)

static int
reset_case(void **state)
{
	(void)state;
	snprintf(case_label, sizeof(case_label), "-");
	return 0;
}

/* The decoders must not write *out on failure; this marks "untouched". */
static max_align_t decode_sentinel;

/* Runs the decoder of kind with *out preset to the sentinel. */
static int
decode(enum wire_fix_kind kind, const void *buf, size_t len, void **out,
       chaos_why *reason)
{
	*out = &decode_sentinel;
	return wire_fix_decoders[kind](buf, len, out, reason);
}

static int
pack_and_decode(const ProtobufCMessage *m, enum wire_fix_kind kind, void **out,
                chaos_why *reason)
{
	nng_msg *msg = NULL;
	int      rv;

	assert_int_equal(wire_pack(m, WIRE_MAX_CONTROL + 1024 * 1024, &msg), CHAOS_OK);
	rv = decode(kind, nng_msg_body(msg), nng_msg_len(msg), out, reason);
	nng_msg_free(msg);
	return rv;
}

static void *
expect_accepted(const ProtobufCMessage *m, enum wire_fix_kind kind)
{
	void     *out    = NULL;
	chaos_why reason = {{0}};
	int       rv     = pack_and_decode(m, kind, &out, &reason);

	if (rv != CHAOS_OK)
		fail_msg("%s: valid message rejected: %s (%s)", case_label,
		         chaos_strerror(rv), reason.text[0] ? reason.text : "no reason");
	assert_non_null(out);
	assert_ptr_not_equal(out, &decode_sentinel);
	return out;
}

static void
check_rejection(int rv, void *out, const char *reason, int want, const char *why)
{
	if (rv == CHAOS_OK) {
		wire_free(out);
		fail_msg("%s: accepted, expected %s (%s)", case_label,
		         chaos_strerror(want), why);
	}
	assert_int_equal(rv, want);
	assert_ptr_equal(out, &decode_sentinel);
	assert_true(reason[0] != '\0');
	if (strstr(reason, why) == NULL)
		fail_msg("%s: reason '%s' does not mention '%s'", case_label, reason,
		         why);
}

static void
expect_rejected(const ProtobufCMessage *m, enum wire_fix_kind kind, int want,
                const char *why)
{
	void     *out    = NULL;
	chaos_why reason = {{0}};
	int       rv     = pack_and_decode(m, kind, &out, &reason);

	check_rejection(rv, out, reason.text, want, why);
}

static void
expect_bytes_rejected(const void *buf, size_t len, enum wire_fix_kind kind, int want,
                      const char *why)
{
	void     *out    = NULL;
	chaos_why reason = {{0}};
	int       rv     = decode(kind, buf, len, &out, &reason);

	check_rejection(rv, out, reason.text, want, why);
}

/* Packs into a malloc'd buffer (for byte surgery); *len gets the size. */
static uint8_t *
pack_bytes(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf  = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

/* A reply whose one command applies a fault of this kind. */
static void
fault_reply(struct wire_fix_reply *f, Chaos__V1__FaultSpec__KindCase kind)
{
	wire_fix_reply_init(f);
	wire_fix_cmd_fault(&f->c, kind);
}

/* An event whose fault-state detail is text must be refused for why. */
static void
expect_detail_rejected(const char *text, const char *why)
{
	struct wire_fix_event f;

	wire_fix_event_init(&f);
	wire_fix_event_fault_state(&f, text);
	expect_rejected(&f.ev.base, WIRE_FIX_EVENT, CHAOS_EPROTO, why);
}

static void
assert_identity_equal(const Chaos__V1__Identity *got, const Chaos__V1__Identity *want)
{
	assert_non_null(got);
	assert_string_equal(got->agent_id, want->agent_id);
	assert_string_equal(got->pod, want->pod);
	assert_string_equal(got->namespace_, want->namespace_);
	assert_string_equal(got->node, want->node);
	assert_int_equal(got->role, want->role);
	assert_int_equal(got->incarnation, want->incarnation);
	assert_string_equal(got->version, want->version);
	assert_true(got->has_pid);
	assert_int_equal(got->pid, want->pid);
	assert_int_equal(got->n_labels, want->n_labels);
	for (size_t i = 0; i < want->n_labels; i++) {
		assert_string_equal(got->labels[i]->key, want->labels[i]->key);
		assert_string_equal(got->labels[i]->value, want->labels[i]->value);
	}
	assert_int_equal(got->n_ips, want->n_ips);
	for (size_t i = 0; i < want->n_ips; i++)
		assert_string_equal(got->ips[i], want->ips[i]);
}

/* ------------------------------------------------------------------------ */
/* Round trips. */

static void
test_poll_with_identity_acks_and_prev_times_round_trips(void **state)
{
	struct wire_fix_poll f;
	Chaos__V1__Poll     *got;

	(void)state;
	wire_fix_poll_init(&f);
	wire_fix_poll_add_identity(&f);
	wire_fix_poll_add_acks_times_faults(&f);
	got = expect_accepted(&f.poll.base, WIRE_FIX_POLL);
	assert_int_equal(got->protocol_version, WIRE_VERSION);
	assert_string_equal(got->agent_id, "ledger/db-0");
	assert_int_equal(got->poll_seq, 7);
	assert_int_equal(got->t1_agent_us, T0_US);
	assert_true(got->has_prev_t1_agent_us && got->has_prev_t2_ctl_us);
	assert_true(got->has_prev_t3_ctl_us && got->has_prev_t4_agent_us);
	assert_int_equal(got->prev_t1_agent_us, T0_US - 1000);
	assert_int_equal(got->prev_t2_ctl_us, T0_US - 900);
	assert_int_equal(got->prev_t3_ctl_us, T0_US - 850);
	assert_int_equal(got->prev_t4_agent_us, T0_US - 700);
	assert_int_equal(got->n_acks, 2);
	assert_int_equal(got->acks[0]->command_id, 40);
	assert_int_equal(got->acks[0]->status, CHAOS__V1__STATUS__STATUS_OK);
	assert_true(got->acks[0]->has_applied_agent_us);
	assert_int_equal(got->acks[0]->applied_agent_us, T0_US - 1200);
	assert_int_equal(got->acks[1]->command_id, 41);
	assert_int_equal(got->acks[1]->status, CHAOS__V1__STATUS__STATUS_FAILED);
	assert_string_equal(got->acks[1]->error, "nft: table busy");
	assert_int_equal(got->n_active_faults, 2);
	assert_string_equal(got->active_faults[1], "run-1/fault-2");
	assert_identity_equal(got->identity, &f.ident.id);
	wire_free(got);
}

static void
test_minimal_poll_round_trips_without_optional_fields(void **state)
{
	struct wire_fix_poll f;
	Chaos__V1__Poll     *got;

	(void)state;
	wire_fix_poll_init(&f);
	got = expect_accepted(&f.poll.base, WIRE_FIX_POLL);
	assert_null(got->identity);
	assert_false(got->has_prev_t1_agent_us);
	assert_int_equal(got->n_acks, 0);
	assert_int_equal(got->n_active_faults, 0);
	wire_free(got);
}

/* Decodes f's reply and checks the header; returns the one command. */
static Chaos__V1__Reply *
reply_round_trip(struct wire_fix_reply *f, Chaos__V1__Command__BodyCase want_case)
{
	Chaos__V1__Reply *got = expect_accepted(&f->reply.base, WIRE_FIX_REPLY);

	assert_int_equal(got->poll_seq, 7);
	assert_int_equal(got->t2_ctl_us, T0_US + 100);
	assert_int_equal(got->t3_ctl_us, T0_US + 180);
	assert_int_equal(got->heartbeat_ms, 500);
	assert_int_equal(got->n_commands, 1);
	assert_int_equal(got->commands[0]->command_id, 41);
	assert_int_equal(got->commands[0]->body_case, want_case);
	return got;
}

/* What each fault kind's own fields decode to (the header is checked apart). */
static void
check_partition_fields(const Chaos__V1__FaultSpec *fs)
{
	assert_int_equal(fs->partition->n_peers, 2);
	assert_string_equal(fs->partition->peers[0], "10.77.0.22/32");
	assert_string_equal(fs->partition->peers[1], "10.78.0.0/16");
	assert_int_equal(fs->partition->direction, CHAOS__V1__DIRECTION__DIRECTION_IN);
	assert_int_equal(fs->partition->n_ports, 2);
	assert_int_equal(fs->partition->ports[1], 8080);
	assert_int_equal(fs->partition->proto, CHAOS__V1__L4_PROTO__L4_TCP);
}

static void
check_port_fields(const Chaos__V1__FaultSpec *fs)
{
	assert_int_equal(fs->port->n_ports, 1);
	assert_int_equal(fs->port->ports[0], 5432);
	assert_true(fs->port->has_mode);
	assert_int_equal(fs->port->mode, CHAOS__V1__REJECT_MODE__REJECT_MODE_RESET);
}

static void
check_latency_fields(const Chaos__V1__FaultSpec *fs)
{
	assert_int_equal(fs->latency->port, 5432);
	assert_int_equal(fs->latency->delay_ms, 250);
	assert_int_equal(fs->latency->jitter_ms, 50);
	assert_true(fs->latency->terminate_existing);
	assert_string_equal(fs->latency->pg_dsn, "host=/run/postgresql dbname=ledger");
}

static void
check_kill_fields(const Chaos__V1__FaultSpec *fs)
{
	assert_string_equal(fs->kill->process_name, "postgres");
	assert_true(fs->kill->has_signal);
	assert_int_equal(fs->kill->signal, 15);
}

static void
check_loss_fields(const Chaos__V1__FaultSpec *fs)
{
	assert_int_equal(fs->loss->n_peers, 1);
	assert_string_equal(fs->loss->peers[0], "10.77.0.22/32");
	assert_int_equal(fs->loss->percent, 30);
}

/* One fault kind's round trip: a test's initial state. */
struct fault_case {
	Chaos__V1__FaultSpec__KindCase kind;
	void (*check)(const Chaos__V1__FaultSpec *fs);
};

static struct fault_case fault_partition = {CHAOS__V1__FAULT_SPEC__KIND_PARTITION,
                                            check_partition_fields};
static struct fault_case fault_port      = {CHAOS__V1__FAULT_SPEC__KIND_PORT,
                                            check_port_fields};
static struct fault_case fault_latency   = {CHAOS__V1__FAULT_SPEC__KIND_LATENCY,
                                            check_latency_fields};
static struct fault_case fault_kill      = {CHAOS__V1__FAULT_SPEC__KIND_KILL,
                                            check_kill_fields};
static struct fault_case fault_loss      = {CHAOS__V1__FAULT_SPEC__KIND_LOSS,
                                            check_loss_fields};

static void
test_reply_with_fault_round_trips(void **state)
{
	const struct fault_case    *c = *state;
	struct wire_fix_reply       f;
	Chaos__V1__Reply           *got;
	const Chaos__V1__FaultSpec *fs;

	fault_reply(&f, c->kind);
	got = reply_round_trip(&f, CHAOS__V1__COMMAND__BODY_APPLY_FAULT);
	fs  = got->commands[0]->apply_fault;
	assert_string_equal(fs->fault_id, "run-1/fault-3");
	assert_int_equal(fs->lease_ms, 3000);
	assert_int_equal(fs->hard_end_ctl_us, T0_US + 60000000);
	assert_string_equal(fs->target, "db-0");
	assert_int_equal(fs->n_exempt, 2);
	assert_string_equal(fs->exempt[1], "127.0.0.0/8");
	assert_int_equal(fs->kind_case, c->kind);
	c->check(fs);
	wire_free(got);
}

/* The commands whose body is one id: set it, decode, read it back. */
static char **
command_id_body(Chaos__V1__Command *cmd, Chaos__V1__Command__BodyCase body)
{
	switch (body) {
	case CHAOS__V1__COMMAND__BODY_REVERT_FAULT:
		return &cmd->revert_fault;
	case CHAOS__V1__COMMAND__BODY_STOP_PROBE:
		return &cmd->stop_probe;
	default:
		assert_int_equal(body, CHAOS__V1__COMMAND__BODY_STOP_LOAD);
		return &cmd->stop_load;
	}
}

static void
test_reply_with_revert_fault_stop_probe_and_stop_load_round_trips(void **state)
{
	static const struct {
		Chaos__V1__Command__BodyCase body;
		char                        *id;
	} cases[] = {
	    {CHAOS__V1__COMMAND__BODY_REVERT_FAULT, "run-1/fault-3"},
	    {CHAOS__V1__COMMAND__BODY_STOP_PROBE, "probe-height"},
	    {CHAOS__V1__COMMAND__BODY_STOP_LOAD, "load-1"},
	};
	struct wire_fix_reply f;
	Chaos__V1__Reply     *got;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CASE("cases[%zu]", i);
		wire_fix_reply_init(&f);
		f.c.cmd.body_case                         = cases[i].body;
		*command_id_body(&f.c.cmd, cases[i].body) = cases[i].id;
		got = reply_round_trip(&f, cases[i].body);
		assert_string_equal(*command_id_body(got->commands[0], cases[i].body),
		                    cases[i].id);
		wire_free(got);
	}
}

static void
test_reply_with_start_probe_round_trips(void **state)
{
	struct wire_fix_reply       f;
	Chaos__V1__Reply           *got;
	const Chaos__V1__ProbeSpec *p;

	(void)state;
	wire_fix_reply_init(&f);
	wire_fix_cmd_probe(&f.c);
	got = reply_round_trip(&f, CHAOS__V1__COMMAND__BODY_START_PROBE);
	p   = got->commands[0]->start_probe;
	assert_string_equal(p->probe_id, "probe-height");
	assert_int_equal(p->kind, CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP);
	assert_string_equal(p->target, "http://10.77.0.30:8545/status");
	assert_int_equal(p->interval_ms, 250);
	assert_int_equal(p->timeout_ms, 1000);
	assert_int_equal(p->expect_status, 200);
	assert_string_equal(p->json_field, "height");
	wire_free(got);
}

static void
test_reply_with_start_load_round_trips(void **state)
{
	struct wire_fix_reply      f;
	Chaos__V1__Reply          *got;
	const Chaos__V1__LoadSpec *l;

	(void)state;
	wire_fix_reply_init(&f);
	wire_fix_cmd_load(&f.c);
	got = reply_round_trip(&f, CHAOS__V1__COMMAND__BODY_START_LOAD);
	l   = got->commands[0]->start_load;
	assert_string_equal(l->load_id, "load-1");
	assert_string_equal(l->url, "http://10.77.0.30:8080/tx");
	assert_int_equal(l->rate_rps, 200);
	assert_int_equal(l->concurrency, 32);
	assert_int_equal(l->duration_ms, 60000);
	assert_int_equal(l->timeout_ms, 2000);
	wire_free(got);
}

static void
test_reply_with_revert_all_and_identity_needed_round_trips(void **state)
{
	struct wire_fix_reply f;
	Chaos__V1__Reply     *got;

	(void)state;
	wire_fix_reply_init(&f);
	f.c.cmd.body_case           = CHAOS__V1__COMMAND__BODY_REVERT_ALL;
	f.c.cmd.revert_all          = true;
	f.reply.has_identity_needed = true;
	f.reply.identity_needed     = true;
	got = reply_round_trip(&f, CHAOS__V1__COMMAND__BODY_REVERT_ALL);
	assert_true(got->commands[0]->revert_all);
	assert_true(got->has_identity_needed && got->identity_needed);
	wire_free(got);
}

/* Decodes f's event and checks the header and the body's type. */
static Chaos__V1__Event *
event_round_trip(struct wire_fix_event *f, Chaos__V1__Event__BodyCase want_case)
{
	Chaos__V1__Event *got = expect_accepted(&f->ev.base, WIRE_FIX_EVENT);

	assert_string_equal(got->agent_id, "ledger/db-0");
	assert_int_equal(got->seq, 12);
	assert_int_equal(got->t_agent_us, T0_US + 999);
	assert_int_equal(got->body_case, want_case);
	return got;
}

static void
test_hello_event_round_trips(void **state)
{
	struct wire_fix_event f;
	Chaos__V1__Event     *got;

	(void)state;
	wire_fix_event_init(&f);
	wire_fix_event_hello(&f);
	got = event_round_trip(&f, CHAOS__V1__EVENT__BODY_HELLO);
	assert_identity_equal(got->hello->identity, &f.ident.id);
	wire_free(got);
}

static void
test_probe_sample_event_round_trips(void **state)
{
	struct wire_fix_event f;
	Chaos__V1__Event     *got;

	(void)state;
	wire_fix_event_init(&f);
	wire_fix_event_sample(&f);
	got = event_round_trip(&f, CHAOS__V1__EVENT__BODY_SAMPLE);
	assert_string_equal(got->sample->probe_id, "probe-db");
	assert_false(got->sample->healthy);
	assert_int_equal(got->sample->latency_us, 1234);
	assert_int_equal(got->sample->error_class,
	                 CHAOS__V1__ERROR_CLASS__ERROR_CLASS_SQL);
	assert_string_equal(got->sample->sqlstate, "57P01");
	assert_int_equal(got->sample->value, -5);
	assert_int_equal(got->sample->connect_us, 800);
	assert_string_equal(got->sample->detail,
	                    "terminating connection due to administrator command");
	wire_free(got);
}

static void
test_fault_state_event_round_trips(void **state)
{
	struct wire_fix_event f;
	Chaos__V1__Event     *got;

	(void)state;
	wire_fix_event_init(&f);
	wire_fix_event_fault_state(&f, "3 rules in table chaos");
	f.state.phase = CHAOS__V1__FAULT_PHASE__FAULT_PHASE_EXPIRED;
	got           = event_round_trip(&f, CHAOS__V1__EVENT__BODY_FAULT_STATE);
	assert_string_equal(got->fault_state->fault_id, "run-1/fault-3");
	assert_int_equal(got->fault_state->phase,
	                 CHAOS__V1__FAULT_PHASE__FAULT_PHASE_EXPIRED);
	assert_string_equal(got->fault_state->detail, "3 rules in table chaos");
	wire_free(got);
}

static void
test_load_report_event_round_trips(void **state)
{
	struct wire_fix_event f;
	Chaos__V1__Event     *got;

	(void)state;
	wire_fix_event_init(&f);
	wire_fix_event_load(&f);
	got = event_round_trip(&f, CHAOS__V1__EVENT__BODY_LOAD);
	assert_string_equal(got->load->load_id, "load-1");
	assert_int_equal(got->load->scheduled, 1000);
	assert_int_equal(got->load->ok, 990);
	assert_int_equal(got->load->late, 3);
	assert_int_equal(got->load->n_errors_by_class, 3);
	assert_int_equal(got->load->errors_by_class[2], 4);
	assert_int_equal(got->load->n_latency_hist, 4);
	assert_int_equal(got->load->latency_hist[3], 800);
	assert_true(got->load->final);
	wire_free(got);
}

static void
test_control_request_list_agents_and_stats_round_trip(void **state)
{
	struct wire_fix_ctl_req    f;
	Chaos__V1__ControlRequest *got;

	(void)state;
	wire_fix_ctl_req_init(&f, CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS);
	f.list.namespace_ = "ledger";
	got               = expect_accepted(&f.req.base, WIRE_FIX_CTL_REQ);
	assert_int_equal(got->body_case, CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS);
	assert_string_equal(got->list_agents->namespace_, "ledger");
	wire_free(got);

	wire_fix_ctl_req_init(&f, CHAOS__V1__CONTROL_REQUEST__BODY_STATS);
	got = expect_accepted(&f.req.base, WIRE_FIX_CTL_REQ);
	assert_int_equal(got->body_case, CHAOS__V1__CONTROL_REQUEST__BODY_STATS);
	assert_non_null(got->stats);
	wire_free(got);
}

static void
test_control_response_with_agents_and_endpoints_round_trips(void **state)
{
	struct wire_fix_ctl_resp    f;
	Chaos__V1__ControlResponse *got;

	(void)state;
	wire_fix_ctl_resp_init(&f);
	got = expect_accepted(&f.resp.base, WIRE_FIX_CTL_RESP);
	assert_int_equal(got->n_agents, 1);
	assert_identity_equal(got->agents[0]->identity, &f.ident.id);
	assert_int_equal(got->agents[0]->state, CHAOS__V1__AGENT_STATE__AGENT_STATE_LOST);
	assert_true(got->agents[0]->clock_known);
	assert_true(got->agents[0]->clock_offset_ms == -1.25);
	assert_true(got->agents[0]->clock_error_ms == 0.5);
	assert_string_equal(got->agents[0]->lost_reason, "connection closed");
	assert_int_equal(got->agents[0]->events_gaps, 2);
	assert_string_equal(got->agents[0]->active_faults[0], "run-1/fault-3");
	assert_int_equal(got->n_endpoints, 1);
	assert_string_equal(got->endpoints[0]->name, "events");
	assert_int_equal(got->endpoints[0]->dropped, 3);
	assert_string_equal(got->endpoints[0]->last_reason, "event: bad fault state");
	assert_int_equal(got->now_ctl_us, T0_US + 5);
	assert_int_equal(got->heartbeat_ms, 500);
	wire_free(got);
}

static void
test_control_status_and_results_requests_round_trip(void **state)
{
	struct wire_fix_ctl_req    f;
	Chaos__V1__ControlRequest *got;

	(void)state;
	wire_fix_ctl_req_init(&f, CHAOS__V1__CONTROL_REQUEST__BODY_STATUS);
	got = expect_accepted(&f.req.base, WIRE_FIX_CTL_REQ);
	assert_int_equal(got->body_case, CHAOS__V1__CONTROL_REQUEST__BODY_STATUS);
	assert_non_null(got->status);
	wire_free(got);

	wire_fix_ctl_req_init(&f, CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS);
	got = expect_accepted(&f.req.base, WIRE_FIX_CTL_REQ);
	assert_int_equal(got->body_case, CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS);
	assert_false(got->results->has_run_id); /* every run kept */
	wire_free(got);

	f.results.has_run_id = true;
	f.results.run_id     = 41;
	got                  = expect_accepted(&f.req.base, WIRE_FIX_CTL_REQ);
	assert_true(got->results->has_run_id);
	assert_int_equal(got->results->run_id, 41);
	wire_free(got);
}

static void
test_control_response_with_runs_faults_and_lost_agents_round_trips(void **state)
{
	struct wire_fix_ctl_resp    f;
	Chaos__V1__ControlResponse *got;
	const Chaos__V1__LiveFault *lf;

	(void)state;
	wire_fix_ctl_resp_init(&f);
	wire_fix_ctl_resp_status(&f);
	f.resp.record_json = "{\"id\": 12,\n \"result\": null}";
	got                = expect_accepted(&f.resp.base, WIRE_FIX_CTL_RESP);
	assert_int_equal(got->n_runs, 1);
	assert_int_equal(got->runs[0]->run_id, 12);
	assert_string_equal(got->runs[0]->scenario, "network_partition");
	assert_int_equal(got->runs[0]->state, CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING);
	assert_int_equal(got->runs[0]->started_ctl_us, T0_US - 4000000);
	assert_false(got->runs[0]->has_ended_ctl_us);
	assert_false(got->runs[0]->has_mttr_s); /* not measured: absent, not 0 */
	assert_string_equal(got->runs[0]->last_progress, "partition applied on 2 nodes");
	assert_int_equal(got->n_faults, 1);
	lf = got->faults[0];
	assert_string_equal(lf->pod, "chain-0");
	assert_string_equal(lf->fault_id, "r12-partition-chain-0");
	assert_string_equal(lf->kind, "partition");
	assert_int_equal(lf->lease_ms, 3000);
	assert_int_equal(lf->lease_end_ctl_us, T0_US + 2500000);
	assert_int_equal(lf->hard_end_ctl_us, T0_US + 56000000);
	assert_true(lf->wanted && lf->in_force);
	assert_null(lf->target);
	assert_int_equal(got->agents[0]->lost_since_ctl_us, T0_US + 1500000);
	assert_string_equal(got->record_json, "{\"id\": 12,\n \"result\": null}");
	wire_free(got);
}

/* ------------------------------------------------------------------------ */
/* Malformed bytes. */

static void
test_every_decoder_rejects_an_empty_buffer(void **state)
{
	static const uint8_t none[1] = {0};

	(void)state;
	for (enum wire_fix_kind k = 0; k < WIRE_FIX_N_KINDS; k++) {
		expect_bytes_rejected(none, 0, k, CHAOS_EPROTO, "empty");
		expect_bytes_rejected(NULL, 0, k, CHAOS_EPROTO, "empty");
	}
}

/* The identity is the poll's last field here, so every cut after its first
 * byte lands inside a length-delimited field and must be refused. */
static void
test_truncated_poll_is_rejected_at_every_cut(void **state)
{
	struct wire_fix_poll f;
	uint8_t             *buf;
	size_t               len, id_len, id_start;

	(void)state;
	wire_fix_poll_init(&f);
	wire_fix_poll_add_identity(&f);
	buf      = pack_bytes(&f.poll.base, &len);
	id_len   = chaos__v1__identity__get_packed_size(&f.ident.id);
	id_start = len - id_len - (id_len < 128 ? 2 : 3); /* tag + length varint */
	assert_int_equal(buf[id_start], (10 << 3) | 2);
	for (size_t cut = id_start + 1; cut < len; cut++)
		expect_bytes_rejected(buf, cut, WIRE_FIX_POLL, CHAOS_EPROTO,
		                      "not a valid protobuf");
	free(buf);
}

static void
test_truncated_reply_is_rejected(void **state)
{
	struct wire_fix_reply f;
	uint8_t              *buf;
	size_t                len;

	(void)state;
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
	buf = pack_bytes(&f.reply.base, &len);
	expect_bytes_rejected(buf, len - 1, WIRE_FIX_REPLY, CHAOS_EPROTO,
	                      "not a valid protobuf");
	expect_bytes_rejected(buf, len / 2, WIRE_FIX_REPLY, CHAOS_EPROTO, "");
	free(buf);
}

static void
test_message_missing_required_fields_is_rejected(void **state)
{
	static const uint8_t version_only[] = {0x08, 0x01}; /* protocol_version = 1 */

	(void)state;
	expect_bytes_rejected(version_only, sizeof(version_only), WIRE_FIX_POLL,
	                      CHAOS_EPROTO, "not a valid protobuf");
	expect_bytes_rejected(version_only, sizeof(version_only), WIRE_FIX_REPLY,
	                      CHAOS_EPROTO, "not a valid protobuf");
	expect_bytes_rejected(version_only, sizeof(version_only), WIRE_FIX_EVENT,
	                      CHAOS_EPROTO, "not a valid protobuf");
}

static uint64_t
xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_random_bytes_are_rejected_by_every_decoder(void **state)
{
	static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                  0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	uint64_t             seed      = 0x9e3779b97f4a7c15ULL;
	uint8_t              buf[96];

	(void)state;
	for (enum wire_fix_kind k = 0; k < WIRE_FIX_N_KINDS; k++)
		expect_bytes_rejected(garbage, sizeof(garbage), k, CHAOS_EPROTO,
		                      "not a valid protobuf");
	for (int round = 0; round < 2000; round++) {
		size_t len = 1 + xorshift64(&seed) % sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)xorshift64(&seed);
		for (enum wire_fix_kind k = 0; k < WIRE_FIX_N_KINDS; k++) {
			void     *out    = NULL;
			chaos_why reason = {{0}};
			int       rv     = decode(k, buf, len, &out, &reason);
			/* Random bytes can parse as protobuf with another version. */
			if (rv != CHAOS_EPROTO && rv != CHAOS_EVERSION)
				fail_msg("random input %d to decoder %d gave %d", round,
				         (int)k, rv);
			assert_true(reason.text[0] != '\0');
			assert_ptr_equal(out, &decode_sentinel);
		}
	}
}

static void
test_wrong_protocol_version_is_refused_with_eversion(void **state)
{
	struct wire_fix_poll       p;
	struct wire_fix_reply      r;
	struct wire_fix_event      e;
	struct wire_fix_ctl_req    q;
	Chaos__V1__ControlResponse resp  = CHAOS__V1__CONTROL_RESPONSE__INIT;
	const uint32_t             bad[] = {0, WIRE_VERSION + 1, 0xffffffffu};

	(void)state;
	wire_fix_poll_init(&p);
	wire_fix_reply_init(&r);
	r.c.cmd.body_case  = CHAOS__V1__COMMAND__BODY_REVERT_ALL;
	r.c.cmd.revert_all = true;
	wire_fix_event_init(&e);
	wire_fix_event_hello(&e);
	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY_STATS);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CASE("bad[%zu]", i);
		p.poll.protocol_version = r.reply.protocol_version = bad[i];
		e.ev.protocol_version = q.req.protocol_version = resp.protocol_version =
		    bad[i];
		expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EVERSION, "version");
		expect_rejected(&r.reply.base, WIRE_FIX_REPLY, CHAOS_EVERSION, "version");
		expect_rejected(&e.ev.base, WIRE_FIX_EVENT, CHAOS_EVERSION, "version");
		expect_rejected(&q.req.base, WIRE_FIX_CTL_REQ, CHAOS_EVERSION, "version");
		expect_rejected(&resp.base, WIRE_FIX_CTL_RESP, CHAOS_EVERSION, "version");
	}
}

static void
test_input_over_the_size_cap_is_refused_with_etoobig(void **state)
{
	const struct {
		enum wire_fix_kind kind;
		size_t             cap;
	} caps[] = {
	    {WIRE_FIX_POLL, WIRE_MAX_SESSION},     {WIRE_FIX_REPLY, WIRE_MAX_SESSION},
	    {WIRE_FIX_EVENT, WIRE_MAX_EVENT},      {WIRE_FIX_CTL_REQ, WIRE_MAX_CONTROL},
	    {WIRE_FIX_CTL_RESP, WIRE_MAX_CONTROL},
	};
	uint8_t *buf = calloc(1, WIRE_MAX_CONTROL + 1);

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		void     *out    = NULL;
		chaos_why reason = {{0}};
		/* Exactly at the cap is parsed (and fails as garbage), one byte over is
		 * not. */
		int rv = decode(caps[i].kind, buf, caps[i].cap, &out, &reason);
		assert_int_not_equal(rv, CHAOS_ETOOBIG);
		assert_int_not_equal(rv, CHAOS_OK);
		expect_bytes_rejected(buf, caps[i].cap + 1, caps[i].kind, CHAOS_ETOOBIG,
		                      "size limit");
	}
	free(buf);
}

static void
test_real_event_over_the_event_cap_is_refused_with_etoobig(void **state)
{
	struct wire_fix_event f;
	char                 *big = malloc(WIRE_MAX_EVENT + 1);

	(void)state;
	assert_non_null(big);
	memset(big, 'a', WIRE_MAX_EVENT);
	big[WIRE_MAX_EVENT] = '\0';
	wire_fix_event_init(&f);
	wire_fix_event_fault_state(&f, big);
	expect_rejected(&f.ev.base, WIRE_FIX_EVENT, CHAOS_ETOOBIG, "size limit");
	free(big);
}

static void
test_wire_pack_refuses_a_message_over_max_size(void **state)
{
	struct wire_fix_poll f;
	nng_msg             *msg = (nng_msg *)(void *)&decode_sentinel;
	size_t               len;

	(void)state;
	wire_fix_poll_init(&f);
	len = chaos__v1__poll__get_packed_size(&f.poll);
	assert_int_equal(wire_pack(&f.poll.base, len - 1, &msg), CHAOS_ETOOBIG);
	assert_ptr_equal(msg, &decode_sentinel);
	assert_int_equal(wire_pack(&f.poll.base, len, &msg), CHAOS_OK);
	assert_int_equal(nng_msg_len(msg), len);
	nng_msg_free(msg);
}

/* ------------------------------------------------------------------------ */
/* Well-formed protobuf, invalid content. */

static void
test_unknown_enum_values_are_rejected(void **state)
{
	struct wire_fix_poll  p;
	struct wire_fix_reply r;
	struct wire_fix_event e;

	(void)state;
	wire_fix_poll_init(&p);
	wire_fix_poll_add_identity(&p);
	p.ident.id.role = (Chaos__V1__Role)42;
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, "unknown enum value");

	wire_fix_poll_init(&p);
	chaos__v1__ack__init(&p.ack[0]);
	p.ack[0].command_id = 1;
	p.ack[0].status     = (Chaos__V1__Status)9;
	p.acks[0]           = &p.ack[0];
	p.poll.n_acks       = 1;
	p.poll.acks         = p.acks;
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, "unknown enum value");

	fault_reply(&r, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
	r.c.partition.direction = (Chaos__V1__Direction)7;
	expect_rejected(&r.reply.base, WIRE_FIX_REPLY, CHAOS_EPROTO,
	                "unknown enum value");

	fault_reply(&r, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
	r.c.partition.proto = (Chaos__V1__L4Proto)1; /* ICMP is not in L4Proto */
	expect_rejected(&r.reply.base, WIRE_FIX_REPLY, CHAOS_EPROTO,
	                "unknown enum value");

	wire_fix_event_init(&e);
	wire_fix_event_fault_state(&e, NULL);
	e.state.phase = (Chaos__V1__FaultPhase)-3;
	expect_rejected(&e.ev.base, WIRE_FIX_EVENT, CHAOS_EPROTO, "unknown enum value");
}

/* The same check on bytes: pack a valid identity role, then patch the varint. */
static void
test_unknown_enum_value_patched_into_bytes_is_rejected(void **state)
{
	struct wire_fix_event f;
	uint8_t              *buf;
	size_t                len, patched = 0;

	(void)state;
	wire_fix_event_init(&f);
	wire_fix_event_hello(&f);
	f.ident.id.role =
	    CHAOS__V1__ROLE__ROLE_CONTROLLER; /* 5: unique byte pair below */
	buf = pack_bytes(&f.ev.base, &len);
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == ((5 << 3) | 0) && buf[i + 1] == 5) { /* Identity.role = 5 */
			buf[i + 1] = 6;
			patched++;
		}
	}
	assert_int_equal(patched, 1);
	expect_bytes_rejected(buf, len, WIRE_FIX_EVENT, CHAOS_EPROTO,
	                      "unknown enum value");
	free(buf);
}

static void
test_bad_agent_id_characters_are_rejected(void **state)
{
	static char *const    bad[] = {"",           "ledger db-0", "ledger/db-0;rm",
	                               "db\xc3\xa9", "a*b",         "x\"y"};
	char                  too_long[LIMIT_ID_LEN + 2];
	struct wire_fix_poll  p;
	struct wire_fix_event e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CASE("bad[%zu]", i);
		wire_fix_poll_init(&p);
		p.poll.agent_id = bad[i];
		expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO,
		                "poll: bad agent_id");
		wire_fix_event_init(&e);
		wire_fix_event_fault_state(&e, NULL);
		e.ev.agent_id = bad[i];
		expect_rejected(&e.ev.base, WIRE_FIX_EVENT, CHAOS_EPROTO,
		                "event: bad agent_id");
	}
	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	wire_fix_poll_init(&p);
	p.poll.agent_id = too_long;
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, "poll: bad agent_id");
	too_long[LIMIT_ID_LEN] = '\0'; /* exactly at the limit is fine */
	p.poll.agent_id        = too_long;
	wire_free(expect_accepted(&p.poll.base, WIRE_FIX_POLL));
	assert_int_equal(wire_check_id("ns/pod-0:a.b_c"), CHAOS_OK);
	assert_int_equal(wire_check_id(NULL), CHAOS_EINVAL);
}

static void
test_strings_with_control_characters_are_rejected(void **state)
{
	static char *const bad[] = {"a\nb",
	                            "a\rb",
	                            "\x1b[31mred",
	                            "tab\there",
	                            "del\x7f",
	                            "nel\xc2\x85",
	                            "csi\xc2\x9b"
	                            "31m"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CASE("bad[%zu]", i);
		expect_detail_rejected(bad[i], "control characters");
	}
	/* ...wherever they are nested: a label value inside a poll's identity. */
	{
		struct wire_fix_poll p;
		wire_fix_poll_init(&p);
		wire_fix_poll_add_identity(&p);
		p.ident.label.value = "x\ny";
		expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO,
		                "control characters");
	}
}

static void
test_strings_with_invalid_utf8_are_rejected(void **state)
{
	static char *const bad[] = {
	    "\xff",             /* never valid */
	    "\xc3\x28",         /* bad continuation */
	    "\xe2\x82",         /* truncated at the end */
	    "\xc0\xaf",         /* overlong '/' (2 bytes) */
	    "\xe0\x80\xaf",     /* overlong '/' (3 bytes) */
	    "\xe0\x80\x8a",     /* overlong newline */
	    "\xf0\x80\x80\xaf", /* overlong '/' (4 bytes) */
	    "\xed\xa0\x80",     /* UTF-16 surrogate U+D800 */
	    "\xf4\x90\x80\x80", /* U+110000, past Unicode */
	    "\xf5\x80\x80\x80", /* lead byte past U+10FFFF */
	    "\x80",             /* lone continuation */
	};
	static char *const good[] = {
	    "caf\xc3\xa9",      "\xc2\xa0",     "\xe6\x97\xa5\xe6\x9c\xac",
	    "\xed\x9f\xbf",     "\xef\xbf\xbd", "\xf0\x9f\x98\x80",
	    "\xf4\x8f\xbf\xbf",
	};
	struct wire_fix_event f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CASE("bad[%zu]", i);
		expect_detail_rejected(bad[i], "not UTF-8");
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CASE("good[%zu]", i);
		Chaos__V1__Event *got;
		wire_fix_event_init(&f);
		wire_fix_event_fault_state(&f, good[i]);
		got = expect_accepted(&f.ev.base, WIRE_FIX_EVENT);
		assert_string_equal(got->fault_state->detail, good[i]);
		wire_free(got);
	}
}

static void
test_text_longer_than_the_field_limit_is_rejected(void **state)
{
	struct wire_fix_event f;
	char                  text[LIMIT_TEXT_LEN + 2];
	Chaos__V1__Event     *got;

	(void)state;
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	wire_fix_event_init(&f);
	wire_fix_event_fault_state(&f, text);
	expect_rejected(&f.ev.base, WIRE_FIX_EVENT, CHAOS_EPROTO, "too long");
	text[LIMIT_TEXT_LEN] = '\0';
	got                  = expect_accepted(&f.ev.base, WIRE_FIX_EVENT);
	assert_int_equal(strlen(got->fault_state->detail), LIMIT_TEXT_LEN);
	wire_free(got);
}

static void
test_too_many_repeated_values_are_rejected(void **state)
{
	struct wire_fix_poll p;
	char               **faults = calloc(LIMIT_REPEATED + 1, sizeof(char *));

	(void)state;
	assert_non_null(faults);
	for (size_t i = 0; i <= LIMIT_REPEATED; i++)
		faults[i] = "f";
	wire_fix_poll_init(&p);
	p.poll.n_active_faults = LIMIT_REPEATED + 1;
	p.poll.active_faults   = faults;
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, "too many repeated");
	free(faults);
}

static void
test_identity_with_unspecified_role_is_rejected(void **state)
{
	struct wire_fix_poll  p;
	struct wire_fix_event e;

	(void)state;
	wire_fix_poll_init(&p);
	wire_fix_poll_add_identity(&p);
	p.ident.id.role = CHAOS__V1__ROLE__ROLE_UNSPECIFIED;
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, "role unspecified");
	wire_fix_event_init(&e);
	wire_fix_event_hello(&e);
	e.ident.id.role = CHAOS__V1__ROLE__ROLE_UNSPECIFIED;
	expect_rejected(&e.ev.base, WIRE_FIX_EVENT, CHAOS_EPROTO, "role unspecified");
}

static void
test_identity_with_a_non_ip_address_is_rejected(void **state)
{
	static char *const   bad[] = {"not-an-ip", "10.0.0.256", "10.0.0.1/24", "",
	                              "fd00::1::2"};
	struct wire_fix_poll p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CASE("bad[%zu]", i);
		wire_fix_poll_init(&p);
		wire_fix_poll_add_identity(&p);
		p.ident.ips[1] = bad[i];
		expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO,
		                "ip is not an address");
	}
}

static void
test_identity_with_bad_names_or_incarnation_is_rejected(void **state)
{
	struct wire_fix_poll p;

	(void)state;
	wire_fix_poll_init(&p);
	wire_fix_poll_add_identity(&p);
	p.ident.id.pod = "db 0";
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO,
	                "bad pod or namespace");
	wire_fix_poll_init(&p);
	wire_fix_poll_add_identity(&p);
	p.ident.id.node = "";
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, "bad node name");
	wire_fix_poll_init(&p);
	wire_fix_poll_add_identity(&p);
	p.ident.id.incarnation = 0;
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, "incarnation");
	wire_fix_poll_init(&p);
	wire_fix_poll_add_identity(&p);
	p.ident.label.key = "";
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, "empty label key");
}

static void
test_identity_for_another_agent_is_rejected(void **state)
{
	struct wire_fix_poll  p;
	struct wire_fix_event e;

	(void)state;
	wire_fix_poll_init(&p);
	wire_fix_poll_add_identity(&p);
	p.ident.id.agent_id = "ledger/db-1";
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO,
	                "identity is for another agent");
	wire_fix_event_init(&e);
	wire_fix_event_hello(&e);
	e.ident.id.agent_id = "ledger/db-1";
	expect_rejected(&e.ev.base, WIRE_FIX_EVENT, CHAOS_EPROTO,
	                "hello for another agent");
}

static void
test_poll_without_sequence_time_or_with_bad_acks_is_rejected(void **state)
{
	struct wire_fix_poll p;

	(void)state;
	wire_fix_poll_init(&p);
	p.poll.poll_seq = 0;
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, "sequence or time");
	wire_fix_poll_init(&p);
	p.poll.t1_agent_us = -1;
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, "sequence or time");
	wire_fix_poll_init(&p);
	chaos__v1__ack__init(&p.ack[0]);
	p.ack[0].command_id = 3; /* status left UNSPECIFIED */
	p.acks[0]           = &p.ack[0];
	p.poll.n_acks       = 1;
	p.poll.acks         = p.acks;
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO,
	                "ack without id or status");
	p.faults[0]            = "bad fault id";
	p.poll.n_acks          = 0;
	p.poll.n_active_faults = 1;
	p.poll.active_faults   = p.faults;
	expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, "bad active fault id");
}

static void
expect_fault_rejected(struct wire_fix_reply *f, const char *why)
{
	expect_rejected(&f->reply.base, WIRE_FIX_REPLY, CHAOS_EPROTO, why);
}

static void
test_partition_with_bad_peers_is_rejected(void **state)
{
	static char *const    bad[] = {"10.0.0.0/33", "10.0.0.300/8", "10.0.0.0/abc",
	                               "fd00::/8",    "10.0.0.0/",    "host.example"};
	struct wire_fix_reply f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CASE("bad[%zu]", i);
		fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
		f.c.peers[1] = bad[i];
		expect_fault_rejected(&f, "peer is not an IPv4 CIDR");
	}
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
	f.c.partition.n_peers = 0;
	expect_fault_rejected(&f, "peer list empty");
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
	f.c.exempt[0] = "10.0.0.0/40";
	expect_fault_rejected(&f, "exempt entry");
}

static void
test_ports_outside_1_to_65535_are_rejected(void **state)
{
	static const uint32_t bad[] = {0, 65536, 70000, 0xffffffffu};
	struct wire_fix_reply f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CASE("bad[%zu]", i);
		fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PORT);
		f.c.ports[0] = bad[i];
		expect_fault_rejected(&f, "port out of range 1..65535");
		fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
		f.c.ports[1] = bad[i];
		expect_fault_rejected(&f, "port out of range 1..65535");
		fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_LATENCY);
		f.c.latency.port = bad[i];
		expect_fault_rejected(&f, "latency port out of range");
	}
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PORT);
	f.c.port.n_ports = 0;
	expect_fault_rejected(&f, "port fault without ports");
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PORT);
	f.c.ports[0] = 65535;
	wire_free(expect_accepted(&f.reply.base, WIRE_FIX_REPLY));
}

static void
test_loss_percent_outside_1_to_100_is_rejected(void **state)
{
	static const uint32_t bad[] = {0, 101, 1000};
	struct wire_fix_reply f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CASE("bad[%zu]", i);
		fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_LOSS);
		f.c.loss.percent = bad[i];
		expect_fault_rejected(&f, "loss percent out of range 1..100");
	}
	for (uint32_t ok = 1; ok <= 100; ok += 99) {
		fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_LOSS);
		f.c.loss.percent = ok;
		wire_free(expect_accepted(&f.reply.base, WIRE_FIX_REPLY));
	}
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_LOSS);
	f.c.loss.n_peers = 0;
	expect_fault_rejected(&f, "peer list empty");
}

static void
test_lease_outside_its_limits_is_rejected(void **state)
{
	static const uint32_t bad[] = {0, LIMIT_LEASE_MIN_MS - 1, LIMIT_LEASE_MAX_MS + 1};
	static const uint32_t ok[]  = {LIMIT_LEASE_MIN_MS, LIMIT_LEASE_MAX_MS};
	struct wire_fix_reply f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CASE("bad[%zu]", i);
		fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
		f.c.fault.lease_ms = bad[i];
		expect_fault_rejected(&f, "lease_ms out of range");
	}
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CASE("ok[%zu]", i);
		fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
		f.c.fault.lease_ms = ok[i];
		wire_free(expect_accepted(&f.reply.base, WIRE_FIX_REPLY));
	}
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
	f.c.fault.hard_end_ctl_us = 0;
	expect_fault_rejected(&f, "hard end");
}

static void
test_other_bad_fault_fields_are_rejected(void **state)
{
	struct wire_fix_reply f;

	(void)state;
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_LATENCY);
	f.c.latency.jitter_ms = 251; /* more than the delay */
	expect_fault_rejected(&f, "delay or jitter");
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
	f.c.kill.signal = 65;
	expect_fault_rejected(&f, "signal 0..64");
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
	f.c.kill.process_name = "";
	expect_fault_rejected(&f, "process name");
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
	f.c.fault.fault_id = "no spaces";
	expect_fault_rejected(&f, "bad fault_id");
	fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND__NOT_SET);
	expect_fault_rejected(&f, "no kind set");
}

static void
test_command_without_body_or_id_is_rejected(void **state)
{
	struct wire_fix_reply f;

	(void)state;
	wire_fix_reply_init(&f); /* the command has an id but no body */
	expect_fault_rejected(&f, "command: no body");
	f.c.cmd.body_case  = CHAOS__V1__COMMAND__BODY_REVERT_ALL;
	f.c.cmd.revert_all = true;
	f.c.cmd.command_id = 0;
	expect_fault_rejected(&f, "command: id 0");
}

static void
test_bad_probe_and_load_specs_are_rejected(void **state)
{
	struct wire_fix_reply f;

	(void)state;
	wire_fix_reply_init(&f);
	wire_fix_cmd_probe(&f.c);
	f.c.probe.kind        = CHAOS__V1__PROBE_KIND__PROBE_KIND_TCP;
	f.c.probe.target      = "10.77.0.30:5432";
	f.c.probe.interval_ms = 9; /* under 10 ms */
	expect_fault_rejected(&f, "bad probe spec");
	f.c.probe.interval_ms = 10;
	wire_free(expect_accepted(&f.reply.base, WIRE_FIX_REPLY));
	f.c.probe.kind = CHAOS__V1__PROBE_KIND__PROBE_KIND_UNSPECIFIED;
	expect_fault_rejected(&f, "bad probe spec");

	wire_fix_cmd_load(&f.c);
	f.c.load.rate_rps = 0;
	expect_fault_rejected(&f, "bad load spec");
	f.c.load.rate_rps    = 1;
	f.c.load.concurrency = 10001;
	expect_fault_rejected(&f, "bad load spec");
}

static void
test_reply_with_bad_times_or_heartbeat_is_rejected(void **state)
{
	struct wire_fix_reply f;

	(void)state;
	wire_fix_reply_init(&f);
	f.c.cmd.body_case  = CHAOS__V1__COMMAND__BODY_REVERT_ALL;
	f.c.cmd.revert_all = true;
	f.reply.t3_ctl_us  = f.reply.t2_ctl_us - 1; /* sent before it was received */
	expect_fault_rejected(&f, "sequence or times invalid");
	f.reply.t3_ctl_us    = f.reply.t2_ctl_us;
	f.reply.heartbeat_ms = 9;
	expect_fault_rejected(&f, "heartbeat out of range");
	f.reply.heartbeat_ms = 60001;
	expect_fault_rejected(&f, "heartbeat out of range");
}

static void
test_event_without_body_or_sequence_is_rejected(void **state)
{
	struct wire_fix_event f;

	(void)state;
	wire_fix_event_init(&f);
	expect_rejected(&f.ev.base, WIRE_FIX_EVENT, CHAOS_EPROTO, "event: no body");
	wire_fix_event_fault_state(&f, NULL);
	f.ev.seq = 0;
	expect_rejected(&f.ev.base, WIRE_FIX_EVENT, CHAOS_EPROTO, "sequence or time");
	f.ev.seq      = 1;
	f.state.phase = CHAOS__V1__FAULT_PHASE__FAULT_PHASE_UNSPECIFIED;
	expect_rejected(&f.ev.base, WIRE_FIX_EVENT, CHAOS_EPROTO, "bad fault state");
}

static void
test_control_messages_with_bad_content_are_rejected(void **state)
{
	struct wire_fix_ctl_req  q;
	struct wire_fix_ctl_resp r;

	(void)state;
	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY__NOT_SET);
	expect_rejected(&q.req.base, WIRE_FIX_CTL_REQ, CHAOS_EPROTO, "no request body");
	wire_fix_ctl_resp_init(&r);
	r.ident.id.role = CHAOS__V1__ROLE__ROLE_UNSPECIFIED;
	expect_rejected(&r.resp.base, WIRE_FIX_CTL_RESP, CHAOS_EPROTO,
	                "role unspecified");

	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS);
	q.results.has_run_id = true;
	expect_rejected(&q.req.base, WIRE_FIX_CTL_REQ, CHAOS_EPROTO, "run id 0");
	wire_fix_ctl_resp_init(&r);
	wire_fix_ctl_resp_status(&r);
	r.run.run_id = 0;
	expect_rejected(&r.resp.base, WIRE_FIX_CTL_RESP, CHAOS_EPROTO,
	                "run without id or scenario");
	r.run.run_id = 12;
	r.run.state  = CHAOS__V1__RUN_STATE__RUN_STATE_UNSPECIFIED;
	expect_rejected(&r.resp.base, WIRE_FIX_CTL_RESP, CHAOS_EPROTO,
	                "run state unspecified");
	r.run.state     = CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING;
	r.live.fault_id = "";
	expect_rejected(&r.resp.base, WIRE_FIX_CTL_RESP, CHAOS_EPROTO, "bad agent, pod");
	r.live.fault_id     = "r12-partition-chain-0";
	r.run.last_progress = "line\x1b[2Jcleared";
	expect_rejected(&r.resp.base, WIRE_FIX_CTL_RESP, CHAOS_EPROTO,
	                "control characters");
}

/* Appends raw bytes (an extra field) to a packed minimal poll. */
static uint8_t *
poll_bytes_with(const uint8_t *extra, size_t extra_len, size_t *len)
{
	struct wire_fix_poll f;
	size_t               base_len;
	uint8_t             *buf, *grown;

	wire_fix_poll_init(&f);
	buf   = pack_bytes(&f.poll.base, &base_len);
	grown = realloc(buf, base_len + extra_len);
	assert_non_null(grown);
	memcpy(grown + base_len, extra, extra_len);
	*len = base_len + extra_len;
	return grown;
}

/* A newer peer may add fields: they are kept and survive a re-pack. */
static void
test_unknown_fields_are_kept_across_a_round_trip(void **state)
{
	static const uint8_t field_99[] = {0x98, 0x06, 0x2a}; /* field 99, varint 42 */
	size_t               len;
	uint8_t             *buf = poll_bytes_with(field_99, sizeof(field_99), &len);
	Chaos__V1__Poll     *got = NULL, *again = NULL;
	chaos_why            reason = {{0}};
	nng_msg             *msg    = NULL;

	(void)state;
	assert_int_equal(wire_decode_poll(buf, len, &got, &reason), CHAOS_OK);
	assert_int_equal(got->base.n_unknown_fields, 1);
	assert_int_equal(got->base.unknown_fields[0].tag, 99);
	assert_int_equal(wire_pack(&got->base, WIRE_MAX_SESSION, &msg), CHAOS_OK);
	assert_int_equal(nng_msg_len(msg), len);
	assert_int_equal(
	    wire_decode_poll(nng_msg_body(msg), nng_msg_len(msg), &again, &reason),
	    CHAOS_OK);
	assert_int_equal(again->base.n_unknown_fields, 1);
	nng_msg_free(msg);
	wire_free(again);
	wire_free(got);
	free(buf);
}

/* protobuf-c accepts field number 0 when its tag is spelled in two bytes; a
 * message carrying it would not decode again once re-packed. */
static void
test_unknown_field_number_zero_is_rejected(void **state)
{
	static const uint8_t field_0[] = {0x81, 0x00, 1, 2, 3,
	                                  4,    5,    6, 7, 8}; /* fixed64 */
	size_t               len;
	uint8_t             *buf = poll_bytes_with(field_0, sizeof(field_0), &len);

	(void)state;
	expect_bytes_rejected(buf, len, WIRE_FIX_POLL, CHAOS_EPROTO,
	                      "invalid field number");
	free(buf);
}

static void
test_check_cidr_accepts_ipv4_with_optional_prefix_only(void **state)
{
	static const char *const good[] = {"10.0.0.1", "10.0.0.0/8", "0.0.0.0/0",
	                                   "255.255.255.255/32", "192.168.1.0/24"};
	static const char *const bad[]  = {"",
	                                   "/8",
	                                   "10.0.0.0/",
	                                   "10.0.0.0/33",
	                                   "10.0.0.0/-1",
	                                   "10.0.0.0/+8",
	                                   "10.0.0.0/8/8",
	                                   "10.0.0.0/8 ",
	                                   " 10.0.0.1",
	                                   "10.0.0.256",
	                                   "10.0.0",
	                                   "::1",
	                                   "fd00::/8",
	                                   "10.0.0.1.2",
	                                   "255.255.255.255/320"};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (wire_check_cidr(good[i]) != CHAOS_OK)
			fail_msg("'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (wire_check_cidr(bad[i]) != CHAOS_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(wire_check_cidr(NULL), CHAOS_EINVAL);
}

#define WIRE_TEST(fn) cmocka_unit_test_setup(fn, reset_case)
/* A table-driven test run for one case (its initial state), under its own name. */
#define WIRE_CASE(name, fn, c)                                                           \
	{                                                                                \
#name, fn, reset_case, NULL, c                                           \
	}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    WIRE_TEST(test_poll_with_identity_acks_and_prev_times_round_trips),
	    WIRE_TEST(test_minimal_poll_round_trips_without_optional_fields),
	    WIRE_CASE(test_reply_with_partition_fault_round_trips,
	              test_reply_with_fault_round_trips, &fault_partition),
	    WIRE_CASE(test_reply_with_port_fault_round_trips,
	              test_reply_with_fault_round_trips, &fault_port),
	    WIRE_CASE(test_reply_with_latency_fault_round_trips,
	              test_reply_with_fault_round_trips, &fault_latency),
	    WIRE_CASE(test_reply_with_kill_fault_round_trips,
	              test_reply_with_fault_round_trips, &fault_kill),
	    WIRE_CASE(test_reply_with_loss_fault_round_trips,
	              test_reply_with_fault_round_trips, &fault_loss),
	    WIRE_TEST(test_reply_with_revert_fault_stop_probe_and_stop_load_round_trips),
	    WIRE_TEST(test_reply_with_start_probe_round_trips),
	    WIRE_TEST(test_reply_with_start_load_round_trips),
	    WIRE_TEST(test_reply_with_revert_all_and_identity_needed_round_trips),
	    WIRE_TEST(test_hello_event_round_trips),
	    WIRE_TEST(test_probe_sample_event_round_trips),
	    WIRE_TEST(test_fault_state_event_round_trips),
	    WIRE_TEST(test_load_report_event_round_trips),
	    WIRE_TEST(test_control_request_list_agents_and_stats_round_trip),
	    WIRE_TEST(test_control_response_with_agents_and_endpoints_round_trips),
	    WIRE_TEST(test_control_status_and_results_requests_round_trip),
	    WIRE_TEST(test_control_response_with_runs_faults_and_lost_agents_round_trips),
	    WIRE_TEST(test_every_decoder_rejects_an_empty_buffer),
	    WIRE_TEST(test_truncated_poll_is_rejected_at_every_cut),
	    WIRE_TEST(test_truncated_reply_is_rejected),
	    WIRE_TEST(test_message_missing_required_fields_is_rejected),
	    WIRE_TEST(test_random_bytes_are_rejected_by_every_decoder),
	    WIRE_TEST(test_wrong_protocol_version_is_refused_with_eversion),
	    WIRE_TEST(test_input_over_the_size_cap_is_refused_with_etoobig),
	    WIRE_TEST(test_real_event_over_the_event_cap_is_refused_with_etoobig),
	    WIRE_TEST(test_wire_pack_refuses_a_message_over_max_size),
	    WIRE_TEST(test_unknown_enum_values_are_rejected),
	    WIRE_TEST(test_unknown_enum_value_patched_into_bytes_is_rejected),
	    WIRE_TEST(test_bad_agent_id_characters_are_rejected),
	    WIRE_TEST(test_strings_with_control_characters_are_rejected),
	    WIRE_TEST(test_strings_with_invalid_utf8_are_rejected),
	    WIRE_TEST(test_text_longer_than_the_field_limit_is_rejected),
	    WIRE_TEST(test_too_many_repeated_values_are_rejected),
	    WIRE_TEST(test_identity_with_unspecified_role_is_rejected),
	    WIRE_TEST(test_identity_with_a_non_ip_address_is_rejected),
	    WIRE_TEST(test_identity_with_bad_names_or_incarnation_is_rejected),
	    WIRE_TEST(test_identity_for_another_agent_is_rejected),
	    WIRE_TEST(test_poll_without_sequence_time_or_with_bad_acks_is_rejected),
	    WIRE_TEST(test_partition_with_bad_peers_is_rejected),
	    WIRE_TEST(test_ports_outside_1_to_65535_are_rejected),
	    WIRE_TEST(test_loss_percent_outside_1_to_100_is_rejected),
	    WIRE_TEST(test_lease_outside_its_limits_is_rejected),
	    WIRE_TEST(test_other_bad_fault_fields_are_rejected),
	    WIRE_TEST(test_command_without_body_or_id_is_rejected),
	    WIRE_TEST(test_bad_probe_and_load_specs_are_rejected),
	    WIRE_TEST(test_reply_with_bad_times_or_heartbeat_is_rejected),
	    WIRE_TEST(test_event_without_body_or_sequence_is_rejected),
	    WIRE_TEST(test_control_messages_with_bad_content_are_rejected),
	    WIRE_TEST(test_unknown_fields_are_kept_across_a_round_trip),
	    WIRE_TEST(test_unknown_field_number_zero_is_rejected),
	    WIRE_TEST(test_check_cidr_accepts_ipv4_with_optional_prefix_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
