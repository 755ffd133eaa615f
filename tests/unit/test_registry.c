// SPDX-License-Identifier: MIT
/*
 * controller/registry.c driven by polls and events built in memory (no
 * sockets): registration, connected/lost state, clock samples, the command
 * queue until acked, event gaps, snapshots and the table limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"
#include "controller/registry.h"
#include "tests/support/fake_agent.h"

#define HB_MS 100
#define T0_US FAKE_AGENT_T0_US

static struct registry *
new_registry(size_t max_agents)
{
	struct registry *r = NULL;

	assert_int_equal(registry_new(HB_MS, max_agents, &r), CHAOS_OK);
	assert_non_null(r);
	assert_int_equal(registry_heartbeat_ms(r), HB_MS);
	return r;
}

/* Most tests' table (the state): 8 agents, freed after the test. */
static int
table_setup(void **state)
{
	*state = new_registry(8);
	return 0;
}

static int
table_teardown(void **state)
{
	registry_free(*state);
	return 0;
}

#define TABLE_TEST(t) cmocka_unit_test_setup_teardown(t, table_setup, table_teardown)

/* What the control API would report about one agent. */
struct view {
	bool     found;
	int      state;
	char     lost_reason[128];
	bool     clock_known;
	double   offset_ms, error_ms;
	uint64_t received, gaps;
	size_t   n_faults;
	char     first_fault[64];
	int64_t  incarnation;
	int64_t  last_seen_ctl_us;
};

static struct view
view_of(struct registry *r, const char *agent_id)
{
	Chaos__V1__AgentInfo **all = NULL;
	size_t                 n   = 0;
	struct view            v;

	memset(&v, 0, sizeof(v));
	assert_int_equal(registry_snapshot(r, NULL, &all, &n), CHAOS_OK);
	for (size_t i = 0; i < n; i++) {
		const Chaos__V1__AgentInfo *a = all[i];
		if (strcmp(a->identity->agent_id, agent_id) != 0)
			continue;
		v.found       = true;
		v.state       = a->state;
		v.clock_known = a->has_clock_known && a->clock_known;
		v.offset_ms   = a->clock_offset_ms;
		v.error_ms    = a->clock_error_ms;
		v.received    = a->events_received;
		v.gaps        = a->events_gaps;
		v.n_faults    = a->n_active_faults;
		if (a->n_active_faults > 0)
			snprintf(v.first_fault, sizeof(v.first_fault), "%s",
			         a->active_faults[0]);
		if (a->lost_reason != NULL)
			snprintf(v.lost_reason, sizeof(v.lost_reason), "%s",
			         a->lost_reason);
		v.incarnation      = a->identity->incarnation;
		v.last_seen_ctl_us = a->last_seen_ctl_us;
	}
	registry_snapshot_free(all, n);
	return v;
}

static size_t
count_agents(struct registry *r, const char *ns)
{
	Chaos__V1__AgentInfo **all = NULL;
	size_t                 n   = 0;

	assert_int_equal(registry_snapshot(r, ns, &all, &n), CHAOS_OK);
	registry_snapshot_free(all, n);
	return n;
}

static void
make_revert_all(Chaos__V1__Command *c, uint64_t id)
{
	chaos__v1__command__init(c);
	c->command_id = id;
	c->body_case  = CHAOS__V1__COMMAND__BODY_REVERT_ALL;
	c->revert_all = true;
}

/* Builds the reply to poll_seq and decodes it as the agent would. */
static Chaos__V1__Reply *
reply_for(struct registry *r, const char *agent_id, uint64_t poll_seq,
          bool identity_needed)
{
	nng_msg          *msg    = NULL;
	Chaos__V1__Reply *reply  = NULL;
	chaos_why         reason = {{0}};
	int64_t           t2     = clk_now_us();

	assert_int_equal(
	    registry_build_reply(r, agent_id, poll_seq, t2, identity_needed, NULL, &msg),
	    CHAOS_OK);
	if (wire_decode_reply(nng_msg_body(msg), nng_msg_len(msg), &reply, &reason) !=
	    CHAOS_OK)
		fail_msg("registry built a reply the agent refuses: %s", reason.text);
	nng_msg_free(msg);
	assert_int_equal(reply->poll_seq, poll_seq);
	assert_int_equal(reply->t2_ctl_us, t2);
	assert_true(reply->t3_ctl_us >= t2);
	assert_int_equal(reply->heartbeat_ms, HB_MS);
	return reply;
}

