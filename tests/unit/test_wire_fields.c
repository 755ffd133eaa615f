// SPDX-License-Identifier: MIT
/*
 * common/wire.c refuses well-formed protobuf whose fields break the rules
 * every message shares: unknown enum values, bad agent ids, strings with
 * control characters or invalid UTF-8, text or repeated fields over their
 * limits, identities that are incomplete or name another agent.
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
test_unknown_enum_values_are_rejected(void **state)
{
	struct wire_fix_poll  p;
	struct wire_fix_reply r;
	struct wire_fix_event e;

	(void)state;
	wire_expect_identity_poll(&p);
	p.ident.id.role = (Chaos__V1__Role)42;
	wire_expect_poll_rejected(&p, "unknown enum value");

	wire_fix_poll_init(&p);
	chaos__v1__ack__init(&p.ack[0]);
	p.ack[0].command_id = 1;
	p.ack[0].status     = (Chaos__V1__Status)9;
	p.acks[0]           = &p.ack[0];
	p.poll.n_acks       = 1;
	p.poll.acks         = p.acks;
	wire_expect_poll_rejected(&p, "unknown enum value");

	wire_expect_fault_reply(&r, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
	r.c.partition.direction = (Chaos__V1__Direction)7;
	wire_expect_rejected(&r.reply.base, WIRE_FIX_REPLY, CHAOS_EPROTO,
	                     "unknown enum value");

	wire_expect_fault_reply(&r, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
	r.c.partition.proto = (Chaos__V1__L4Proto)1; /* ICMP is not in L4Proto */
	wire_expect_rejected(&r.reply.base, WIRE_FIX_REPLY, CHAOS_EPROTO,
	                     "unknown enum value");

	wire_fix_event_init(&e);
	wire_fix_event_fault_state(&e, NULL);
	e.state.phase = (Chaos__V1__FaultPhase)-3;
	wire_expect_event_rejected(&e, "unknown enum value");
}

/* The same check on bytes: pack a valid identity role, then patch the varint. */
static void
test_unknown_enum_value_patched_into_bytes_is_rejected(void **state)
{
	struct wire_fix_event f;
	uint8_t              *buf;
	size_t                len, patched = 0;

	(void)state;
	wire_expect_hello(&f);
	f.ident.id.role =
	    CHAOS__V1__ROLE__ROLE_CONTROLLER; /* 5: unique byte pair below */
	buf = wire_expect_pack_bytes(&f.ev.base, &len);
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == ((5 << 3) | 0) && buf[i + 1] == 5) { /* Identity.role = 5 */
			buf[i + 1] = 6;
			patched++;
		}
	}
	assert_int_equal(patched, 1);
	wire_expect_bytes_rejected(buf, len, WIRE_FIX_EVENT, CHAOS_EPROTO,
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
		wire_expect_case("bad[%zu]", i);
		wire_fix_poll_init(&p);
		p.poll.agent_id = bad[i];
		wire_expect_poll_rejected(&p, "poll: bad agent_id");
		wire_fix_event_init(&e);
		wire_fix_event_fault_state(&e, NULL);
		e.ev.agent_id = bad[i];
		wire_expect_event_rejected(&e, "event: bad agent_id");
	}
	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	wire_fix_poll_init(&p);
	p.poll.agent_id = too_long;
	wire_expect_poll_rejected(&p, "poll: bad agent_id");
	too_long[LIMIT_ID_LEN] = '\0'; /* exactly at the limit is fine */
	p.poll.agent_id        = too_long;
	wire_free(wire_expect_accepted(&p.poll.base, WIRE_FIX_POLL));
	assert_int_equal(wire_check_id("ns/pod-0:a.b_c"), CHAOS_OK);
	assert_int_equal(wire_check_id(NULL), CHAOS_EINVAL);
}

