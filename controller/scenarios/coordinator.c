// SPDX-License-Identifier: MIT
/*
 * Scenario "coordinator_outage": every coordinator is taken down (its
 * process killed, its pod deleted through the Kubernetes API, or its port
 * blackholed) while open-loop load runs against the API from agents outside
 * the coordinator pods, in three phases: baseline, outage, recovery.
 * Recovery is measured from the moment of the fault until the API is healthy
 * for the stability window.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/hist.h"
#include "common/url.h"
#include "controller/k8s.h"
#include "controller/report/entry.h"
#include "controller/report/mttr.h"
#include "controller/report/report.h"
#include "controller/run.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/util.h"

/* Choice indexes of --method, in the table's order. */
enum co_method { CO_KILL, CO_BLACKHOLE, CO_POD_DELETE };

/* The coordinator pods in the Kubernetes API when no --selector is given. */
#define CO_KUBE_SELECTOR "app=coordinator"

/* A coordinator recovery slower than this earns a recommendation. */
#define CO_SLOW_S 60.0

struct co_params {
	char     ns[LIMIT_ID_LEN + 1];
	int      method;
	double   outage_s, load_s, window_s, recovery_timeout_s;
	uint32_t rate, concurrency, api_port, interval_ms, lease_ms, timeout_ms;
	char     load_path[256], probe_path[256], process[64], api_url[512];
	char     selector[256], kube_ns[LIMIT_ID_LEN + 1], kube_api[512];
	char     kube_token[512], kube_ca[512];
	bool     kube_http;
};

#define CO_AT(m) PARAM_AT(struct co_params, m)

static const struct param co_params_table[] = {
    PARAM_ROW_NAMESPACE(struct co_params, ns),
    /* no default in the row: chaosctl's co_finish picks it (a bare
     * params_json gets the first choice, kill) */
    {"--method", "method", PARAM_CHOICE, 0, 16, NULL, "kill|blackhole|pod-delete",
     "how to take the coordinators down (default: pod-delete with a Kubernetes API, "
     "i.e. --kube-api or chaosctl in a pod; else kill)",
     CO_AT(method), 0},
    {"--outage-duration", "outage_duration_s", PARAM_DOUBLE, LIMIT_DURATION_MIN_S,
     LIMIT_DURATION_MAX_S, "60", NULL,
     "seconds a blackhole lasts (kill and pod-delete heal by themselves)",
     CO_AT(outage_s), PARAM_SHORTEN},
    {"--load-duration", "load_duration_s", PARAM_DOUBLE, 0, LIMIT_DURATION_MAX_S, "60",
     NULL, "seconds of load: half before the fault (baseline), half after recovery",
     CO_AT(load_s), PARAM_SHORTEN},
    {"--rate", "rate", PARAM_UINT, 1, LIMIT_LOAD_MAX_RATE, "50", NULL,
     "requests per second, open loop", CO_AT(rate), 0},
    {"--concurrency", "concurrency", PARAM_UINT, 1, LIMIT_LOAD_MAX_CONCURRENCY, "16",
     NULL, "requests in flight at most; a slot beyond it counts as late",
     CO_AT(concurrency), 0},
    {"--load-path", "load_path", PARAM_PATH, 1, 255, "/v1/marketplace/stats", NULL,
     "API route under load", CO_AT(load_path), 0},
    {"--probe-path", "probe_path", PARAM_PATH, 1, 255, "/health/ready", NULL,
     "readiness route", CO_AT(probe_path), 0},
    {"--api-port", "api_port", PARAM_UINT, LIMIT_PORT_MIN, LIMIT_PORT_MAX, "8080", NULL,
     "coordinator API port", CO_AT(api_port), 0},
    {"--api-url", "api_url", PARAM_URL, 0, 511, NULL, NULL,
     "the API's address (a Service) when no agent runs in the coordinator pods",
     CO_AT(api_url), 0},
    PARAM_ROW_PROBE_INTERVAL(struct co_params, interval_ms, "20",
                             "readiness probe period"),
    {"--request-timeout-ms", "request_timeout_ms", PARAM_UINT, LIMIT_TIMEOUT_MIN_MS,
     LIMIT_TIMEOUT_MAX_MS, "2000", NULL, "per-request timeout of the load",
     CO_AT(timeout_ms), 0},
    {"--process-name", "process_name", PARAM_STRING, 1, 63, "chaos-coordinator", NULL,
     "process the kill method signals", CO_AT(process), 0},
    PARAM_ROW_SELECTOR(struct co_params, selector,
                       "only coordinator pods with these labels (pod-delete: the "
                       "API's label selector, default " CO_KUBE_SELECTOR ")"),
    {"--kube-namespace", "kube_namespace", PARAM_NAME, 0, LIMIT_ID_LEN, NULL, NULL,
     "namespace of the coordinator pods (default: --namespace)", CO_AT(kube_ns),
     PARAM_NS},
    {"--kube-api", "kube_api", PARAM_URL, 0, 511, NULL, NULL,
     "Kubernetes API URL (default: in-cluster service account)", CO_AT(kube_api), 0},
    {"--kube-token-file", "kube_token_file", PARAM_STRING, 0, 511, NULL, NULL,
     "bearer token file", CO_AT(kube_token), 0},
    {"--kube-ca", "kube_ca", PARAM_STRING, 0, 511, NULL, NULL,
     "CA bundle of the API server", CO_AT(kube_ca), 0},
    {"--kube-allow-http", "kube_allow_http", PARAM_BOOL, 0, 0, "false", NULL,
     "accept an http:// API (only a test's fake server)", CO_AT(kube_http),
     PARAM_NO_FLAG},
    PARAM_ROW_WINDOW(struct co_params, window_s),
    PARAM_ROW_RECOVERY_TIMEOUT(struct co_params, recovery_timeout_s),
    PARAM_ROW_LEASE(struct co_params, lease_ms),
    PARAM_ROWS_STOP,
    PARAM_ROW_END,
};

