// SPDX-License-Identifier: MIT
#include "tests/support/wire_expect.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char wire_expect_label[64] = "-";

/* The decoders must not write *out on failure; this marks "untouched". */
static max_align_t wire_expect_untouched;

void
wire_expect_case(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(wire_expect_label, sizeof(wire_expect_label), fmt, ap);
	va_end(ap);
}

int
wire_expect_reset(void **state)
{
	(void)state;
	snprintf(wire_expect_label, sizeof(wire_expect_label), "-");
	return 0;
}

void *
wire_expect_sentinel(void)
{
	return &wire_expect_untouched;
}

int
wire_expect_decode(enum wire_fix_kind kind, const void *buf, size_t len, void **out,
                   chaos_why *reason)
{
	*out = &wire_expect_untouched;
	return wire_fix_decoders[kind](buf, len, out, reason);
}

static int
wire_expect_pack_and_decode(const ProtobufCMessage *m, enum wire_fix_kind kind,
                            void **out, chaos_why *reason)
{
	nng_msg *msg = NULL;
	int      rv;

	assert_int_equal(wire_pack(m, WIRE_MAX_CONTROL + 1024 * 1024, &msg), CHAOS_OK);
	rv = wire_expect_decode(kind, nng_msg_body(msg), nng_msg_len(msg), out, reason);
	nng_msg_free(msg);
	return rv;
}

void *
wire_expect_accepted(const ProtobufCMessage *m, enum wire_fix_kind kind)
{
	void     *out    = NULL;
	chaos_why reason = {{0}};
	int       rv     = wire_expect_pack_and_decode(m, kind, &out, &reason);

	if (rv != CHAOS_OK)
		fail_msg("%s: valid message rejected: %s (%s)", wire_expect_label,
		         chaos_strerror(rv), reason.text[0] ? reason.text : "no reason");
	assert_non_null(out);
	assert_ptr_not_equal(out, &wire_expect_untouched);
	return out;
}

static void
wire_expect_refusal(int rv, void *out, const char *reason, int want, const char *why)
{
	if (rv == CHAOS_OK) {
		wire_free(out);
		fail_msg("%s: accepted, expected %s (%s)", wire_expect_label,
		         chaos_strerror(want), why);
	}
	assert_int_equal(rv, want);
	assert_ptr_equal(out, &wire_expect_untouched);
	assert_true(reason[0] != '\0');
	if (strstr(reason, why) == NULL)
		fail_msg("%s: reason '%s' does not mention '%s'", wire_expect_label,
		         reason, why);
}

void
wire_expect_rejected(const ProtobufCMessage *m, enum wire_fix_kind kind, int want,
                     const char *why)
{
	void     *out    = NULL;
	chaos_why reason = {{0}};
	int       rv     = wire_expect_pack_and_decode(m, kind, &out, &reason);

	wire_expect_refusal(rv, out, reason.text, want, why);
}

void
wire_expect_bytes_rejected(const void *buf, size_t len, enum wire_fix_kind kind, int want,
                           const char *why)
{
	void     *out    = NULL;
	chaos_why reason = {{0}};
	int       rv     = wire_expect_decode(kind, buf, len, &out, &reason);

	wire_expect_refusal(rv, out, reason.text, want, why);
}

uint8_t *
wire_expect_pack_bytes(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf  = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

void
wire_expect_fault_reply(struct wire_fix_reply *f, Chaos__V1__FaultSpec__KindCase kind)
{
	wire_fix_reply_init(f);
	wire_fix_cmd_fault(&f->c, kind);
}

void
wire_expect_poll_rejected(const struct wire_fix_poll *f, const char *why)
{
	wire_expect_rejected(&f->poll.base, WIRE_FIX_POLL, CHAOS_EPROTO, why);
}

void
wire_expect_event_rejected(const struct wire_fix_event *f, const char *why)
{
	wire_expect_rejected(&f->ev.base, WIRE_FIX_EVENT, CHAOS_EPROTO, why);
}

void
wire_expect_identity_poll(struct wire_fix_poll *f)
{
	wire_fix_poll_init(f);
	wire_fix_poll_add_identity(f);
}

void
wire_expect_hello(struct wire_fix_event *f)
{
	wire_fix_event_init(f);
	wire_fix_event_hello(f);
}

void
wire_expect_detail_rejected(const char *text, const char *why)
{
	struct wire_fix_event f;

	wire_fix_event_init(&f);
	wire_fix_event_fault_state(&f, text);
	wire_expect_event_rejected(&f, why);
}

void
wire_expect_identity_equal(const Chaos__V1__Identity *got,
                           const Chaos__V1__Identity *want)
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
