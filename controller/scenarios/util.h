/* SPDX-License-Identifier: MIT */
/*
 * Steps that every scenario needs: pick target agents, start and stop
 * probes, run connectivity checks, apply and revert faults, turn samples
 * into MTTR figures and JSON. Prefix scen_.
 */
#ifndef CHAOS_CONTROLLER_SCENARIOS_UTIL_H
#define CHAOS_CONTROLLER_SCENARIOS_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/report/mttr.h"
#include "controller/obs.h"
#include "controller/run.h"

#define SCEN_MAX_TARGETS 64
#define SCEN_ID_LEN 128

struct scen_target {
	char agent_id[256];  /* the address: an agent's id, or a pod's served by a node
	                        agent */
	char served_by[256]; /* the agent that acts: agent_id itself, or the node agent */
	char pod[254];
	char ip[46]; /* first IPv4 address */
	int64_t incarnation;
	bool    lost;       /* agent lost or restarted since the fault */
	int64_t lost_at_us; /* controller clock */
	char    fault_id[SCEN_ID_LEN];
	int64_t reverted_us; /* its revert's ack (controller clock); 0: none */
};

/* Connected agents of run r with role (Chaos__V1__Role) in namespace ns
 * (NULL/"" = any the controller allows) whose labels match selector
 * (selector.h; NULL/"" = any) and that have an IPv4 address, sorted by pod
 * name. At most cap. The pods node agents serve count like agents when they
 * are resolved (never an unresolved, conflicting or sidecar-shadowed one).
 * Waits up to two heartbeats and a second for the clocks of the chosen
 * agents to be measured (a run progress line when one never was). */
size_t scen_select(struct run *r, const char *ns, const char *selector, int role,
                   struct scen_target *out, size_t cap);

/* Where scen_select looked, for a message saying nothing matched:
 * "namespace staging, labels tier=validator" or "namespaces allowed: every
 * namespace but kube-system, any labels". Returns buf. */
const char *scen_scope(struct run *r, const char *ns, const char *selector, char *buf,
                       size_t len);

/* A plan's failure for want of agents: CHAOS_ENOENT, with why as
 * "<what> (<scope>); start the agents (sandbox: deploy/sandbox/sandbox up)
 * and check chaosctl agents", what formatted from fmt. */
