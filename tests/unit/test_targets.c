// SPDX-License-Identifier: MIT
/*
 * Node agents' targets on the controller, without sockets: the wire checks
 * of what node agents send and what commands carry; the inventory parser;
 * the target table (resolution, routing, conflicts, sidecars winning,
 * missing pods); and the registry routing a target's command into its node
 * agent's queue with the target's key.
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
#include "common/wire.h"
#include "controller/controller_cli.h"
#include "controller/inventory.h"
#include "controller/registry.h"
#include "controller/target_table.h"

/* ---- a node agent's report ---- */

struct report {
	Chaos__V1__TargetList list;
	Chaos__V1__Target     t[4];
	Chaos__V1__Target    *tp[4];
	char                 *ips[4][2];
};

static void
report_init(struct report *r, uint64_t version, size_t n)
{
	static char *keys[]  = {"4026532101", "4026532102", "4026532103", "4026532104"};
	static char *names[] = {"pod-a", "pod-b", "pod-c", "pod-d"};
	static char *ips[]   = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"};

	memset(r, 0, sizeof(*r));
	chaos__v1__target_list__init(&r->list);
	r->list.version   = version;
	r->list.targets   = r->tp;
	r->list.n_targets = n;
	for (size_t i = 0; i < n; i++) {
		chaos__v1__target__init(&r->t[i]);
		r->t[i].key        = keys[i];
		r->t[i].netns_name = names[i];
		r->ips[i][0]       = ips[i];
		r->t[i].ips        = r->ips[i];
		r->t[i].n_ips      = 1;
		r->tp[i]           = &r->t[i];
	}
}

static chaos_err
decode_targets_event(Chaos__V1__TargetList *list, chaos_why *why)
{
	Chaos__V1__Event  e   = CHAOS__V1__EVENT__INIT;
	Chaos__V1__Event *out = NULL;
	nng_msg          *msg = NULL;
	chaos_err         rv;

	e.protocol_version = WIRE_VERSION;
	e.agent_id         = "ns/node-agent";
	e.seq              = 1;
	e.t_agent_us       = 1700000000000000LL;
	e.body_case        = CHAOS__V1__EVENT__BODY_TARGETS;
	e.targets          = list;
	assert_int_equal(wire_pack(&e.base, WIRE_MAX_EVENT, &msg), CHAOS_OK);
	rv = wire_decode_event(nng_msg_body(msg), nng_msg_len(msg), &out, why);
	nng_msg_free(msg);
	wire_free(out);
	return rv;
}

static void
expect_bad_list(Chaos__V1__TargetList *list, const char *text)
{
	chaos_why why = {{0}};

	assert_int_equal(decode_targets_event(list, &why), CHAOS_EPROTO);
	if (strstr(why.text, text) == NULL)
		fail_msg("'%s' does not say '%s'", why.text, text);
}

static void
test_target_lists_with_bad_fields_are_rejected(void **state)
{
	struct report r;
	char         *bad_ip[] = {"10.0.0.300"};

	(void)state;
	report_init(&r, 1, 2);
	assert_int_equal(decode_targets_event(&r.list, NULL), CHAOS_OK);
	r.list.version = 0;
	expect_bad_list(&r.list, "version 0");
	report_init(&r, 1, 2);
	r.t[1].key = r.t[0].key;
	expect_bad_list(&r.list, "listed twice");
	report_init(&r, 1, 2);
	r.t[0].key = "has space";
	expect_bad_list(&r.list, "bad key");
	report_init(&r, 1, 2);
	r.t[0].netns_name = "a/b";
	expect_bad_list(&r.list, "bad netns name");
	report_init(&r, 1, 2);
	r.t[0].pod_uid = "not-a-uid!";
	expect_bad_list(&r.list, "bad pod uid");
	report_init(&r, 1, 2);
	r.t[0].ips = bad_ip;
	expect_bad_list(&r.list, "not IPv4");
}

static chaos_err
decode_command(Chaos__V1__Command *cmd, chaos_why *why)
{
	Chaos__V1__Reply    rp = CHAOS__V1__REPLY__INIT, *out = NULL;
	Chaos__V1__Command *cmds[1] = {cmd};
	nng_msg            *msg     = NULL;
	chaos_err           rv;

	rp.protocol_version = WIRE_VERSION;
	rp.poll_seq         = 1;
	rp.t2_ctl_us = rp.t3_ctl_us = 1700000000000000LL;
	rp.heartbeat_ms             = 500;
	rp.commands                 = cmds;
	rp.n_commands               = 1;
	assert_int_equal(wire_pack(&rp.base, WIRE_MAX_SESSION, &msg), CHAOS_OK);
	rv = wire_decode_reply(nng_msg_body(msg), nng_msg_len(msg), &out, why);
	nng_msg_free(msg);
	wire_free(out);
	return rv;
}