static void
send_event(struct registry *r, struct fake_agent *f, uint64_t seq, int want)
{
	Chaos__V1__Event      ev    = CHAOS__V1__EVENT__INIT;
	Chaos__V1__FaultState state = CHAOS__V1__FAULT_STATE__INIT;

	ev.protocol_version = WIRE_VERSION;
	ev.agent_id         = f->agent_id;
	ev.seq              = seq;
	ev.t_agent_us       = T0_US + (int64_t)seq;
	state.fault_id      = "f1";
	state.phase         = CHAOS__V1__FAULT_PHASE__FAULT_PHASE_APPLIED;
	ev.body_case        = CHAOS__V1__EVENT__BODY_FAULT_STATE;
	ev.fault_state      = &state;
	assert_int_equal(registry_on_event(r, &ev, clk_now_us()), want);
}

static void
send_hello(struct registry *r, struct fake_agent *f, uint64_t seq, int want)
{
	Chaos__V1__Event ev    = CHAOS__V1__EVENT__INIT;
	Chaos__V1__Hello hello = CHAOS__V1__HELLO__INIT;

	ev.protocol_version = WIRE_VERSION;
	ev.agent_id         = f->agent_id;
	ev.seq              = seq;
	ev.t_agent_us       = T0_US;
	hello.identity      = &f->id;
	ev.body_case        = CHAOS__V1__EVENT__BODY_HELLO;
	ev.hello            = &hello;
	assert_int_equal(registry_on_event(r, &ev, clk_now_us()), want);
}

/* ------------------------------------------------------------------------ */

static void
test_unknown_agent_without_identity_is_asked_for_it(void **state)
{
	struct registry   *r = *state;
	struct fake_agent  f;
	Chaos__V1__Command cmd;
	Chaos__V1__Reply  *reply;
	bool               need = false;

	fake_init(&f, "ledger", "db-0");
	assert_int_equal(
	    registry_on_poll(r, fake_poll(&f, false), 1, clk_now_us(), &need, NULL, NULL),
	    CHAOS_OK);
	assert_true(need);
	assert_false(view_of(r, f.agent_id).found);
	assert_int_equal(count_agents(r, NULL), 0);
	make_revert_all(&cmd, 1);
	assert_int_equal(registry_enqueue(r, f.agent_id, &cmd), CHAOS_ENOENT);
	reply = reply_for(r, f.agent_id, f.poll.poll_seq, true);
	assert_true(reply->has_identity_needed && reply->identity_needed);
	assert_int_equal(reply->n_commands, 0);
	wire_free(reply);
}

static void
test_agent_with_identity_is_registered_and_connected(void **state)
{
	struct registry  *r = *state;
	struct fake_agent f;
	struct view       v;
	bool              need = true;
	int64_t           t2   = clk_now_us();

	fake_init(&f, "ledger", "db-0");
	assert_int_equal(
	    registry_on_poll(r, fake_poll(&f, true), 1, t2, &need, NULL, NULL), CHAOS_OK);
	assert_false(need);
	v = view_of(r, f.agent_id);
	assert_true(v.found);
	assert_int_equal(v.state, CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED);
	assert_int_equal(v.last_seen_ctl_us, t2);
	assert_int_equal(v.incarnation, T0_US);
	assert_false(v.clock_known);
	assert_string_equal(v.lost_reason, "");
	/* Later polls of the same connection need no identity. */
	fake_poll_ok(r, fake_poll(&f, false), 1);
	assert_int_equal(view_of(r, f.agent_id).state,
	                 CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED);
	assert_int_equal(count_agents(r, NULL), 1);
}

static void
test_sweep_marks_lost_only_after_three_heartbeats(void **state)
{
	struct registry  *r = *state;
	struct fake_agent f;
	int64_t           before, after;
	struct view       v;

	fake_init(&f, "ledger", "db-0");
	before = clk_mono_us();
	fake_poll_ok(r, fake_poll(&f, true), 1);
	after = clk_mono_us();
	registry_sweep(r, before + 2 * HB_MS * 1000);
	registry_sweep(r, before + 3 * HB_MS * 1000); /* exactly 3 is not overdue yet */
	assert_int_equal(view_of(r, f.agent_id).state,
	                 CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED);
	registry_sweep(r, after + 4 * HB_MS * 1000);
	v = view_of(r, f.agent_id);
	assert_int_equal(v.state, CHAOS__V1__AGENT_STATE__AGENT_STATE_LOST);
	assert_non_null(strstr(v.lost_reason, "no poll for"));
	assert_non_null(strstr(v.lost_reason, "3 heartbeats"));
}

