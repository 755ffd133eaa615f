// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpus of fuzz_wire: one file per message shape, as the
 * fuzz target reads it (first byte = decoder, then the packed message).
 * The messages are the unit tests' fixtures (tests/support/wire_fix.h), so a
 * seed covers what the tests cover. "ok-*" seeds must decode and "bad-*"
 * seeds must be refused; the generator checks both before writing, so a
 * stale seed fails loudly.
 *
 * usage: gen_wire_corpus OUT_DIR      (committed as tests/fuzz/corpus/wire)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"
#include "tests/support/wire_fix.h"

static const char *gen_dir;
static int         gen_failures;

/* The verdict of the decoder of kind on buf. */
static chaos_err
gen_decode(enum wire_fix_kind kind, const uint8_t *buf, size_t len, chaos_why *reason)
{
	void     *m  = NULL;
	chaos_err rv = wire_fix_decoders[kind](buf, len, &m, reason);

	wire_free(m);
	return rv;
}

/* Packs m behind its decoder byte, followed by extra raw bytes (an unknown
 * field), checks the verdict and writes the file. */
static void
gen_emit_raw(const char *name, enum wire_fix_kind kind, const ProtobufCMessage *m,
             const uint8_t *extra, size_t extra_len)
{
	size_t    len    = protobuf_c_message_get_packed_size(m) + extra_len;
	uint8_t  *buf    = malloc(len + 1);
	chaos_why reason = {{0}};
	bool      want   = strncmp(name, "ok-", 3) == 0;
	char      path[4096];
	FILE     *f;

	if (buf == NULL) {
		gen_failures++;
		return;
	}
	buf[0] = (uint8_t)kind;
	protobuf_c_message_pack(m, buf + 1);
	if (extra_len > 0)
		memcpy(buf + 1 + len - extra_len, extra, extra_len);
	if ((gen_decode(kind, buf + 1, len, &reason) == CHAOS_OK) != want) {
		fprintf(stderr, "gen_wire_corpus: %s: %s (%s)\n", name,
		        want ? "refused" : "accepted", reason.text);
		gen_failures++;
	}
	snprintf(path, sizeof(path), "%s/%s", gen_dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(buf, 1, len + 1, f) != len + 1) {
		perror(path);
		gen_failures++;
	}
	if (f != NULL)
		fclose(f);
	free(buf);
}

static void
gen_emit(const char *name, enum wire_fix_kind kind, const ProtobufCMessage *m)
{
	gen_emit_raw(name, kind, m, NULL, 0);
}

static void
gen_polls(void)
{
	struct wire_fix_poll f;
	/* An unknown field a newer peer may send, and field number 0 in an
	 * overlong tag: protobuf-c takes both, wire.c must refuse the second. */
	static const uint8_t field_99[] = {0x98, 0x06, 0x2a};
	static const uint8_t field_0[]  = {0x81, 0x00, 1, 2, 3, 4, 5, 6, 7, 8};

	wire_fix_poll_init(&f);
	gen_emit("ok-poll-minimal", WIRE_FIX_POLL, &f.poll.base);
	gen_emit_raw("ok-poll-unknown-field", WIRE_FIX_POLL, &f.poll.base, field_99,
	             sizeof(field_99));
	gen_emit_raw("bad-poll-field-number-0", WIRE_FIX_POLL, &f.poll.base, field_0,
	             sizeof(field_0));
	wire_fix_poll_add_identity(&f);
	gen_emit("ok-poll-identity", WIRE_FIX_POLL, &f.poll.base);
	f.poll.identity = NULL;
	wire_fix_poll_add_acks_times_faults(&f);
	gen_emit("ok-poll-acks-times-faults", WIRE_FIX_POLL, &f.poll.base);
	f.poll.protocol_version = WIRE_VERSION + 1;
	gen_emit("bad-poll-version", WIRE_FIX_POLL, &f.poll.base);
	f.poll.protocol_version = WIRE_VERSION;
	f.poll.n_acks           = 0;
	wire_fix_poll_add_identity(&f);
	f.ident.id.agent_id = "ledger/db-1";
	gen_emit("bad-poll-identity-other-agent", WIRE_FIX_POLL, &f.poll.base);
}