static void
test_a_command_and_its_fault_must_name_the_same_target(void **state)
{
	Chaos__V1__Command        cmd     = CHAOS__V1__COMMAND__INIT;
	Chaos__V1__FaultSpec      f       = CHAOS__V1__FAULT_SPEC__INIT;
	Chaos__V1__PartitionFault p       = CHAOS__V1__PARTITION_FAULT__INIT;
	char                     *peers[] = {"10.0.0.9/32"};
	chaos_why                 why     = {{0}};

	(void)state;
	p.peers           = peers;
	p.n_peers         = 1;
	f.fault_id        = "r1-partition-a";
	f.lease_ms        = 3000;
	f.hard_end_ctl_us = 1700000000000000LL;
	f.kind_case       = CHAOS__V1__FAULT_SPEC__KIND_PARTITION;
	f.partition       = &p;
	cmd.command_id    = 7;
	cmd.body_case     = CHAOS__V1__COMMAND__BODY_APPLY_FAULT;
	cmd.apply_fault   = &f;
	cmd.target        = "4026532101";
	f.target          = "4026532101";
	assert_int_equal(decode_command(&cmd, NULL), CHAOS_OK);
	f.target = "4026532102";
	assert_int_equal(decode_command(&cmd, &why), CHAOS_EPROTO);
	assert_non_null(strstr(why.text, "differs"));
	f.target   = NULL;
	cmd.target = "bad target";
	assert_int_equal(decode_command(&cmd, &why), CHAOS_EPROTO);
	assert_non_null(strstr(why.text, "bad target"));
}

/* ---- the inventory ---- */

static const char inv_ok[] =
    "{\"pods\": [{\"name\": \"chain-0\", \"namespace\": \"sbx\", \"role\": "
    "\"blockchain\","
    " \"labels\": {\"app\": \"chain\"}, \"ip\": \"10.0.0.1\", \"netns\": \"pod-a\"},"
    " {\"name\": \"db-0\", \"namespace\": \"sbx\", \"role\": \"database\", \"ip\": "
    "\"10.0.0.2\"}]}";

static void
expect_inv_error(const char *text, const char *want)
{
	struct inv *v   = NULL;
	chaos_why   why = {{0}};

	assert_int_equal(inv_parse(text, strlen(text), &v, &why), CHAOS_EINVAL);
	assert_null(v);
	if (strstr(why.text, want) == NULL)
		fail_msg("'%s' does not say '%s'", why.text, want);
}

