// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for every decoder of untrusted bytes in common/wire.c.
 * The first input byte picks the decoder (poll, reply, event, control
 * request, control response), the rest is the message.
 *
 * Beyond "no crash, no leak", whatever a decoder accepts must survive what
 * the receiver does next: it re-packs and decodes again to the same bytes
 * (the controller stores and forwards copies), and a poll's clock times go
 * through clk_offset() as in the registry.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/wire.h"
#include "tests/support/wire_fix.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_failure(int rv, void *out, const char *reason)
{
	fuzz_require(rv == CHAOS_EPROTO || rv == CHAOS_EVERSION || rv == CHAOS_ETOOBIG);
	fuzz_require(out == NULL);
	fuzz_require(reason != NULL && reason[0] != '\0');
}

/* Re-packing an accepted message gives bytes the decoder accepts again (or
 * refuses only for size: repeated scalars may arrive packed and leave
 * unpacked), and that second decode re-packs to the very same bytes. */
static void
fuzz_check_repack(const ProtobufCMessage *m, wire_fix_decode_fn dec)
{
	nng_msg  *first = NULL, *second = NULL;
	void     *again  = NULL;
	chaos_why reason = {{0}};
	int       rv;

	fuzz_require(wire_pack(m, SIZE_MAX, &first) == CHAOS_OK);
	rv = dec(nng_msg_body(first), nng_msg_len(first), &again, &reason);
	if (rv == CHAOS_OK) {
		fuzz_require(wire_pack(again, SIZE_MAX, &second) == CHAOS_OK);
		fuzz_require(nng_msg_len(second) == nng_msg_len(first));
		fuzz_require(memcmp(nng_msg_body(second), nng_msg_body(first),
		                    nng_msg_len(first)) == 0);
		nng_msg_free(second);
		wire_free(again);
	} else {
		fuzz_require(rv == CHAOS_ETOOBIG);
	}
	nng_msg_free(first);
}

static void
fuzz_check_poll_clock(const Chaos__V1__Poll *p)
{
	struct clk_exchange x = {p->prev_t1_agent_us, p->prev_t2_ctl_us,
	                         p->prev_t3_ctl_us, p->prev_t4_agent_us};
	int64_t             off, err;

	if (clk_offset(&x, &off, &err))
		fuzz_require(err >= 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum wire_fix_kind kind;
	wire_fix_decode_fn dec;
	void              *msg    = NULL;
	chaos_why          reason = {{0}};
	int                rv;

	if (size == 0)
		return 0;
	kind = (enum wire_fix_kind)(data[0] % WIRE_FIX_N_KINDS);
	dec  = wire_fix_decoders[kind];
	rv   = dec(data + 1, size - 1, &msg, &reason);
	if (rv != CHAOS_OK) {
		fuzz_check_failure(rv, msg, reason.text);
		return 0;
	}
	fuzz_require(msg != NULL);
	fuzz_check_repack(msg, dec);
	if (kind == WIRE_FIX_POLL)
		fuzz_check_poll_clock(msg);
	wire_free(msg);
	return 0;
}
