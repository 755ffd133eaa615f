// SPDX-License-Identifier: MIT
#include "controller/scenarios/util.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/utf8.h"
#include "controller/report/report.h"
#include "controller/scenarios/selector.h"

#define SCEN_ACK_TIMEOUT_US (5 * 1000000LL)

/* The agent whose events carry t's results (a target's node agent). */
static const char *
scen_served_by(const struct scen_target *t)
{
	return t->served_by[0] != '\0' ? t->served_by : t->agent_id;
}

static int
scen_cmp_pod(const void *a, const void *b)
{
	return strcmp(((const struct scen_target *)a)->pod,
	              ((const struct scen_target *)b)->pod);
}

static bool
scen_first_ipv4(const Chaos__V1__Identity *id, char *out, size_t len)
{
	struct in_addr a;

	for (size_t i = 0; i < id->n_ips; i++) {
		if (inet_pton(AF_INET, id->ips[i], &a) == 1) {
			snprintf(out, len, "%s", id->ips[i]);
			return true;
		}
	}
	return false;
}

/* The first of t[0..n) whose clock the controller has not measured yet
 * (an agent that connected less than two polls ago), or NULL. */
static const char *
scen_unclocked(struct run *r, const struct scen_target *t, size_t n)
{
	int64_t off, err;

	for (size_t i = 0; i < n; i++)
		if (!registry_clock(run_registry(r), t[i].agent_id, &off, &err))
			return t[i].agent_id;
	return NULL;
}

/* Its samples and acks are put on the controller's clock with the agent's
 * measured offset; without one they would be taken as they are, and the
 * run would mix two time bases. The measure needs two polls, so this waits
 * up to two heartbeats and a second for it, and says so if it never came
 * (clock_error_ms is then null for that agent). */
static void
scen_wait_clocks(struct run *r, const struct scen_target *t, size_t n)
{
	const char *id = scen_unclocked(r, t, n);
	int64_t     from, until;

	if (id == NULL)
		return;
	from = clk_mono_us();
	until =
	    from + (2 * (int64_t)registry_heartbeat_ms(run_registry(r)) + 1000) * 1000;
	while ((id = scen_unclocked(r, t, n)) != NULL && clk_mono_us() < until &&
	       run_sleep_until(r, clk_mono_us() + 50000))
		;
	if (id == NULL)
		run_progress(r, "waited %lld ms for the clocks of the chosen agents",
		             (long long)((clk_mono_us() - from) / 1000));
	else
		run_progress(r,
		             "the clock of agent %s is not measured yet: its times are "
		             "taken as they are (clock_error_ms will say unknown)",
		             id);
}

size_t
scen_select(struct run *r, const char *ns, const char *selector, int role,
            struct scen_target *out, size_t cap)
{
	Chaos__V1__AgentInfo **all   = NULL;
	size_t                 n_all = 0, n = 0;
	struct selector        sel;

	/* the parameter was checked when the run was made */
	if (selector_parse(selector, &sel, NULL) != CHAOS_OK ||
	    registry_snapshot(run_registry(r), ns, &all, &n_all) != CHAOS_OK)
		return 0;
	for (size_t i = 0; i < n_all && n < cap; i++) {
		const Chaos__V1__Identity *id = all[i]->identity;
		struct scen_target        *t  = &out[n];
		if ((int)id->role != role ||
		    all[i]->state != CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED ||
		    !allow_permits(run_allow(r), id->namespace_) ||
		    !selector_matches(&sel, id->labels, id->n_labels) ||
		    (all[i]->target != NULL &&
		     all[i]->target->state !=
		         CHAOS__V1__TARGET_STATE__TARGET_STATE_RESOLVED))
			continue;
		memset(t, 0, sizeof(*t));
		if (!scen_first_ipv4(id, t->ip, sizeof(t->ip)))
			continue;
		snprintf(t->agent_id, sizeof(t->agent_id), "%s", id->agent_id);
		snprintf(t->served_by, sizeof(t->served_by), "%s",
		         all[i]->target != NULL ? all[i]->target->served_by
		                                : id->agent_id);
		snprintf(t->pod, sizeof(t->pod), "%s", id->pod);
		t->incarnation = id->incarnation;
		n++;
	}
	registry_snapshot_free(all, n_all);
	qsort(out, n, sizeof(*out), scen_cmp_pod);
	scen_wait_clocks(r, out, n);
	return n;
}