static void
test_closed_pipe_marks_only_its_agent_lost(void **state)
{
	struct registry  *r = *state;
	struct fake_agent a, b;
	struct view       v;

	fake_connect(r, &a, "ledger", "db-0", 11);
	fake_connect(r, &b, "ledger", "coord-0", 12);
	registry_pipe_closed(r, 99);
	assert_int_equal(view_of(r, a.agent_id).state,
	                 CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED);
	registry_pipe_closed(r, 11);
	v = view_of(r, a.agent_id);
	assert_int_equal(v.state, CHAOS__V1__AGENT_STATE__AGENT_STATE_LOST);
	assert_string_equal(v.lost_reason, "connection closed");
	assert_int_equal(view_of(r, b.agent_id).state,
	                 CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED);
}

static void
test_new_poll_reconnects_a_lost_agent(void **state)
{
	struct registry  *r = *state;
	struct fake_agent f;
	struct view       v;

	fake_connect(r, &f, "ledger", "db-0", 1);
	registry_pipe_closed(r, 1);
	assert_int_equal(view_of(r, f.agent_id).state,
	                 CHAOS__V1__AGENT_STATE__AGENT_STATE_LOST);
	fake_poll_ok(r, fake_poll(&f, true), 2); /* new connection, identity resent */
	v = view_of(r, f.agent_id);
	assert_int_equal(v.state, CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED);
	assert_string_equal(v.lost_reason, "");
	/* The old pipe closing late must not drop the new connection. */
	registry_pipe_closed(r, 1);
	assert_int_equal(view_of(r, f.agent_id).state,
	                 CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED);
	/* Swept-lost agents come back the same way. */
	registry_sweep(r, clk_mono_us() + 4 * HB_MS * 1000);
	assert_int_equal(view_of(r, f.agent_id).state,
	                 CHAOS__V1__AGENT_STATE__AGENT_STATE_LOST);
	fake_poll_ok(r, fake_poll(&f, false), 2);
	assert_int_equal(view_of(r, f.agent_id).state,
	                 CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED);
	assert_int_equal(count_agents(r, NULL), 1);
}

static void
set_prev_times(struct fake_agent *f, int64_t theta, int64_t d)
{
	int64_t t1 = f->poll.t1_agent_us - 500000;

	f->poll.has_prev_t1_agent_us = f->poll.has_prev_t2_ctl_us = true;
	f->poll.has_prev_t3_ctl_us = f->poll.has_prev_t4_agent_us = true;
	f->poll.prev_t1_agent_us                                  = t1;
	f->poll.prev_t2_ctl_us                                    = t1 - theta + d;
	f->poll.prev_t3_ctl_us   = t1 - theta + d + 20000; /* held 20 ms */
	f->poll.prev_t4_agent_us = t1 + 2 * d + 20000;
}

static void
test_poll_times_give_the_agent_clock_offset(void **state)
{
	struct registry  *r = *state;
	struct fake_agent f;
	struct view       v;

	fake_connect(r, &f, "ledger", "db-0", 1);
	assert_false(view_of(r, f.agent_id).clock_known);
	fake_poll(&f, false);
	set_prev_times(&f, 2000, 300); /* agent 2 ms ahead, 300 us each way */
	fake_poll_ok(r, &f.poll, 1);
	v = view_of(r, f.agent_id);
	assert_true(v.clock_known);
	assert_true(v.offset_ms == 2.0);
	assert_true(v.error_ms == 0.3);
}

static void
test_new_incarnation_resets_clock_and_event_sequence(void **state)
{
	struct registry  *r = *state;
	struct fake_agent f;
	struct view       v;

	fake_connect(r, &f, "ledger", "db-0", 1);
	fake_poll(&f, false);
	set_prev_times(&f, 2000, 300);
	fake_poll_ok(r, &f.poll, 1);
	send_event(r, &f, 1, CHAOS_OK);
	send_event(r, &f, 2, CHAOS_OK);
	/* Same incarnation again (a reconnect): nothing is forgotten. */
	fake_poll_ok(r, fake_poll(&f, true), 2);
	assert_true(view_of(r, f.agent_id).clock_known);
	/* The process restarted (its old connection closed): its old clock
	 * samples and sequence are void. */
	registry_pipe_closed(r, 2);
	f.id.incarnation = T0_US + 60000000;
	fake_poll_ok(r, fake_poll(&f, true), 3);
	v = view_of(r, f.agent_id);
	assert_int_equal(v.incarnation, T0_US + 60000000);
	assert_false(v.clock_known);
	assert_int_equal(v.state, CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED);
	send_event(r, &f, 50, CHAOS_OK); /* first event seen from the new process */
	assert_int_equal(view_of(r, f.agent_id).gaps, 0);
	send_event(r, &f, 52, CHAOS_OK);
	v = view_of(r, f.agent_id);
	assert_int_equal(v.gaps, 1);
	assert_int_equal(v.received, 4);
}