static void
test_an_inventory_matches_by_netns_name_then_address(void **state)
{
	struct inv *v          = NULL;
	const char  ips[2][16] = {"10.0.0.2", "10.0.0.1"};

	(void)state;
	assert_int_equal(inv_parse(inv_ok, strlen(inv_ok), &v, NULL), CHAOS_OK);
	assert_int_equal(v->n, 2);
	assert_int_equal(v->pods[0].pod.role, CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	assert_string_equal(v->pods[0].pod.label_value[0], "chain");
	/* the name wins over an address that another entry has */
	assert_string_equal(inv_match(v, "pod-a", ips, 1)->pod.name, "chain-0");
	assert_string_equal(inv_match(v, "other", ips, 2)->pod.name, "db-0");
	assert_string_equal(inv_match(v, "", ips + 1, 1)->pod.name, "chain-0");
	assert_null(inv_match(v, "other", NULL, 0));
	inv_free(v);
}

static void
test_bad_inventories_are_refused_naming_the_entry(void **state)
{
	(void)state;
	expect_inv_error("[]", "{\"pods\"");
	expect_inv_error("{\"pods\": [{\"name\": \"a\", \"namespace\": \"n\", \"role\": "
	                 "\"node\", \"ip\": \"10.0.0.1\"}]}",
	                 "pods[0]: \"role\"");
	expect_inv_error("{\"pods\": [{\"name\": \"a\", \"namespace\": \"n\", \"role\": "
	                 "\"database\"}]}",
	                 "give \"ip\" or \"netns\"");
	expect_inv_error("{\"pods\": [{\"name\": \"a\", \"namespace\": \"n\", \"role\": "
	                 "\"database\", \"ip\": \"10.0.0.1\", \"colour\": 1}]}",
	                 "unknown key \"colour\"");
	expect_inv_error("{\"pods\": [{\"name\": \"a\", \"namespace\": \"n\", \"role\": "
	                 "\"database\", \"ip\": \"10.0.0.256\"}]}",
	                 "IPv4");
	expect_inv_error("{\"pods\": [{\"name\": \"a\", \"namespace\": \"n\", \"role\": "
	                 "\"database\", \"ip\": \"10.0.0.1\"}, {\"name\": \"b\", "
	                 "\"namespace\": \"n\", \"role\": \"database\", \"ip\": "
	                 "\"10.0.0.1\"}]}",
	                 "pods[1]: 10.0.0.1 is also pods[0]'s");
	expect_inv_error(
	    "{\"pods\": [{\"name\": \"a b\", \"namespace\": \"n\", \"role\": "
	    "\"database\", \"ip\": \"10.0.0.1\"}]}",
	    "pods[0]: \"name\"");
}

/* ---- the table ---- */

static struct ttab_answer
found(const char *ns, const char *name, int role)
{
	struct ttab_answer a = {.found = true};

	snprintf(a.pod.namespace_, sizeof(a.pod.namespace_), "%s", ns);
	snprintf(a.pod.name, sizeof(a.pod.name), "%s", name);
	a.pod.role = role;
	snprintf(a.source, sizeof(a.source), "inventory");
	return a;
}

/* Answers every query with ans(query index). */
static void
resolve_all(struct ttab *t, struct ttab_answer (*ans)(size_t i))
{
	struct ttab_query  *q = NULL;
	size_t              n = ttab_queries(t, &q);
	struct ttab_answer *a = calloc(n ? n : 1, sizeof(*a));

	for (size_t i = 0; i < n; i++)
		a[i] = ans(i);
	ttab_resolve(t, q, a, n);
	free(a);
	free(q);
}

static struct ttab_answer
two_pods(size_t i)
{
	return i == 0 ? found("sbx", "chain-0", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN)
	              : found("sbx", "db-0", CHAOS__V1__ROLE__ROLE_DATABASE);
}

/* Two pods, and a third namespace nobody knows. */
static struct ttab_answer
two_pods_and_a_stranger(size_t i)
{
	struct ttab_answer a = {.found = false};

	if (i < 2)
		return two_pods(i);
	snprintf(a.reason, sizeof(a.reason), "not in the inventory");
	return a;
}

static struct ttab_answer
one_pod_twice(size_t i)
{
	(void)i;
	return found("sbx", "chain-0", CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
}

static struct ttab_answer
no_role(size_t i)
{
	(void)i;
	return found("sbx", "chain-0", CHAOS__V1__ROLE__ROLE_UNSPECIFIED);
}

static void
test_a_resolved_target_routes_to_its_node_agent_with_its_key(void **state)
{
	struct ttab  *t = NULL;
	struct report r;
	char          agent[300], key[32];
	int64_t       inc = 0;

	(void)state;
	assert_int_equal(ttab_new(&t), CHAOS_OK);
	report_init(&r, 5, 2);
	assert_true(ttab_update(t, "sbx/node-agent", "node-1", 42, &r.list));
	/* unresolved: listed, never routed */
	assert_false(
	    ttab_route(t, "sbx/chain-0", agent, sizeof(agent), key, sizeof(key)));
	resolve_all(t, two_pods);
	assert_true(ttab_route(t, "sbx/db-0", agent, sizeof(agent), key, sizeof(key)));
	assert_string_equal(agent, "sbx/node-agent");
	assert_string_equal(key, "4026532102");
	assert_true(ttab_status(t, "sbx/chain-0", agent, sizeof(agent), &inc));
	assert_true(inc > 0);
	/* an older report changes nothing; a newer one without db-0 drops it */
	report_init(&r, 4, 1);
	assert_false(ttab_update(t, "sbx/node-agent", "node-1", 42, &r.list));
	assert_true(ttab_route(t, "sbx/db-0", agent, sizeof(agent), key, sizeof(key)));
	report_init(&r, 6, 1);
	assert_true(ttab_update(t, "sbx/node-agent", "node-1", 42, &r.list));
	assert_false(ttab_route(t, "sbx/db-0", agent, sizeof(agent), key, sizeof(key)));
	assert_true(ttab_route(t, "sbx/chain-0", agent, sizeof(agent), key, sizeof(key)));
	ttab_drop_agent(t, "sbx/node-agent");
	assert_false(
	    ttab_route(t, "sbx/chain-0", agent, sizeof(agent), key, sizeof(key)));
	ttab_free(t);
}

static void
test_two_namespaces_claiming_one_pod_are_both_left_alone(void **state)
{
	struct ttab  *t = NULL;
	struct report r;
	char          agent[300], key[32];

	(void)state;
	assert_int_equal(ttab_new(&t), CHAOS_OK);
	report_init(&r, 1, 2);
	ttab_update(t, "sbx/node-agent", "node-1", 42, &r.list);
	resolve_all(t, one_pod_twice);
	assert_false(
	    ttab_route(t, "sbx/chain-0", agent, sizeof(agent), key, sizeof(key)));
	/* one of them gone: the other is the pod again */
	report_init(&r, 2, 1);
	ttab_update(t, "sbx/node-agent", "node-1", 42, &r.list);
	assert_true(ttab_route(t, "sbx/chain-0", agent, sizeof(agent), key, sizeof(key)));
	assert_string_equal(key, "4026532101");
	ttab_free(t);
}

static void
test_a_pod_without_a_role_is_not_a_target(void **state)
{
	struct ttab  *t = NULL;
	struct report r;
	char          agent[300], key[32];

	(void)state;
	assert_int_equal(ttab_new(&t), CHAOS_OK);
	report_init(&r, 1, 1);
	ttab_update(t, "sbx/node-agent", "node-1", 42, &r.list);
	resolve_all(t, no_role);
	assert_false(
	    ttab_route(t, "sbx/chain-0", agent, sizeof(agent), key, sizeof(key)));
	ttab_free(t);
}

/* ---- listings ---- */

static void
agent_up(void *arg, const char *agent_id, struct ttab_agent_state *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	out->known     = strcmp(agent_id, "sbx/node-agent") == 0;
	out->connected = out->known;
}

static const char *
sidecar_on_chain0(void *arg, const char *ns, const char *pod)
{
	(void)arg;
	return strcmp(ns, "sbx") == 0 && strcmp(pod, "chain-0") == 0
	    ? "sbx/chain-0-sidecar"
	    : NULL;
}

static const Chaos__V1__AgentInfo *
find_info(Chaos__V1__AgentInfo **l, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i]->identity->agent_id, id) == 0)
			return l[i];
	return NULL;
}

