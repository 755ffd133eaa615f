// SPDX-License-Identifier: MIT
#include "tests/support/fake_agent.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/wire.h"

void
fake_init(struct fake_agent *f, const char *ns, const char *pod)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->ns, sizeof(f->ns), "%s", ns);
	snprintf(f->pod, sizeof(f->pod), "%s", pod);
	snprintf(f->agent_id, sizeof(f->agent_id), "%s/%s", ns, pod);
	chaos__v1__identity__init(&f->id);
	f->id.agent_id    = f->agent_id;
	f->id.pod         = f->pod;
	f->id.namespace_  = f->ns;
	f->id.node        = "worker-1";
	f->id.role        = CHAOS__V1__ROLE__ROLE_DATABASE;
	f->id.incarnation = FAKE_AGENT_T0_US;
	chaos__v1__poll__init(&f->poll);
	f->poll.protocol_version = WIRE_VERSION;
	f->poll.agent_id         = f->agent_id;
	f->poll.t1_agent_us      = FAKE_AGENT_T0_US;
}

const Chaos__V1__Poll *
fake_poll(struct fake_agent *f, bool with_identity)
{
	f->poll.poll_seq++;
	f->poll.t1_agent_us += 1000;
	f->poll.has_prev_t1_agent_us = f->poll.has_prev_t2_ctl_us = false;
	f->poll.has_prev_t3_ctl_us = f->poll.has_prev_t4_agent_us = false;
	f->poll.identity        = with_identity ? &f->id : NULL;
	f->poll.n_acks          = 0;
	f->poll.n_active_faults = 0;
	return &f->poll;
}

const Chaos__V1__Poll *
fake_poll_ack(struct fake_agent *f, uint64_t command_id)
{
	const Chaos__V1__Poll *p = fake_poll(f, false);

	chaos__v1__ack__init(&f->ack[0]);
	f->ack[0].command_id = command_id;
	f->ack[0].status     = CHAOS__V1__STATUS__STATUS_OK;
	f->acks[0]           = &f->ack[0];
	f->poll.acks         = f->acks;
	f->poll.n_acks       = 1;
	return p;
}

void
fake_poll_ok(struct registry *r, const Chaos__V1__Poll *p, uint32_t pipe)
{
	bool need = true;

	assert_int_equal(registry_on_poll(r, p, pipe, clk_now_us(), &need, NULL),
	                 CHAOS_OK);
	assert_false(need);
}

void
fake_connect(struct registry *r, struct fake_agent *f, const char *ns, const char *pod,
             uint32_t pipe)
{
	fake_init(f, ns, pod);
	fake_poll_ok(r, fake_poll(f, true), pipe);
}
