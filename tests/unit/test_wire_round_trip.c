// SPDX-License-Identifier: MIT
/*
 * common/wire.c: every message built in memory (tests/support/wire_fix.h),
 * packed with wire_pack() and decoded with wire_decode_*(), comes back
 * equal: polls, replies with each command, events of each kind, control
 * requests and responses.
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
#include "tests/support/wire_expect.h"
#include "tests/support/wire_fix.h"

#define T0_US WIRE_FIX_T0_US

static void
test_poll_with_identity_acks_and_prev_times_round_trips(void **state)
{
	struct wire_fix_poll f;
	Chaos__V1__Poll     *got;

	(void)state;
	wire_fix_poll_init(&f);
	wire_fix_poll_add_identity(&f);
	wire_fix_poll_add_acks_times_faults(&f);
	got = wire_expect_accepted(&f.poll.base, WIRE_FIX_POLL);
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
	wire_expect_identity_equal(got->identity, &f.ident.id);
	wire_free(got);
}

static void
test_minimal_poll_round_trips_without_optional_fields(void **state)
{
	struct wire_fix_poll f;
	Chaos__V1__Poll     *got;

	(void)state;
	wire_fix_poll_init(&f);
	got = wire_expect_accepted(&f.poll.base, WIRE_FIX_POLL);
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
	Chaos__V1__Reply *got = wire_expect_accepted(&f->reply.base, WIRE_FIX_REPLY);

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

	wire_expect_fault_reply(&f, c->kind);
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
		wire_expect_case("cases[%zu]", i);
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
	Chaos__V1__Event *got = wire_expect_accepted(&f->ev.base, WIRE_FIX_EVENT);

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
	wire_expect_identity_equal(got->hello->identity, &f.ident.id);
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
	got               = wire_expect_accepted(&f.req.base, WIRE_FIX_CTL_REQ);
	assert_int_equal(got->body_case, CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS);
	assert_string_equal(got->list_agents->namespace_, "ledger");
	wire_free(got);

	wire_fix_ctl_req_init(&f, CHAOS__V1__CONTROL_REQUEST__BODY_STATS);
	got = wire_expect_accepted(&f.req.base, WIRE_FIX_CTL_REQ);
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
	got = wire_expect_accepted(&f.resp.base, WIRE_FIX_CTL_RESP);
	assert_int_equal(got->n_agents, 1);
	wire_expect_identity_equal(got->agents[0]->identity, &f.ident.id);
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
	got = wire_expect_accepted(&f.req.base, WIRE_FIX_CTL_REQ);
	assert_int_equal(got->body_case, CHAOS__V1__CONTROL_REQUEST__BODY_STATUS);
	assert_non_null(got->status);
	wire_free(got);

	wire_fix_ctl_req_init(&f, CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS);
	got = wire_expect_accepted(&f.req.base, WIRE_FIX_CTL_REQ);
	assert_int_equal(got->body_case, CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS);
	assert_false(got->results->has_run_id); /* every run kept */
	wire_free(got);

	f.results.has_run_id = true;
	f.results.run_id     = 41;
	got                  = wire_expect_accepted(&f.req.base, WIRE_FIX_CTL_REQ);
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
	got                = wire_expect_accepted(&f.resp.base, WIRE_FIX_CTL_RESP);
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

/* A table-driven test run for one case (its initial state), under its own name. */
#define WIRE_CASE(name, fn, c)                                                           \
	{                                                                                \
#name, fn, wire_expect_reset, NULL, c                                    \
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
