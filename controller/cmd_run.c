// SPDX-License-Identifier: MIT
/*
 * chaosctl run <scenario> [flags]: starts the scenario on the controller,
 * prints its progress, and writes chaos_test_<scenario>_<timestamp>.json to
 * --output when it ends. SIGINT/SIGTERM ask the controller to abort, which
 * reverts every fault before the run ends.
 */
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/wire.h"
#include "controller/chaosctl.h"
#include "controller/cli_opts.h"
#include "controller/report.h"

static const struct run_kind {
	const char           *cli;      /* chaosctl run <cli> */
	const char           *scenario; /* controller scenario and file tag */
	const struct cli_opt *opts;
} run_kinds[] = {
	{"network", "network_partition", cli_network_opts},
};

#define RUN_N_KINDS (sizeof(run_kinds) / sizeof(run_kinds[0]))
#define RUN_POLL_MS 250
#define RUN_CONTACT_RETRIES 20

static atomic_int run_signal;

static void
run_on_signal(int sig)
{
	atomic_store(&run_signal, sig);
}

static int
run_exit_for_state(int state)
{
	switch (state) {
	case CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED:
		return CHAOSCTL_OK;
	case CHAOS__V1__RUN_STATE__RUN_STATE_REFUSED:
		return CHAOSCTL_USAGE;
	case CHAOS__V1__RUN_STATE__RUN_STATE_UNUSABLE:
		return CHAOSCTL_ENV;
	default:
		return CHAOSCTL_FAILED;
	}
}

static const char *
run_state_name(int state)
{
	static const char *const names[] = {"unknown", "running", "succeeded", "failed",
	                                    "aborted", "refused", "unusable"};

	return state >= 0 && state <= 6 ? names[state] : "unknown";
}

/* "mttr: 1.234 s" or "mttr: null (reason)": never a made-up number. */
static void
run_print_figure(json_t *doc, const char *key)
{
	char    rkey[64];
	json_t *v = json_object_get(doc, key);

	snprintf(rkey, sizeof(rkey), "%s_reason", key);
	if (json_is_number(v))
		printf("%s: %.3f s\n", key, json_number_value(v));
	else
		printf("%s: null (%s)\n", key,
		       json_string_value(json_object_get(doc, rkey)) ?: "not measured");
}

/* Writes the result, pretty, atomically; prints where it went. */
static int
run_write_result(const char *dir, const char *scenario, int64_t started, const char *json)
{
	json_error_t jerr;
	json_t      *doc = json_loads(json, 0, &jerr);
	char         stamp[32], path[4096], *text;
	int          rv;

	if (doc == NULL) {
		fprintf(stderr, "chaosctl: the result is not JSON (%s)\n", jerr.text);
		return CHAOS_EPROTO;
	}
	report_file_stamp(started, stamp, sizeof(stamp));
	snprintf(path, sizeof(path), "%s/chaos_test_%s_%s.json", dir, scenario, stamp);
	text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	if ((rv = fs_mkdirs(dir)) == CHAOS_OK)
		rv = fs_write_atomic(path, text, strlen(text));
	if (rv == CHAOS_OK) {
		printf("result: %s\n", path);
		run_print_figure(doc, "mttr");
		run_print_figure(doc, "recovery_time");
	} else {
		fprintf(stderr, "chaosctl: cannot write %s: %s\n", path, chaos_strerror(rv));
	}
	free(text);
	json_decref(doc);
	return rv;
}

static int
run_request(const struct ctl_target *t, Chaos__V1__ControlRequest *req,
            Chaos__V1__ControlResponse **resp)
{
	char err[512];

	for (int i = 0; i < RUN_CONTACT_RETRIES; i++) {
		if (ctl_call(t, req, resp, err, sizeof(err)) == CHAOS_OK)
			return CHAOS_OK;
		fprintf(stderr, "chaosctl: %s (retrying)\n", err);
		sleep(1);
	}
	fprintf(stderr, "chaosctl: lost contact with the controller; agents revert their "
	                "faults by themselves when their leases end\n");
	return CHAOS_ECONN;
}

static void
run_send_abort(const struct ctl_target *t, uint64_t id)
{
	Chaos__V1__ControlRequest   req   = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__AbortRequest     abort = CHAOS__V1__ABORT_REQUEST__INIT;
	Chaos__V1__ControlResponse *resp  = NULL;

	abort.run_id   = id;
	abort.reason   = "interrupted (chaosctl got a signal)";
	req.body_case  = CHAOS__V1__CONTROL_REQUEST__BODY_ABORT;
	req.abort      = &abort;
	fprintf(stderr, "chaosctl: interrupted: asking the controller to revert everything\n");
	if (run_request(t, &req, &resp) == CHAOS_OK)
		wire_free(resp);
}