const char *
scen_scope(struct run *r, const char *ns, const char *selector, char *buf, size_t len)
{
	char allowed[512];

	if (ns != NULL && ns[0] != '\0')
		snprintf(allowed, sizeof(allowed), "namespace %s", ns);
	else
		snprintf(allowed, sizeof(allowed), "namespaces allowed: %.400s",
		         allow_describe(run_allow(r), buf, len));
	snprintf(buf, len, "%s, %s%s", allowed,
	         selector != NULL && selector[0] ? "labels " : "any labels",
	         selector != NULL ? selector : "");
	return buf;
}

chaos_err
scen_fail_no_agents(struct run *r, const char *ns, const char *selector, chaos_why *why,
                    const char *fmt, ...)
{
	char    what[256], scope[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return chaos_fail(
	    why, CHAOS_ENOENT,
	    "%s (%s); start the agents (sandbox: deploy/sandbox/sandbox up) "
	    "and check chaosctl agents",
	    what, scen_scope(r, ns, selector, scope, sizeof(scope)));
}

void
scen_fail(struct scen_outcome *o, int state, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->failure, sizeof(o->failure), fmt, ap);
	va_end(ap);
	utf8_trim_partial(o->failure); /* a failure jansson refuses is lost */
	o->state = state;
}

void
scen_make_id(char *out, struct run *r, const char *tag, const char *name)
{
	int n = snprintf(out, SCEN_ID_LEN, "r%llu-%s-%s", (unsigned long long)run_id(r),
	                 tag, name);

	if (n >=
	    SCEN_ID_LEN) /* cut: still unique per run and tag for distinct short names */
		out[SCEN_ID_LEN - 1] = '\0';
}

void
scen_expand(const char *tmpl, const char *ip, char *out, size_t len)
{
	const char *at = strstr(tmpl, "{ip}");

	if (at == NULL)
		snprintf(out, len, "%s", tmpl);
	else
		snprintf(out, len, "%.*s%s%s", (int)(at - tmpl), tmpl, ip, at + 4);
}

/* Sends cmds[i] to each target i and collects the acks. A target already
 * known lost gets nothing: what the command would touch died with its
 * agent, and its ack would never come (waiting for it held an aborted run
 * for the whole ack timeout). Its ack says so. */
static size_t
scen_send(struct run *r, struct scen_target *t, size_t n, Chaos__V1__Command *cmds,
          struct obs_ack *acks)
{
	const char         *ids[SCEN_MAX_TARGETS] = {0};
	Chaos__V1__Command *ptr[SCEN_MAX_TARGETS] = {0};
	struct obs_ack      got[SCEN_MAX_TARGETS];
	size_t              m = 0, ok;

	for (size_t i = 0; i < n; i++) {
		if (t[i].lost)
			continue;
		ids[m]   = t[i].agent_id;
		ptr[m++] = &cmds[i];
	}
	ok = run_send_all(r, m, ids, ptr, SCEN_ACK_TIMEOUT_US, got);
	for (size_t i = 0, k = 0; i < n; i++) {
		if (!t[i].lost) {
			acks[i] = got[k++];
			continue;
		}
		memset(&acks[i], 0, sizeof(acks[i]));
		snprintf(acks[i].error, sizeof(acks[i].error),
		         "not sent: its agent was lost during the run");
	}
	return ok;
}

static void
scen_collect_failures(const struct scen_target *t, size_t n, const struct obs_ack *acks,
                      char *err, size_t errlen)
{
	size_t used = 0;

	err[0] = '\0';
	for (size_t i = 0; i < n && used < errlen; i++) {
		if (acks[i].status == CHAOS__V1__STATUS__STATUS_OK)
			continue;
		used += (size_t)snprintf(err + used, errlen - used, "%s%s: %s",
		                         used ? "; " : "", t[i].pod,
		                         acks[i].error[0] ? acks[i].error : "failed");
	}
	utf8_trim_partial(err);
}