/* Only a blackhole lasts (kill and pod-delete heal by themselves), only
 * kill signals a process, only pod-delete talks to the Kubernetes API. */
static const struct param_rule co_rules[] = {
    {"outage_duration_s", PARAM_ONLY_WITH, "method", "blackhole"},
    {"process_name", PARAM_ONLY_WITH, "method", "kill"},
    {"kube_namespace", PARAM_ONLY_WITH, "method", "pod-delete"},
    {"kube_api", PARAM_ONLY_WITH, "method", "pod-delete"},
    {"kube_token_file", PARAM_ONLY_WITH, "method", "pod-delete"},
    {"kube_ca", PARAM_ONLY_WITH, "method", "pod-delete"},
    {"kube_allow_http", PARAM_ONLY_WITH, "method", "pod-delete"},
    PARAM_RULE_END,
};

struct co_endpoint {
	char    base[512]; /* http://ip:port */
	char    name[254];
	size_t  loader; /* index in loaders */
	scen_id probe_id, load_id;
};

struct co_plan {
	struct co_params   p;
	char               method_name[16]; /* the --method word */
	struct scen_target coord[SCEN_MAX_TARGETS];
	size_t             n_coord;
	struct scen_target loaders[4];
	size_t             n_loaders;
	struct co_endpoint ep[SCEN_MAX_TARGETS];
	size_t             n_ep;
	struct k8s_client *k8s;
};

/* chaosctl: the default method is pod-delete where a Kubernetes API is at
 * hand (a flag or the in-cluster environment), kill otherwise (the
 * sandbox). An http:// API is accepted only as a test's fake server. */
static chaos_err
co_finish(json_t *params, chaos_why *why)
{
	const char      *api = json_string_value(json_object_get(params, "kube_api"));
	struct url_parts u;

	(void)why;
	if (json_object_get(params, "method") == NULL)
		json_object_set_new(
		    params, "method",
		    json_string(api != NULL || getenv("KUBERNETES_SERVICE_HOST") != NULL
		                    ? "pod-delete"
		                    : "kill"));
	if (api != NULL && url_parse(api, URL_WEB, &u, NULL) == CHAOS_OK &&
	    u.scheme == URL_HTTP)
		json_object_set_new(params, "kube_allow_http", json_true());
	return CHAOS_OK;
}

static size_t
co_select_loaders(struct run *r, const char *ns, struct scen_target *out, size_t cap)
{
	static const int roles[] = {CHAOS__V1__ROLE__ROLE_BLOCKCHAIN,
	                            CHAOS__V1__ROLE__ROLE_DATABASE,
	                            CHAOS__V1__ROLE__ROLE_NODE};
	size_t           n       = 0;

	for (size_t k = 0; k < sizeof(roles) / sizeof(roles[0]) && n < cap; k++)
		n += scen_select(r, ns, NULL, roles[k], out + n, cap - n);
	return n;
}

static void
co_endpoints(struct co_plan *pl)
{
	if (pl->p.api_url[0] != '\0' || pl->n_coord == 0) {
		snprintf(pl->ep[0].base, sizeof(pl->ep[0].base), "%s", pl->p.api_url);
		snprintf(pl->ep[0].name, sizeof(pl->ep[0].name), "api");
		pl->n_ep = pl->p.api_url[0] != '\0';
		return;
	}
	for (size_t i = 0; i < pl->n_coord; i++) {
		snprintf(pl->ep[i].base, sizeof(pl->ep[i].base), "http://%s:%u",
		         pl->coord[i].ip, pl->p.api_port);
		snprintf(pl->ep[i].name, sizeof(pl->ep[i].name), "%s", pl->coord[i].pod);
		pl->ep[i].loader = i % pl->n_loaders;
	}
	pl->n_ep = pl->n_coord;
}

/* The namespace of the coordinator pods: --kube-namespace, else
 * --namespace, else the service account's, which must be allowed too (the
 * controller's own never is). */
static chaos_err
co_kube_namespace(struct run *r, struct co_plan *pl, chaos_why *why)
{
	const char *sa = k8s_client_namespace(pl->k8s);

	if (pl->p.kube_ns[0] != '\0')
		return CHAOS_OK;
	if (pl->p.ns[0] == '\0' && sa[0] == '\0')
		return chaos_fail(
		    why, CHAOS_EINVAL,
		    "--method pod-delete: name the namespace of the "
		    "coordinator pods with --kube-namespace or --namespace");
	snprintf(pl->p.kube_ns, sizeof(pl->p.kube_ns), "%s", pl->p.ns[0] ? pl->p.ns : sa);
	return allow_check(run_allow(r), "--kube-namespace (the service account's)",
	                   pl->p.kube_ns, why);
}

