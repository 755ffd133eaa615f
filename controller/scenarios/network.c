// SPDX-License-Identifier: MIT
/*
 * Scenario "network_partition": cut a share of the blockchain nodes off from
 * the rest, both ways, for a while; watch consensus health on every node and
 * which pairs can still talk; heal; measure how long recovery takes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "controller/report/entry.h"
#include "controller/report/mttr.h"
#include "controller/report/report.h"
#include "controller/run.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/util.h"

enum net_side { NET_SIDE_KEPT = 0, NET_SIDE_ISOLATED = 1 };

/* A side kept serving when, as a whole, it answered at least this share of
 * its health probes healthy during the partition. The result and the
 * recommendation rule both read this one definition. */
#define NET_KEPT_SERVING 0.9

/* Stall detection: a node whose --probe-field has not risen for this many
 * times the interval between rises seen in the baseline, and never less
 * than NET_STALL_MIN_MS, is unhealthy. */
#define NET_STALL_FACTOR 3.0
#define NET_STALL_MIN_MS 1000.0

struct net_params {
	char     ns[LIMIT_ID_LEN + 1];
	char     selector[256];
	double   duration_s;
	double   ratio;
	json_t  *groups;
	char     probe_url[LIMIT_URL_LEN];
	char     probe_field[64];
	double   stall_window_s; /* 0: from the baseline */
	uint32_t probe_expect;
	uint32_t probe_interval_ms;
	uint32_t probe_timeout_ms;
	uint32_t check_port;
	uint32_t lease_ms;
	double   window_s;
	double   recovery_timeout_s;
	double   baseline_s;
};

#define NET_AT(m) PARAM_AT(struct net_params, m)

static const struct param net_params_table[] = {
    PARAM_ROW_NAMESPACE(struct net_params, ns),
    PARAM_ROW_SELECTOR(struct net_params, selector,
                       "only blockchain pods with these labels, e.g. tier=validator"),
    {"--partition-duration", "partition_duration_s", PARAM_DOUBLE, LIMIT_DURATION_MIN_S,
     LIMIT_DURATION_MAX_S, "60", NULL, "seconds the partition lasts", NET_AT(duration_s),
     PARAM_SHORTEN},
    {"--partition-ratio", "partition_ratio", PARAM_DOUBLE, 0.01, 0.99, "0.5", NULL,
     "share of nodes isolated: floor(N x R), at least 1", NET_AT(ratio), 0},
    {"--groups", "groups", PARAM_GROUPS, 0, 0, NULL, NULL,
     "the two sides by pod name instead of a ratio: a,b/c,d", NET_AT(groups), 0},
    {"--probe-url", "probe_url", PARAM_URL, 1, LIMIT_URL_LEN - 1,
     "http://{ip}:2379/health", NULL, "health URL template, {ip} = the node",
     NET_AT(probe_url), 0},
    {"--probe-field", "probe_field", PARAM_STRING, 0, 63, NULL, NULL,
     "JSON integer field that must advance, e.g. height", NET_AT(probe_field), 0},
    {"--stall-window", "stall_window_s", PARAM_DOUBLE, 1, LIMIT_WINDOW_MAX_S, NULL, NULL,
     "seconds without a rise of --probe-field that make a node unhealthy (default: "
     "3 x the interval between rises seen in the baseline, at least 1 s)",
     NET_AT(stall_window_s), 0},
    {"--probe-expect", "probe_expect", PARAM_UINT, LIMIT_HTTP_STATUS_MIN,
     LIMIT_HTTP_STATUS_MAX, "200", NULL, "expected HTTP status", NET_AT(probe_expect), 0},
    PARAM_ROW_PROBE_INTERVAL(struct net_params, probe_interval_ms, "200", "probe period"),
    {"--probe-timeout-ms", "probe_timeout_ms", PARAM_UINT, LIMIT_TIMEOUT_MIN_MS,
     LIMIT_TIMEOUT_MAX_MS, "1000", NULL, "a probe slower than this fails",
     NET_AT(probe_timeout_ms), 0},
    {"--check-port", "check_port", PARAM_UINT, LIMIT_PORT_MIN, LIMIT_PORT_MAX, "2380",
     NULL, "port of the node-to-node TCP checks", NET_AT(check_port), 0},
    PARAM_ROW_WINDOW(struct net_params, window_s),
    PARAM_ROW_RECOVERY_TIMEOUT(struct net_params, recovery_timeout_s),
    PARAM_ROW_LEASE(struct net_params, lease_ms),
    PARAM_ROW_BASELINE(struct net_params, baseline_s, "2"),
    PARAM_ROWS_STOP,
    PARAM_ROW_END,
};

/* --groups names both sides, so a ratio would be ignored; a stall window
 * is about a --probe-field that must advance. */
static const struct param_rule net_rules[] = {
    {"groups", PARAM_EXCLUDES, "partition_ratio", NULL},
    {"stall_window_s", PARAM_NEEDS, "probe_field", NULL},
    PARAM_RULE_END,
};