bool
scen_start_probes(struct run *r, struct scen_target *t, size_t n, const char *tag,
                  const Chaos__V1__ProbeSpec *spec, scen_id *ids, char *err,
                  size_t errlen)
{
	Chaos__V1__Command   cmds[SCEN_MAX_TARGETS];
	Chaos__V1__ProbeSpec specs[SCEN_MAX_TARGETS];
	char                 urls[SCEN_MAX_TARGETS][512];
	struct obs_ack       acks[SCEN_MAX_TARGETS];

	for (size_t i = 0; i < n; i++) {
		scen_make_id(ids[i], r, tag, t[i].pod);
		scen_expand(spec->target, t[i].ip, urls[i], sizeof(urls[i]));
		specs[i]          = *spec;
		specs[i].probe_id = ids[i];
		specs[i].target   = urls[i];
		chaos__v1__command__init(&cmds[i]);
		cmds[i].body_case   = CHAOS__V1__COMMAND__BODY_START_PROBE;
		cmds[i].start_probe = &specs[i];
	}
	if (scen_send(r, t, n, cmds, acks) == n)
		return true;
	scen_collect_failures(t, n, acks, err, errlen);
	return false;
}

void
scen_stop_probes(struct run *r, struct scen_target *t, size_t n, scen_id *ids)
{
	Chaos__V1__Command cmds[SCEN_MAX_TARGETS];
	struct obs_ack     acks[SCEN_MAX_TARGETS];

	for (size_t i = 0; i < n; i++) {
		chaos__v1__command__init(&cmds[i]);
		cmds[i].body_case  = CHAOS__V1__COMMAND__BODY_STOP_PROBE;
		cmds[i].stop_probe = ids[i];
	}
	scen_send(r, t, n, cmds, acks);
}

bool
scen_probe_recovery(struct run *r, const char *id, int64_t t_from,
                    const struct mttr_rule *rule, double *seconds, bool *was_down)
{
	struct mttr_sample *s = NULL;
	size_t              n = scen_mttr_samples(r, id, &s);
	int64_t             t;
	bool                ok = mttr_recovered_at(s, n, t_from, rule, &t);

	if (ok)
		*seconds = (double)(t - t_from) / 1e6;
	if (ok && was_down != NULL)
		*was_down = mttr_was_down(s, n, t_from, t);
	free(s);
	return ok;
}

bool
scen_steady_why(const struct obs_sample *s, size_t n, char *why, size_t len)
{
	char        cls[48];
	const char *what;

	if (n == 0) {
		snprintf(why, len,
		         "no probe sample reached the controller (is the agent's events "
		         "channel, the session port + 1, connected?)");
		return false;
	}
	if (s[n - 1].healthy)
		return true;
	what = s[n - 1].detail[0] != '\0'
	    ? s[n - 1].detail
	    : report_error_class(s[n - 1].error_class, cls, sizeof(cls));
	snprintf(why, len, "its last probe failed (%s)", what ? what : "no reason given");
	utf8_trim_partial(why);
	return false;
}

bool
scen_probe_steady(struct run *r, const char *id, char *why, size_t len)
{
	struct obs_sample *s  = NULL;
	size_t             n  = obs_samples(run_obs(r), id, &s);
	bool               ok = scen_steady_why(s, n, why, len);

	free(s);
	return ok;
}

size_t
scen_latency(struct run *r, const char *id, int64_t t_from, int64_t t_to,
             bool healthy_only, double *p50, double *p95, double *p99)
{
	struct obs_sample *s = NULL;
	size_t             n = obs_samples(run_obs(r), id, &s), k = 0;
	double            *ms = calloc(n ? n : 1, sizeof(*ms));

	for (size_t i = 0; ms != NULL && i < n; i++)
		if (s[i].t_us >= t_from && s[i].t_us < t_to &&
		    (s[i].healthy || !healthy_only))
			ms[k++] = (double)s[i].latency_us / 1000.0;
	if (k > 0) {
		mttr_percentile(ms, k, 50, p50);
		mttr_percentile(ms, k, 95, p95);
		mttr_percentile(ms, k, 99, p99);
	}
	free(ms);
	free(s);
	return k;
}