static chaos_err
co_kube_connect(struct run *r, struct co_plan *pl, chaos_why *why)
{
	struct k8s_config cfg  = {0};
	struct k8s_pod   *pods = NULL;
	size_t            n    = 0;
	chaos_err         rv;

	cfg.api_url    = pl->p.kube_api[0] ? pl->p.kube_api : NULL;
	cfg.token_file = pl->p.kube_token[0] ? pl->p.kube_token : NULL;
	cfg.ca_file    = pl->p.kube_ca[0] ? pl->p.kube_ca : NULL;
	cfg.allow_http = pl->p.kube_http;
	/* the driver's class stands: a bad setting is refused, anything else
	 * makes the environment unusable */
	if ((rv = k8s_client_new(&cfg, &pl->k8s, why)) != CHAOS_OK ||
	    (rv = co_kube_namespace(r, pl, why)) != CHAOS_OK)
		return rv;
	if (pl->p.selector[0] == '\0')
		snprintf(pl->p.selector, sizeof(pl->p.selector), "%s", CO_KUBE_SELECTOR);
	if ((rv = k8s_list_pods(pl->k8s, pl->p.kube_ns, pl->p.selector, &pods, &n,
	                        why)) != CHAOS_OK)
		return rv;
	free(pods);
	if (n == 0)
		return chaos_fail(why, CHAOS_EINVAL, "no pod matches %s in namespace %s",
		                  pl->p.selector, pl->p.kube_ns);
	return CHAOS_OK;
}

static json_t *
co_plan_json(const struct co_plan *pl)
{
	json_t *eps = json_array(), *loaders = json_array();

	for (size_t i = 0; i < pl->n_loaders; i++)
		json_array_append_new(loaders, json_string(pl->loaders[i].pod));
	for (size_t i = 0; i < pl->n_ep; i++)
		json_array_append_new(eps,
		                      json_pack("{s:s,s:s,s:s}", "name", pl->ep[i].name,
		                                "url", pl->ep[i].base, "load_from",
		                                pl->loaders[pl->ep[i].loader].pod));
	return json_pack("{s:s,s:s,s:f,s:f,s:i,s:i,s:s,s:s,s:o,s:o,s:s,s:s,s:f,s:i}",
	                 "scenario", "coordinator_outage", "method", pl->method_name,
	                 "outage_duration_s", pl->p.outage_s, "load_duration_s",
	                 pl->p.load_s, "rate", (int)pl->p.rate, "concurrency",
	                 (int)pl->p.concurrency, "load_path", pl->p.load_path,
	                 "probe_path", pl->p.probe_path, "endpoints", eps, "loaders",
	                 loaders, "selector", pl->p.selector, "kube_namespace",
	                 pl->p.kube_ns, "stability_window_s", pl->p.window_s,
	                 "probe_interval_ms", (int)pl->p.interval_ms);
}

static void
co_plan_free(void *plan)
{
	struct co_plan *pl = plan;

	if (pl != NULL)
		k8s_client_free(pl->k8s);
	free(pl);
}

static chaos_err
co_plan(struct run *r, const void *params, void **plan, json_t **plan_json,
        chaos_why *why)
{
	struct co_plan *pl = calloc(1, sizeof(*pl));
	chaos_err       rv = CHAOS_ENOENT;

	if (pl == NULL)
		return CHAOS_ENOMEM;
	pl->p = *(const struct co_params *)params;
	param_choice(&co_params_table[1], pl->p.method, pl->method_name,
	             sizeof(pl->method_name));
	pl->n_coord =
	    scen_select(r, pl->p.ns, pl->p.selector, CHAOS__V1__ROLE__ROLE_COORDINATOR,
	                pl->coord, SCEN_MAX_TARGETS);
	/* load comes from elsewhere: the selector names targets only */
	pl->n_loaders = co_select_loaders(r, pl->p.ns, pl->loaders, 4);
	if (pl->n_loaders == 0) {
		chaos_fail(
		    why, rv,
		    "load runs from agents outside the coordinator pods, and none is "
		    "connected; check chaosctl agents");
		goto fail;
	}
	if (pl->p.method != CO_POD_DELETE && pl->n_coord == 0) {
		rv = scen_fail_no_agents(r, pl->p.ns, pl->p.selector, why,
		                         "method %s needs an agent in each coordinator "
		                         "pod; none is connected",
		                         pl->method_name);
		goto fail;
	}
	if (pl->p.method == CO_POD_DELETE &&
	    (rv = co_kube_connect(r, pl, why)) != CHAOS_OK)
		goto fail;
	co_endpoints(pl);
	if (pl->n_ep == 0) {
		rv = chaos_fail(
		    why, CHAOS_EINVAL,
		    "no API to load: pass --api-url (pod-delete without agents "
		    "in the coordinator pods)");
		goto fail;
	}
	*plan_json = co_plan_json(pl);
	*plan      = pl;
	return CHAOS_OK;
fail:
	co_plan_free(pl);
	return rv;
}

struct co_meas {
	int64_t             test_start, test_end;
	int64_t             t_fault, t_restore, t_recovered, spread_us;
	int64_t             pods_ready_us; /* pod-delete: last replacement Ready */
	json_t             *pods; /* pod-delete: what was deleted and what came back */
	char                restore_why[300]; /* blackhole: why t_restore is unknown */
	struct scen_outcome out;
};

/* One command per endpoint, each to the endpoint's loader agent. */
static size_t
co_send(struct run *r, struct co_plan *pl, Chaos__V1__Command *cmds, struct obs_ack *acks)
{
	const char         *ids[SCEN_MAX_TARGETS];
	Chaos__V1__Command *ptr[SCEN_MAX_TARGETS];

	for (size_t i = 0; i < pl->n_ep; i++) {
		ids[i] = pl->loaders[pl->ep[i].loader].agent_id;
		ptr[i] = &cmds[i];
	}
	return run_send_all(r, pl->n_ep, ids, ptr, 5 * 1000000LL, acks);
}

/* A readiness probe answers within 1 s or fails: a slow coordinator must
 * not hide when it comes back. */
static uint32_t
co_probe_timeout(const struct co_plan *pl)
{
	return pl->p.timeout_ms < 1000 ? pl->p.timeout_ms : 1000;
}