static int  kicks;
static char kicked_id[64];

static void
count_kick(void *arg, const char *const *agent_ids, size_t n)
{
	assert_ptr_equal(arg, &kicks);
	assert_int_equal(n, 1);
	kicks++;
	snprintf(kicked_id, sizeof(kicked_id), "%s", agent_ids[0]);
}

static void
test_enqueued_command_is_resent_until_acked(void **state)
{
	struct registry   *r = *state;
	struct fake_agent  f;
	Chaos__V1__Command c7, c8;
	Chaos__V1__Reply  *reply;

	kicks = 0;
	registry_set_kick(r, count_kick, &kicks);
	fake_connect(r, &f, "ledger", "db-0", 1);
	assert_false(registry_has_commands(r, f.agent_id));
	make_revert_all(&c7, 7);
	assert_int_equal(registry_enqueue(r, f.agent_id, &c7), CHAOS_OK);
	assert_int_equal(kicks, 1);
	assert_string_equal(kicked_id, f.agent_id);
	assert_true(registry_has_commands(r, f.agent_id));
	c7.command_id = 99; /* the registry keeps its own copy */

	for (int round = 0; round < 2; round++) {
		reply = reply_for(r, f.agent_id, f.poll.poll_seq, false);
		assert_int_equal(reply->n_commands, 1);
		assert_int_equal(reply->commands[0]->command_id, 7);
		assert_int_equal(reply->commands[0]->body_case,
		                 CHAOS__V1__COMMAND__BODY_REVERT_ALL);
		assert_false(reply->identity_needed);
		wire_free(reply);
		fake_poll_ok(r, fake_poll(&f, false), 1); /* no ack yet */
	}
	make_revert_all(&c8, 8);
	assert_int_equal(registry_enqueue(r, f.agent_id, &c8), CHAOS_OK);
	fake_poll_ok(r, fake_poll_ack(&f, 12345), 1); /* unknown id: ignored */
	reply = reply_for(r, f.agent_id, f.poll.poll_seq, false);
	assert_int_equal(reply->n_commands, 2);
	wire_free(reply);
	fake_poll_ok(r, fake_poll_ack(&f, 7), 1);
	reply = reply_for(r, f.agent_id, f.poll.poll_seq, false);
	assert_int_equal(reply->n_commands, 1);
	assert_int_equal(reply->commands[0]->command_id, 8);
	wire_free(reply);
	fake_poll_ok(r, fake_poll_ack(&f, 8), 1);
	reply = reply_for(r, f.agent_id, f.poll.poll_seq, false);
	assert_int_equal(reply->n_commands, 0);
	wire_free(reply);
	assert_false(registry_has_commands(r, f.agent_id));
}

static void
test_command_queue_is_bounded(void **state)
{
	struct registry   *r = *state;
	struct fake_agent  f;
	Chaos__V1__Command c;
	int                rv = CHAOS_OK, queued = 0;

	fake_connect(r, &f, "ledger", "db-0", 1);
	for (uint64_t id = 1; id <= 1000 && rv == CHAOS_OK; id++) {
		make_revert_all(&c, id);
		if ((rv = registry_enqueue(r, f.agent_id, &c)) == CHAOS_OK)
			queued++;
	}
	assert_int_equal(rv, CHAOS_EBUSY);
	assert_true(queued > 0 && queued < 1000);
	/* the teardown frees the queued copies (ASan checks) */
}

static void
test_event_gaps_are_counted_from_sequence_numbers(void **state)
{
	struct registry  *r = *state;
	struct fake_agent f, stranger;
	struct view       v;

	fake_init(&f, "ledger", "db-0");
	fake_init(&stranger, "ledger", "ghost-0");
	send_event(r, &stranger, 1, CHAOS_ENOENT); /* not registered, not a Hello */
	assert_false(view_of(r, stranger.agent_id).found);
	send_hello(r, &f, 1, CHAOS_OK); /* a Hello registers */
	v = view_of(r, f.agent_id);
	assert_true(v.found);
	assert_int_not_equal(v.state,
	                     CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED); /* no poll */
	send_event(r, &f, 2, CHAOS_OK);
	send_event(r, &f, 3, CHAOS_OK);
	send_event(r, &f, 6, CHAOS_OK); /* 4, 5 lost */
	send_event(r, &f, 7, CHAOS_OK);
	send_event(r, &f, 10, CHAOS_OK); /* 8, 9 lost */
	v = view_of(r, f.agent_id);
	assert_int_equal(v.received, 6);
	assert_int_equal(v.gaps, 4);
	send_event(r, &f, 10, CHAOS_OK); /* duplicates and reordering are not gaps */
	send_event(r, &f, 9, CHAOS_OK);
	assert_int_equal(view_of(r, f.agent_id).gaps, 4);
}