void
scen_count(struct run *r, const char *id, int64_t t_from, int64_t t_to, size_t *healthy,
           size_t *total)
{
	struct mttr_sample *s = NULL;
	size_t              n = scen_mttr_samples(r, id, &s);

	mttr_count(s, n, t_from, t_to, healthy, total);
	free(s);
}

static json_t *
scen_conn_row(const Chaos__V1__ConnCheckResult *res, const struct scen_target *t,
              size_t n, size_t self, uint32_t port)
{
	json_t *row = json_object();

	for (size_t k = 0; k < n; k++) {
		char    target[64];
		json_t *v = json_null();
		if (k == self)
			continue;
		snprintf(target, sizeof(target), "%s:%u", t[k].ip, port);
		for (size_t j = 0; res != NULL && j < res->n_results; j++)
			if (strcmp(res->results[j]->target, target) == 0)
				v = json_boolean(res->results[j]->ok);
		json_object_set_new(row, t[k].pod, v);
	}
	return row;
}

json_t *
scen_conncheck(struct run *r, const struct scen_target *t, size_t n, uint32_t port,
               const char *label)
{
	Chaos__V1__Command       cmds[SCEN_MAX_TARGETS];
	Chaos__V1__ConnCheckSpec specs[SCEN_MAX_TARGETS];
	char                     targets[SCEN_MAX_TARGETS][64];
	char                    *lists[SCEN_MAX_TARGETS][SCEN_MAX_TARGETS];
	char                     check_id[SCEN_MAX_TARGETS][SCEN_ID_LEN + 24];
	char                     base[SCEN_ID_LEN];
	struct obs_ack           acks[SCEN_MAX_TARGETS];
	json_t                  *matrix = json_object();
	int64_t                  deadline;

	/* one id per target: a node agent answers for several pods, and its
	 * results are told apart only by their check id */
	scen_make_id(base, r, "conn", label);
	for (size_t i = 0; i < n; i++)
		snprintf(targets[i], sizeof(targets[i]), "%s:%u", t[i].ip, port);
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		for (size_t j = 0; j < n; j++) /* every other target, not itself */
			if (j != i)
				lists[i][k++] = targets[j];
		snprintf(check_id[i], sizeof(check_id[i]), "%s.%zu", base, i);
		chaos__v1__conn_check_spec__init(&specs[i]);
		specs[i].check_id   = check_id[i];
		specs[i].timeout_ms = 1000;
		specs[i].targets    = lists[i];
		specs[i].n_targets  = k;
		chaos__v1__command__init(&cmds[i]);
		cmds[i].body_case  = CHAOS__V1__COMMAND__BODY_CHECK_CONN;
		cmds[i].check_conn = &specs[i];
	}
	scen_send(r, (struct scen_target *)t, n, cmds, acks);
	deadline = clk_mono_us() + 3 * 1000000LL;
	for (size_t i = 0; i < n; i++) {
		Chaos__V1__ConnCheckResult *res = t[i].lost
		    ? NULL
		    : obs_wait_conn(run_obs(r), scen_served_by(&t[i]), check_id[i],
		                    deadline);
		json_object_set_new(matrix, t[i].pod, scen_conn_row(res, t, n, i, port));
		if (res != NULL)
			chaos__v1__conn_check_result__free_unpacked(res, NULL);
	}
	return matrix;
}

void
scen_ack_span(const struct obs_ack *acks, size_t n, int64_t *first, int64_t *last)
{
	*first = *last = 0;
	for (size_t i = 0; i < n; i++) {
		if (acks[i].status != CHAOS__V1__STATUS__STATUS_OK)
			continue;
		if (*first == 0 || acks[i].applied_us < *first)
			*first = acks[i].applied_us;
		if (acks[i].applied_us > *last)
			*last = acks[i].applied_us;
	}
}

