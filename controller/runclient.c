// SPDX-License-Identifier: MIT
#include "controller/runclient.h"

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
#include "controller/report.h"

#define RC_POLL_MS 250
#define RC_CONTACT_RETRIES 20

static atomic_int rc_signal;

static void
rc_on_signal(int sig)
{
	atomic_store(&rc_signal, sig);
}

void
runclient_catch_signals(void)
{
	signal(SIGINT, rc_on_signal);
	signal(SIGTERM, rc_on_signal);
}

bool
runclient_interrupted(void)
{
	return atomic_load(&rc_signal) != 0;
}

int
runclient_exit_for_state(int state)
{
	switch (state) {
	case CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED:
		return CHAOSCTL_OK;
	case CHAOS__V1__RUN_STATE__RUN_STATE_REFUSED:
		return CHAOSCTL_USAGE;
	case CHAOS__V1__RUN_STATE__RUN_STATE_UNUSABLE:
	case 0:
		return CHAOSCTL_ENV;
	default:
		return CHAOSCTL_FAILED;
	}
}

const char *
runclient_state_name(int state)
{
	static const char *const names[] = {"unknown", "running", "succeeded", "failed",
	                                    "aborted", "refused", "unusable",  "skipped"};

	return state >= 0 && state <= 7 ? names[state] : "unknown";
}

/* "mttr: 1.234 s" or "mttr: null (reason)": never a made-up number. */
static void
rc_print_figure(json_t *doc, const char *key)
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

/* Writes the result, pretty, atomically. */
static int
rc_write(const char *dir, const char *scenario, int64_t started, json_t *doc, char *path,
         size_t pathlen)
{
	char stamp[32], *text;
	int  rv;

	report_file_stamp(started, stamp, sizeof(stamp));
	snprintf(path, pathlen, "%s/chaos_test_%s_%s.json", dir, scenario, stamp);
	if ((text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(10))) == NULL)
		return CHAOS_ENOMEM;
	if ((rv = fs_mkdirs(dir)) == CHAOS_OK)
		rv = fs_write_atomic(path, text, strlen(text));
	free(text);
	if (rv != CHAOS_OK) {
		fprintf(stderr, "chaosctl: cannot write %s: %s\n", path,
		        chaos_strerror(rv));
		path[0] = '\0';
	}
	return rv;
}

static int
rc_request(const struct ctl_target *t, Chaos__V1__ControlRequest *req,
           Chaos__V1__ControlResponse **resp)
{
	char err[512];

	for (int i = 0; i < RC_CONTACT_RETRIES; i++) {
		if (ctl_call(t, req, resp, err, sizeof(err)) == CHAOS_OK)
			return CHAOS_OK;
		fprintf(stderr, "chaosctl: %s (retrying)\n", err);
		sleep(1);
	}
	fprintf(stderr,
	        "chaosctl: lost contact with the controller; agents revert their "
	        "faults by themselves when their leases end\n");
	return CHAOS_ECONN;
}

static void
rc_send_abort(const struct ctl_target *t, uint64_t id)
{
	Chaos__V1__ControlRequest   req   = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__AbortRequest     abort = CHAOS__V1__ABORT_REQUEST__INIT;
	Chaos__V1__ControlResponse *resp  = NULL;

	abort.run_id  = id;
	abort.reason  = "interrupted (chaosctl got a signal)";
	req.body_case = CHAOS__V1__CONTROL_REQUEST__BODY_ABORT;
	req.abort     = &abort;
	fprintf(stderr,
	        "chaosctl: interrupted: asking the controller to revert everything\n");
	if (rc_request(t, &req, &resp) == CHAOS_OK)
		wire_free(resp);
}

/* Polls until the run ends; prints progress; returns the final response. */
static Chaos__V1__ControlResponse *
rc_follow(const struct ctl_target *t, uint64_t id)
{
	Chaos__V1__ControlRequest   req     = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__RunStatusRequest status  = CHAOS__V1__RUN_STATUS_REQUEST__INIT;
	Chaos__V1__ControlResponse *resp    = NULL;
	bool                        aborted = false;

	req.body_case            = CHAOS__V1__CONTROL_REQUEST__BODY_RUN_STATUS;
	req.run_status           = &status;
	status.run_id            = id;
	status.has_progress_from = true;
	for (;;) {
		if (runclient_interrupted() && !aborted) {
			rc_send_abort(t, id);
			aborted = true;
		}
		if (rc_request(t, &req, &resp) != CHAOS_OK)
			return NULL;
		for (size_t i = 0; i < resp->n_progress; i++)
			printf("  %s\n", resp->progress[i]);
		fflush(stdout);
		status.progress_from = resp->progress_next;
		if (resp->error != NULL ||
		    resp->run_state != CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING)
			return resp;
		wire_free(resp);
		usleep(RC_POLL_MS * 1000);
	}
}