static void
test_snapshot_filters_by_namespace_and_reports_faults(void **state)
{
	struct registry  *r = *state;
	struct fake_agent a, b, c;

	fake_init(&a, "ledger", "db-0");
	fake_init(&b, "ledger", "coord-0");
	fake_init(&c, "chain", "node-0");
	fake_poll_ok(r, fake_poll(&a, true), 1);
	fake_poll_ok(r, fake_poll(&b, true), 2);
	fake_poll(&c, true);
	c.faults[0]            = "run-1/fault-1";
	c.faults[1]            = "run-1/fault-2";
	c.poll.n_active_faults = 2;
	c.poll.active_faults   = c.faults;
	fake_poll_ok(r, &c.poll, 3);
	assert_int_equal(count_agents(r, NULL), 3);
	assert_int_equal(count_agents(r, ""), 3);
	assert_int_equal(count_agents(r, "ledger"), 2);
	assert_int_equal(count_agents(r, "chain"), 1);
	assert_int_equal(count_agents(r, "nowhere"), 0);
	assert_int_equal(view_of(r, c.agent_id).n_faults, 2);
	assert_string_equal(view_of(r, c.agent_id).first_fault, "run-1/fault-1");
	assert_int_equal(view_of(r, a.agent_id).n_faults, 0);
	fake_poll_ok(r, fake_poll(&c, false), 3); /* faults are as of the latest poll */
	assert_int_equal(view_of(r, c.agent_id).n_faults, 0);
}

/* A poll that says which faults are in force. */
static const Chaos__V1__Poll *
fake_poll_faults(struct fake_agent *f, size_t n, char *const *faults)
{
	fake_poll(f, false);
	for (size_t i = 0; i < n; i++)
		f->faults[i] = faults[i];
	f->poll.n_active_faults = n;
	f->poll.active_faults   = f->faults;
	return &f->poll;
}

static void
test_active_faults_follow_every_poll_also_when_unchanged(void **state)
{
	struct registry       *r      = *state;
	char                  *two[2] = {"r1-a", "r1-b"}, *other[2] = {"r1-a", "r2-c"};
	struct fake_agent      f;
	struct registry_counts c;

	fake_init(&f, "chain", "node-0");
	fake_poll_ok(r, fake_poll(&f, true), 1);
	fake_poll_ok(r, fake_poll_faults(&f, 2, two), 1);
	fake_poll_ok(r, fake_poll_faults(&f, 2, two), 1); /* the same list again */
	assert_int_equal(view_of(r, f.agent_id).n_faults, 2);
	fake_poll_ok(r, fake_poll_faults(&f, 2, other), 1); /* same count, one changed */
	assert_int_equal(view_of(r, f.agent_id).n_faults, 2);
	registry_counts(r, &c);
	assert_int_equal(c.active_faults, 2);
	fake_poll_ok(r, fake_poll_faults(&f, 1, other + 1), 1);
	assert_string_equal(view_of(r, f.agent_id).first_fault, "r2-c");
}

static void
test_counts_by_role_and_state_and_connected_ids_by_namespace(void **state)
{
	struct registry       *r      = *state;
	char                  *one[1] = {"r3-x"}, **ids = NULL;
	struct fake_agent      a, b, c;
	struct registry_counts k;
	size_t                 n = 0;

	fake_init(&a, "ledger", "db-1");
	fake_init(&b, "ledger", "db-0");
	fake_init(&c, "chain", "node-0");
	c.id.role = CHAOS__V1__ROLE__ROLE_BLOCKCHAIN;
	fake_poll_ok(r, fake_poll(&a, true), 1);
	fake_poll_ok(r, fake_poll(&b, true), 2);
	fake_poll_ok(r, fake_poll(&c, true), 3);
	fake_poll_ok(r, fake_poll_faults(&c, 1, one), 3);
	registry_pipe_closed(r, 2); /* ledger/db-0 lost */
	registry_counts(r, &k);
	assert_int_equal(k.agents, 3);
	assert_int_equal(k.connected, 2);
	assert_int_equal(k.connected_by_role[CHAOS__V1__ROLE__ROLE_DATABASE], 1);
	assert_int_equal(k.lost_by_role[CHAOS__V1__ROLE__ROLE_DATABASE], 1);
	assert_int_equal(k.connected_by_role[CHAOS__V1__ROLE__ROLE_BLOCKCHAIN], 1);
	assert_int_equal(k.active_faults, 1);
	assert_int_equal(registry_connected_ids(r, NULL, &ids, &n), CHAOS_OK);
	assert_int_equal(n, 2); /* sorted, the lost one left out */
	assert_string_equal(ids[0], "chain/node-0");
	assert_string_equal(ids[1], "ledger/db-1");
	registry_ids_free(ids, n);
	assert_int_equal(registry_connected_ids(r, "ledger", &ids, &n), CHAOS_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "ledger/db-1");
	registry_ids_free(ids, n);
}