static void
free_list(Chaos__V1__AgentInfo **l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ttab_info_free(l[i]);
		chaos__v1__identity__free_unpacked(l[i]->identity, NULL);
		free(l[i]->lost_reason);
		free(l[i]);
	}
	free(l);
}

static void
test_listings_say_who_serves_what_and_why_not(void **state)
{
	struct ttab                *t = NULL;
	struct report               r;
	struct ttab_missing         m = {.pod = {.name = "ghost", .namespace_ = "sbx"}};
	Chaos__V1__AgentInfo      **l = NULL;
	size_t                      n = 0;
	const Chaos__V1__AgentInfo *a;

	(void)state;
	assert_int_equal(ttab_new(&t), CHAOS_OK);
	report_init(&r, 1, 3);
	ttab_update(t, "sbx/node-agent", "node-1", 42, &r.list);
	resolve_all(t, two_pods_and_a_stranger);
	snprintf(m.reason, sizeof(m.reason), "no netns holds 10.9.9.9");
	ttab_set_missing(t, &m, 1);
	assert_int_equal(
	    ttab_snapshot(t, NULL, agent_up, sidecar_on_chain0, NULL, &l, &n), CHAOS_OK);
	assert_int_equal(n, 4);
	a = find_info(l, n, "sbx/db-0");
	assert_non_null(a);
	assert_int_equal(a->target->state,
	                 CHAOS__V1__TARGET_STATE__TARGET_STATE_RESOLVED);
	assert_string_equal(a->target->served_by, "sbx/node-agent");
	assert_int_equal(a->identity->pid, 42);
	assert_int_equal(a->state, CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED);
	a = find_info(l, n, "sbx/chain-0");
	assert_int_equal(a->target->state,
	                 CHAOS__V1__TARGET_STATE__TARGET_STATE_SHADOWED);
	assert_non_null(strstr(a->target->reason, "sbx/chain-0-sidecar"));
	a = find_info(l, n, "sbx/node-agent:4026532103");
	assert_non_null(a);
	assert_int_equal(a->target->state,
	                 CHAOS__V1__TARGET_STATE__TARGET_STATE_UNRESOLVED);
	a = find_info(l, n, "sbx/ghost");
	assert_int_equal(a->target->state, CHAOS__V1__TARGET_STATE__TARGET_STATE_MISSING);
	free_list(l, n);
	/* by namespace: the unresolved one has none */
	l = NULL;
	n = 0;
	assert_int_equal(
	    ttab_snapshot(t, "sbx", agent_up, sidecar_on_chain0, NULL, &l, &n), CHAOS_OK);
	assert_int_equal(n, 3);
	free_list(l, n);
	ttab_free(t);
}