/* Mutual TLS: the controller's identity challenge and the agent's proof. */
static void
gen_identity_proofs(void)
{
	struct wire_fix_poll  p;
	struct wire_fix_reply r;

	wire_fix_poll_init(&p);
	wire_fix_poll_add_proof(&p);
	gen_emit("ok-poll-identity-proof", WIRE_FIX_POLL, &p.poll.base);
	p.poll.identity = NULL;
	gen_emit("bad-poll-proof-without-identity", WIRE_FIX_POLL, &p.poll.base);
	p.poll.identity       = &p.ident.id;
	p.proof.signature.len = 0;
	gen_emit("bad-poll-proof-no-signature", WIRE_FIX_POLL, &p.poll.base);
	wire_fix_reply_init(&r);
	wire_fix_reply_challenge(&r);
	gen_emit("ok-reply-identity-challenge", WIRE_FIX_REPLY, &r.reply.base);
	r.reply.identity_challenge.len = LIMIT_NONCE_MIN - 1;
	gen_emit("bad-reply-challenge-too-short", WIRE_FIX_REPLY, &r.reply.base);
}

/* One reply per fault kind. */
static void
gen_fault_replies(void)
{
	static const struct {
		const char                    *name;
		Chaos__V1__FaultSpec__KindCase kind;
	} faults[] = {
	    {"ok-reply-partition", CHAOS__V1__FAULT_SPEC__KIND_PARTITION},
	    {"ok-reply-port", CHAOS__V1__FAULT_SPEC__KIND_PORT},
	    {"ok-reply-latency", CHAOS__V1__FAULT_SPEC__KIND_LATENCY},
	    {"ok-reply-kill", CHAOS__V1__FAULT_SPEC__KIND_KILL},
	    {"ok-reply-loss", CHAOS__V1__FAULT_SPEC__KIND_LOSS},
	};
	struct wire_fix_reply f;

	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		wire_fix_reply_init(&f);
		wire_fix_cmd_fault(&f.c, faults[i].kind);
		gen_emit(faults[i].name, WIRE_FIX_REPLY, &f.reply.base);
	}
}

/* One reply per command whose body is an id, and revert-all. */
static void
gen_simple_command_replies(void)
{
	struct wire_fix_reply f;

	wire_fix_reply_init(&f);
	f.c.cmd.body_case    = CHAOS__V1__COMMAND__BODY_REVERT_FAULT;
	f.c.cmd.revert_fault = "run-1/fault-3";
	gen_emit("ok-reply-revert-fault", WIRE_FIX_REPLY, &f.reply.base);
	f.c.cmd.body_case  = CHAOS__V1__COMMAND__BODY_STOP_PROBE;
	f.c.cmd.stop_probe = "probe-1";
	gen_emit("ok-reply-stop-probe", WIRE_FIX_REPLY, &f.reply.base);
	f.c.cmd.body_case = CHAOS__V1__COMMAND__BODY_STOP_LOAD;
	f.c.cmd.stop_load = "load-1";
	gen_emit("ok-reply-stop-load", WIRE_FIX_REPLY, &f.reply.base);
	f.c.cmd.body_case  = CHAOS__V1__COMMAND__BODY_REVERT_ALL;
	f.c.cmd.revert_all = true;
	gen_emit("ok-reply-revert-all", WIRE_FIX_REPLY, &f.reply.base);
	wire_fix_cmd_probe(&f.c);
	gen_emit("ok-reply-start-probe", WIRE_FIX_REPLY, &f.reply.base);
}

/* Several commands, none, and one bad among them. */
static void
gen_multi_command_replies(void)
{
	struct wire_fix_reply f;
	struct wire_fix_cmd   d;
	Chaos__V1__Command   *two[2] = {&f.c.cmd, &d.cmd};

	wire_fix_reply_init(&f);
	wire_fix_cmd_load(&f.c);
	wire_fix_cmd_init(&d, 21);
	wire_fix_cmd_fault(&d, CHAOS__V1__FAULT_SPEC__KIND_PARTITION);
	f.reply.n_commands = 2;
	f.reply.commands   = two;
	gen_emit("ok-reply-two-commands", WIRE_FIX_REPLY, &f.reply.base);
	f.reply.n_commands          = 0;
	f.reply.commands            = NULL;
	f.reply.has_identity_needed = f.reply.identity_needed = true;
	gen_emit("ok-reply-identity-needed", WIRE_FIX_REPLY, &f.reply.base);
	f.reply.has_identity_needed = f.reply.identity_needed = false;
	d.peers[1]                                            = "10.78.0.0/33";
	f.reply.n_commands                                    = 1;
	f.reply.commands                                      = two + 1;
	gen_emit("bad-reply-partition-prefix-33", WIRE_FIX_REPLY, &f.reply.base);
}