/* What an endpoint's recovery must show (mttr_rule_for). */
static struct mttr_rule
co_rule(const struct co_plan *pl)
{
	return mttr_rule_for(pl->p.window_s, pl->p.interval_ms, co_probe_timeout(pl));
}

static bool
co_start_watch(struct run *r, struct co_plan *pl, struct co_meas *m)
{
	Chaos__V1__Command   pc[SCEN_MAX_TARGETS], lc[SCEN_MAX_TARGETS];
	Chaos__V1__ProbeSpec ps[SCEN_MAX_TARGETS];
	Chaos__V1__LoadSpec  ls[SCEN_MAX_TARGETS];
	char                 purl[SCEN_MAX_TARGETS][800], lurl[SCEN_MAX_TARGETS][800];
	struct obs_ack       acks[SCEN_MAX_TARGETS];
	/* The load is stopped by the scenario; this bound only guards a lost
	 * controller (the agent ends the load by itself). */
	uint32_t dur =
	    (uint32_t)((pl->p.load_s + pl->p.outage_s + pl->p.recovery_timeout_s + 60) *
	               1000);

	for (size_t i = 0; i < pl->n_ep; i++) {
		struct co_endpoint *e = &pl->ep[i];
		scen_make_id(e->probe_id, r, "api", e->name);
		scen_make_id(e->load_id, r, "load", e->name);
		snprintf(purl[i], sizeof(purl[i]), "%s%s", e->base, pl->p.probe_path);
		snprintf(lurl[i], sizeof(lurl[i]), "%s%s", e->base, pl->p.load_path);
		chaos__v1__probe_spec__init(&ps[i]);
		ps[i].probe_id = e->probe_id,
		ps[i].kind     = CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP;
		ps[i].target = purl[i], ps[i].interval_ms = pl->p.interval_ms;
		ps[i].timeout_ms        = co_probe_timeout(pl);
		ps[i].has_expect_status = true, ps[i].expect_status = 200;
		chaos__v1__load_spec__init(&ls[i]);
		ls[i].load_id = e->load_id, ls[i].url = lurl[i];
		/* the rate and the cap are shared out over the endpoints */
		ls[i].rate_rps =
		    (pl->p.rate + (uint32_t)(pl->n_ep - 1 - i)) / (uint32_t)pl->n_ep;
		ls[i].concurrency =
		    (pl->p.concurrency + (uint32_t)pl->n_ep - 1) / (uint32_t)pl->n_ep;
		ls[i].duration_ms = dur, ls[i].timeout_ms = pl->p.timeout_ms;
		ls[i].has_report_interval_ms = true, ls[i].report_interval_ms = 50;
		chaos__v1__command__init(&pc[i]);
		pc[i].body_case   = CHAOS__V1__COMMAND__BODY_START_PROBE,
		pc[i].start_probe = &ps[i];
		chaos__v1__command__init(&lc[i]);
		lc[i].body_case  = CHAOS__V1__COMMAND__BODY_START_LOAD,
		lc[i].start_load = &ls[i];
	}
	if (co_send(r, pl, pc, acks) != pl->n_ep ||
	    co_send(r, pl, lc, acks) != pl->n_ep) {
		scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
		          "probes or load did not start on the loader agents: %s",
		          acks[0].error);
		return false;
	}
	run_progress(
	    r, "load %u rps (cap %u in flight) and probes every %u ms on %zu endpoint(s)",
	    pl->p.rate, pl->p.concurrency, pl->p.interval_ms, pl->n_ep);
	return true;
}

static void
co_stop_watch(struct run *r, struct co_plan *pl)
{
	Chaos__V1__Command c[SCEN_MAX_TARGETS];
	struct obs_ack     acks[SCEN_MAX_TARGETS];
	int64_t            deadline = clk_mono_us() + 5 * 1000000LL;

	for (size_t i = 0; i < pl->n_ep; i++) {
		chaos__v1__command__init(&c[i]);
		c[i].body_case = CHAOS__V1__COMMAND__BODY_STOP_LOAD,
		c[i].stop_load = pl->ep[i].load_id;
	}
	co_send(r, pl, c, acks);
	for (size_t i = 0; i < pl->n_ep; i++) {
		chaos__v1__command__init(&c[i]);
		c[i].body_case  = CHAOS__V1__COMMAND__BODY_STOP_PROBE,
		c[i].stop_probe = pl->ep[i].probe_id;
	}
	co_send(r, pl, c, acks);
	for (size_t i = 0; i < pl->n_ep; i++)
		obs_wait_load_final(run_obs(r), pl->ep[i].load_id, deadline);
}

static bool
co_steady(struct run *r, struct co_plan *pl, struct co_meas *m)
{
	int64_t until = clk_mono_us() + (int64_t)(pl->p.load_s / 2 * 1e6) +
	    3 * (int64_t)pl->p.interval_ms * 1000;

	run_progress(r, "baseline phase: %.1f s", pl->p.load_s / 2);
	if (!scen_hold(r, pl->loaders, pl->n_loaders, until)) {
		scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED, "aborted: %s",
		          run_abort_reason(r));
		return false;
	}
	for (size_t i = 0; i < pl->n_ep; i++) {
		char why[160];
		if (!scen_probe_steady(r, pl->ep[i].probe_id, why, sizeof(why))) {
			scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_SKIPPED,
			          "not in steady state before the fault: %s is not "
			          "healthy: %s (no fault was applied)",
			          pl->ep[i].name, why);
			return false;
		}
	}
	return true;
}