/* ---- the registry routes a target's commands ---- */

/* ...and gives a pod back to its node agent when its sidecar is lost. */
static void
test_the_registry_queues_a_targets_command_for_its_node_agent(void **state)
{
	struct registry    *reg = NULL;
	Chaos__V1__Identity id  = CHAOS__V1__IDENTITY__INIT;
	Chaos__V1__Poll     p   = CHAOS__V1__POLL__INIT;
	Chaos__V1__Event    e   = CHAOS__V1__EVENT__INIT;
	Chaos__V1__Command  cmd = CHAOS__V1__COMMAND__INIT;
	Chaos__V1__Reply   *rp  = NULL;
	struct report       r;
	bool                need, connected = false;
	int64_t             inc = 0;
	nng_msg            *msg = NULL;

	(void)state;
	assert_int_equal(registry_new(500, 16, &reg), CHAOS_OK);
	id.agent_id = "sbx/node-agent", id.pod = "node-agent", id.namespace_ = "sbx";
	id.node = "node-1", id.role = CHAOS__V1__ROLE__ROLE_NODE, id.incarnation = 1;
	id.has_mode = true, id.mode = CHAOS__V1__AGENT_MODE__AGENT_MODE_NODE;
	p.protocol_version = WIRE_VERSION, p.agent_id = id.agent_id, p.poll_seq = 1;
	p.t1_agent_us = clk_now_us(), p.identity = &id;
	assert_int_equal(registry_on_poll(reg, &p, 1, clk_now_us(), &need, NULL, NULL),
	                 CHAOS_OK);
	report_init(&r, 1, 2);
	e.agent_id = id.agent_id, e.seq = 1, e.body_case = CHAOS__V1__EVENT__BODY_TARGETS;
	e.targets = &r.list;
	assert_int_equal(registry_on_event(reg, &e, clk_now_us()), CHAOS_OK);
	resolve_all(registry_targets(reg), two_pods);

	cmd.command_id = 9, cmd.body_case = CHAOS__V1__COMMAND__BODY_REVERT_ALL;
	cmd.revert_all = true;
	assert_int_equal(registry_enqueue(reg, "sbx/db-0", &cmd), CHAOS_OK);
	assert_int_equal(registry_enqueue(reg, "sbx/nobody", &cmd), CHAOS_ENOENT);
	assert_true(registry_has_commands(reg, "sbx/node-agent"));
	assert_true(registry_agent_status(reg, "sbx/db-0", &connected, &inc));
	assert_true(connected);
	assert_int_equal(registry_fault_live(reg, "sbx/db-0", "r1-f", true), CHAOS_OK);
	assert_int_equal(registry_build_reply(reg, "sbx/node-agent", 2, clk_now_us(),
	                                      false, NULL, &msg),
	                 CHAOS_OK);
	assert_int_equal(
	    wire_decode_reply(nng_msg_body(msg), nng_msg_len(msg), &rp, NULL), CHAOS_OK);
	assert_int_equal(rp->n_commands, 1);
	assert_string_equal(rp->commands[0]->target, "4026532102");
	assert_int_equal(rp->n_live_faults, 1); /* the target's fault, on its agent */
	wire_free(rp);
	nng_msg_free(msg);

	/* a sidecar for db-0 wins while it is connected; once it is lost, the
	 * node agent serves db-0 again */
	id.agent_id = "sbx/db-0", id.pod = "db-0",
	id.role = CHAOS__V1__ROLE__ROLE_DATABASE;
	id.mode = CHAOS__V1__AGENT_MODE__AGENT_MODE_SIDECAR, id.incarnation = 2;
	p.agent_id = id.agent_id;
	assert_int_equal(registry_on_poll(reg, &p, 2, clk_now_us(), &need, NULL, NULL),
	                 CHAOS_OK);
	cmd.command_id = 10;
	assert_int_equal(registry_enqueue(reg, "sbx/db-0", &cmd), CHAOS_OK);
	assert_true(registry_has_commands(reg, "sbx/db-0"));
	registry_pipe_closed(reg, 2);
	cmd.command_id = 11;
	assert_int_equal(registry_enqueue(reg, "sbx/db-0", &cmd), CHAOS_OK);
	assert_int_equal(registry_build_reply(reg, "sbx/node-agent", 3, clk_now_us(),
	                                      false, NULL, &msg),
	                 CHAOS_OK);
	assert_int_equal(
	    wire_decode_reply(nng_msg_body(msg), nng_msg_len(msg), &rp, NULL), CHAOS_OK);
	assert_int_equal(rp->n_commands, 2); /* 9 (not acked yet) and 11 */
	assert_int_equal(rp->commands[1]->command_id, 11);
	assert_string_equal(rp->commands[1]->target, "4026532102");
	wire_free(rp);
	nng_msg_free(msg);
	registry_free(reg);
}