struct net_plan {
	struct net_params  p;
	struct scen_target t[SCEN_MAX_TARGETS];
	int                side[SCEN_MAX_TARGETS];
	scen_id            probe_id[SCEN_MAX_TARGETS];
	size_t             n;
	bool               explicit_groups;
};

static const char *const net_side_names[2][2] = {{"kept", "isolated"}, {"a", "b"}};

static const char *
net_side_name(const struct net_plan *pl, int side)
{
	return net_side_names[pl->explicit_groups][side];
}

static int
net_find_pod(const struct scen_target *t, size_t n, const char *pod)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].pod, pod) == 0)
			return (int)i;
	return -1;
}

/* --groups a,b/c,d: the two sides named (their shape was checked with the
 * parameters); nodes named nowhere stay out. */
static chaos_err
net_sides_from_groups(struct net_plan *pl, const json_t *groups, chaos_why *why)
{
	struct scen_target all[SCEN_MAX_TARGETS];
	size_t             n_all = pl->n;
	const json_t      *side, *pod;
	size_t             s, k;

	memcpy(all, pl->t, pl->n * sizeof(all[0]));
	pl->n = 0;
	json_array_foreach(groups, s, side)
	{
		json_array_foreach(side, k, pod)
		{
			int idx = net_find_pod(all, n_all, json_string_value(pod));
			if (idx < 0)
				return chaos_fail(
				    why, CHAOS_EINVAL,
				    "groups: '%s' is not a connected blockchain "
				    "agent; see chaosctl agents",
				    json_string_value(pod));
			pl->side[pl->n] = (int)s;
			pl->t[pl->n++]  = all[idx];
		}
	}
	pl->explicit_groups = true;
	return CHAOS_OK;
}

/* floor(N x ratio) nodes, at least one, are isolated: the last ones by pod
 * name, so a plan is repeatable. */
static chaos_err
net_sides_from_ratio(struct net_plan *pl, chaos_why *why)
{
	size_t k = (size_t)floor((double)pl->n * pl->p.ratio);

	if (k == 0)
		k = 1;
	if (pl->n < 2)
		return chaos_fail(
		    why, CHAOS_EINVAL,
		    "%zu blockchain node%s found: a partition needs at least 2 "
		    "(check --namespace and chaosctl agents)",
		    pl->n, pl->n == 1 ? "" : "s");
	if (k >= pl->n)
		return chaos_fail(
		    why, CHAOS_EINVAL,
		    "ratio %.2f of %zu nodes isolates all of them; the other "
		    "side would be empty (use a smaller --partition-ratio)",
		    pl->p.ratio, pl->n);
	for (size_t i = 0; i < pl->n; i++)
		pl->side[i] = i >= pl->n - k ? NET_SIDE_ISOLATED : NET_SIDE_KEPT;
	return CHAOS_OK;
}

static size_t
net_peers(const struct net_plan *pl, size_t i, char (*buf)[64], char **ptrs)
{
	size_t n = 0;

	for (size_t k = 0; k < pl->n; k++) {
		if (pl->side[k] == pl->side[i])
			continue;
		snprintf(buf[n], sizeof(buf[0]), "%s/32", pl->t[k].ip);
		ptrs[n] = buf[n];
		n++;
	}
	return n;
}

static json_t *
net_plan_json(const struct net_plan *pl)
{
	json_t *nodes = json_array(), *rules = json_array(), *o;

	for (size_t i = 0; i < pl->n; i++) {
		char    buf[SCEN_MAX_TARGETS][64], *peers[SCEN_MAX_TARGETS];
		size_t  np     = net_peers(pl, i, buf, peers);
		json_t *jpeers = json_array();
		char    url[512];
		for (size_t k = 0; k < np; k++)
			json_array_append_new(jpeers, json_string(peers[k]));
		scen_expand(pl->p.probe_url, pl->t[i].ip, url, sizeof(url));
		json_array_append_new(
		    nodes,
		    json_pack("{s:s,s:s,s:s,s:s,s:s}", "pod", pl->t[i].pod, "agent",
		              pl->t[i].agent_id, "ip", pl->t[i].ip, "side",
		              net_side_name(pl, pl->side[i]), "probe", url));
		json_array_append_new(
		    rules,
		    json_pack("{s:s,s:s,s:s,s:o,s:s}", "agent", pl->t[i].agent_id,
		              "fault", "partition", "direction", "both", "peers", jpeers,
		              "exempt", "controller address, loopback"));
	}
	o = json_pack("{s:s,s:s,s:f,s:f,s:i,s:f,s:i,s:o,s:o}", "scenario",
	              "network_partition", "namespace", pl->p.ns, "partition_duration_s",
	              pl->p.duration_s, "partition_ratio", pl->p.ratio, "lease_ms",
	              (int)pl->p.lease_ms, "stability_window_s", pl->p.window_s,
	              "probe_interval_ms", (int)pl->p.probe_interval_ms, "nodes", nodes,
	              "rules", rules);
	json_object_set_new(o, "selector", json_string(pl->p.selector));
	return o;
}