static void
test_full_table_refuses_new_agents_with_ebusy(void **state)
{
	struct registry  *r = new_registry(2);
	struct fake_agent a, b, c;
	bool              need = false;

	(void)state;
	fake_init(&a, "ledger", "db-0");
	fake_init(&b, "ledger", "db-1");
	fake_init(&c, "ledger", "db-2");
	fake_poll_ok(r, fake_poll(&a, true), 1);
	fake_poll_ok(r, fake_poll(&b, true), 2);
	assert_int_equal(
	    registry_on_poll(r, fake_poll(&c, true), 3, clk_now_us(), &need, NULL, NULL),
	    CHAOS_EBUSY);
	send_hello(r, &c, 1, CHAOS_EBUSY);
	assert_false(view_of(r, c.agent_id).found);
	assert_int_equal(count_agents(r, NULL), 2);
	/* Agents already in the table carry on. */
	fake_poll_ok(r, fake_poll(&a, false), 1);
	fake_poll_ok(r, fake_poll(&b, true), 2);
	registry_free(r);
}

static void
test_a_second_live_process_with_the_same_id_is_refused_and_counted(void **state)
{
	struct registry       *r = *state;
	struct fake_agent      first, second;
	struct registry_counts c;
	chaos_why              why  = {{0}};
	bool                   need = false;

	fake_init(&first, "ledger", "db-0");
	fake_init(&second, "ledger", "db-0");
	second.id.incarnation = T0_US + 5;
	fake_poll_ok(r, fake_poll(&first, true), 1);
	/* the newcomer must show who it is, then is refused while the first polls */
	assert_int_equal(registry_on_poll(r, fake_poll(&second, false), 2, clk_now_us(),
	                                  &need, NULL, &why),
	                 CHAOS_OK);
	assert_true(need);
	assert_int_equal(registry_on_poll(r, fake_poll(&second, true), 2, clk_now_us(),
	                                  &need, NULL, &why),
	                 CHAOS_EEXIST);
	assert_non_null(strstr(why.text, "already connected"));
	registry_counts(r, &c);
	assert_int_equal(c.refused_duplicate, 1);
	assert_int_equal(view_of(r, first.agent_id).incarnation, T0_US);
	/* the first one keeps its id and its connection */
	fake_poll_ok(r, fake_poll(&first, false), 1);
	/* the same process on a new connection (a reconnect) is welcome */
	fake_poll_ok(r, fake_poll(&first, true), 7);
}

static void
test_churn_of_ten_thousand_ids_keeps_the_table_bounded(void **state)
{
	struct registry       *r = new_registry(64);
	struct fake_agent      keep, f;
	struct registry_counts c;

	(void)state;
	fake_connect(r, &keep, "ledger", "steady-0", 1);
	for (int i = 0; i < 10000; i++) {
		char pod[32];
		snprintf(pod, sizeof(pod), "churn-%d", i);
		fake_init(&f, "ledger", pod);
		fake_poll_ok(r, fake_poll(&f, true), (uint32_t)(100 + i));
		registry_pipe_closed(r, (uint32_t)(100 + i)); /* the pod went away */
		if (i % 100 == 0)
			fake_poll_ok(r, fake_poll(&keep, false), 1);
	}
	registry_counts(r, &c);
	assert_true(c.agents <= 64);
	assert_int_equal(c.evicted, 10000 - 63);
	assert_int_equal(view_of(r, keep.agent_id).state,
	                 CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED);
	/* a new legitimate agent still gets in */
	fake_connect(r, &f, "ledger", "late-0", 99999);
	registry_free(r);
}

