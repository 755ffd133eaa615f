// SPDX-License-Identifier: MIT
#include "controller/chaosctl/runclient.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/wire.h"
#include "controller/chaosctl/chaosctl.h"
#include "controller/report/report.h"

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
		return CHAOS_EXIT_OK;
	case CHAOS__V1__RUN_STATE__RUN_STATE_REFUSED:
		return CHAOS_EXIT_USAGE;
	case CHAOS__V1__RUN_STATE__RUN_STATE_UNUSABLE:
	case 0:
		return CHAOS_EXIT_ENV;
	default:
		return CHAOS_EXIT_FAILED;
	}
}

const char *
runclient_state_name(int state, char *buf, size_t len)
{
	return wire_enum_name(&chaos__v1__run_state__descriptor, state, buf, len);
}

bool
runclient_in_progress(int state)
{
	return state == CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING ||
	    state == CHAOS__V1__RUN_STATE__RUN_STATE_PLANNING;
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
	chaos_why why = {{0}};

	for (int i = 0; i < RC_CONTACT_RETRIES; i++) {
		if (ctl_call(t, req, resp, &why) == CHAOS_OK)
			return CHAOS_OK;
		fprintf(stderr, "chaosctl: %s (retrying)\n", why.text);
		sleep(1);
	}
	fprintf(stderr,
	        "chaosctl: lost contact with the controller; agents revert their "
	        "faults by themselves when their leases end\n");
	return CHAOS_ECONN;
}

static void
rc_abort_request(Chaos__V1__ControlRequest *req, Chaos__V1__AbortRequest *abort,
                 uint64_t id, const char *reason)
{
	abort->run_id  = id;
	abort->reason  = (char *)reason;
	req->body_case = CHAOS__V1__CONTROL_REQUEST__BODY_ABORT;
	req->abort     = abort;
}

static void
rc_send_abort(const struct ctl_target *t, uint64_t id)
{
	Chaos__V1__ControlRequest   req   = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__AbortRequest     abort = CHAOS__V1__ABORT_REQUEST__INIT;
	Chaos__V1__ControlResponse *resp  = NULL;

	rc_abort_request(&req, &abort, id, "interrupted (chaosctl got a signal)");
	fprintf(stderr,
	        "chaosctl: interrupted: asking the controller to revert everything\n");
	if (rc_request(t, &req, &resp) == CHAOS_OK)
		wire_free(resp);
}

chaos_err
runclient_abort(const struct ctl_target *t, uint64_t run_id, const char *reason,
                Chaos__V1__ControlResponse **resp, chaos_why *why)
{
	Chaos__V1__ControlRequest req   = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__AbortRequest   abort = CHAOS__V1__ABORT_REQUEST__INIT;

	rc_abort_request(&req, &abort, run_id, reason);
	return ctl_call(t, &req, resp, why);
}

/* Polls until the run ends; prints progress; returns the final response. */
static Chaos__V1__ControlResponse *
rc_follow(const struct ctl_target *t, uint64_t id, bool quiet)
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
		for (size_t i = 0; i < resp->n_progress && !quiet; i++)
			printf("  %s\n", resp->progress[i]);
		fflush(stdout);
		status.progress_from = resp->progress_next;
		if (!resp->has_run_state || !runclient_in_progress(resp->run_state))
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
	chaos_why                   why  = {{0}};
	chaos_err                   rv;

	run.scenario    = (char *)scenario;
	run.params_json = text;
	run.has_dry_run = true;
	run.dry_run     = dry_run;
	/* a resent start (NNG's REQ after a dropped connection) is this run */
	run.has_request_token = getrandom(&run.request_token, sizeof(run.request_token),
	                                  0) == sizeof(run.request_token);
	req.body_case         = CHAOS__V1__CONTROL_REQUEST__BODY_RUN;
	req.run               = &run;
	rv                    = ctl_call(t, &req, &resp, &why);
	free(text);
	if (rv != CHAOS_OK)
		snprintf(res->error, sizeof(res->error), "%s", why.text);
	return rv == CHAOS_OK ? resp : NULL;
}

static void
rc_take_result(Chaos__V1__ControlResponse *resp, const char *scenario, const char *output,
               int64_t started, struct runclient_result *res)
{
	char name[32];

	res->state = resp->run_state;
	if (resp->result_json != NULL)
		res->result = json_loads(resp->result_json, 0, NULL);
	printf("run %llu %s%s%s\n", (unsigned long long)resp->run_id,
	       runclient_state_name(res->state, name, sizeof(name)),
	       resp->error != NULL ? ": " : "", resp->error != NULL ? resp->error : "");
	if (res->result == NULL)
		return;
	/* how the run ended, in the file itself: an orchestrator that finds the
	 * file on --resume without its record reads it from there */
	json_object_set_new(res->result, "run_state", json_string(name));
	if (output != NULL &&
	    rc_write(output, scenario, started, res->result, res->path,
	             sizeof(res->path)) == CHAOS_OK)
		printf("result: %s\n", res->path);
	rc_print_figure(res->result, "mttr");
	rc_print_figure(res->result, "recovery_time");
}