/* kill or blackhole through the agents in the coordinator pods. */
static bool
co_agent_fault(struct run *r, struct co_plan *pl, struct co_meas *m)
{
	Chaos__V1__FaultSpec specs[SCEN_MAX_TARGETS], *sp[SCEN_MAX_TARGETS];
	Chaos__V1__KillFault kills[SCEN_MAX_TARGETS];
	Chaos__V1__PortFault ports[SCEN_MAX_TARGETS];
	scen_id              ids[SCEN_MAX_TARGETS];
	uint32_t             port_list[1] = {pl->p.api_port};
	char                 err[512]     = "";
	int64_t hard_end = clk_now_us() + (int64_t)((pl->p.outage_s + 30) * 1e6);

	for (size_t i = 0; i < pl->n_coord; i++) {
		scen_make_id(ids[i], r, "outage", pl->coord[i].pod);
		chaos__v1__fault_spec__init(&specs[i]);
		specs[i].fault_id = ids[i], specs[i].lease_ms = pl->p.lease_ms;
		specs[i].hard_end_ctl_us = hard_end;
		if (pl->p.method == CO_KILL) {
			chaos__v1__kill_fault__init(&kills[i]);
			kills[i].process_name = pl->p.process;
			specs[i].kind_case    = CHAOS__V1__FAULT_SPEC__KIND_KILL,
			specs[i].kill         = &kills[i];
		} else {
			chaos__v1__port_fault__init(&ports[i]);
			ports[i].ports = port_list, ports[i].n_ports = 1,
			ports[i].has_mode  = true;
			ports[i].mode      = CHAOS__V1__REJECT_MODE__REJECT_MODE_DROP;
			specs[i].kind_case = CHAOS__V1__FAULT_SPEC__KIND_PORT,
			specs[i].port      = &ports[i];
		}
		sp[i] = &specs[i];
	}
	if (!scen_apply(r, pl->coord, pl->n_coord, sp, &m->t_fault, &m->spread_us, err,
	                sizeof(err))) {
		scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
		          "outage not applied: %s", err);
		scen_revert(r, pl->coord, pl->n_coord);
		return false;
	}
	run_progress(r, "%s applied on %zu coordinator pod(s) (spread %.1f ms)",
	             pl->method_name, pl->n_coord, (double)m->spread_us / 1000.0);
	if (pl->p.method == CO_KILL) {
		/* Killing is done at once; the pods heal by themselves, so the
		 * restore is the fault (DESIGN 4). The revert only clears it. */
		scen_revert(r, pl->coord, pl->n_coord);
		m->t_restore = m->t_fault;
		return true;
	}
	if (!scen_hold(r, pl->loaders, pl->n_loaders,
	               clk_mono_us() + (int64_t)(pl->p.outage_s * 1e6)))
		scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED, "aborted: %s",
		          run_abort_reason(r));
	scen_revert_end(r, pl->coord, pl->n_coord, "blackhole", &m->t_restore,
	                m->restore_why, sizeof(m->restore_why));
	return m->out.state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED;
}

/* Deletes every pod matching the selector (grace 0) through the API. */
static bool
co_pod_delete(struct run *r, struct co_plan *pl, struct co_meas *m,
              char (*uids)[K8S_UID_LEN], size_t *n_uids)
{
	struct k8s_pod *pods    = NULL;
	size_t          n       = 0;
	chaos_why       why     = {{0}};
	json_t         *deleted = json_array();

	*n_uids = 0;
	if (k8s_list_pods(pl->k8s, pl->p.kube_ns, pl->p.selector, &pods, &n, &why) !=
	    CHAOS_OK) {
		scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
		          "listing pods: %s", why.text);
		json_decref(deleted);
		return false;
	}
	for (size_t i = 0; i < n && *n_uids < SCEN_MAX_TARGETS; i++) {
		if (k8s_delete_pod(pl->k8s, pl->p.kube_ns, pods[i].name, 0, pods[i].uid,
		                   NULL, &why) != CHAOS_OK) {
			scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
			          "deleting pod %s: %s", pods[i].name, why.text);
			break;
		}
		snprintf(uids[(*n_uids)++], K8S_UID_LEN, "%s", pods[i].uid);
		json_array_append_new(deleted, json_string(pods[i].name));
	}
	/* t_fault: when the API accepted the last deletion; self-healing. */
	m->t_fault = m->t_restore = clk_now_us();
	m->pods = json_pack("{s:o,s:s,s:s}", "deleted", deleted, "namespace",
	                    pl->p.kube_ns, "selector", pl->p.selector);
	free(pods);
	run_progress(r, "deleted %zu pod(s) matching %s", *n_uids, pl->p.selector);
	return m->out.state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED;
}

/* pod-delete: when did every replacement become Ready (the Ready condition,
 * not the Running phase)? */
static void
co_wait_pods(struct run *r, struct co_plan *pl, struct co_meas *m,
             char (*uids)[K8S_UID_LEN], size_t n_uids)
{
	const char           *ex[SCEN_MAX_TARGETS];
	struct k8s_ready_pod *ready = NULL;
	size_t                n     = 0;
	chaos_why             why   = {{0}};
	json_t               *arr   = json_array();
	chaos_err             rv;

	for (size_t i = 0; i < n_uids; i++)
		ex[i] = uids[i];
	rv = k8s_wait_ready(pl->k8s, pl->p.kube_ns, pl->p.selector, n_uids, ex, n_uids,
	                    clk_mono_us() + (int64_t)(pl->p.recovery_timeout_s * 1e6),
	                    100, &ready, &n, &why);
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s}", "pod", ready[i].name);
		report_time(o, "ready_at", ready[i].observed_us);
		json_array_append_new(arr, o);
		if (ready[i].observed_us > m->pods_ready_us)
			m->pods_ready_us = ready[i].observed_us;
	}
	json_object_set_new(m->pods, "replacements_ready", arr);
	free(ready);
	if (rv != CHAOS_OK) {
		m->pods_ready_us = 0;
		scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
		          "replacement pods not Ready: %s", why.text);
	} else {
		run_progress(r, "%zu replacement pod(s) Ready", n);
	}
}

