// SPDX-License-Identifier: MIT
/*
 * chaosctl abort [RUN]: from any terminal that reaches the controller, ends
 * a run (the one in progress when RUN is omitted) the way Ctrl-C in the
 * terminal that started it does: the controller reverts every fault and the
 * run ends "aborted". chaosctl waits until the run has ended and no fault
 * of it is in force on any target, then says so:
 *   run 12 aborted in 0.4 s; faults reverted on 2 targets (chain-0, chain-1)
 * Exit 0 then; 1 when no run is in progress, when RUN had already ended, or
 * when a fault is still in force after the wait; 2 for a RUN the controller
 * does not keep; 3 when the controller cannot be reached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/flags.h"
#include "common/wire.h"
#include "controller/chaosctl/chaosctl.h"
#include "controller/chaosctl/runclient.h"

#define ABORT_POLL_US 50000
#define ABORT_END_WAIT_US (30 * 1000000LL) /* the controller's own bound */
#define ABORT_MAX_TARGETS 64               /* a scenario targets at most 64 */

/* The pods on which a fault of run id is on the controller's books or in
 * force, from a status answer. */
struct abort_targets {
	char    pod[ABORT_MAX_TARGETS][254];
	size_t  n;
	int64_t max_lease_us;
};

static void
abort_targets_of(const Chaos__V1__ControlResponse *st, uint64_t id, bool in_force_only,
                 struct abort_targets *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < st->n_faults; i++) {
		const Chaos__V1__LiveFault *f    = st->faults[i];
		bool                        seen = false;
		if (chaosctl_fault_run(f->fault_id) != id ||
		    (in_force_only && !f->in_force))
			continue;
		if (f->has_lease_ms && (int64_t)f->lease_ms * 1000 > out->max_lease_us)
			out->max_lease_us = (int64_t)f->lease_ms * 1000;
		for (size_t k = 0; k < out->n && !seen; k++)
			seen = strcmp(out->pod[k], f->pod) == 0;
		if (!seen && out->n < ABORT_MAX_TARGETS)
			snprintf(out->pod[out->n++], sizeof(out->pod[0]), "%s", f->pod);
	}
}

static int
abort_status(const struct ctl_target *t, Chaos__V1__ControlResponse **st)
{
	Chaos__V1__ControlRequest req    = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__StatusRequest  status = CHAOS__V1__STATUS_REQUEST__INIT;

	req.body_case = CHAOS__V1__CONTROL_REQUEST__BODY_STATUS;
	req.status    = &status;
	return chaosctl_request(t, &req, st);
}

/* Polls the run's state until it has ended (bounded); its final state, or
 * 0 when it did not end in time or the controller stopped answering. */
static int
abort_wait_end(const struct ctl_target *t, uint64_t id)
{
	Chaos__V1__ControlRequest   req    = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__RunStatusRequest status = CHAOS__V1__RUN_STATUS_REQUEST__INIT;
	int64_t                     until  = clk_mono_us() + ABORT_END_WAIT_US;

	req.body_case            = CHAOS__V1__CONTROL_REQUEST__BODY_RUN_STATUS;
	req.run_status           = &status;
	status.run_id            = id;
	status.has_progress_from = true;
	status.progress_from     = UINT32_MAX; /* the state, not the lines */
	while (clk_mono_us() < until) {
		Chaos__V1__ControlResponse *resp  = NULL;
		int                         state = 0;
		if (chaosctl_request(t, &req, &resp) != CHAOS_EXIT_OK)
			return 0;
		state = resp->has_run_state ? (int)resp->run_state : 0;
		wire_free(resp);
		if (state != 0 && !runclient_in_progress(state))
			return state;
		usleep(ABORT_POLL_US);
	}
	return 0;
}

/* Polls status until no fault of run id is in force, for at most wait_us;
 * fills left with the pods where one still is. */
static int
abort_wait_reverted(const struct ctl_target *t, uint64_t id, int64_t wait_us,
                    struct abort_targets *left)
{
	int64_t until = clk_mono_us() + wait_us;
	int     rv;

	for (;;) {
		Chaos__V1__ControlResponse *st = NULL;
		if ((rv = abort_status(t, &st)) != CHAOS_EXIT_OK)
			return rv;
		abort_targets_of(st, id, true, left);
		wire_free(st);
		if (left->n == 0 || clk_mono_us() >= until)
			return CHAOS_EXIT_OK;
		usleep(ABORT_POLL_US);
	}
}

/* "a, b, c": the pods of a that are (in_b true) or are not in b. */
static size_t
abort_list(const struct abort_targets *a, const struct abort_targets *b, bool in_b,
           char *buf, size_t len)
{
	size_t used = 0, n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < a->n; i++) {
		bool found = false;
		for (size_t k = 0; b != NULL && k < b->n && !found; k++)
			found = strcmp(a->pod[i], b->pod[k]) == 0;
		if (b != NULL && found != in_b)
			continue;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
			                         n ? ", " : "", a->pod[i]);
		n++;
	}
	return n;
}