static void
gen_events(void)
{
	struct wire_fix_event f;

	wire_fix_event_init(&f);
	gen_emit("bad-event-no-body", WIRE_FIX_EVENT, &f.ev.base);
	wire_fix_event_hello(&f);
	gen_emit("ok-event-hello", WIRE_FIX_EVENT, &f.ev.base);
	wire_fix_event_sample(&f);
	gen_emit("ok-event-sample", WIRE_FIX_EVENT, &f.ev.base);
	/* An HTTP probe's sample sets the fields the SQL one leaves out. */
	f.sample.error_class     = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_5XX;
	f.sample.sqlstate        = NULL;
	f.sample.has_http_status = true;
	f.sample.http_status     = 503;
	f.sample.detail          = "503 Service Unavailable";
	gen_emit("ok-event-sample-http", WIRE_FIX_EVENT, &f.ev.base);
	wire_fix_event_fault_state(&f, "2 rules");
	gen_emit("ok-event-fault-state", WIRE_FIX_EVENT, &f.ev.base);
	f.state.detail = "caf\xc3";
	gen_emit("bad-event-invalid-utf8", WIRE_FIX_EVENT, &f.ev.base);
	wire_fix_event_load(&f);
	gen_emit("ok-event-load", WIRE_FIX_EVENT, &f.ev.base);
}

/* The run requests chaosctl sends (start, status, abort) and two it never
 * would; wire_fix only has the list and stats bodies. */
static void
gen_control_runs(void)
{
	struct wire_fix_ctl_req     q;
	Chaos__V1__RunRequest       run;
	Chaos__V1__RunStatusRequest st;
	Chaos__V1__AbortRequest     ab;

	chaos__v1__run_request__init(&run);
	chaos__v1__run_status_request__init(&st);
	chaos__v1__abort_request__init(&ab);
	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY_RUN);
	q.req.run       = &run;
	run.scenario    = "network_partition";
	run.params_json = "{\"partition_duration_s\":30,\"groups\":[[\"chain-0\"],"
	                  "[\"chain-1\",\"chain-2\"]]}";
	gen_emit("ok-ctlreq-run", WIRE_FIX_CTL_REQ, &q.req.base);
	run.has_dry_run = run.dry_run = true;
	run.params_json               = "{}";
	gen_emit("ok-ctlreq-run-dry", WIRE_FIX_CTL_REQ, &q.req.base);
	run.scenario = "network partition";
	gen_emit("bad-ctlreq-run-scenario-name", WIRE_FIX_CTL_REQ, &q.req.base);
	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY_RUN_STATUS);
	q.req.run_status     = &st;
	st.run_id            = 7;
	st.has_progress_from = true;
	st.progress_from     = 12;
	gen_emit("ok-ctlreq-run-status", WIRE_FIX_CTL_REQ, &q.req.base);
	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY_ABORT);
	q.req.abort = &ab;
	ab.run_id   = 7;
	ab.reason   = "operator: SIGINT";
	gen_emit("ok-ctlreq-abort", WIRE_FIX_CTL_REQ, &q.req.base);
	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY__NOT_SET);
	gen_emit("bad-ctlreq-no-body", WIRE_FIX_CTL_REQ, &q.req.base);
}

static void
gen_control(void)
{
	struct wire_fix_ctl_req  q;
	struct wire_fix_ctl_resp r;

	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS);
	gen_emit("ok-ctlreq-list-all", WIRE_FIX_CTL_REQ, &q.req.base);
	q.list.namespace_ = "ledger";
	gen_emit("ok-ctlreq-list-namespace", WIRE_FIX_CTL_REQ, &q.req.base);
	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY_STATS);
	gen_emit("ok-ctlreq-stats", WIRE_FIX_CTL_REQ, &q.req.base);
	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY_STATUS);
	gen_emit("ok-ctlreq-status", WIRE_FIX_CTL_REQ, &q.req.base);
	wire_fix_ctl_req_init(&q, CHAOS__V1__CONTROL_REQUEST__BODY_RESULTS);
	q.results.has_run_id = true;
	q.results.run_id     = 12;
	gen_emit("ok-ctlreq-results-one", WIRE_FIX_CTL_REQ, &q.req.base);
	wire_fix_ctl_resp_init(&r);
	wire_fix_ctl_resp_status(&r);
	gen_emit("ok-ctlresp-status", WIRE_FIX_CTL_RESP, &r.resp.base);
	wire_fix_ctl_resp_init(&r);
	gen_emit("ok-ctlresp-agents", WIRE_FIX_CTL_RESP, &r.resp.base);
	r.resp.n_agents    = 0;
	r.resp.n_endpoints = 0;
	r.resp.error       = "no such namespace";
	gen_emit("ok-ctlresp-error", WIRE_FIX_CTL_RESP, &r.resp.base);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_wire_corpus OUT_DIR\n");
		return 2;
	}
	gen_dir = argv[1];
	gen_polls();
	gen_identity_proofs();
	gen_fault_replies();
	gen_simple_command_replies();
	gen_multi_command_replies();
	gen_events();
	gen_control();
	gen_control_runs();
	return gen_failures == 0 ? 0 : 1;
}