/* Latest recovery point over the endpoints, or 0 when one has not yet. */
static int64_t
co_recovered_at(struct run *r, struct co_plan *pl, const struct co_meas *m)
{
	int64_t          latest = 0;
	struct mttr_rule rule   = co_rule(pl);

	for (size_t i = 0; i < pl->n_ep; i++) {
		double s;
		if (!scen_probe_recovery(r, pl->ep[i].probe_id, m->t_restore, &rule, &s,
		                         NULL))
			return 0;
		int64_t t = m->t_restore + (int64_t)llround(s * 1e6);
		latest    = t > latest ? t : latest;
	}
	return latest;
}

static bool
co_recovered(struct run *r, void *plan, void *meas)
{
	struct co_plan *pl = plan;
	struct co_meas *m  = meas;

	if (!scen_restore_known(r, pl->coord, pl->n_coord, &m->t_restore, m->restore_why,
	                        sizeof(m->restore_why)))
		return false; /* a lease still holds the blackhole somewhere */
	return (m->t_recovered = co_recovered_at(r, plan, m)) != 0;
}

static void
co_wait_recovery(struct run *r, struct co_plan *pl, struct co_meas *m)
{
	run_progress(r, "waiting for the API to be healthy for %.1f s", pl->p.window_s);
	if (!scen_wait_recovery(r, pl->loaders, pl->n_loaders, pl->p.recovery_timeout_s,
	                        100000, co_recovered, pl, m, "the API", &m->out))
		return;
	if (m->pods_ready_us > m->t_recovered)
		m->t_recovered = m->pods_ready_us;
	run_progress(r, "recovered %.3f s after the %s",
	             (double)(m->t_recovered - m->t_restore) / 1e6,
	             pl->p.method == CO_BLACKHOLE ? "restore" : "fault");
}

static json_t *co_result(struct run *r, struct co_plan *pl, struct co_meas *m);

/* The result so far, for a checkpoint: as if the run ended now. */
static json_t *
co_partial(struct run *r, void *plan, void *meas)
{
	struct co_meas m = *(const struct co_meas *)meas;

	m.test_end = clk_now_us();
	return co_result(r, plan, &m);
}

static bool co_user_requests(struct run *r, void *plan, void *meas, uint64_t *ok,
                             uint64_t *total);

static int
co_execute(struct run *r, void *plan, json_t **result)
{
	struct co_plan *pl = plan;
	struct co_meas  m  = {.out.state = CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED};
	char            uids[SCEN_MAX_TARGETS][K8S_UID_LEN];
	size_t          n_uids = 0;
	bool            faulted;

	m.test_start = clk_now_us();
	run_set_checkpoint(r, co_partial, pl, &m);
	run_set_user_requests(r, co_user_requests, pl, &m);
	if (!co_start_watch(r, pl, &m) || !co_steady(r, pl, &m))
		goto stop;
	faulted = pl->p.method == CO_POD_DELETE ? co_pod_delete(r, pl, &m, uids, &n_uids)
	                                        : co_agent_fault(r, pl, &m);
	if (faulted && pl->p.method == CO_POD_DELETE)
		co_wait_pods(r, pl, &m, uids, n_uids);
	if (m.out.state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED)
		co_wait_recovery(r, pl, &m);
	if (m.out.state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED) {
		run_progress(r, "recovery phase: %.1f s", pl->p.load_s / 2);
		if (!scen_hold(r, pl->loaders, pl->n_loaders,
		               clk_mono_us() + (int64_t)(pl->p.load_s / 2 * 1e6)))
			scen_fail(&m.out, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED,
			          "aborted: %s", run_abort_reason(r));
	}
stop:
	co_stop_watch(r, pl);
	m.test_end = clk_now_us();
	*result    = co_result(r, pl, &m);
	json_decref(m.pods);
	return m.out.state;
}

enum { CO_BASELINE, CO_OUTAGE, CO_RECOVERY, CO_N_PHASES };

static const char *const co_phase_names[CO_N_PHASES] = {"baseline", "outage", "recovery"};

struct co_phase {
	int64_t      from, to;
	uint64_t     scheduled, ok, late, errors[16];
	struct hist *h;
};

/* An interval belongs to the outage when it overlaps it at all, so no
 * request of the outage is ever counted in another phase. */
static int
co_phase_of(const struct obs_load *l, int64_t t_fault, int64_t t_end)
{
	if (t_fault == 0 || l->t_us + l->interval_us <= t_fault)
		return CO_BASELINE;
	return l->t_us >= t_end ? CO_RECOVERY : CO_OUTAGE;
}

/* Sums the interval reports of every load into the phases; returns the
 * final reports' scheduled total (the agents' own count). */
static uint64_t
co_sum_phases(struct run *r, struct co_plan *pl, int64_t t_fault, int64_t t_end,
              struct co_phase *ph)
{
	uint64_t final_scheduled = 0;