static void
test_strings_with_control_characters_are_rejected(void **state)
{
	static char *const bad[] = {"a\nb", "a\rb", "\x1b[31mred", "tab\there", "del\x7f",
	                            "nel\xc2\x85",
	                            /* C1 CSI, octal: a hex escape would eat the 31 */
	                            "csi\xc2\23331m"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wire_expect_case("bad[%zu]", i);
		wire_expect_detail_rejected(bad[i], "control characters");
	}
	/* ...wherever they are nested: a label value inside a poll's identity. */
	{
		struct wire_fix_poll p;
		wire_expect_identity_poll(&p);
		p.ident.label.value = "x\ny";
		wire_expect_poll_rejected(&p, "control characters");
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
		wire_expect_case("bad[%zu]", i);
		wire_expect_detail_rejected(bad[i], "not UTF-8");
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		wire_expect_case("good[%zu]", i);
		Chaos__V1__Event *got;
		wire_fix_event_init(&f);
		wire_fix_event_fault_state(&f, good[i]);
		got = wire_expect_accepted(&f.ev.base, WIRE_FIX_EVENT);
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
	wire_expect_event_rejected(&f, "too long");
	text[LIMIT_TEXT_LEN] = '\0';
	got                  = wire_expect_accepted(&f.ev.base, WIRE_FIX_EVENT);
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
	wire_expect_poll_rejected(&p, "too many repeated");
	free(faults);
}

/* A controller lists every agent it serves in one answer: more than
 * LIMIT_REPEATED (up to LIMIT_AGENTS, where the control message's size cap
 * comes first). */
static void
test_control_response_lists_more_agents_than_other_repeated_fields(void **state)
{
	struct wire_fix_ctl_resp    f;
	size_t                      n   = 2 * LIMIT_REPEATED;
	Chaos__V1__AgentInfo      **all = calloc(n, sizeof(*all));
	Chaos__V1__ControlResponse *got;

	(void)state;
	assert_non_null(all);
	wire_fix_ctl_resp_init(&f);
	for (size_t i = 0; i < n; i++)
		all[i] = &f.info;
	f.resp.agents   = all;
	f.resp.n_agents = n;
	got             = wire_expect_accepted(&f.resp.base, WIRE_FIX_CTL_RESP);
	assert_int_equal(got->n_agents, n);
	wire_free(got);
	free(all);
}

/* One field of an otherwise good identity spoiled, and the reason the
 * decoder must give in a poll and (when not NULL) in a hello. */
struct ident_spoil {
	char       *agent_id, *pod, *node; /* NULL: as built */
	bool        no_role, no_incarnation, no_label_key;
	const char *poll_why, *hello_why;
};

static const struct ident_spoil ident_spoils[] = {
    {.no_role = true, .poll_why = "role unspecified", .hello_why = "role unspecified"},
    {.pod = "db 0", .poll_why = "bad pod or namespace"},
    {.node = "", .poll_why = "bad node name"},
    {.no_incarnation = true, .poll_why = "incarnation"},
    {.no_label_key = true, .poll_why = "empty label key"},
    {.agent_id  = "ledger/db-1",
     .poll_why  = "identity is for another agent",
     .hello_why = "hello for another agent"},
};

static void
ident_spoil(struct wire_fix_ident *f, const struct ident_spoil *s)
{
	f->id.agent_id = s->agent_id ?: f->id.agent_id;
	f->id.pod      = s->pod ?: f->id.pod;
	f->id.node     = s->node ?: f->id.node;
	if (s->no_role)
		f->id.role = CHAOS__V1__ROLE__ROLE_UNSPECIFIED;
	if (s->no_incarnation)
		f->id.incarnation = 0;
	if (s->no_label_key)
		f->label.key = "";
}

static void
test_identity_with_a_bad_field_is_rejected(void **state)
{
	struct wire_fix_poll  p;
	struct wire_fix_event e;

	(void)state;
	for (size_t i = 0; i < sizeof(ident_spoils) / sizeof(ident_spoils[0]); i++) {
		wire_expect_case("ident_spoils[%zu]", i);
		wire_expect_identity_poll(&p);
		ident_spoil(&p.ident, &ident_spoils[i]);
		wire_expect_poll_rejected(&p, ident_spoils[i].poll_why);
		if (ident_spoils[i].hello_why == NULL)
			continue;
		wire_expect_hello(&e);
		ident_spoil(&e.ident, &ident_spoils[i]);
		wire_expect_event_rejected(&e, ident_spoils[i].hello_why);
	}
}

static void
test_identity_with_a_non_ip_address_is_rejected(void **state)
{
	static char *const   bad[] = {"not-an-ip", "10.0.0.256", "10.0.0.1/24", "",
	                              "fd00::1::2"};
	struct wire_fix_poll p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wire_expect_case("bad[%zu]", i);
		wire_expect_identity_poll(&p);
		p.ident.ips[1] = bad[i];
		wire_expect_poll_rejected(&p, "ip is not an address");
	}
}

/* An identity proof is checked for its sizes here (its meaning is the
 * controller's): with the identity it proves, 1..4 certificates, none
 * empty or over 8 KiB, a signature of 1..1024 bytes. */