/* Starts the run and follows it to its end (printing progress unless
 * quiet); NULL with res->error and res->state set when it never ran or
 * the controller was lost. A refusal (at the start or by the plan) is
 * returned as NULL too, with its state. */
static Chaos__V1__ControlResponse *rc_end(Chaos__V1__ControlResponse *resp,
                                          struct runclient_result    *res);

static Chaos__V1__ControlResponse *
rc_run_to_end(const struct ctl_target *t, const char *scenario, json_t *params,
              bool dry_run, bool quiet, runclient_started_fn started, void *arg,
              struct runclient_result *res)
{
	Chaos__V1__ControlResponse *resp;
	uint64_t                    id;

	if ((resp = rc_start(t, scenario, params, dry_run, res)) == NULL)
		return NULL;
	id = res->run_id = resp->run_id;
	if (resp->error == NULL) {
		wire_free(resp);
		if (!dry_run && !quiet)
			printf("run %llu started: %s\n", (unsigned long long)id,
			       scenario);
		if (started != NULL)
			started(arg, id);
		if ((resp = rc_follow(t, id, quiet)) == NULL) {
			snprintf(res->error, sizeof(res->error),
			         "lost contact with the controller");
			return NULL;
		}
	}
	return rc_end(resp, res);
}

/* The final answer about a run: NULL (with res->error) for a refusal. */
static Chaos__V1__ControlResponse *
rc_end(Chaos__V1__ControlResponse *resp, struct runclient_result *res)
{
	char name[32];

	res->state = resp->has_run_state ? (int)resp->run_state : 0;
	/* a refusal; an interrupted run has a reason and a result: it goes on */
	if ((resp->error != NULL && resp->result_json == NULL) ||
	    res->state == CHAOS__V1__RUN_STATE__RUN_STATE_REFUSED ||
	    res->state == CHAOS__V1__RUN_STATE__RUN_STATE_UNUSABLE) {
		snprintf(res->error, sizeof(res->error), "%s: %s",
		         res->state ? runclient_state_name(res->state, name, sizeof(name))
		                    : "controller",
		         resp->error ? resp->error : "no reason given");
		wire_free(resp);
		return NULL;
	}
	return resp;
}

int
runclient_plan(const struct ctl_target *t, const char *scenario, json_t *params,
               struct runclient_result *res)
{
	Chaos__V1__ControlResponse *resp;

	memset(res, 0, sizeof(*res));
	if ((resp = rc_run_to_end(t, scenario, params, true, true, NULL, NULL, res)) ==
	    NULL)
		return runclient_exit_for_state(res->state);
	if (resp->result_json != NULL)
		res->result = json_loads(resp->result_json, 0, NULL);
	wire_free(resp);
	return CHAOS_EXIT_OK;
}

/* Writes the result of a run that ended; the exit status for it. */
static int
rc_finish(Chaos__V1__ControlResponse *resp, const char *scenario, const char *output,
          int64_t started, struct runclient_result *res)
{
	rc_take_result(resp, scenario, output, started, res);
	wire_free(resp);
	if (res->result == NULL && res->error[0] == '\0')
		snprintf(res->error, sizeof(res->error),
		         "the run ended without a result");
	return res->result == NULL ? CHAOS_EXIT_FAILED
	                           : runclient_exit_for_state(res->state);
}

int
runclient_run(const struct ctl_target *t, const char *scenario, json_t *params,
              bool dry_run, const char *output, runclient_started_fn started, void *arg,
              struct runclient_result *res)
{
	Chaos__V1__ControlResponse *resp;
	int64_t                     t0 = clk_now_us();

	memset(res, 0, sizeof(*res));
	if ((resp = rc_run_to_end(t, scenario, params, dry_run, false, started, arg,
	                          res)) == NULL)
		return runclient_exit_for_state(res->state);
	if (dry_run) {
		rc_print_plan(resp->result_json);
		wire_free(resp);
		return CHAOS_EXIT_OK;
	}
	return rc_finish(resp, scenario, output, t0, res);
}

int
runclient_follow(const struct ctl_target *t, uint64_t run_id, const char *scenario,
                 const char *output, int64_t started_us, struct runclient_result *res)
{
	Chaos__V1__ControlResponse *resp;

	memset(res, 0, sizeof(*res));
	res->run_id = run_id;
	if ((resp = rc_follow(t, run_id, false)) == NULL) {
		snprintf(res->error, sizeof(res->error),
		         "lost contact with the controller");
		return CHAOS_EXIT_ENV;
	}
	if (resp->error != NULL && !resp->has_run_state) {
		snprintf(res->error, sizeof(res->error), "controller: %s", resp->error);
		wire_free(resp);
		return CHAOS_EXIT_FAILED;
	}
	if ((resp = rc_end(resp, res)) == NULL)
		return runclient_exit_for_state(res->state);
	return rc_finish(resp, scenario, output, started_us, res);
}