	for (size_t i = 0; i < pl->n_ep; i++) {
		struct obs_load *l = NULL;
		size_t           n = obs_loads(run_obs(r), pl->ep[i].load_id, &l);
		for (size_t k = 0; k < n; k++) {
			struct co_phase *p;
			if (l[k].final) {
				final_scheduled += l[k].scheduled;
				continue;
			}
			p = &ph[co_phase_of(&l[k], t_fault, t_end)];
			p->scheduled += l[k].scheduled, p->ok += l[k].ok,
			    p->late += l[k].late;
			for (int c = 0; c < 16; c++)
				p->errors[c] += l[k].errors[c];
			if (p->h != NULL)
				hist_add_counts(p->h, l[k].hist, l[k].n_hist);
		}
		obs_loads_free(l, n);
	}
	return final_scheduled;
}

/* --abort-error-rate: the load's requests since the fault; one the load
 * could not send on schedule (late) counts as failed, as a user waiting
 * for it would see it. */
static bool
co_user_requests(struct run *r, void *plan, void *meas, uint64_t *ok, uint64_t *total)
{
	const struct co_meas *m               = meas;
	struct co_phase       ph[CO_N_PHASES] = {{0}};

	*ok = *total = 0;
	if (m->t_fault <= 0)
		return false;
	co_sum_phases(r, plan, m->t_fault, INT64_MAX, ph);
	*ok    = ph[CO_OUTAGE].ok;
	*total = ph[CO_OUTAGE].scheduled;
	return true;
}

static json_t *
co_phase_json(const struct co_phase *p)
{
	json_t  *o = json_object(), *byc = json_object(), *lat = json_object();
	uint64_t errs = 0, v;

	for (int c = 1; c < 16; c++) {
		char        buf[32];
		const char *name = report_error_class(c, buf, sizeof(buf));
		errs += p->errors[c];
		if (name != NULL && p->errors[c] > 0)
			json_object_set_new(byc, name,
			                    json_integer((json_int_t)p->errors[c]));
	}
	report_time(o, "start", p->from);
	report_time(o, "end", p->to);
	json_object_set_new(o, "scheduled", json_integer((json_int_t)p->scheduled));
	json_object_set_new(o, "success_count", json_integer((json_int_t)p->ok));
	json_object_set_new(o, "error_count", json_integer((json_int_t)errs));
	json_object_set_new(o, "late_count", json_integer((json_int_t)p->late));
	json_object_set_new(o, "errors_by_class", byc);
	static const double      pct[]  = {50, 95, 99};
	static const char *const keys[] = {"p50_ms", "p95_ms", "p99_ms"};
	for (int i = 0; i < 3; i++)
		json_object_set_new(lat, keys[i],
		                    p->h != NULL && hist_percentile(p->h, pct[i], &v)
		                        ? json_real((double)v / 1000.0)
		                        : json_null());
	json_object_set_new(o, "latency", lat);
	return o;
}

/* Phases, totals and the accounting check scheduled = ok + errors + late. */
static void
co_load_json(struct run *r, struct co_plan *pl, const struct co_meas *m, json_t *o)
{
	struct co_phase ph[CO_N_PHASES] = {{0}};
	int64_t         t_end = m->t_recovered > 0 ? m->t_recovered : m->test_end;
	uint64_t        ok = 0, errs = 0, late = 0, sched = 0, final;
	json_t         *phases = json_object();

	ph[CO_BASELINE].from = m->test_start,
	ph[CO_BASELINE].to   = m->t_fault ? m->t_fault : m->test_end;
	ph[CO_OUTAGE].from = m->t_fault, ph[CO_OUTAGE].to = m->t_fault ? t_end : 0;
	ph[CO_RECOVERY].from = m->t_fault ? t_end : 0,
	ph[CO_RECOVERY].to   = m->t_fault ? m->test_end : 0;
	for (int i = 0; i < CO_N_PHASES; i++)
		hist_new(&ph[i].h);
	final = co_sum_phases(r, pl, m->t_fault, t_end, ph);
	for (int i = 0; i < CO_N_PHASES; i++) {
		json_object_set_new(phases, co_phase_names[i], co_phase_json(&ph[i]));
		for (int c = 1; c < 16; c++)
			errs += ph[i].errors[c];
		ok += ph[i].ok, late += ph[i].late, sched += ph[i].scheduled;
		hist_free(ph[i].h);
	}
	json_object_set_new(o, "success_count", json_integer((json_int_t)ok));
	json_object_set_new(o, "error_count", json_integer((json_int_t)errs));
	json_object_set_new(o, "late_count", json_integer((json_int_t)late));
	json_object_set_new(o, "scheduled_count", json_integer((json_int_t)sched));
	json_object_set_new(o, "user_requests",
	                    scen_user_requests(ok, sched,
	                                       "the load's requests to the API over the "
	                                       "whole run (one that could not be sent "
	                                       "on schedule counts as failed)",
	                                       0, 0, NULL));
	json_object_set_new(o, "phases", phases);
	json_object_set_new(
	    o, "accounting",
	    json_pack("{s:I,s:I,s:b,s:s}", "scheduled", (json_int_t)sched,
	              "agents_final_scheduled", (json_int_t) final, "consistent",
	              sched == ok + errs + late && sched == final, "note",
	              "requests still in flight when the load was stopped have no "
	              "outcome and are in no count"));
}