static chaos_err
net_plan(struct run *r, const void *params, void **plan, json_t **plan_json,
         chaos_why *why)
{
	const struct net_params *in = params;
	struct net_plan         *pl = calloc(1, sizeof(*pl));
	chaos_err                rv;

	if (pl == NULL)
		return CHAOS_ENOMEM;
	pl->p        = *in;
	pl->p.groups = NULL; /* owned by the parameters; used only here */
	pl->n = scen_select(r, pl->p.ns, pl->p.selector, CHAOS__V1__ROLE__ROLE_BLOCKCHAIN,
	                    pl->t, SCEN_MAX_TARGETS);
	if (pl->n == 0) {
		rv = scen_fail_no_agents(r, pl->p.ns, pl->p.selector, why,
		                         "no connected blockchain agent");
		goto fail;
	}
	rv = in->groups != NULL ? net_sides_from_groups(pl, in->groups, why)
	                        : net_sides_from_ratio(pl, why);
	if (rv != CHAOS_OK)
		goto fail;
	*plan_json = net_plan_json(pl);
	*plan      = pl;
	return CHAOS_OK;
fail:
	free(pl);
	return rv;
}

/* What one run measured; times on the controller clock (us). */
struct net_meas {
	int64_t             test_start, test_end;
	uint32_t            stall_ms;     /* the advance window in force; 0: none */
	double              rise_gap_ms;  /* median interval between rises; NAN */
	const char         *stall_source; /* "flag", "baseline" or "default" */
	int64_t             t_fault, t_restore, spread_us;
	bool                applied;
	char                restore_why[300]; /* why t_restore is unknown */
	json_t             *conn_before, *conn_during, *conn_after;
	struct scen_outcome out;
};

static bool
net_start_probes(struct run *r, struct net_plan *pl, struct net_meas *m)
{
	Chaos__V1__ProbeSpec spec = CHAOS__V1__PROBE_SPEC__INIT;
	char                 err[512];

	spec.kind              = CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP;
	spec.target            = pl->p.probe_url;
	spec.interval_ms       = pl->p.probe_interval_ms;
	spec.timeout_ms        = pl->p.probe_timeout_ms;
	spec.has_expect_status = true;
	spec.expect_status     = pl->p.probe_expect;
	if (pl->p.probe_field[0] != '\0')
		spec.json_field = pl->p.probe_field;
	spec.has_advance_window_ms = m->stall_ms > 0;
	spec.advance_window_ms     = m->stall_ms;
	if (scen_start_probes(r, pl->t, pl->n, "health", &spec, pl->probe_id, err,
	                      sizeof(err)))
		return true;
	scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
	          "probes did not start: %s", err);
	return false;
}

/* Steady state before any fault: every node's latest sample healthy. */
static bool
net_steady(struct run *r, struct net_plan *pl, struct net_meas *m)
{
	int64_t until = clk_mono_us() + (int64_t)(pl->p.baseline_s * 1e6) +
	    2 * (int64_t)pl->p.probe_interval_ms * 1000;

	run_progress(r, "baseline: probing %zu nodes for %.1f s", pl->n,
	             pl->p.baseline_s);
	if (!scen_hold(r, pl->t, pl->n, until)) {
		scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED, "aborted: %s",
		          run_abort_reason(r));
		return false;
	}
	for (size_t i = 0; i < pl->n; i++) {
		char why[160];
		if (!scen_probe_steady(r, pl->probe_id[i], why, sizeof(why))) {
			scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_SKIPPED,
			          "not in steady state before the fault: %s is not "
			          "healthy: %s (no fault was applied)",
			          pl->t[i].pod, why);
			return false;
		}
	}
	return true;
}

/* Median interval (ms) between rises of the watched field in the baseline
 * samples of every node; NAN with fewer than two rises. */
static double
net_rise_gap_ms(struct run *r, const struct net_plan *pl)
{
	double gaps[1024];
	size_t n_gaps = 0;

	for (size_t i = 0; i < pl->n; i++) {
		struct obs_sample *s = NULL;
		size_t             n = obs_samples(run_obs(r), pl->probe_id[i], &s);
		int64_t            last_rise = 0, last_v = 0;
		bool               seen = false;
		for (size_t k = 0; k < n && n_gaps < 1024; k++) {
			if (!s[k].has_value)
				continue;
			if (seen && s[k].value > last_v) {
				if (last_rise > 0)
					gaps[n_gaps++] =
					    (double)(s[k].t_us - last_rise) / 1000.0;
				last_rise = s[k].t_us;
			}
			seen = true, last_v = s[k].value;
		}
		free(s);
	}
	return n_gaps >= 2 && mttr_percentile(gaps, n_gaps, 50, &gaps[0]) ? gaps[0] : NAN;
}

/* How long the field may stand still: the flag, else a few times the
 * interval between rises the baseline saw (never under 1 s), else the
 * agent's default. The probes restart with it before the fault. */