static void
test_identity_proof_sizes_are_checked(void **state)
{
	static uint8_t       big[LIMIT_PROOF_CERT_LEN + 1];
	ProtobufCBinaryData  five[5];
	struct wire_fix_poll p;
	Chaos__V1__Poll     *got;

	(void)state;
	wire_fix_poll_init(&p);
	wire_fix_poll_add_proof(&p);
	got = wire_expect_accepted(&p.poll.base, WIRE_FIX_POLL);
	assert_int_equal(got->identity_proof->n_certificates, 2);
	assert_memory_equal(got->identity_proof->certificates[1].data, p.cert_der[1],
	                    sizeof(p.cert_der[1]));
	assert_int_equal(got->identity_proof->signature.len, sizeof(p.sig));
	wire_free(got);
	p.poll.identity = NULL;
	wire_expect_poll_rejected(&p, "proof without the identity");
	p.poll.identity        = &p.ident.id;
	p.proof.n_certificates = 0;
	wire_expect_poll_rejected(&p, "1..4 certificates");
	for (int i = 0; i < 5; i++)
		five[i] = p.certs[0];
	p.proof.certificates   = five;
	p.proof.n_certificates = 5;
	wire_expect_poll_rejected(&p, "1..4 certificates");
	p.proof.n_certificates = 1;
	five[0]                = (ProtobufCBinaryData) {sizeof(big), big};
	wire_expect_poll_rejected(&p, "certificate empty or too long");
	five[0].len = 0;
	wire_expect_poll_rejected(&p, "certificate empty or too long");
	five[0]               = p.certs[0];
	p.proof.signature.len = 0;
	wire_expect_poll_rejected(&p, "signature empty or too long");
	p.proof.signature = (ProtobufCBinaryData) {LIMIT_PROOF_SIG_LEN + 1, big};
	wire_expect_poll_rejected(&p, "signature empty or too long");
}

/* A challenge is 16..64 bytes and grants nothing: no commands, no leases. */
static void
test_identity_challenge_is_checked(void **state)
{
	static uint8_t        nonce[LIMIT_NONCE_MAX + 1];
	static char          *live[] = {"run-1/fault-3"};
	struct wire_fix_reply r;
	Chaos__V1__Reply     *got;

	(void)state;
	wire_fix_reply_init(&r);
	wire_fix_reply_challenge(&r);
	got = wire_expect_accepted(&r.reply.base, WIRE_FIX_REPLY);
	assert_true(got->has_identity_challenge);
	assert_int_equal(got->identity_challenge.len, 32);
	assert_string_equal(got->refused, "identity: prove it");
	wire_free(got);
	r.reply.identity_challenge = (ProtobufCBinaryData) {LIMIT_NONCE_MIN - 1, nonce};
	wire_expect_rejected(&r.reply.base, WIRE_FIX_REPLY, CHAOS_EPROTO, "16..64 bytes");
	r.reply.identity_challenge = (ProtobufCBinaryData) {sizeof(nonce), nonce};
	wire_expect_rejected(&r.reply.base, WIRE_FIX_REPLY, CHAOS_EPROTO, "16..64 bytes");
	r.reply.identity_challenge = (ProtobufCBinaryData) {LIMIT_NONCE_MIN, nonce};
	r.reply.n_commands         = 1;
	r.reply.commands           = r.cmds;
	wire_fix_cmd_load(&r.c);
	wire_expect_rejected(&r.reply.base, WIRE_FIX_REPLY, CHAOS_EPROTO,
	                     "challenge that grants");
	r.reply.n_commands    = 0;
	r.reply.n_live_faults = 1;
	r.reply.live_faults   = live;
	wire_expect_rejected(&r.reply.base, WIRE_FIX_REPLY, CHAOS_EPROTO,
	                     "challenge that grants");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    WIRE_TEST(test_unknown_enum_values_are_rejected),
	    WIRE_TEST(test_unknown_enum_value_patched_into_bytes_is_rejected),
	    WIRE_TEST(test_bad_agent_id_characters_are_rejected),
	    WIRE_TEST(test_strings_with_control_characters_are_rejected),
	    WIRE_TEST(test_strings_with_invalid_utf8_are_rejected),
	    WIRE_TEST(test_text_longer_than_the_field_limit_is_rejected),
	    WIRE_TEST(test_too_many_repeated_values_are_rejected),
	    WIRE_TEST(test_control_response_lists_more_agents_than_other_repeated_fields),
	    WIRE_TEST(test_identity_with_a_bad_field_is_rejected),
	    WIRE_TEST(test_identity_with_a_non_ip_address_is_rejected),
	    WIRE_TEST(test_identity_proof_sizes_are_checked),
	    WIRE_TEST(test_identity_challenge_is_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