bool
scen_apply(struct run *r, struct scen_target *t, size_t n,
           Chaos__V1__FaultSpec *const *specs, int64_t *t_fault, int64_t *spread_us,
           char *err, size_t errlen)
{
	Chaos__V1__Command cmds[SCEN_MAX_TARGETS];
	struct obs_ack     acks[SCEN_MAX_TARGETS];
	int64_t            first = 0, last = 0;
	size_t             ok;

	for (size_t i = 0; i < n; i++) {
		snprintf(t[i].fault_id, sizeof(t[i].fault_id), "%s", specs[i]->fault_id);
		/* live before it is sent: the reply that carries the apply also
		 * lists it, so the agent's first renewal covers it */
		registry_fault_live(run_registry(r), t[i].agent_id, t[i].fault_id, true);
		chaos__v1__command__init(&cmds[i]);
		cmds[i].body_case   = CHAOS__V1__COMMAND__BODY_APPLY_FAULT;
		cmds[i].apply_fault = specs[i];
	}
	ok = scen_send(r, t, n, cmds, acks);
	scen_ack_span(acks, n, &first, &last);
	*t_fault   = last;
	*spread_us = last - first;
	if (ok != n)
		scen_collect_failures(t, n, acks, err, errlen);
	return ok == n;
}

int64_t
scen_revert(struct run *r, struct scen_target *t, size_t n)
{
	Chaos__V1__Command cmds[SCEN_MAX_TARGETS];
	struct obs_ack     acks[SCEN_MAX_TARGETS];
	struct scen_target live[SCEN_MAX_TARGETS];
	size_t             m    = 0;
	int64_t            last = 0;

	for (size_t i = 0; i < n; i++) {
		if (t[i].lost || t[i].fault_id[0] == '\0')
			continue;
		live[m] = t[i];
		registry_fault_live(run_registry(r), t[i].agent_id, t[i].fault_id, false);
		chaos__v1__command__init(&cmds[m]);
		cmds[m].body_case    = CHAOS__V1__COMMAND__BODY_REVERT_FAULT;
		cmds[m].revert_fault = t[i].fault_id;
		m++;
	}
	scen_send(r, live, m, cmds, acks);
	for (size_t i = 0, k = 0; i < n; i++) {
		if (t[i].lost || t[i].fault_id[0] == '\0')
			continue;
		t[i].reverted_us = 0;
		if (acks[k].status == CHAOS__V1__STATUS__STATUS_OK) {
			t[i].reverted_us = acks[k].applied_us;
			last = acks[k].applied_us > last ? acks[k].applied_us : last;
		} else {
			run_progress(
			    r, "revert on %s not confirmed (%s); its lease reverts it",
			    t[i].pod, acks[k].error);
		}
		k++;
	}
	return last;
}

/* The end of t's fault by its agent's events: the latest REVERTED or
 * EXPIRED; 0 when none. */
static int64_t
scen_event_end(const struct scen_target *t, const struct obs_fault_event *ev, size_t n_ev)
{
	int64_t end = 0;

	for (size_t i = 0; i < n_ev; i++)
		if (strcmp(ev[i].fault_id, t->fault_id) == 0 &&
		    (ev[i].phase == CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED ||
		     ev[i].phase == CHAOS__V1__FAULT_PHASE__FAULT_PHASE_EXPIRED) &&
		    ev[i].t_us > end)
			end = ev[i].t_us;
	return end;
}

bool
scen_fault_end(const struct scen_target *t, size_t n, const struct obs_fault_event *ev,
               size_t n_ev, int64_t *end_us, char *why, size_t len)
{
	int64_t last = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t end;
		if (t[i].fault_id[0] == '\0')
			continue;
		/* a lost agent's faults died with it (the kernel drops an owner's
		 * tables with its socket): at the latest when it was seen lost,
		 * which for a killed one is the moment its connection closed */
		end = t[i].lost            ? t[i].lost_at_us
		    : t[i].reverted_us > 0 ? t[i].reverted_us
		                           : scen_event_end(&t[i], ev, n_ev);
		if (end <= 0) {
			snprintf(why, len, "revert not confirmed on %s", t[i].pod);
			utf8_trim_partial(why);
			return false;
		}
		last = end > last ? end : last;
	}
	if (last == 0) {
		snprintf(why, len, "no target was faulted");
		return false;
	}
	*end_us = last;
	return true;
}