static void
test_lost_agents_are_forgotten_after_the_forget_time(void **state)
{
	struct registry       *r = *state;
	struct fake_agent      a;
	struct registry_counts c;

	registry_set_forget_after(r, 1);
	fake_connect(r, &a, "ledger", "db-0", 1);
	registry_pipe_closed(r, 1);
	registry_sweep(r, clk_mono_us());
	assert_true(view_of(r, a.agent_id).found); /* lost, still listed */
	registry_sweep(r, clk_mono_us() + 2 * 1000000LL);
	assert_false(view_of(r, a.agent_id).found);
	registry_counts(r, &c);
	assert_int_equal(c.evicted, 1);
}

/* The reply's lease fields, as the agent will decode them. */
static Chaos__V1__Reply *
reply_of(struct registry *r, const char *agent_id)
{
	nng_msg          *msg   = NULL;
	Chaos__V1__Reply *reply = NULL;

	assert_int_equal(
	    registry_build_reply(r, agent_id, 9, clk_now_us(), false, NULL, &msg),
	    CHAOS_OK);
	assert_int_equal(
	    wire_decode_reply(nng_msg_body(msg), nng_msg_len(msg), &reply, NULL),
	    CHAOS_OK);
	nng_msg_free(msg);
	return reply;
}

static void
test_replies_name_the_instance_and_the_live_faults(void **state)
{
	struct registry  *r = *state, *other = new_registry(8);
	struct fake_agent a;
	Chaos__V1__Reply *reply;

	fake_connect(r, &a, "ledger", "db-0", 1);
	assert_int_not_equal(registry_instance(r), 0);
	assert_int_not_equal(registry_instance(r), registry_instance(other));
	assert_int_equal(registry_fault_live(r, a.agent_id, "r7-partition-db-0", true),
	                 CHAOS_OK);
	assert_int_equal(registry_fault_live(r, a.agent_id, "r8-db-db-0", true),
	                 CHAOS_OK);
	assert_int_equal(registry_fault_live(r, "nobody/x", "r7-x", true), CHAOS_ENOENT);
	reply = reply_of(r, a.agent_id);
	assert_true(reply->has_instance_id);
	assert_true(reply->instance_id == registry_instance(r));
	assert_int_equal(reply->n_live_faults, 2);
	wire_free(reply);
	registry_fault_live(r, a.agent_id, "r8-db-db-0", false);
	registry_forget_faults(r, "r7-"); /* run 7 ended */
	reply = reply_of(r, a.agent_id);
	assert_int_equal(reply->n_live_faults, 0);
	wire_free(reply);
	registry_free(other);
}

/* The next poll, saying fault_id is in force. */
static const Chaos__V1__Poll *
fake_poll_in_force(struct fake_agent *f, char *fault_id)
{
	fake_poll(f, false);
	f->faults[0]            = fault_id;
	f->poll.active_faults   = f->faults;
	f->poll.n_active_faults = 1;
	return &f->poll;
}

static void
test_faults_list_kind_lease_end_and_hard_end_of_what_is_kept(void **state)
{
	struct registry       *r = *state;
	struct fake_agent      a;
	Chaos__V1__LiveFault **f        = NULL;
	size_t                 n        = 0;
	int64_t                hard_end = clk_now_us() + 60000000, before;

	fake_connect(r, &a, "ledger", "chain-0", 1);
	assert_int_equal(registry_fault_live(r, a.agent_id, "r7-partition-chain-0", true),
	                 CHAOS_OK);
	fake_enqueue_partition(r, a.agent_id, "r7-partition-chain-0", 70, 3000, hard_end);
	before = clk_now_us();
	wire_free(reply_of(r, a.agent_id)); /* carries the apply: renews the lease */
	/* the agent has not confirmed it yet: wanted, not in force */
	assert_int_equal(registry_faults(r, &f, &n), CHAOS_OK);
	assert_int_equal(n, 1);
	assert_string_equal(f[0]->pod, "chain-0");
	assert_string_equal(f[0]->namespace_, "ledger");
	assert_string_equal(f[0]->fault_id, "r7-partition-chain-0");
	assert_string_equal(f[0]->kind, "partition");
	assert_null(f[0]->target);
	assert_int_equal(f[0]->lease_ms, 3000);
	assert_true(f[0]->has_lease_end_ctl_us);
	assert_true(f[0]->lease_end_ctl_us >= before + 3000000);
	assert_true(f[0]->lease_end_ctl_us <= clk_now_us() + 3000000);
	assert_int_equal(f[0]->hard_end_ctl_us, hard_end);
	assert_true(f[0]->wanted);
	assert_false(f[0]->in_force);
	registry_faults_free(f, n);
	/* the agent's next poll lists it: in force */
	fake_poll_ok(r, fake_poll_in_force(&a, "r7-partition-chain-0"), 1);
	assert_int_equal(registry_faults(r, &f, &n), CHAOS_OK);
	assert_int_equal(n, 1);
	assert_true(f[0]->wanted && f[0]->in_force);
	registry_faults_free(f, n);
}