static bool
net_tune_stall(struct run *r, struct net_plan *pl, struct net_meas *m)
{
	char err[512];

	m->rise_gap_ms = NAN;
	if (pl->p.probe_field[0] == '\0' || pl->p.stall_window_s > 0)
		return true;
	m->rise_gap_ms = net_rise_gap_ms(r, pl);
	if (isnan(m->rise_gap_ms)) {
		m->stall_source = "default: fewer than two rises in the baseline";
		return true;
	}
	m->stall_ms =
	    (uint32_t)fmax(NET_STALL_MIN_MS, ceil(NET_STALL_FACTOR * m->rise_gap_ms));
	m->stall_source = "baseline";
	run_progress(r,
	             "%s rises every %.0f ms: a node standing still %u ms is unhealthy",
	             pl->p.probe_field, m->rise_gap_ms, m->stall_ms);
	scen_stop_probes(r, pl->t, pl->n, pl->probe_id);
	/* a first sample of each probe before the fault: the window counts
	 * from a value seen, not from the fault */
	if (net_start_probes(r, pl, m))
		return scen_hold(r, pl->t, pl->n,
		                 clk_mono_us() +
		                     2 * (int64_t)pl->p.probe_interval_ms * 1000) ||
		    (scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED,
		               "aborted: %s", run_abort_reason(r)),
		     false);
	snprintf(err, sizeof(err), "%s", m->out.failure);
	scen_fail(&m->out, m->out.state,
	          "restarting the probes with the stall window: %s", err);
	return false;
}

static bool
net_apply(struct run *r, struct net_plan *pl, struct net_meas *m)
{
	Chaos__V1__FaultSpec      specs[SCEN_MAX_TARGETS], *sp[SCEN_MAX_TARGETS];
	Chaos__V1__PartitionFault parts[SCEN_MAX_TARGETS];
	char                      ids[SCEN_MAX_TARGETS][SCEN_ID_LEN];
	char                      buf[SCEN_MAX_TARGETS][SCEN_MAX_TARGETS][64];
	char                     *peers[SCEN_MAX_TARGETS][SCEN_MAX_TARGETS];
	char                      err[512] = "";
	/* The agents revert by themselves at the latest here, whatever happens
	 * to the controller: the partition plus a margin for the revert. */
	int64_t hard_end = clk_now_us() + (int64_t)((pl->p.duration_s + 30) * 1e6);

	for (size_t i = 0; i < pl->n; i++) {
		chaos__v1__partition_fault__init(&parts[i]);
		parts[i].n_peers       = net_peers(pl, i, buf[i], peers[i]);
		parts[i].peers         = peers[i];
		parts[i].has_direction = true;
		parts[i].direction     = CHAOS__V1__DIRECTION__DIRECTION_BOTH;
		scen_make_id(ids[i], r, "partition", pl->t[i].pod);
		chaos__v1__fault_spec__init(&specs[i]);
		specs[i].fault_id        = ids[i];
		specs[i].lease_ms        = pl->p.lease_ms;
		specs[i].hard_end_ctl_us = hard_end;
		specs[i].kind_case       = CHAOS__V1__FAULT_SPEC__KIND_PARTITION;
		specs[i].partition       = &parts[i];
		sp[i]                    = &specs[i];
	}
	m->applied = true; /* revert even a partial apply */
	if (!scen_apply(r, pl->t, pl->n, sp, &m->t_fault, &m->spread_us, err,
	                sizeof(err))) {
		scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
		          "partition not applied: %s", err);
		return false;
	}
	run_progress(r, "partition applied on %zu nodes (spread %.1f ms)", pl->n,
	             (double)m->spread_us / 1000.0);
	return true;
}

static bool
net_hold(struct run *r, struct net_plan *pl, struct net_meas *m)
{
	int64_t start = clk_mono_us(), dur = (int64_t)(pl->p.duration_s * 1e6);

	if (!scen_hold(r, pl->t, pl->n, start + dur / 2))
		goto aborted;
	m->conn_during = scen_conncheck(r, pl->t, pl->n, pl->p.check_port, "during");
	if (!scen_hold(r, pl->t, pl->n, start + dur))
		goto aborted;
	return true;
aborted:
	scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED, "aborted: %s",
	          run_abort_reason(r));
	return false;
}

/* Recovered when every node still with its agent has a healthy run lasting
 * the stability window after the restore. */
static bool
net_all_recovered(struct run *r, void *plan, void *meas)
{
	struct net_plan *pl   = plan;
	struct net_meas *m    = meas;
	struct mttr_rule rule = mttr_rule_for(pl->p.window_s, pl->p.probe_interval_ms,
	                                      pl->p.probe_timeout_ms);

	if (!scen_restore_known(r, pl->t, pl->n, &m->t_restore, m->restore_why,
	                        sizeof(m->restore_why)))
		return false; /* a lease still holds the partition somewhere */
	for (size_t i = 0; i < pl->n; i++) {
		struct mttr_sample *s = NULL;
		size_t              n;
		int64_t             t;
		bool                ok;
		if (pl->t[i].lost)
			continue;
		n  = scen_mttr_samples(r, pl->probe_id[i], &s);
		ok = mttr_recovered_at(s, n, m->t_restore, &rule, &t);
		free(s);
		if (!ok)
			return false;
	}
	return true;
}