static void
co_recovery_json(struct run *r, struct co_plan *pl, const struct co_meas *m, json_t *o)
{
	double           rec[SCEN_MAX_TARGETS], v, mean = 0;
	struct mttr_rule rule      = co_rule(pl);
	size_t           n         = 0;
	int64_t          first_bad = 0;
	json_t          *eps = json_array(), *dist = json_object();
	const char      *unknown = m->t_fault <= 0 || m->t_restore == 0
	         ? scen_unmeasured_why(m->t_fault, m->restore_why)
	         : NULL;

	for (size_t i = 0; i < pl->n_ep; i++) {
		struct mttr_sample *s  = NULL;
		size_t              ns = scen_mttr_samples(r, pl->ep[i].probe_id, &s);
		int64_t             t;
		bool                ok = m->t_restore > 0 &&
		    scen_probe_recovery(r, pl->ep[i].probe_id, m->t_restore, &rule, &v,
		                        NULL);
		json_t *e =
		    json_pack("{s:s,s:s}", "name", pl->ep[i].name, "url", pl->ep[i].base);
		report_seconds(e, "recovery_time", ok, v, unknown ?: "not recovered");
		json_array_append_new(eps, e);
		if (ok)
			rec[n++] = v;
		if (m->t_fault > 0 && mttr_first_unhealthy(s, ns, m->t_fault, &t) &&
		    (first_bad == 0 || t < first_bad))
			first_bad = t;
		free(s);
	}
	const char *why = unknown ? unknown
	    : m->out.failure[0]   ? m->out.failure
	                          : "not recovered";
	bool        all = n == pl->n_ep && m->t_recovered > 0;
	report_seconds(o, "recovery_time", all,
	               (double)(m->t_recovered - m->t_restore) / 1e6, why);
	/* computed first: argument evaluation order is unspecified in C */
	bool have_mean = all && mttr_mean(rec, n, &mean);
	report_seconds(o, "mttr", have_mean, mean, why);
	report_seconds(
	    o, "detection_time", first_bad > 0, (double)(first_bad - m->t_fault) / 1e6,
	    m->t_fault > 0 ? "no probe saw the outage" : "no fault was applied");
	static const double      pct[]  = {0, 50, 95, 100};
	static const char *const keys[] = {"min", "p50", "p95", "max"};
	for (int i = 0; i < 4; i++)
		json_object_set_new(dist, keys[i],
		                    mttr_percentile(rec, n, pct[i], &v) ? json_real(v)
		                                                        : json_null());
	json_object_set_new(o, "recovery_time_distribution", dist);
	json_object_set_new(o, "endpoints", eps);
}

static json_t *
co_result(struct run *r, struct co_plan *pl, struct co_meas *m)
{
	json_t           *o = json_object(), *samples = json_object();
	struct scen_clock clk = {0};

	json_object_set_new(o, "scenario", json_string("coordinator_outage"));
	json_object_set_new(o, "run_id", json_integer((json_int_t)run_id(r)));
	json_object_set_new(o, "method", json_string(pl->method_name));
	json_object_set_new(
	    o, "failure", m->out.failure[0] ? json_string(m->out.failure) : json_null());
	report_time(o, "test_start", m->test_start);
	report_time(o, "test_end", m->test_end);
	report_time(o, "outage_start", m->t_fault);
	if (pl->p.method == CO_BLACKHOLE)
		scen_window_end(o, "outage_end", m->t_fault, m->t_restore,
		                m->restore_why);
	else
		report_time(o, "outage_end", m->t_recovered);
	report_time(o, "recovered_at", m->t_recovered);
	co_recovery_json(r, pl, m, o);
	co_load_json(r, pl, m, o);
	for (size_t i = 0; i < pl->n_ep; i++)
		json_object_set_new(samples, pl->ep[i].name,
		                    scen_samples_json(r, pl->ep[i].probe_id));
	if (m->pods != NULL)
		json_object_set_new(o, "pods", json_incref(m->pods));
	json_object_set_new(o, "fault_spread_ms",
	                    m->t_fault > 0 && pl->p.method != CO_POD_DELETE
	                        ? json_real((double)m->spread_us / 1000.0)
	                        : json_null());
	/* the load and probes come on the loaders' clocks, kill and blackhole
	 * times on the coordinator agents'; pod-delete's on the controller's */
	scen_clock_targets(r, pl->loaders, pl->n_loaders, &clk);
	if (pl->p.method != CO_POD_DELETE)
		scen_clock_targets(r, pl->coord, pl->n_coord, &clk);
	scen_clock_json(o, "clock_error_ms", &clk);
	json_object_set_new(o, "parameters", co_plan_json(pl));
	json_object_set_new(o, "samples", samples);
	return o;
}

/* ---- the orchestrator's rule ---- */

static void
co_recommend(const json_t *entries, json_t *recs)
{
	double        v = 0;
	const json_t *w = entry_worst(entries, "coordinator_outage", "recovery_time", &v);

	if (w == NULL)
		w = entry_worst(entries, "coordinator_outage", "mttr", &v);
	if (w != NULL && v > CO_SLOW_S)
		entry_rec(
		    recs, "coordinator_recovery_slow", "medium", "coordinator_outage", v,
		    CO_SLOW_S,
		    "Coordinator recovery took %.1f s (cycle %lld), above %g s: check "
		    "the readiness probe period and start-up time, and keep more than "
		    "one replica on separate nodes (PodDisruptionBudget).",
		    v, json_integer_value(json_object_get(w, "cycle")), CO_SLOW_S);
}

static const char *const co_lanes[] = {"samples", NULL};

const struct scenario scenario_coordinator = {
    .cli         = "coordinator",
    .name        = "coordinator_outage",
    .summary     = "take every coordinator down under open-loop load",
    .params      = co_params_table,
    .params_size = sizeof(struct co_params),
    .rules       = co_rules,
    .shape       = {.window = "outage", .lanes = co_lanes},
    .finish      = co_finish,
    .recommend   = co_recommend,
    .plan        = co_plan,
    .execute     = co_execute,
    .plan_free   = co_plan_free,
};
