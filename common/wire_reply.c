// SPDX-License-Identifier: MIT
#include "common/wire_reply.h"

#include <stdbool.h>

#include "common/clock.h"
#include "common/wire.h"

void
wire_poll_init(Chaos__V1__Poll *p, const char *agent_id, uint64_t poll_seq,
               int64_t t1_agent_us, const struct clk_exchange *prev)
{
	chaos__v1__poll__init(p);
	p->protocol_version = WIRE_VERSION;
	p->agent_id         = (char *)agent_id;
	p->poll_seq         = poll_seq;
	p->t1_agent_us      = t1_agent_us;
	if (prev == NULL)
		return;
	p->has_prev_t1_agent_us = p->has_prev_t2_ctl_us = true;
	p->has_prev_t3_ctl_us = p->has_prev_t4_agent_us = true;
	p->prev_t1_agent_us                             = prev->t1;
	p->prev_t2_ctl_us                               = prev->t2;
	p->prev_t3_ctl_us                               = prev->t3;
	p->prev_t4_agent_us                             = prev->t4;
}

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