/* The closing line: what happened to the run and to its faults. */
static int
abort_report(uint64_t id, int state, double took_s, const struct abort_targets *before,
             const struct abort_targets *left)
{
	char   name[32], done[1024], still[1024];
	size_t n_done = abort_list(before, left, false, done, sizeof(done));

	if (state == CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED)
		printf("run %llu aborted in %.1f s", (unsigned long long)id, took_s);
	else /* it ended by itself as the abort came */
		printf("run %llu ended %s in %.1f s", (unsigned long long)id,
		       runclient_state_name(state, name, sizeof(name)), took_s);
	if (before->n == 0 && left->n == 0)
		printf("; no fault of it was in force");
	else
		printf("; faults reverted on %zu target%s (%s)", n_done,
		       n_done == 1 ? "" : "s", n_done ? done : "none");
	if (abort_list(left, NULL, false, still, sizeof(still)) == 0) {
		putchar('\n');
		return CHAOS_EXIT_OK;
	}
	printf("; still in force on %s: its agent reverts it when its lease ends\n",
	       still);
	return CHAOS_EXIT_FAILED;
}

/* The run to abort (RUN, or the one in progress) and the targets its faults
 * are on now. Returns -1 to go on, or the exit status. */
static int
abort_pick(const struct ctl_target *t, int argc, char **argv, uint64_t *id,
           struct abort_targets *before)
{
	Chaos__V1__ControlResponse *st = NULL;
	int                         rv;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		puts("usage: chaosctl abort [RUN]   (default: the run in progress)");
		return CHAOS_EXIT_OK;
	}
	if (argc > 2)
		return flags_usage_error("chaosctl",
		                         "abort: unexpected '%s'; usage: chaosctl abort "
		                         "[RUN] (one run at most)",
		                         argv[2]);
	if (argc == 2 && flags_parse_u64(argv[1], 1, UINT64_MAX, id) != CHAOS_OK)
		return flags_usage_error(
		    "chaosctl",
		    "abort: '%s' is not a run id (a whole number, "
		    "as `chaosctl status` or `chaosctl results` show)",
		    argv[1]);
	if ((rv = abort_status(t, &st)) != CHAOS_EXIT_OK)
		return rv;
	if (*id == 0 && st->n_runs == 0) {
		wire_free(st);
		fprintf(stderr,
		        "chaosctl: abort: no run in progress; nothing to abort\n");
		return CHAOS_EXIT_FAILED;
	}
	if (*id == 0)
		*id = st->runs[0]->run_id;
	abort_targets_of(st, *id, false, before);
	wire_free(st);
	return -1;
}

/* What the controller said to the abort: -1 to go on (the run was in
 * progress), or the exit status with one line. */
static int
abort_answer(uint64_t id, const Chaos__V1__ControlResponse *resp)
{
	char name[32];

	if (!resp->has_run_state) {
		fprintf(stderr, "chaosctl: abort: run %llu: %s\n", (unsigned long long)id,
		        resp->error ? resp->error : "unknown to the controller");
		return CHAOS_EXIT_USAGE;
	}
	if (runclient_in_progress(resp->run_state))
		return -1;
	fprintf(stderr,
	        "chaosctl: abort: run %llu had already ended (%s); nothing to abort\n",
	        (unsigned long long)id,
	        runclient_state_name(resp->run_state, name, sizeof(name)));
	return CHAOS_EXIT_FAILED;
}

/* Asks for the abort, naming where it came from in the run's result. */
static int
abort_send(const struct ctl_target *t, uint64_t id)
{
	Chaos__V1__ControlResponse *resp      = NULL;
	chaos_why                   why       = {{0}};
	char                        host[256] = "", reason[320];
	int                         rv;

	gethostname(host, sizeof(host) - 1);
	snprintf(reason, sizeof(reason), "aborted by `chaosctl abort` on %s",
	         host[0] ? host : "an unnamed host");
	if (runclient_abort(t, id, reason, &resp, &why) != CHAOS_OK) {
		fprintf(stderr, "chaosctl: %s\n", why.text);
		return CHAOS_EXIT_ENV;
	}
	rv = abort_answer(id, resp);
	wire_free(resp);
	return rv;
}

int
cmd_abort(const struct ctl_target *t, int argc, char **argv)
{
	struct abort_targets before, left;
	uint64_t             id = 0;
	int64_t              t0 = clk_mono_us();
	int                  rv, state;

	if ((rv = abort_pick(t, argc, argv, &id, &before)) >= 0 ||
	    (rv = abort_send(t, id)) >= 0)
		return rv;
	if ((state = abort_wait_end(t, id)) == 0) {
		fprintf(stderr,
		        "chaosctl: abort: run %llu was asked to stop but has not ended "
		        "within 30 s; `chaosctl status` shows its faults (their agents "
		        "revert them when their leases end)\n",
		        (unsigned long long)id);
		return CHAOS_EXIT_FAILED;
	}
	/* the run reverted what it knew of; a fault whose revert was not
	 * confirmed goes when its lease ends: wait for that much */
	if ((rv = abort_wait_reverted(t, id, before.max_lease_us + 1000000, &left)) !=
	    CHAOS_EXIT_OK)
		return rv;
	return abort_report(id, state, (double)(clk_mono_us() - t0) / 1e6, &before,
	                    &left);
}
