// SPDX-License-Identifier: MIT
#include "common/wire_reply.h"

#include <stdbool.h>

#include "common/clock.h"
#include "common/wire.h"

void
wire_reply_init(Chaos__V1__Reply *r, uint64_t poll_seq, int64_t t2_ctl_us,
                uint32_t heartbeat_ms, uint64_t instance_id)
{
	/* every other field as CHAOS__V1__REPLY__INIT has it: zero */
	*r = (Chaos__V1__Reply) {
	    .base             = PROTOBUF_C_MESSAGE_INIT(&chaos__v1__reply__descriptor),
	    .protocol_version = WIRE_VERSION,
	    .poll_seq         = poll_seq,
	    .t2_ctl_us        = t2_ctl_us,
	    .heartbeat_ms     = heartbeat_ms,
	    .has_instance_id  = true,
	    .instance_id      = instance_id,
	};
}

chaos_err
wire_reply_pack(Chaos__V1__Reply *r, nng_msg **out)
{
	r->t3_ctl_us = clk_now_us();
	return wire_pack(&r->base, WIRE_MAX_SESSION, out);
}