static void
rc_print_plan(const char *json)
{
	json_t *plan = json_loads(json ? json : "{}", 0, NULL);
	char   *s    = json_dumps(plan, JSON_INDENT(2) | JSON_REAL_PRECISION(10));

	printf("dry run: nothing changed. plan:\n%s\n", s ? s : "{}");
	free(s);
	json_decref(plan);
}

/* Sends the RunRequest; returns the response or NULL (res->error set). */
static Chaos__V1__ControlResponse *
rc_start(const struct ctl_target *t, const char *scenario, json_t *params, bool dry_run,
         struct runclient_result *res)
{
	Chaos__V1__ControlRequest   req  = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__RunRequest       run  = CHAOS__V1__RUN_REQUEST__INIT;
	Chaos__V1__ControlResponse *resp = NULL;
	char                       *text = json_dumps(params, JSON_COMPACT);
	int                         rv;

	run.scenario    = (char *)scenario;
	run.params_json = text;
	run.has_dry_run = true;
	run.dry_run     = dry_run;
	req.body_case   = CHAOS__V1__CONTROL_REQUEST__BODY_RUN;
	req.run         = &run;
	rv              = ctl_call(t, &req, &resp, res->error, sizeof(res->error));
	free(text);
	return rv == CHAOS_OK ? resp : NULL;
}

static void
rc_take_result(Chaos__V1__ControlResponse *resp, const char *scenario, const char *output,
               int64_t started, struct runclient_result *res)
{
	res->state = resp->run_state;
	if (resp->result_json != NULL)
		res->result = json_loads(resp->result_json, 0, NULL);
	printf("run %llu %s\n", (unsigned long long)resp->run_id,
	       runclient_state_name(res->state));
	if (res->result == NULL)
		return;
	if (output != NULL &&
	    rc_write(output, scenario, started, res->result, res->path,
	             sizeof(res->path)) == CHAOS_OK)
		printf("result: %s\n", res->path);
	rc_print_figure(res->result, "mttr");
	rc_print_figure(res->result, "recovery_time");
}

int
runclient_run(const struct ctl_target *t, const char *scenario, json_t *params,
              bool dry_run, const char *output, struct runclient_result *res)
{
	Chaos__V1__ControlResponse *resp;
	int64_t                     started = clk_now_us();
	uint64_t                    id;

	memset(res, 0, sizeof(*res));
	if ((resp = rc_start(t, scenario, params, dry_run, res)) == NULL)
		return CHAOSCTL_ENV;
	res->state = resp->has_run_state ? (int)resp->run_state : 0;
	id         = resp->run_id;
	if (resp->error != NULL) {
		snprintf(res->error, sizeof(res->error), "%s: %s",
		         runclient_state_name(res->state), resp->error);
		wire_free(resp);
		return res->state ? runclient_exit_for_state(res->state)
		                  : CHAOSCTL_FAILED;
	}
	if (dry_run) {
		rc_print_plan(resp->result_json);
		wire_free(resp);
		return CHAOSCTL_OK;
	}
	wire_free(resp);
	printf("run %llu started: %s\n", (unsigned long long)id, scenario);
	if ((resp = rc_follow(t, id)) == NULL) {
		snprintf(res->error, sizeof(res->error),
		         "lost contact with the controller");
		res->state = 0;
		return CHAOSCTL_ENV;
	}
	if (resp->error != NULL)
		snprintf(res->error, sizeof(res->error), "controller: %s", resp->error);
	else
		rc_take_result(resp, scenario, output, started, res);
	wire_free(resp);
	if (res->result == NULL && res->error[0] == '\0')
		snprintf(res->error, sizeof(res->error),
		         "the run ended without a result");
	return res->result == NULL ? CHAOSCTL_FAILED
	                           : runclient_exit_for_state(res->state);
}