/* Polls until the run ends; prints progress; returns the final response. */
static Chaos__V1__ControlResponse *
run_follow(const struct ctl_target *t, uint64_t id)
{
	Chaos__V1__ControlRequest   req    = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__RunStatusRequest status = CHAOS__V1__RUN_STATUS_REQUEST__INIT;
	Chaos__V1__ControlResponse *resp   = NULL;
	bool                        aborted = false;

	req.body_case           = CHAOS__V1__CONTROL_REQUEST__BODY_RUN_STATUS;
	req.run_status          = &status;
	status.run_id           = id;
	status.has_progress_from = true;
	for (;;) {
		if (atomic_load(&run_signal) != 0 && !aborted) {
			run_send_abort(t, id);
			aborted = true;
		}
		if (run_request(t, &req, &resp) != CHAOS_OK)
			return NULL;
		for (size_t i = 0; i < resp->n_progress; i++)
			printf("  %s\n", resp->progress[i]);
		fflush(stdout);
		status.progress_from = resp->progress_next;
		if (resp->error != NULL || resp->run_state != CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING)
			return resp;
		wire_free(resp);
		usleep(RUN_POLL_MS * 1000);
	}
}

static int
run_finish(const struct ctl_target *t, const struct run_kind *k, const struct cli_common *c,
           uint64_t id, int64_t started)
{
	Chaos__V1__ControlResponse *resp = run_follow(t, id);
	int                         rv;

	(void) c;
	if (resp == NULL)
		return CHAOSCTL_ENV;
	if (resp->error != NULL) {
		fprintf(stderr, "chaosctl: controller: %s\n", resp->error);
		wire_free(resp);
		return CHAOSCTL_FAILED;
	}
	printf("run %llu %s\n", (unsigned long long) id, run_state_name(resp->run_state));
	rv = run_exit_for_state(resp->run_state);
	if (resp->result_json == NULL ||
	    run_write_result(c->output, k->scenario, started, resp->result_json) != CHAOS_OK)
		rv = rv == CHAOSCTL_OK ? CHAOSCTL_FAILED : rv;
	wire_free(resp);
	return rv;
}

static int
run_start(const struct ctl_target *t, const struct run_kind *k, const struct cli_common *c,
          json_t *params)
{
	Chaos__V1__ControlRequest   req  = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__RunRequest       run  = CHAOS__V1__RUN_REQUEST__INIT;
	Chaos__V1__ControlResponse *resp = NULL;
	char                        err[512];
	int64_t                     started = clk_now_us();
	char                       *text    = json_dumps(params, JSON_COMPACT);
	int                         rv, state;
	uint64_t                    id;

	run.scenario    = (char *) k->scenario;
	run.params_json = text;
	run.has_dry_run = true;
	run.dry_run     = c->dry_run;
	req.body_case   = CHAOS__V1__CONTROL_REQUEST__BODY_RUN;
	req.run         = &run;
	rv              = ctl_call(t, &req, &resp, err, sizeof(err));
	free(text);
	if (rv != CHAOS_OK) {
		fprintf(stderr, "chaosctl: %s\n", err);
		return CHAOSCTL_ENV;
	}
	state = resp->has_run_state ? (int) resp->run_state : 0;
	id    = resp->run_id;
	if (resp->error != NULL) {
		fprintf(stderr, "chaosctl: %s: %s\n", run_state_name(state), resp->error);
		wire_free(resp);
		return state ? run_exit_for_state(state) : CHAOSCTL_FAILED;
	}
	if (c->dry_run) {
		json_t *plan = json_loads(resp->result_json ? resp->result_json : "{}", 0, NULL);
		char   *s    = json_dumps(plan, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
		printf("dry run: nothing changed. plan:\n%s\n", s ? s : "{}");
		free(s);
		json_decref(plan);
		wire_free(resp);
		return CHAOSCTL_OK;
	}
	wire_free(resp);
	printf("run %llu started: %s\n", (unsigned long long) id, k->scenario);
	signal(SIGINT, run_on_signal);
	signal(SIGTERM, run_on_signal);
	return run_finish(t, k, c, id, started);
}

int
cmd_run(const struct ctl_target *t, int argc, char **argv)
{
	struct cli_common c;
	json_t           *params = NULL;
	int               rv;

	for (size_t i = 0; argc >= 2 && i < RUN_N_KINDS; i++) {
		if (strcmp(argv[1], run_kinds[i].cli) != 0)
			continue;
		if ((rv = cli_parse(argv[1], argc - 1, argv + 1, run_kinds[i].opts, &params, &c)) != 0)
			return rv == 1 ? CHAOSCTL_OK : rv;
		rv = run_start(t, &run_kinds[i], &c, params);
		json_decref(params);
		return rv;
	}
	fprintf(stderr, "chaosctl: run: %s '%s'; allowed:", argc >= 2 ? "unknown scenario" : "missing scenario",
	        argc >= 2 ? argv[1] : "");
	for (size_t i = 0; i < RUN_N_KINDS; i++)
		fprintf(stderr, " %s", run_kinds[i].cli);
	fputc('\n', stderr);
	return CHAOSCTL_USAGE;
}