/* ---- the controller's flags ---- */

static enum flags_result
ctl_parse(struct controller_opts *o, char **argv, chaos_why *why)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return controller_cli_parse(argc, argv, o, why);
}

static void
test_the_controller_takes_an_inventory_and_a_kubernetes_api(void **state)
{
	char                  *ok[]    = {"chaos-controller",
	                                  "--plaintext",
	                                  "--listen",
	                                  "tcp://127.0.0.1:1",
	                                  "--control",
	                                  "ipc:///tmp/c",
	                                  "--inventory",
	                                  "/tmp/inv.json",
	                                  "--kube-api",
	                                  "http://127.0.0.1:2",
	                                  "--kube-allow-http",
	                                  "--kube-token-file",
	                                  "/tmp/t",
	                                  NULL};
	char                  *both[]  = {"chaos-controller",  "--plaintext",
	                                  "--listen",          "tcp://127.0.0.1:1",
	                                  "--control",         "ipc:///tmp/c",
	                                  "--kube-api",        "http://a:1",
	                                  "--kube-in-cluster", NULL};
	char                  *alone[] = {"chaos-controller",  "--plaintext", "--listen",
	                                  "tcp://127.0.0.1:1", "--control",   "ipc:///tmp/c",
	                                  "--kube-ca",         "/tmp/ca",     NULL};
	struct controller_opts o;
	chaos_why              why = {{0}};

	(void)state;
	assert_int_equal(ctl_parse(&o, ok, &why), FLAGS_RUN);
	assert_string_equal(o.inventory, "/tmp/inv.json");
	assert_string_equal(o.kube_api, "http://127.0.0.1:2");
	assert_true(o.kube_allow_http);
	assert_int_equal(ctl_parse(&o, both, &why), FLAGS_USAGE);
	assert_non_null(strstr(why.text, "give one of them"));
	assert_int_equal(ctl_parse(&o, alone, &why), FLAGS_USAGE);
	assert_non_null(strstr(why.text, "need --kube-api"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_target_lists_with_bad_fields_are_rejected),
	    cmocka_unit_test(test_a_command_and_its_fault_must_name_the_same_target),
	    cmocka_unit_test(test_an_inventory_matches_by_netns_name_then_address),
	    cmocka_unit_test(test_bad_inventories_are_refused_naming_the_entry),
	    cmocka_unit_test(
	        test_a_resolved_target_routes_to_its_node_agent_with_its_key),
	    cmocka_unit_test(test_two_namespaces_claiming_one_pod_are_both_left_alone),
	    cmocka_unit_test(test_a_pod_without_a_role_is_not_a_target),
	    cmocka_unit_test(test_listings_say_who_serves_what_and_why_not),
	    cmocka_unit_test(
	        test_the_registry_queues_a_targets_command_for_its_node_agent),
	    cmocka_unit_test(test_the_controller_takes_an_inventory_and_a_kubernetes_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