static void
test_a_fault_no_longer_wanted_but_in_force_is_listed_as_reverting(void **state)
{
	struct registry       *r = *state;
	struct fake_agent      a, b;
	Chaos__V1__LiveFault **f = NULL;
	size_t                 n = 0;

	fake_connect(r, &a, "ledger", "chain-1", 1);
	fake_connect(r, &b, "ledger", "chain-0", 2);
	registry_fault_live(r, a.agent_id, "r7-partition-chain-1", true);
	registry_fault_live(r, b.agent_id, "r7-partition-chain-0", true);
	fake_enqueue_partition(r, a.agent_id, "r7-partition-chain-1", 71, 3000,
	                       clk_now_us() + 1);
	registry_forget_faults(r, "r7-"); /* the run ended */
	fake_poll_ok(r, fake_poll_in_force(&a, "r7-partition-chain-1"), 1);
	assert_int_equal(registry_faults(r, &f, &n), CHAOS_OK);
	assert_int_equal(n, 1); /* chain-0's is gone from both sides */
	assert_string_equal(f[0]->pod, "chain-1");
	assert_false(f[0]->wanted);
	assert_true(f[0]->in_force);
	assert_false(f[0]->has_lease_end_ctl_us); /* nobody renews it */
	registry_faults_free(f, n);
}

static void
test_a_lost_agent_says_since_when(void **state)
{
	struct registry       *r = *state;
	struct fake_agent      a;
	Chaos__V1__AgentInfo **all = NULL;
	size_t                 n   = 0;
	int64_t                before;

	fake_connect(r, &a, "ledger", "chain-2", 1);
	assert_int_equal(registry_snapshot(r, NULL, &all, &n), CHAOS_OK);
	assert_false(all[0]->has_lost_since_ctl_us);
	registry_snapshot_free(all, n);
	before = clk_now_us();
	registry_pipe_closed(r, 1);
	assert_int_equal(registry_snapshot(r, NULL, &all, &n), CHAOS_OK);
	assert_true(all[0]->has_lost_since_ctl_us);
	assert_true(all[0]->lost_since_ctl_us >= before);
	assert_true(all[0]->lost_since_ctl_us <= clk_now_us());
	registry_snapshot_free(all, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    TABLE_TEST(test_unknown_agent_without_identity_is_asked_for_it),
	    TABLE_TEST(test_agent_with_identity_is_registered_and_connected),
	    TABLE_TEST(test_sweep_marks_lost_only_after_three_heartbeats),
	    TABLE_TEST(test_closed_pipe_marks_only_its_agent_lost),
	    TABLE_TEST(test_new_poll_reconnects_a_lost_agent),
	    TABLE_TEST(test_poll_times_give_the_agent_clock_offset),
	    TABLE_TEST(test_new_incarnation_resets_clock_and_event_sequence),
	    TABLE_TEST(test_enqueued_command_is_resent_until_acked),
	    TABLE_TEST(test_command_queue_is_bounded),
	    TABLE_TEST(test_event_gaps_are_counted_from_sequence_numbers),
	    TABLE_TEST(test_snapshot_filters_by_namespace_and_reports_faults),
	    TABLE_TEST(test_active_faults_follow_every_poll_also_when_unchanged),
	    TABLE_TEST(test_counts_by_role_and_state_and_connected_ids_by_namespace),
	    cmocka_unit_test(test_full_table_refuses_new_agents_with_ebusy),
	    TABLE_TEST(
	        test_a_second_live_process_with_the_same_id_is_refused_and_counted),
	    cmocka_unit_test(test_churn_of_ten_thousand_ids_keeps_the_table_bounded),
	    TABLE_TEST(test_lost_agents_are_forgotten_after_the_forget_time),
	    TABLE_TEST(test_replies_name_the_instance_and_the_live_faults),
	    TABLE_TEST(test_faults_list_kind_lease_end_and_hard_end_of_what_is_kept),
	    TABLE_TEST(test_a_fault_no_longer_wanted_but_in_force_is_listed_as_reverting),
	    TABLE_TEST(test_a_lost_agent_says_since_when),
	};

	log_init("test_registry", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