bool
scen_restore_time(struct run *r, const struct scen_target *t, size_t n, int64_t *end_us,
                  char *why, size_t len)
{
	enum { PER = 16 };
	struct obs_fault_event *ev = calloc(n ? n * PER : 1, sizeof(*ev));
	size_t                  k  = 0;
	bool                    ok;

	for (size_t i = 0; ev != NULL && i < n; i++)
		if (t[i].fault_id[0] != '\0')
			k += obs_fault_events(run_obs(r), t[i].fault_id, ev + k, PER);
	ok = scen_fault_end(t, n, ev, k, end_us, why, len);
	free(ev);
	return ok;
}

json_t *
scen_fault_effects(struct run *r, const struct scen_target *t, size_t n)
{
	enum { PER = 16 };
	json_t                *a = json_array();
	struct obs_fault_event ev[PER];

	for (size_t i = 0; i < n; i++) {
		const char *applied = NULL;
		size_t      k       = t[i].fault_id[0] != '\0'
		               ? obs_fault_events(run_obs(r), t[i].fault_id, ev, PER)
		               : 0;

		for (size_t j = 0; j < k && applied == NULL; j++)
			if (ev[j].phase == CHAOS__V1__FAULT_PHASE__FAULT_PHASE_APPLIED)
				applied = ev[j].detail;
		json_array_append_new(
		    a, json_pack("{s:s,s:s?}", "pod", t[i].pod, "applied", applied));
	}
	return a;
}

size_t
scen_check_lost(struct run *r, struct scen_target *t, size_t n)
{
	size_t lost = 0;

	for (size_t i = 0; i < n; i++) {
		bool    connected = false;
		int64_t inc       = 0;
		if (!t[i].lost &&
		    (!registry_agent_status(run_registry(r), t[i].agent_id, &connected,
		                            &inc) ||
		     !connected || inc != t[i].incarnation)) {
			t[i].lost       = true;
			t[i].lost_at_us = clk_now_us();
			if (strcmp(scen_served_by(&t[i]), t[i].agent_id) != 0)
				run_progress(
				    r,
				    "pod %s (served by node agent %s) lost during the "
				    "run: its netns vanished or its node agent was lost; "
				    "its faults died with it",
				    t[i].pod, scen_served_by(&t[i]));
			else
				run_progress(r,
				             "agent %s lost during the run: its faults "
				             "died with it",
				             t[i].pod);
		}
		lost += t[i].lost;
	}
	return lost;
}

bool
scen_restore_known(struct run *r, struct scen_target *t, size_t n, int64_t *t_restore,
                   char *why, size_t len)
{
	if (*t_restore > 0)
		return true;
	scen_check_lost(r, t, n);
	return scen_restore_time(r, t, n, t_restore, why, len);
}

void
scen_revert_end(struct run *r, struct scen_target *t, size_t n, const char *what,
                int64_t *t_restore, char *why, size_t len)
{
	scen_revert(r, t, n);
	/* not acked everywhere: the leases end it, and their expiry events
	 * tell when; never the controller's clock */
	*t_restore = 0;
	if (scen_restore_time(r, t, n, t_restore, why, len))
		run_progress(r, "%s reverted", what);
	else
		run_progress(r, "%s reverted, its end not yet confirmed: %s", what, why);
}

void
scen_clock_take(struct scen_clock *c, const char *agent, bool measured, int64_t error_us)
{
	if (!measured) {
		if (!c->unknown)
			snprintf(c->why, sizeof(c->why), "no clock measurement for %s",
			         agent);
		c->unknown = true;
		return;
	}
	if ((double)error_us / 1000.0 > c->worst_ms)
		c->worst_ms = (double)error_us / 1000.0;
}

void
scen_clock_agent(struct run *r, const char *agent_id, const char *name,
                 struct scen_clock *c)
{
	int64_t off, err = 0;
	bool    have = registry_clock(run_registry(r), agent_id, &off, &err);

	scen_clock_take(c, name, have, err);
}

void
scen_clock_targets(struct run *r, const struct scen_target *t, size_t n,
                   struct scen_clock *c)
{
	for (size_t i = 0; i < n; i++)
		scen_clock_agent(r, t[i].agent_id, scen_served_by(&t[i]), c);
}

void
scen_clock_json(json_t *o, const char *key, const struct scen_clock *c)
{
	if (c->unknown)
		scen_null(o, key, c->why);
	else
		json_object_set_new(o, key, json_real(c->worst_ms));
}