chaos_err scen_fail_no_agents(struct run *r, const char *ns, const char *selector,
                              chaos_why *why, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

typedef char scen_id[SCEN_ID_LEN];

/* How a run is going: its final state so far (Chaos__V1__RunState) and,
 * when not succeeded, why. */
struct scen_outcome {
	int  state;
	char failure[512];
};

/* Records a failure: state and the reason (printf-style). */
void scen_fail(struct scen_outcome *o, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Starts one probe per target: spec is a template whose target may contain
 * "{ip}", replaced by each target's address; ids[i] is set to
 * r<run>-<tag>-<pod>. Returns true when every agent acked; err says who did
 * not. */
bool scen_start_probes(struct run *r, struct scen_target *t, size_t n, const char *tag,
                       const Chaos__V1__ProbeSpec *spec, scen_id *ids, char *err,
                       size_t errlen);
void scen_stop_probes(struct run *r, struct scen_target *t, size_t n, scen_id *ids);

/* Seconds from t_from until probe id began a healthy run meeting rule
 * (mttr_recovered_at); false when it has not (yet). was_down (may be NULL):
 * whether it was down at t_from or after, before that run
 * (mttr_was_down): when not, those seconds are no recovery. */
bool scen_probe_recovery(struct run *r, const char *id, int64_t t_from,
                         const struct mttr_rule *rule, double *seconds, bool *was_down);

/* Whether the latest sample of probe id is healthy. When not, why (len
 * bytes) says whether no sample arrived at all or how the last one failed. */
bool scen_probe_steady(struct run *r, const char *id, char *why, size_t len);

/* scen_probe_steady() over the n samples s of one probe, oldest first. */
bool scen_steady_why(const struct obs_sample *s, size_t n, char *why, size_t len);

/* Latency figures (ms) of probe id's samples in [t_from, t_to); only healthy
 * ones when healthy_only. Returns the count; percentiles set only when > 0. */
size_t scen_latency(struct run *r, const char *id, int64_t t_from, int64_t t_to,
                    bool healthy_only, double *p50, double *p95, double *p99);

/* Healthy/total samples of probe id in [t_from, t_to). */
void scen_count(struct run *r, const char *id, int64_t t_from, int64_t t_to,
                size_t *healthy, size_t *total);

/* Every target connects to every other target's ip:port (from the target's
 * own namespace); returns {"from pod": {"to pod": true|false|null}}. null
 * when a result did not arrive. */
json_t *scen_conncheck(struct run *r, const struct scen_target *t, size_t n,
                       uint32_t port, const char *label);

/* The earliest and latest applied time (acks[i].applied_us: the agent's own
 * time of the change, offset applied) over the acks with STATUS_OK; both 0
 * when there is none. */
void scen_ack_span(const struct obs_ack *acks, size_t n, int64_t *first, int64_t *last);

/* Applies specs[i] (fault ids already set) on t[i] at once. Returns true
 * when all acked OK; t_fault = latest applied time, *spread_us = latest -
 * earliest (controller clock). err names the agents that failed. */
bool scen_apply(struct run *r, struct scen_target *t, size_t n,
                Chaos__V1__FaultSpec *const *specs, int64_t *t_fault, int64_t *spread_us,
                char *err, size_t errlen);

/* Reverts t[i].fault_id on every target not lost and sets t[i].reverted_us
 * from its ack; returns the latest revert time (controller clock), or 0
 * when no agent acked. A target that did not ack reverts at its lease's
 * expiry: scen_restore_time() tells when. */
int64_t scen_revert(struct run *r, struct scen_target *t, size_t n);

/* When the fault on t[0..n) ended, as measured: per target its revert ack
 * (reverted_us), else the time of its agent's REVERTED or EXPIRED event
 * for its fault_id in ev[0..n_ev) (agent clock, offset applied); *end_us =
 * the latest. A lost target's fault died with its agent: it ended at the
 * latest when the agent was seen lost (lost_at_us). Targets without a fault
 * are left out. False, *end_us untouched and why = "revert
 * not confirmed on <pod>", when a target has neither; false with why "no
 * target was faulted" when none counts. */
bool scen_fault_end(const struct scen_target *t, size_t n,
                    const struct obs_fault_event *ev, size_t n_ev, int64_t *end_us,
                    char *why, size_t len);

/* scen_fault_end() over the fault events run r observed so far. Called
 * again while it is false: an expiry event arrives with the lease's end. */
bool scen_restore_time(struct run *r, const struct scen_target *t, size_t n,
                       int64_t *end_us, char *why, size_t len);

/* For a recovery wait: true once *t_restore is known, trying
 * scen_restore_time() again while it is 0, after marking the targets whose
 * agent was lost meanwhile (scen_check_lost: their faults ended with them;
 * the wait itself may watch other agents, such as clients or loaders). */
bool scen_restore_known(struct run *r, struct scen_target *t, size_t n,
                        int64_t *t_restore, char *why, size_t len);

/* scen_revert(), then *t_restore by scen_restore_time() (left 0, why set,
 * when not confirmed yet), and a progress line "<what> reverted". */
void scen_revert_end(struct run *r, struct scen_target *t, size_t n, const char *what,
                     int64_t *t_restore, char *why, size_t len);

/* What each target's agent said when it applied the fault (its APPLIED
 * report's detail, such as "port: reject in, 3 open connection(s) reset"):
 * [{"pod", "applied"}], applied null where no such report came (never
 * applied, or the report was lost). */
json_t *scen_fault_effects(struct run *r, const struct scen_target *t, size_t n);

/* Marks targets whose agent is lost or restarted since selection. Returns
 * how many are lost in all. */
size_t scen_check_lost(struct run *r, struct scen_target *t, size_t n);

/* The error bound of the agent clocks a result's times came from: the
 * largest, or unknown (why names the agent) when one had no measurement. */
struct scen_clock {
	bool   unknown;
	double worst_ms;
	char   why[300];
};

/* Takes one agent's clock into c: measured with error_us, or not measured
 * (c becomes unknown; why names the first such agent). */
void scen_clock_take(struct scen_clock *c, const char *agent, bool measured,
                     int64_t error_us);

/* scen_clock_take() for agent_id's clock as the registry measured it,
 * named name in the reason. */
void scen_clock_agent(struct run *r, const char *agent_id, const char *name,
                      struct scen_clock *c);

/* scen_clock_take() for every target of t[0..n) (samples, acks and fault
 * events all come on its agent's clock). */
void scen_clock_targets(struct run *r, const struct scen_target *t, size_t n,
                        struct scen_clock *c);

/* o[key] = the bound in ms, or null with o[key_reason]. */
void scen_clock_json(json_t *o, const char *key, const struct scen_clock *c);

/* o[key] = null and o[key_reason] = reason: a figure not measured. */
void scen_null(json_t *o, const char *key, const char *reason);

/* Why a figure of the fault window is unknown: "no fault was applied"
 * when t_fault <= 0, else restore_why (t_restore unknown; "the fault is
 * still on" when that is empty: a checkpoint during the fault). */
const char *scen_unmeasured_why(int64_t t_fault, const char *restore_why);

/* o[key] = the fault window's end, t_restore; null with o[key_reason]
 * (scen_unmeasured_why) when no fault was applied or its end is unknown. */
void scen_window_end(json_t *o, const char *key, int64_t t_fault, int64_t t_restore,
                     const char *restore_why);

/* The result's "user_requests": what a user of the platform would have
 * seen (the success-rate SLO counts these), as {ok, errors, total,
 * success_rate_percent (null when total is 0), counted: what they are,
 * not_counted: {ok, total, what} or absent}. New object. */
json_t *scen_user_requests(size_t ok, size_t total, const char *counted, size_t ex_ok,
                           size_t ex_total, const char *not_counted);

/* Samples of one probe as mttr samples (caller frees *out). */
size_t scen_mttr_samples(struct run *r, const char *probe_id, struct mttr_sample **out);

/* Samples of one probe as a JSON array of {t, ok, ms, err, detail}. */
json_t *scen_samples_json(struct run *r, const char *probe_id);

/* Writes the id "r<run>-<tag>-<name>" of a probe, fault or load of this run
 * into out (SCEN_ID_LEN). Ids must stay short for the wire (253 at most):
 * a too-long name is cut, and the id stays unique by the run and tag. */
void scen_make_id(char *out, struct run *r, const char *tag, const char *name);

/* Replaces "{ip}" in tmpl with ip into out. */
void scen_expand(const char *tmpl, const char *ip, char *out, size_t len);

/* Sleeps until deadline in small steps, checking for lost agents; false
 * when aborted. */
bool scen_hold(struct run *r, struct scen_target *t, size_t n, int64_t deadline_mono_us);

/* Whether a scenario's plan has recovered after its restore (meas holds
 * its measurements so far). */
typedef bool (*scen_done_fn)(struct run *r, void *plan, void *meas);

/* Polls done(r, plan, meas) every poll_us until it returns true (then
 * true), the timeout passes, or the run is aborted, holding as scen_hold
 * does. On timeout or abort it records the failure in out ("<what> not
 * recovered within ...", or the abort reason) and returns false. */
bool scen_wait_recovery(struct run *r, struct scen_target *t, size_t n, double timeout_s,
                        int64_t poll_us, scen_done_fn done, void *plan, void *meas,
                        const char *what, struct scen_outcome *out);

#endif
