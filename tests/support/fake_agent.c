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

	assert_int_equal(registry_on_poll(r, p, pipe, clk_now_us(), &need, NULL, NULL),
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

void
fake_enqueue_partition(struct registry *r, const char *agent_id, const char *fault_id,
                       uint64_t command_id, uint32_t lease_ms, int64_t hard_end_ctl_us)
{
	Chaos__V1__Command        cmd      = CHAOS__V1__COMMAND__INIT;
	Chaos__V1__FaultSpec      spec     = CHAOS__V1__FAULT_SPEC__INIT;
	Chaos__V1__PartitionFault part     = CHAOS__V1__PARTITION_FAULT__INIT;
	char                     *peers[1] = {"10.77.0.22/32"};

	part.peers           = peers;
	part.n_peers         = 1;
	spec.fault_id        = (char *)fault_id;
	spec.lease_ms        = lease_ms;
	spec.hard_end_ctl_us = hard_end_ctl_us;
	spec.kind_case       = CHAOS__V1__FAULT_SPEC__KIND_PARTITION;
	spec.partition       = &part;
	cmd.command_id       = command_id;
	cmd.body_case        = CHAOS__V1__COMMAND__BODY_APPLY_FAULT;
	cmd.apply_fault      = &spec;
	assert_int_equal(registry_enqueue(r, agent_id, &cmd), CHAOS_OK);
}

void
fake_keep_partition(struct registry *r, const char *agent_id, const char *fault_id,
                    uint64_t command_id, uint32_t lease_ms)
{
	assert_int_equal(registry_fault_live(r, agent_id, fault_id, true), CHAOS_OK);
	fake_enqueue_partition(r, agent_id, fault_id, command_id, lease_ms,
	                       clk_now_us() + 60000000);
}
