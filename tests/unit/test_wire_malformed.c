// SPDX-License-Identifier: MIT
/*
 * common/wire.c refuses bytes that are not a message of ours: empty,
 * truncated at every cut, missing required fields, random, of another
 * protocol version, or over the size caps (on decode and on pack), with the
 * right CHAOS_E*, a reason, and *out left alone.
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
test_every_decoder_rejects_an_empty_buffer(void **state)
{
	static const uint8_t none[1] = {0};

	(void)state;
	for (enum wire_fix_kind k = 0; k < WIRE_FIX_N_KINDS; k++) {
		wire_expect_bytes_rejected(none, 0, k, CHAOS_EPROTO, "empty");
		wire_expect_bytes_rejected(NULL, 0, k, CHAOS_EPROTO, "empty");
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
	wire_expect_identity_poll(&f);
	buf      = wire_expect_pack_bytes(&f.poll.base, &len);
	id_len   = chaos__v1__identity__get_packed_size(&f.ident.id);
	id_start = len - id_len - (id_len < 128 ? 2 : 3); /* tag + length varint */
	assert_int_equal(buf[id_start], (10 << 3) | 2);
	for (size_t cut = id_start + 1; cut < len; cut++)
		wire_expect_bytes_rejected(buf, cut, WIRE_FIX_POLL, CHAOS_EPROTO,
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
	wire_expect_fault_reply(&f, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
	buf = wire_expect_pack_bytes(&f.reply.base, &len);
	wire_expect_bytes_rejected(buf, len - 1, WIRE_FIX_REPLY, CHAOS_EPROTO,
	                           "not a valid protobuf");
	wire_expect_bytes_rejected(buf, len / 2, WIRE_FIX_REPLY, CHAOS_EPROTO, "");
	free(buf);
}

static void
test_message_missing_required_fields_is_rejected(void **state)
{
	static const uint8_t version_only[] = {0x08, 0x01}; /* protocol_version = 1 */

	(void)state;
	wire_expect_bytes_rejected(version_only, sizeof(version_only), WIRE_FIX_POLL,
	                           CHAOS_EPROTO, "not a valid protobuf");
	wire_expect_bytes_rejected(version_only, sizeof(version_only), WIRE_FIX_REPLY,
	                           CHAOS_EPROTO, "not a valid protobuf");
	wire_expect_bytes_rejected(version_only, sizeof(version_only), WIRE_FIX_EVENT,
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
		wire_expect_bytes_rejected(garbage, sizeof(garbage), k, CHAOS_EPROTO,
		                           "not a valid protobuf");
	for (int round = 0; round < 2000; round++) {
		size_t len = 1 + xorshift64(&seed) % sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)xorshift64(&seed);
		for (enum wire_fix_kind k = 0; k < WIRE_FIX_N_KINDS; k++) {
			void     *out    = NULL;
			chaos_why reason = {{0}};
			int       rv     = wire_expect_decode(k, buf, len, &out, &reason);
			/* Random bytes can parse as protobuf with another version. */
			if (rv != CHAOS_EPROTO && rv != CHAOS_EVERSION)
				fail_msg("random input %d to decoder %d gave %d", round,
				         (int)k, rv);
			assert_true(reason.text[0] != '\0');
			assert_ptr_equal(out, wire_expect_sentinel());
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
	wire_expect_hello(&e);
	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY_STATS);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wire_expect_case("bad[%zu]", i);
		p.poll.protocol_version = r.reply.protocol_version = bad[i];
		e.ev.protocol_version = q.req.protocol_version = resp.protocol_version =
		    bad[i];
		wire_expect_rejected(&p.poll.base, WIRE_FIX_POLL, CHAOS_EVERSION,
		                     "version");
		wire_expect_rejected(&r.reply.base, WIRE_FIX_REPLY, CHAOS_EVERSION,
		                     "version");
		wire_expect_rejected(&e.ev.base, WIRE_FIX_EVENT, CHAOS_EVERSION,
		                     "version");
		wire_expect_rejected(&q.req.base, WIRE_FIX_CTL_REQ, CHAOS_EVERSION,
		                     "version");
		wire_expect_rejected(&resp.base, WIRE_FIX_CTL_RESP, CHAOS_EVERSION,
		                     "version");
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
		int rv =
		    wire_expect_decode(caps[i].kind, buf, caps[i].cap, &out, &reason);
		assert_int_not_equal(rv, CHAOS_ETOOBIG);
		assert_int_not_equal(rv, CHAOS_OK);
		wire_expect_bytes_rejected(buf, caps[i].cap + 1, caps[i].kind,
		                           CHAOS_ETOOBIG, "size limit");
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
	wire_expect_rejected(&f.ev.base, WIRE_FIX_EVENT, CHAOS_ETOOBIG, "size limit");
	free(big);
}

static void
test_wire_pack_refuses_a_message_over_max_size(void **state)
{
	struct wire_fix_poll f;
	nng_msg             *msg = (nng_msg *)(void *)wire_expect_sentinel();
	size_t               len;

	(void)state;
	wire_fix_poll_init(&f);
	len = chaos__v1__poll__get_packed_size(&f.poll);
	assert_int_equal(wire_pack(&f.poll.base, len - 1, &msg), CHAOS_ETOOBIG);
	assert_ptr_equal(msg, wire_expect_sentinel());
	assert_int_equal(wire_pack(&f.poll.base, len, &msg), CHAOS_OK);
	assert_int_equal(nng_msg_len(msg), len);
	nng_msg_free(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    WIRE_TEST(test_every_decoder_rejects_an_empty_buffer),
	    WIRE_TEST(test_truncated_poll_is_rejected_at_every_cut),
	    WIRE_TEST(test_truncated_reply_is_rejected),
	    WIRE_TEST(test_message_missing_required_fields_is_rejected),
	    WIRE_TEST(test_random_bytes_are_rejected_by_every_decoder),
	    WIRE_TEST(test_wrong_protocol_version_is_refused_with_eversion),
	    WIRE_TEST(test_input_over_the_size_cap_is_refused_with_etoobig),
	    WIRE_TEST(test_real_event_over_the_event_cap_is_refused_with_etoobig),
	    WIRE_TEST(test_wire_pack_refuses_a_message_over_max_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