static void
net_wait_recovery(struct run *r, struct net_plan *pl, struct net_meas *m)
{
	run_progress(r, "healed; waiting for every node to be healthy for %.1f s",
	             pl->p.window_s);
	scen_wait_recovery(r, pl->t, pl->n, pl->p.recovery_timeout_s, 200000,
	                   net_all_recovered, pl, m, "the network", &m->out);
}

static void
net_revert(struct run *r, struct net_plan *pl, struct net_meas *m)
{
	scen_check_lost(r, pl->t, pl->n);
	scen_revert_end(r, pl->t, pl->n, "partition", &m->t_restore, m->restore_why,
	                sizeof(m->restore_why));
}

static json_t *net_result(struct run *r, struct net_plan *pl, struct net_meas *m);

/* The side meant to keep serving: the kept one, or with --groups the larger
 * (a on a tie). Its probes are what a user of the platform would see. */
static int
net_serving_side(const struct net_plan *pl)
{
	size_t a = 0;

	if (!pl->explicit_groups)
		return NET_SIDE_KEPT;
	for (size_t i = 0; i < pl->n; i++)
		a += pl->side[i] == 0;
	return 2 * a >= pl->n ? 0 : 1;
}

/* --abort-error-rate: the serving side's probes since the partition. */
static bool
net_user_requests(struct run *r, void *plan, void *meas, uint64_t *ok, uint64_t *total)
{
	const struct net_plan *pl = plan;
	const struct net_meas *m  = meas;
	int                    s  = net_serving_side(pl);

	*ok = *total = 0;
	if (m->t_fault <= 0)
		return false;
	for (size_t i = 0; i < pl->n; i++) {
		size_t h = 0, t = 0;
		if (pl->side[i] != s)
			continue;
		scen_count(r, pl->probe_id[i], m->t_fault, clk_now_us() + 1, &h, &t);
		*ok += h, *total += t;
	}
	return true;
}

/* The result so far, for a checkpoint: as if the run ended now. */
static json_t *
net_partial(struct run *r, void *plan, void *meas)
{
	struct net_meas m = *(const struct net_meas *)meas;

	m.test_end = clk_now_us();
	return net_result(r, plan, &m);
}

static int
net_execute(struct run *r, void *plan, json_t **result)
{
	struct net_plan *pl = plan;
	struct net_meas  m  = {.out.state = CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED};

	m.test_start   = clk_now_us();
	m.stall_ms     = (uint32_t)(pl->p.stall_window_s * 1000.0);
	m.stall_source = m.stall_ms > 0 ? "flag" : "default";
	m.rise_gap_ms  = NAN;
	run_set_checkpoint(r, net_partial, pl, &m);
	run_set_user_requests(r, net_user_requests, pl, &m);
	if (!net_start_probes(r, pl, &m))
		goto out;
	if (!net_steady(r, pl, &m) || !net_tune_stall(r, pl, &m))
		goto stop;
	m.conn_before = scen_conncheck(r, pl->t, pl->n, pl->p.check_port, "before");
	if (net_apply(r, pl, &m))
		net_hold(r, pl, &m);
	net_revert(r, pl, &m);
	if (m.out.state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED)
		net_wait_recovery(r, pl, &m);
	if (!run_aborted(r)) /* an abort wants out fast; nothing to learn after it */
		m.conn_after = scen_conncheck(r, pl->t, pl->n, pl->p.check_port, "after");
stop:
	scen_stop_probes(r, pl->t, pl->n, pl->probe_id);
out:
	m.test_end = clk_now_us();
	if (scen_check_lost(r, pl->t, pl->n) > 0 &&
	    m.out.state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED)
		scen_fail(
		    &m.out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
		    "an agent was lost during the run; its fault is reported as lost");
	*result = net_result(r, pl, &m);
	json_decref(m.conn_before);
	json_decref(m.conn_during);
	json_decref(m.conn_after);
	return m.out.state;
}

/* A node healthy from the restore on: its first sample after the restore
 * is no recovery, and counting it as one would pull the MTTR down. */
#define NET_NOT_DOWN                                                                     \
	"not down at the restore or after it: nothing to recover, not counted in "       \
	"the mttr"

/* Per-node figures that the result and the summary both need. */
struct net_node_meas {
	bool   recovered;
	bool   was_down; /* at the restore or after: else nothing to recover */
	double recovery_s;
	size_t healthy_during, total_during;
	size_t ok_all, total_all;
};