void
scen_null(json_t *o, const char *key, const char *reason)
{
	char rkey[128];

	snprintf(rkey, sizeof(rkey), "%s_reason", key);
	json_object_set_new(o, key, json_null());
	json_object_set_new(o, rkey, json_string(reason));
}

const char *
scen_unmeasured_why(int64_t t_fault, const char *restore_why)
{
	if (t_fault <= 0)
		return "no fault was applied";
	return restore_why != NULL && restore_why[0] != '\0' ? restore_why
	                                                     : "the fault is still on";
}

void
scen_window_end(json_t *o, const char *key, int64_t t_fault, int64_t t_restore,
                const char *restore_why)
{
	if (t_fault > 0 && t_restore > 0)
		report_time(o, key, t_restore);
	else
		scen_null(o, key, scen_unmeasured_why(t_fault, restore_why));
}

size_t
scen_mttr_samples(struct run *r, const char *probe_id, struct mttr_sample **out)
{
	struct obs_sample *s = NULL;
	size_t             n = obs_samples(run_obs(r), probe_id, &s);

	*out = NULL;
	if (n == 0 || (*out = calloc(n, sizeof(**out))) == NULL) {
		free(s);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		(*out)[i] = (struct mttr_sample) {s[i].t_us, s[i].healthy};
	free(s);
	return n;
}

json_t *
scen_samples_json(struct run *r, const char *probe_id)
{
	struct obs_sample *s   = NULL;
	size_t             n   = obs_samples(run_obs(r), probe_id, &s);
	json_t            *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		char        buf[32];
		json_t     *o   = json_object();
		const char *cls = report_error_class(s[i].error_class, buf, sizeof(buf));
		report_time(o, "t", s[i].t_us);
		json_object_set_new(o, "ok", json_boolean(s[i].healthy));
		json_object_set_new(o, "ms", json_real((double)s[i].latency_us / 1000.0));
		json_object_set_new(o, "err", cls ? json_string(cls) : json_null());
		if (!s[i].healthy && s[i].detail[0] != '\0')
			json_object_set_new(o, "detail", json_string(s[i].detail));
		json_array_append_new(arr, o);
	}
	free(s);
	return arr;
}

json_t *
scen_user_requests(size_t ok, size_t total, const char *counted, size_t ex_ok,
                   size_t ex_total, const char *not_counted)
{
	json_t *o = json_pack(
	    "{s:I,s:I,s:I,s:o,s:s}", "ok", (json_int_t)ok, "errors",
	    (json_int_t)(total - ok), "total", (json_int_t)total, "success_rate_percent",
	    total > 0 ? json_real(100.0 * (double)ok / (double)total) : json_null(),
	    "counted", counted);

	if (not_counted != NULL)
		json_object_set_new(o, "not_counted",
		                    json_pack("{s:I,s:I,s:s}", "ok", (json_int_t)ex_ok,
		                              "total", (json_int_t)ex_total, "what",
		                              not_counted));
	return o;
}

bool
scen_hold(struct run *r, struct scen_target *t, size_t n, int64_t deadline_mono_us)
{
	while (clk_mono_us() < deadline_mono_us) {
		int64_t step = clk_mono_us() + 100000;
		if (!run_sleep_until(r,
		                     step < deadline_mono_us ? step : deadline_mono_us))
			return false;
		scen_check_lost(r, t, n);
		run_checkpoint(r);
	}
	return true;
}

bool
scen_wait_recovery(struct run *r, struct scen_target *t, size_t n, double timeout_s,
                   int64_t poll_us, scen_done_fn done, void *plan, void *meas,
                   const char *what, struct scen_outcome *out)
{
	int64_t until = clk_mono_us() + (int64_t)(timeout_s * 1e6);

	while (!done(r, plan, meas)) {
		if (clk_mono_us() >= until) {
			scen_fail(
			    out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
			    "%s not recovered within the recovery timeout of %.0f s",
			    what, timeout_s);
			return false;
		}
		if (!scen_hold(r, t, n, clk_mono_us() + poll_us)) {
			scen_fail(out, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED,
			          "aborted: %s", run_abort_reason(r));
			return false;
		}
	}
	return true;
}
