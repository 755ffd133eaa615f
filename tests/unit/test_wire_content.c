// SPDX-License-Identifier: MIT
/*
 * common/wire.c refuses well-formed protobuf whose content is wrong for its
 * message: polls without sequence or time, faults with bad peers, ports,
 * loss, lease or other fields, commands and probe or load specs that do not
 * hold, replies with bad times, events without a body, control messages;
 * it keeps unknown fields but not field number 0; wire_check_cidr().
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

static void
test_poll_without_sequence_time_or_with_bad_acks_is_rejected(void **state)
{
	struct wire_fix_poll p;

	(void)state;
	wire_fix_poll_init(&p);
	p.poll.poll_seq = 0;
	wire_expect_poll_rejected(&p, "sequence or time");
	wire_fix_poll_init(&p);
	p.poll.t1_agent_us = -1;
	wire_expect_poll_rejected(&p, "sequence or time");
	wire_fix_poll_init(&p);
	chaos__v1__ack__init(&p.ack[0]);
	p.ack[0].command_id = 3; /* status left UNSPECIFIED */
	p.acks[0]           = &p.ack[0];
	p.poll.n_acks       = 1;
	p.poll.acks         = p.acks;
	wire_expect_poll_rejected(&p, "ack without id or status");
	p.faults[0]            = "bad fault id";
	p.poll.n_acks          = 0;
	p.poll.n_active_faults = 1;
	p.poll.active_faults   = p.faults;
	wire_expect_poll_rejected(&p, "bad active fault id");
}

static void
expect_fault_rejected(struct wire_fix_reply *f, const char *why)
{
	wire_expect_rejected(&f->reply.base, WIRE_FIX_REPLY, CHAOS_EPROTO, why);
}

static void
test_partition_with_bad_peers_is_rejected(void **state)
{
	static char *const    bad[] = {"10.0.0.0/33", "10.0.0.300/8", "10.0.0.0/abc",
	                               "fd00::/8",    "10.0.0.0/",    "host.example"};
	struct wire_fix_reply f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wire_expect_case("bad[%zu]", i);
		wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
		f.c.peers[1] = bad[i];
		expect_fault_rejected(&f, "peer is not an IPv4 CIDR");
	}
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
	f.c.partition.n_peers = 0;
	expect_fault_rejected(&f, "peer list empty");
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
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
		wire_expect_case("bad[%zu]", i);
		wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PORT);
		f.c.ports[0] = bad[i];
		expect_fault_rejected(&f, "port out of range 1..65535");
		wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
		f.c.ports[1] = bad[i];
		expect_fault_rejected(&f, "port out of range 1..65535");
		wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_LATENCY);
		f.c.latency.port = bad[i];
		expect_fault_rejected(&f, "latency port out of range");
	}
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PORT);
	f.c.port.n_ports = 0;
	expect_fault_rejected(&f, "port fault without ports");
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PORT);
	f.c.ports[0] = 65535;
	wire_free(wire_expect_accepted(&f.reply.base, WIRE_FIX_REPLY));
}

static void
test_loss_percent_outside_1_to_100_is_rejected(void **state)
{
	static const uint32_t bad[] = {0, 101, 1000};
	struct wire_fix_reply f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wire_expect_case("bad[%zu]", i);
		wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_LOSS);
		f.c.loss.percent = bad[i];
		expect_fault_rejected(&f, "loss percent out of range 1..100");
	}
	for (uint32_t ok = 1; ok <= 100; ok += 99) {
		wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_LOSS);
		f.c.loss.percent = ok;
		wire_free(wire_expect_accepted(&f.reply.base, WIRE_FIX_REPLY));
	}
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_LOSS);
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
		wire_expect_case("bad[%zu]", i);
		wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
		f.c.fault.lease_ms = bad[i];
		expect_fault_rejected(&f, "lease_ms out of range");
	}
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		wire_expect_case("ok[%zu]", i);
		wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
		f.c.fault.lease_ms = ok[i];
		wire_free(wire_expect_accepted(&f.reply.base, WIRE_FIX_REPLY));
	}
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
	f.c.fault.hard_end_ctl_us = 0;
	expect_fault_rejected(&f, "hard end");
}