static void
net_node_measure(struct run *r, const struct net_plan *pl, const struct net_meas *m,
                 size_t i, struct net_node_meas *nm)
{
	struct mttr_sample *s = NULL;
	size_t              n = scen_mttr_samples(r, pl->probe_id[i], &s);
	int64_t             t;
	struct mttr_rule    rule = mttr_rule_for(pl->p.window_s, pl->p.probe_interval_ms,
	                                         pl->p.probe_timeout_ms);

	memset(nm, 0, sizeof(*nm));
	if (m->t_fault > 0)
		mttr_count(s, n, m->t_fault, m->t_restore, &nm->healthy_during,
		           &nm->total_during);
	mttr_count(s, n, m->test_start, m->test_end + 1, &nm->ok_all, &nm->total_all);
	if (m->t_fault > 0 && m->t_restore > 0 && !pl->t[i].lost &&
	    mttr_recovered_at(s, n, m->t_restore, &rule, &t)) {
		nm->recovered  = true;
		nm->was_down   = mttr_was_down(s, n, m->t_restore, t);
		nm->recovery_s = (double)(t - m->t_restore) / 1e6;
	}
	free(s);
}

static const char *
net_outcome(struct run *r, const struct scen_target *t, int64_t *packets,
            bool *has_packets)
{
	struct obs_fault_event ev[8];
	size_t n = t->fault_id[0] ? obs_fault_events(run_obs(r), t->fault_id, ev, 8) : 0;
	const char *outcome = t->fault_id[0] ? "not confirmed" : "not applied";

	*has_packets = false;
	if (t->lost)
		return "lost";
	for (size_t i = 0; i < n; i++) {
		if (ev[i].phase == CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED)
			outcome = "reverted";
		else if (ev[i].phase == CHAOS__V1__FAULT_PHASE__FAULT_PHASE_EXPIRED)
			outcome = "expired";
		else if (ev[i].phase == CHAOS__V1__FAULT_PHASE__FAULT_PHASE_FAILED)
			outcome = "failed";
		if (ev[i].has_packets) {
			*has_packets = true;
			*packets     = (int64_t)ev[i].packets;
		}
	}
	return outcome;
}

static json_t *
net_node_json(struct run *r, const struct net_plan *pl, const struct net_meas *m,
              size_t i, const struct net_node_meas *nm)
{
	const struct scen_target *t       = &pl->t[i];
	int64_t                   packets = 0;
	bool                      has_packets;
	const char               *outcome = net_outcome(r, t, &packets, &has_packets);
	json_t                   *o       = json_object();

	json_object_set_new(o, "pod", json_string(t->pod));
	json_object_set_new(o, "agent", json_string(t->agent_id));
	json_object_set_new(o, "ip", json_string(t->ip));
	json_object_set_new(o, "side", json_string(net_side_name(pl, pl->side[i])));
	json_object_set_new(o, "fault_outcome", json_string(outcome));
	json_object_set_new(o, "packets_dropped",
	                    has_packets ? json_integer(packets) : json_null());
	report_seconds(o, "recovery_time", nm->recovered && nm->was_down, nm->recovery_s,
	               t->lost ? "agent lost during the run: its fault died with it, not "
	                         "counted as recovered"
	                   : m->t_fault <= 0 || m->t_restore == 0
	                   ? scen_unmeasured_why(m->t_fault, m->restore_why)
	                   : nm->recovered ? NET_NOT_DOWN
	                                   : "no healthy run as long as the stability "
	                                     "window after the restore");
	json_object_set_new(
	    o, "consensus_during",
	    json_pack("{s:I,s:I,s:o}", "healthy", (json_int_t)nm->healthy_during, "total",
	              (json_int_t)nm->total_during, "ratio",
	              nm->total_during ? json_real((double)nm->healthy_during /
	                                           (double)nm->total_during)
	                               : json_null()));
	report_time(o, "lost_at", t->lost ? t->lost_at_us : 0);
	return o;
}

/* Did each side keep serving? A side kept serving when every node on it
 * answered healthy in at least 90 % of its samples during the partition. */
/* Did each side keep serving (NET_KEPT_SERVING, over the side as a whole)? */
static json_t *
net_sides_json(const struct net_plan *pl, const struct net_node_meas *nm)
{
	json_t *o = json_object();

	for (int side = 0; side < 2; side++) {
		size_t  h = 0, tot = 0;
		json_t *pods = json_array();
		for (size_t i = 0; i < pl->n; i++) {
			if (pl->side[i] != side)
				continue;
			json_array_append_new(pods, json_string(pl->t[i].pod));
			h += nm[i].healthy_during, tot += nm[i].total_during;
		}
		json_object_set_new(
		    o, net_side_name(pl, side),
		    json_pack("{s:o,s:I,s:I,s:o}", "pods", pods, "healthy", (json_int_t)h,
		              "total", (json_int_t)tot, "kept_serving",
		              tot > 0 ? json_boolean((double)h >=
		                                     NET_KEPT_SERVING * (double)tot)
		                      : json_null()));
	}
	return o;
}

/* Every probe sample of the serving side, for the SLO; those of the side
 * cut off on purpose apart. */
static json_t *
net_user_json(const struct net_plan *pl, const struct net_node_meas *nm)
{
	size_t ok = 0, tot = 0, xok = 0, xtot = 0;
	int    s = net_serving_side(pl);

	for (size_t i = 0; i < pl->n; i++) {
		if (pl->side[i] == s)
			ok += nm[i].ok_all, tot += nm[i].total_all;
		else
			xok += nm[i].ok_all, xtot += nm[i].total_all;
	}
	return scen_user_requests(ok, tot,
	                          "health probes of the nodes on the side meant to keep "
	                          "serving, over the whole run",
	                          xok, xtot,
	                          "health probes of the nodes cut off on purpose");
}

static void
net_summary(json_t *o, const struct net_plan *pl, const struct net_meas *m,
            const struct net_node_meas *nm, struct run *r)
{
	double  rec[SCEN_MAX_TARGETS], mean = 0, worst = 0;
	size_t  n_rec = 0, ok = 0, total = 0;
	bool    all       = true;
	int64_t first_bad = 0;

	for (size_t i = 0; i < pl->n; i++) {
		struct mttr_sample *s = NULL;
		size_t              n = scen_mttr_samples(r, pl->probe_id[i], &s);
		int64_t             t;
		if (m->t_fault > 0 && mttr_first_unhealthy(s, n, m->t_fault, &t) &&
		    (first_bad == 0 || t < first_bad))
			first_bad = t;
		free(s);
		ok += nm[i].ok_all, total += nm[i].total_all;
		if (pl->t[i].lost)
			continue;
		if (!nm[i].recovered)
			all = false;
		else if (nm[i].was_down) /* else nothing to recover: no figure */
			rec[n_rec++] = nm[i].recovery_s;
	}
	for (size_t i = 0; i < n_rec; i++)
		worst = rec[i] > worst ? rec[i] : worst;
	bool        have = all && n_rec > 0 && mttr_mean(rec, n_rec, &mean);
	const char *why  = m->t_fault <= 0 || m->t_restore == 0
	     ? scen_unmeasured_why(m->t_fault, m->restore_why)
	     : m->out.failure[0] ? m->out.failure
	     : all               ? "no node was down at the restore or after it: "
	                           "nothing to recover"
	                         : "no node recovered";
	report_seconds(o, "mttr", have, mean, why);
	report_seconds(o, "recovery_time", have, worst, why);
	report_seconds(
	    o, "detection_time", first_bad > 0, (double)(first_bad - m->t_fault) / 1e6,
	    m->t_fault > 0 ? "no probe saw the partition" : "no fault was applied");
	json_object_set_new(o, "success_count", json_integer((json_int_t)ok));
	json_object_set_new(o, "error_count", json_integer((json_int_t)(total - ok)));
}

static json_t *
net_result(struct run *r, struct net_plan *pl, struct net_meas *m)
{
	struct net_node_meas nm[SCEN_MAX_TARGETS];
	json_t *o = json_object(), *nodes = json_array(), *affected = json_array();
	json_t *samples       = json_object(), *timing;
	struct scen_clock clk = {0};

	scen_clock_targets(r, pl->t, pl->n, &clk);

	for (size_t i = 0; i < pl->n; i++) {
		net_node_measure(r, pl, m, i, &nm[i]);
		json_array_append_new(nodes, net_node_json(r, pl, m, i, &nm[i]));
		json_object_set_new(samples, pl->t[i].pod,
		                    scen_samples_json(r, pl->probe_id[i]));
		if (pl->side[i] == NET_SIDE_ISOLATED)
			json_array_append_new(affected, json_string(pl->t[i].pod));
	}
	json_object_set_new(o, "scenario", json_string("network_partition"));
	json_object_set_new(o, "run_id", json_integer((json_int_t)run_id(r)));
	json_object_set_new(
	    o, "failure", m->out.failure[0] ? json_string(m->out.failure) : json_null());
	report_time(o, "test_start", m->test_start);
	report_time(o, "test_end", m->test_end);
	report_time(o, "partition_start", m->t_fault);
	scen_window_end(o, "partition_end", m->t_fault, m->t_restore, m->restore_why);
	json_object_set_new(o, "affected_nodes", affected);
	net_summary(o, pl, m, nm, r);
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "sides", net_sides_json(pl, nm));
	json_object_set_new(o, "user_requests", net_user_json(pl, nm));
	json_object_set_new(o, "connectivity",
	                    json_pack("{s:i,s:O?,s:O?,s:O?}", "port",
	                              (int)pl->p.check_port, "before", m->conn_before,
	                              "during", m->conn_during, "after", m->conn_after));
	json_object_set_new(o, "fault_spread_ms",
	                    m->t_fault > 0 ? json_real((double)m->spread_us / 1000.0)
	                                   : json_null());
	scen_clock_json(o, "clock_error_ms", &clk);
	if (pl->p.probe_field[0] != '\0')
		json_object_set_new(
		    o, "stall_detection",
		    json_pack("{s:s,s:o,s:s,s:o,s:f,s:f}", "field", pl->p.probe_field,
		              "window_ms",
		              json_integer(m->stall_ms ? m->stall_ms
		                                       : LIMIT_ADVANCE_WINDOW_DEFAULT_MS),
		              "source", m->stall_source ? m->stall_source : "default",
		              "baseline_rise_interval_ms",
		              isnan(m->rise_gap_ms) ? json_null()
		                                    : json_real(m->rise_gap_ms),
		              "factor", NET_STALL_FACTOR, "min_ms", NET_STALL_MIN_MS));
	timing = json_pack(
	    "{s:i,s:s}", "probe_interval_ms", (int)pl->p.probe_interval_ms, "note",
	    "recovery times are quantised by the probe interval and placed on the "
	    "controller's clock within the clock error bound");
	clk.worst_ms += (double)pl->p.probe_interval_ms;
	scen_clock_json(timing, "precision_ms", &clk);
	json_object_set_new(o, "timing", timing);
	json_object_set_new(o, "parameters", net_plan_json(pl));
	json_object_set_new(o, "samples", samples);
	return o;
}