static void
test_other_bad_fault_fields_are_rejected(void **state)
{
	struct wire_fix_reply f;

	(void)state;
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_LATENCY);
	f.c.latency.jitter_ms = 251; /* more than the delay */
	expect_fault_rejected(&f, "delay or jitter");
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
	f.c.kill.signal = 65;
	expect_fault_rejected(&f, "signal 0..64");
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
	f.c.kill.process_name = "";
	expect_fault_rejected(&f, "process name");
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_KILL);
	f.c.fault.fault_id = "no spaces";
	expect_fault_rejected(&f, "bad fault_id");
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND__NOT_SET);
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
	wire_free(wire_expect_accepted(&f.reply.base, WIRE_FIX_REPLY));
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
	wire_expect_event_rejected(&f, "event: no body");
	wire_fix_event_fault_state(&f, NULL);
	f.ev.seq = 0;
	wire_expect_event_rejected(&f, "sequence or time");
	f.ev.seq      = 1;
	f.state.phase = CHAOS__V1__FAULT_PHASE__FAULT_PHASE_UNSPECIFIED;
	wire_expect_event_rejected(&f, "bad fault state");
}

static void
test_control_messages_with_bad_content_are_rejected(void **state)
{
	struct wire_fix_ctl_req  q;
	struct wire_fix_ctl_resp r;

	(void)state;
	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY__NOT_SET);
	wire_expect_rejected(&q.req.base, WIRE_FIX_CTL_REQ, CHAOS_EPROTO,
	                     "no request body");
	wire_fix_ctl_resp_init(&r);
	r.ident.id.role = CHAOS__V1__ROLE__ROLE_UNSPECIFIED;
	wire_expect_rejected(&r.resp.base, WIRE_FIX_CTL_RESP, CHAOS_EPROTO,
	                     "role unspecified");

	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS);
	q.results.has_run_id = true;
	wire_expect_rejected(&q.req.base, WIRE_FIX_CTL_REQ, CHAOS_EPROTO, "run id 0");
	wire_fix_ctl_resp_init(&r);
	wire_fix_ctl_resp_status(&r);
	r.run.run_id = 0;
	wire_expect_rejected(&r.resp.base, WIRE_FIX_CTL_RESP, CHAOS_EPROTO,
	                     "run without id or scenario");
	r.run.run_id = 12;
	r.run.state  = CHAOS__V1__RUN_STATE__RUN_STATE_UNSPECIFIED;
	wire_expect_rejected(&r.resp.base, WIRE_FIX_CTL_RESP, CHAOS_EPROTO,
	                     "run state unspecified");
	r.run.state     = CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING;
	r.live.fault_id = "";
	wire_expect_rejected(&r.resp.base, WIRE_FIX_CTL_RESP, CHAOS_EPROTO,
	                     "bad agent, pod");
	r.live.fault_id     = "r12-partition-chain-0";
	r.run.last_progress = "line\x1b[2Jcleared";
	wire_expect_rejected(&r.resp.base, WIRE_FIX_CTL_RESP, CHAOS_EPROTO,
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
	buf   = wire_expect_pack_bytes(&f.poll.base, &base_len);
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
	wire_expect_bytes_rejected(buf, len, WIRE_FIX_POLL, CHAOS_EPROTO,
	                           "invalid field number");
	free(buf);
}

static void
test_check_cidr_accepts_ipv4_with_optional_prefix_only(void **state)
{
	static const char *const good[] = {"10.0.0.1",       "10.0.0.0/8",
	                                   "0.0.0.0/0",      "255.255.255.255/32",
	                                   "192.168.1.0/24", "10.0.0.0/08"};
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
	                                   "010.0.0.1",
	                                   "10..0.1",
	                                   "10.0.0.1/",
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
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