/* ---- what the orchestrator keeps of a result, and its rule ---- */

/* details.sides = {name: {nodes, kept_serving, healthy, total}}. */
static void
net_digest(const json_t *result, json_t *details)
{
	const json_t *sides = json_object_get(result, "sides"), *side, *node;
	const json_t *nodes = json_object_get(result, "nodes");
	const char   *name;
	json_t       *out;
	size_t        i;

	if (!json_is_object(sides))
		return;
	out = json_object();
	json_object_foreach((json_t *)sides, name, side)
	{
		json_int_t n = 0;
		json_array_foreach(nodes, i, node) n += entry_is(node, "side", name);
		if (!json_is_array(nodes))
			n = (json_int_t)json_array_size(json_object_get(side, "pods"));
		json_object_set_new(out, name,
		                    json_pack("{s:I,s:O?,s:O?,s:O?}", "nodes", n,
		                              "kept_serving",
		                              json_object_get(side, "kept_serving"),
		                              "healthy", json_object_get(side, "healthy"),
		                              "total", json_object_get(side, "total")));
	}
	json_object_set_new(details, "sides", out);
}

/* The side with more nodes than all others together; NULL if none. */
static const json_t *
net_majority_side(const json_t *sides, json_int_t *n_major, json_int_t *n_all)
{
	const json_t *side, *major = NULL;
	const char   *name;
	json_int_t    best = -1;

	*n_all = 0;
	json_object_foreach((json_t *)sides, name, side)
	{
		json_int_t n = json_integer_value(json_object_get(side, "nodes"));
		*n_all += n;
		if (n > best)
			best = n, major = side;
	}
	*n_major = best;
	return major != NULL && 2 * best > *n_all ? major : NULL;
}

/* The majority side of a minority partition should keep consensus: the
 * run where it answered the smallest share of its probes, when that run's
 * majority did not keep serving. */
static void
net_recommend(const json_t *entries, json_t *recs)
{
	const json_t *e, *w = NULL, *side, *w_side = NULL;
	double        worst = 2, h, tot;
	json_int_t    major = 0, all = 0, w_major = 0, w_all = 0;
	size_t        i;

	json_array_foreach(entries, i, e)
	{
		const json_t *sides =
		    json_object_get(json_object_get(e, "details"), "sides");
		if (!entry_is(e, "scenario", "network_partition") ||
		    entry_is(e, "outcome", "skipped") ||
		    (side = net_majority_side(sides, &major, &all)) == NULL ||
		    !json_is_false(json_object_get(side, "kept_serving")) ||
		    !entry_num(side, "healthy", &h) || !entry_num(side, "total", &tot) ||
		    tot <= 0 || h / tot >= worst)
			continue;
		worst = h / tot, w = e, w_side = side, w_major = major, w_all = all;
	}
	if (w == NULL)
		return;
	entry_rec(recs, "majority_lost_consensus", "high", "network_partition",
	          worst * 100.0, NET_KEPT_SERVING * 100.0,
	          "During a minority partition (%lld of %lld nodes cut off, cycle %lld) "
	          "the majority side answered only %lld of %lld health probes (%.1f %%, "
	          "kept serving needs %g %%): the majority should keep consensus; check "
	          "election timeout and heartbeat settings, and that clients fail over "
	          "to majority nodes.",
	          (long long)(w_all - w_major), (long long)w_all,
	          json_integer_value(json_object_get(w, "cycle")),
	          json_integer_value(json_object_get(w_side, "healthy")),
	          json_integer_value(json_object_get(w_side, "total")), worst * 100.0,
	          NET_KEPT_SERVING * 100.0);
}

static const char *const net_lanes[] = {"samples", NULL};
static const char *const net_bulky[] = {"nodes", "sides", "connectivity", "timing", NULL};

const struct scenario scenario_network = {
    .cli         = "network",
    .name        = "network_partition",
    .summary     = "cut a share of the blockchain nodes off from the rest, both ways",
    .params      = net_params_table,
    .params_size = sizeof(struct net_params),
    .rules       = net_rules,
    .shape       = {.window = "partition",
                    .lanes  = net_lanes,
                    .bulky  = net_bulky,
                    .digest = net_digest},
    .recommend   = net_recommend,
    .plan        = net_plan,
    .execute     = net_execute,
    .plan_free   = free,
};
