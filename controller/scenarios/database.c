// SPDX-License-Identifier: MIT
/*
 * Scenario "database_failure": PostgreSQL becomes unreachable (connections
 * refused or dropped) or slow (a delaying proxy) for a while; the database
 * is probed from the coordinator pods (libpq) and so is the coordinator API;
 * after the restore, database and API recovery are measured separately.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "controller/report/entry.h"
#include "controller/report/mttr.h"
#include "controller/report/report.h"
#include "controller/run.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/util.h"

/* Probe kinds run from every client (coordinator) pod. */
enum db_probe { DB_PG_CONN, DB_PG_QUERY, DB_API_READY, DB_API_DATA, DB_N_PROBES };

static const char *const db_probe_tag[DB_N_PROBES] = {"pgconn", "pgquery", "ready",
                                                      "data"};

/* Choice indexes of the table below. */
enum { DB_CONNECTION, DB_LATENCY };
enum { DB_REJECT, DB_DROP };
enum { DB_SERVER, DB_CLIENT };

/* The sandbox writes its DSN here; elsewhere pass --dsn-file. */
#define DB_SANDBOX_DSN "/run/chaos-sandbox/coordinator.dsn"

/* An API error rate (fraction) during the failure above this earns a
 * recommendation. */
#define DB_API_ERR_RATE 0.01

struct db_params {
	char     ns[LIMIT_ID_LEN + 1];
	char     selector[256];
	int      type, mode, side;
	double   duration_s;
	uint32_t latency_ms, jitter_ms;
	char     dsn[1024];
	char     dsn_file[1024];
	uint32_t pg_port, api_port;
	char     ready_path[128], data_path[128];
	uint32_t interval_ms, lease_ms;
	double   window_s, recovery_timeout_s, baseline_s;
};

#define DB_AT(m) PARAM_AT(struct db_params, m)

static const struct param db_params_table[] = {
    PARAM_ROW_NAMESPACE(struct db_params, ns),
    PARAM_ROW_SELECTOR(struct db_params, selector,
                       "only pods the fault lands on (database or client pods, by "
                       "--fault-side) with these labels"),
    {"--failure-type", "failure_type", PARAM_CHOICE, 0, 16, "connection",
     "connection|latency", "connection (refused or dropped) or latency", DB_AT(type), 0},
    {"--failure-duration", "failure_duration_s", PARAM_DOUBLE, LIMIT_DURATION_MIN_S,
     LIMIT_DURATION_MAX_S, "60", NULL, "seconds the failure lasts", DB_AT(duration_s),
     PARAM_SHORTEN},
    {"--latency-ms", "latency_ms", PARAM_UINT, 0, LIMIT_DELAY_MAX_MS, "5000", NULL,
     "delay added to a round trip (latency)", DB_AT(latency_ms), 0},
    {"--jitter-ms", "jitter_ms", PARAM_UINT, 0, LIMIT_DELAY_MAX_MS, "0", NULL,
     "uniform +- jitter, at most the latency", DB_AT(jitter_ms), 0},
    {"--connection-mode", "connection_mode", PARAM_CHOICE, 0, 16, "reject", "reject|drop",
     "reject (TCP reset) or drop (clients time out)", DB_AT(mode), 0},
    {"--fault-side", "fault_side", PARAM_CHOICE, 0, 16, "server", "server|client",
     "apply on the database pod (server) or the client pods", DB_AT(side), 0},
    {"--dsn-file", "dsn_file", PARAM_STRING, 1, 1023, NULL, NULL,
     "file with the libpq DSN the probes use (default $CHAOS_PG_DSN_FILE, or the "
     "sandbox's)",
     DB_AT(dsn_file), PARAM_CLI_ONLY},
    {"--dsn", "dsn", PARAM_STRING, 1, 1023, NULL, NULL,
     "the DSN itself, read from --dsn-file (never a flag: it holds credentials)",
     DB_AT(dsn), PARAM_NO_FLAG},
    {"--pg-port", "pg_port", PARAM_UINT, LIMIT_PORT_MIN, LIMIT_PORT_MAX, "5432", NULL,
     "PostgreSQL port", DB_AT(pg_port), 0},
    {"--api-port", "api_port", PARAM_UINT, LIMIT_PORT_MIN, LIMIT_PORT_MAX, "8080", NULL,
     "coordinator API port", DB_AT(api_port), 0},
    {"--ready-path", "ready_path", PARAM_PATH, 1, 127, "/health/ready", NULL,
     "the API's readiness route (needs the database)", DB_AT(ready_path), 0},
    {"--data-path", "data_path", PARAM_PATH, 1, 127, "/v1/marketplace/stats", NULL,
     "an API route that queries the database", DB_AT(data_path), 0},
    PARAM_ROW_PROBE_INTERVAL(struct db_params, interval_ms, "200", "probe period"),
    PARAM_ROW_WINDOW(struct db_params, window_s),
    PARAM_ROW_RECOVERY_TIMEOUT(struct db_params, recovery_timeout_s),
    PARAM_ROW_LEASE(struct db_params, lease_ms),
    PARAM_ROW_BASELINE(struct db_params, baseline_s, "3"),
    PARAM_ROWS_STOP,
    PARAM_ROW_END,
};

/* Each failure type reads its own knobs; the other's are refused, not
 * silently ignored. */
static const struct param_rule db_rules[] = {
    {"connection_mode", PARAM_ONLY_WITH, "failure_type", "connection"},
    {"latency_ms", PARAM_ONLY_WITH, "failure_type", "latency"},
    {"jitter_ms", PARAM_ONLY_WITH, "failure_type", "latency"},
    PARAM_RULE_END,
};

struct db_plan {
	struct db_params   p;
	bool               latency, drop, client_side; /* from the choices */
	struct scen_target db[SCEN_MAX_TARGETS];
	size_t             n_db;
	struct scen_target cl[SCEN_MAX_TARGETS]; /* clients: coordinator pods */
	size_t             n_cl;
	scen_id            probe[DB_N_PROBES][SCEN_MAX_TARGETS];
};

/* chaosctl: the DSN comes from a file, never from a built-in string or a
 * flag, and is sent only to the controller. */
static chaos_err
db_finish(json_t *params, chaos_why *why)
{
	const char *path = json_string_value(json_object_get(params, "dsn_file"));
	char        dsn[1024];
	size_t      n;
	FILE       *f;

	if (path == NULL)
		path = getenv("CHAOS_PG_DSN_FILE");
	if (path == NULL && access(DB_SANDBOX_DSN, R_OK) == 0)
		path = DB_SANDBOX_DSN;
	if (path == NULL)
		return chaos_fail(
		    why, CHAOS_EINVAL,
		    "run database: needs --dsn-file FILE (a libpq conninfo "
		    "such as \"host=... dbname=... user=... password=...\")");
	if ((f = fopen(path, "r")) == NULL)
		return chaos_fail(why, CHAOS_EINVAL, "--dsn-file %s: %s", path,
		                  strerror(errno));
	n = fread(dsn, 1, sizeof(dsn) - 1, f);
	fclose(f);
	dsn[n] = '\0';
	while (n > 0 && (dsn[n - 1] == '\n' || dsn[n - 1] == '\r' || dsn[n - 1] == ' '))
		dsn[--n] = '\0';
	if (n == 0 || strchr(dsn, '\n') != NULL)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "--dsn-file %s: expected one line with a libpq DSN",
		                  path);
	json_object_del(params, "dsn_file");
	json_object_set_new(params, "dsn", json_string(dsn));
	return CHAOS_OK;
}

static json_t *
db_plan_json(const struct db_plan *pl)
{
	json_t *db = json_array(), *cl = json_array(), *o;

	for (size_t i = 0; i < pl->n_db; i++)
		json_array_append_new(
		    db, json_pack("{s:s,s:s}", "pod", pl->db[i].pod, "ip", pl->db[i].ip));
	for (size_t i = 0; i < pl->n_cl; i++)
		json_array_append_new(
		    cl, json_pack("{s:s,s:s}", "pod", pl->cl[i].pod, "ip", pl->cl[i].ip));
	o = json_pack("{s:s,s:s,s:s,s:s,s:f,s:i,s:i,s:i,s:o,s:o,s:s,s:f,s:i,s:i}",
	              "scenario", "database_failure", "failure_type",
	              pl->latency ? "high_latency" : "connection_blocked", "fault_side",
	              pl->client_side ? "client" : "server", "connection_mode",
	              pl->drop ? "drop" : "reject", "failure_duration_s",
	              pl->p.duration_s, "latency_ms", (int)pl->p.latency_ms, "jitter_ms",
	              (int)pl->p.jitter_ms, "pg_port", (int)pl->p.pg_port,
	              "database_pods", db, "client_pods", cl, "fault_on",
	              pl->client_side ? "client pods" : "database pods",
	              "stability_window_s", pl->p.window_s, "probe_interval_ms",
	              (int)pl->p.interval_ms, "lease_ms", (int)pl->p.lease_ms);
	json_object_set_new(o, "selector", json_string(pl->p.selector));
	return o;
}

static chaos_err
db_plan(struct run *r, const void *params, void **plan, json_t **plan_json,
        chaos_why *why)
{
	struct db_plan *pl = calloc(1, sizeof(*pl));
	chaos_err       rv = CHAOS_EINVAL;

	if (pl == NULL)
		return CHAOS_ENOMEM;
	pl->p           = *(const struct db_params *)params;
	pl->latency     = pl->p.type == DB_LATENCY;
	pl->drop        = pl->p.mode == DB_DROP;
	pl->client_side = pl->p.side == DB_CLIENT;
	if (pl->p.dsn[0] == '\0') {
		chaos_fail(why, rv,
		           "no database DSN: pass --dsn-file FILE (a libpq conninfo; "
		           "credentials never come from a built-in string)");
		goto fail;
	}
	if (pl->p.jitter_ms > pl->p.latency_ms) {
		chaos_fail(why, rv, "--jitter-ms %u: allowed at most --latency-ms (%u)",
		           pl->p.jitter_ms, pl->p.latency_ms);
		goto fail;
	}
	/* the selector narrows the side the fault lands on */
	pl->n_db = scen_select(r, pl->p.ns, pl->client_side ? NULL : pl->p.selector,
	                       CHAOS__V1__ROLE__ROLE_DATABASE, pl->db, SCEN_MAX_TARGETS);
	pl->n_cl =
	    scen_select(r, pl->p.ns, pl->client_side ? pl->p.selector : NULL,
	                CHAOS__V1__ROLE__ROLE_COORDINATOR, pl->cl, SCEN_MAX_TARGETS);
	if (pl->n_db == 0 || pl->n_cl == 0) {
		rv = scen_fail_no_agents(
		    r, pl->p.ns, pl->p.selector, why,
		    "need a connected database agent and at least one "
		    "coordinator agent, found %zu and %zu",
		    pl->n_db, pl->n_cl);
		goto fail;
	}
	*plan_json = db_plan_json(pl);
	*plan      = pl;
	return CHAOS_OK;
fail:
	free(pl);
	return rv;
}

struct db_meas {
	int64_t             test_start, test_end, base_start;
	int64_t             t_fault, t_restore, spread_us;
	char                restore_why[300]; /* why t_restore is unknown */
	struct scen_outcome out;
};

static uint32_t
db_probe_timeout(const struct db_plan *pl)
{
	/* A slow database must show as slow, not as a timeout: a new
	 * connection through the delay costs several round trips. */
	return pl->latency ? 6 * (pl->p.latency_ms + pl->p.jitter_ms) + 2000 : 1000;
}

/* What a client's recovery must show: the window, with no silence in its
 * probes longer than two samples' time. */
static struct mttr_rule
db_rule(const struct db_plan *pl)
{
	return mttr_rule_for(pl->p.window_s, pl->p.interval_ms, db_probe_timeout(pl));
}

static void
db_probe_spec(const struct db_plan *pl, enum db_probe k, Chaos__V1__ProbeSpec *spec,
              char *url, size_t len)
{
	chaos__v1__probe_spec__init(spec);
	spec->interval_ms = pl->p.interval_ms;
	spec->timeout_ms  = db_probe_timeout(pl);
	if (k == DB_PG_CONN || k == DB_PG_QUERY) {
		spec->kind                = CHAOS__V1__PROBE_KIND__PROBE_KIND_POSTGRES;
		spec->target              = (char *)pl->p.dsn;
		spec->has_keep_connection = k == DB_PG_QUERY;
		spec->keep_connection     = k == DB_PG_QUERY;
		return;
	}
	snprintf(url, len, "http://{ip}:%u%s", pl->p.api_port,
	         k == DB_API_READY ? pl->p.ready_path : pl->p.data_path);
	spec->kind              = CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP;
	spec->target            = url;
	spec->has_expect_status = true;
	spec->expect_status     = 200;
}

static bool
db_start_probes(struct run *r, struct db_plan *pl, struct db_meas *m)
{
	for (int k = 0; k < DB_N_PROBES; k++) {
		Chaos__V1__ProbeSpec spec;
		char                 url[256], err[512];
		db_probe_spec(pl, k, &spec, url, sizeof(url));
		if (!scen_start_probes(r, pl->cl, pl->n_cl, db_probe_tag[k], &spec,
		                       pl->probe[k], err, sizeof(err))) {
			scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
			          "%s probes did not start: %s", db_probe_tag[k], err);
			return false;
		}
	}
	return true;
}

static void
db_stop_probes(struct run *r, struct db_plan *pl)
{
	for (int k = 0; k < DB_N_PROBES; k++)
		scen_stop_probes(r, pl->cl, pl->n_cl, pl->probe[k]);
}

static bool
db_steady(struct run *r, struct db_plan *pl, struct db_meas *m)
{
	int64_t until = clk_mono_us() + (int64_t)(pl->p.baseline_s * 1e6) +
	    3 * (int64_t)pl->p.interval_ms * 1000;

	run_progress(
	    r, "baseline: %zu client pods probing the database and the API for %.1f s",
	    pl->n_cl, pl->p.baseline_s);
	m->base_start = clk_now_us();
	if (!scen_hold(r, pl->cl, pl->n_cl, until)) {
		scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED, "aborted: %s",
		          run_abort_reason(r));
		return false;
	}
	for (int k = 0; k < DB_N_PROBES; k++)
		for (size_t i = 0; i < pl->n_cl; i++) {
			char why[160];
			if (scen_probe_steady(r, pl->probe[k][i], why, sizeof(why)))
				continue;
			scen_fail(
			    &m->out, CHAOS__V1__RUN_STATE__RUN_STATE_SKIPPED,
			    "not in steady state before the fault: %s probe from %s "
			    "is not healthy: %s (no fault was applied)",
			    db_probe_tag[k], pl->cl[i].pod, why);
			return false;
		}
	return true;
}

/* The fault's own targets: the database pods, or the clients (client side). */
static struct scen_target *
db_fault_targets(struct db_plan *pl, size_t *n)
{
	*n = pl->client_side ? pl->n_cl : pl->n_db;
	return pl->client_side ? pl->cl : pl->db;
}

/* Fills one spec per fault target; peers are the database addresses. */
static void
db_fault_specs(struct run *r, struct db_plan *pl, Chaos__V1__FaultSpec *specs,
               Chaos__V1__PortFault *ports, Chaos__V1__LatencyFault *lats, scen_id *ids,
               char (*peers)[64], char **peer_ptr, uint32_t *port_list)
{
	struct scen_target *t;
	size_t              n;
	int64_t hard_end = clk_now_us() + (int64_t)((pl->p.duration_s + 30) * 1e6);

	for (size_t i = 0; i < pl->n_db; i++) {
		snprintf(peers[i], sizeof(peers[0]), "%s/32", pl->db[i].ip);
		peer_ptr[i] = peers[i];
	}
	port_list[0] = pl->p.pg_port;
	t            = db_fault_targets(pl, &n);
	for (size_t i = 0; i < n; i++) {
		Chaos__V1__Direction dir = pl->client_side
		    ? CHAOS__V1__DIRECTION__DIRECTION_OUT
		    : CHAOS__V1__DIRECTION__DIRECTION_IN;
		scen_make_id(ids[i], r, "db", t[i].pod);
		chaos__v1__fault_spec__init(&specs[i]);
		specs[i].fault_id        = ids[i];
		specs[i].lease_ms        = pl->p.lease_ms;
		specs[i].hard_end_ctl_us = hard_end;
		if (pl->latency) {
			chaos__v1__latency_fault__init(&lats[i]);
			lats[i].port = pl->p.pg_port, lats[i].delay_ms = pl->p.latency_ms;
			lats[i].has_jitter_ms = true, lats[i].jitter_ms = pl->p.jitter_ms;
			lats[i].has_terminate_existing = lats[i].terminate_existing =
			    true;
			lats[i].pg_dsn        = pl->p.dsn;
			lats[i].has_direction = true, lats[i].direction = dir;
			lats[i].peers      = peer_ptr,
			lats[i].n_peers    = pl->client_side ? pl->n_db : 0;
			specs[i].kind_case = CHAOS__V1__FAULT_SPEC__KIND_LATENCY;
			specs[i].latency   = &lats[i];
		} else {
			chaos__v1__port_fault__init(&ports[i]);
			ports[i].ports = port_list, ports[i].n_ports = 1;
			ports[i].has_mode      = true;
			ports[i].mode          = pl->drop
			             ? CHAOS__V1__REJECT_MODE__REJECT_MODE_DROP
			             : CHAOS__V1__REJECT_MODE__REJECT_MODE_RESET;
			ports[i].has_direction = true, ports[i].direction = dir;
			ports[i].peers     = peer_ptr,
			ports[i].n_peers   = pl->client_side ? pl->n_db : 0;
			specs[i].kind_case = CHAOS__V1__FAULT_SPEC__KIND_PORT;
			specs[i].port      = &ports[i];
		}
	}
}

static bool
db_apply(struct run *r, struct db_plan *pl, struct db_meas *m)
{
	Chaos__V1__FaultSpec    specs[SCEN_MAX_TARGETS], *sp[SCEN_MAX_TARGETS];
	Chaos__V1__PortFault    ports[SCEN_MAX_TARGETS];
	Chaos__V1__LatencyFault lats[SCEN_MAX_TARGETS];
	scen_id                 ids[SCEN_MAX_TARGETS];
	char                    peers[SCEN_MAX_TARGETS][64], *peer_ptr[SCEN_MAX_TARGETS];
	uint32_t                port_list[1];
	char                    err[512] = "";
	size_t                  n;
	struct scen_target     *t = db_fault_targets(pl, &n);

	db_fault_specs(r, pl, specs, ports, lats, ids, peers, peer_ptr, port_list);
	for (size_t i = 0; i < n; i++)
		sp[i] = &specs[i];
	if (!scen_apply(r, t, n, sp, &m->t_fault, &m->spread_us, err, sizeof(err))) {
		scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
		          "fault not applied: %s", err);
		return false;
	}
	run_progress(r, "%s applied on %zu %s pod(s)",
	             pl->latency    ? "latency"
	                 : pl->drop ? "connection drop"
	                            : "connection reject",
	             n, pl->client_side ? "client" : "database");
	return true;
}

/* Every probe recovered after the restore? */
static bool
db_all_recovered(struct run *r, void *plan, void *meas)
{
	struct db_plan     *pl = plan;
	struct db_meas     *m  = meas;
	size_t              n;
	struct scen_target *t = db_fault_targets(pl, &n);
	double              s;
	struct mttr_rule    rule = db_rule(pl);

	if (!scen_restore_known(r, t, n, &m->t_restore, m->restore_why,
	                        sizeof(m->restore_why)))
		return false; /* a lease still holds the fault somewhere */
	/* a client lost is left out here and in db_summary alike */
	for (int k = 0; k < DB_N_PROBES; k++)
		for (size_t i = 0; i < pl->n_cl; i++)
			if (!pl->cl[i].lost &&
			    !scen_probe_recovery(r, pl->probe[k][i], m->t_restore, &rule,
			                         &s, NULL))
				return false;
	return true;
}

static void
db_hold_and_restore(struct run *r, struct db_plan *pl, struct db_meas *m)
{
	size_t              n;
	struct scen_target *t     = db_fault_targets(pl, &n);
	int64_t             until = clk_mono_us() + (int64_t)(pl->p.duration_s * 1e6);

	if (m->out.state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED &&
	    !scen_hold(r, t, n, until))
		scen_fail(&m->out, CHAOS__V1__RUN_STATE__RUN_STATE_ABORTED, "aborted: %s",
		          run_abort_reason(r));
	scen_check_lost(r, t, n);
	scen_revert_end(r, t, n, "database fault", &m->t_restore, m->restore_why,
	                sizeof(m->restore_why));
	if (m->out.state != CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED)
		return;
	scen_wait_recovery(r, pl->cl, pl->n_cl, pl->p.recovery_timeout_s, 200000,
	                   db_all_recovered, pl, m, "the database or the API", &m->out);
}

static json_t *db_result(struct run *r, struct db_plan *pl, struct db_meas *m);

/* The result so far, for a checkpoint: as if the run ended now. */
static json_t *
db_partial(struct run *r, void *plan, void *meas)
{
	struct db_meas m = *(const struct db_meas *)meas;

	m.test_end = clk_now_us();
	return db_result(r, plan, &m);
}

static bool db_user_requests(struct run *r, void *plan, void *meas, uint64_t *ok,
                             uint64_t *total);

static int
db_execute(struct run *r, void *plan, json_t **result)
{
	struct db_plan *pl = plan;
	struct db_meas  m  = {.out.state = CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED};

	m.test_start = clk_now_us();
	run_set_checkpoint(r, db_partial, pl, &m);
	run_set_user_requests(r, db_user_requests, pl, &m);
	if (!db_start_probes(r, pl, &m))
		goto stop;
	if (db_steady(r, pl, &m)) {
		db_apply(r, pl, &m);
		db_hold_and_restore(r, pl, &m);
	}
stop:
	db_stop_probes(r, pl);
	m.test_end = clk_now_us();
	/* as network_partition: a run that lost an agent did not measure
	 * what it meant to */
	if (scen_check_lost(r, pl->cl, pl->n_cl) + scen_check_lost(r, pl->db, pl->n_db) >
	        0 &&
	    m.out.state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED)
		scen_fail(&m.out, CHAOS__V1__RUN_STATE__RUN_STATE_FAILED,
		          "an agent was lost during the run; its figures are reported "
		          "as lost");
	*result = db_result(r, pl, &m);
	return m.out.state;
}

/* Latest recovery (seconds after the restore) over probe kinds [k0, k1] of
 * client i; false when one of them did not recover. */
static bool
db_client_recovery(struct run *r, struct db_plan *pl, const struct db_meas *m, size_t i,
                   int k0, int k1, double *worst)
{
	struct mttr_rule rule = db_rule(pl);

	*worst = 0;
	for (int k = k0; k <= k1; k++) {
		double s;
		if (m->t_fault <= 0 || m->t_restore == 0 ||
		    !scen_probe_recovery(r, pl->probe[k][i], m->t_restore, &rule, &s,
		                         NULL))
			return false;
		*worst = s > *worst ? s : *worst;
	}
	return true;
}

static json_t *
db_percentiles(struct run *r, scen_id *ids, size_t n, int64_t from, int64_t to,
               bool healthy_only)
{
	struct obs_sample *s;
	double            *all = NULL, p50, p95, p99;
	size_t             k   = 0;

	for (size_t i = 0; i < n; i++) {
		size_t  cnt   = obs_samples(run_obs(r), ids[i], &s);
		double *grown = realloc(all, (k + cnt + 1) * sizeof(*all));
		if (grown == NULL) {
			free(s);
			break;
		}
		all = grown;
		for (size_t j = 0; j < cnt; j++)
			if (s[j].t_us >= from && s[j].t_us < to &&
			    (s[j].healthy || !healthy_only))
				all[k++] = (double)s[j].latency_us / 1000.0;
		free(s);
	}
	json_t *o = json_object();
	json_object_set_new(o, "samples", json_integer((json_int_t)k));
	bool have = k > 0 && mttr_percentile(all, k, 50, &p50) &&
	    mttr_percentile(all, k, 95, &p95) && mttr_percentile(all, k, 99, &p99);
	json_object_set_new(o, "p50_ms", have ? json_real(p50) : json_null());
	json_object_set_new(o, "p95_ms", have ? json_real(p95) : json_null());
	json_object_set_new(o, "p99_ms", have ? json_real(p99) : json_null());
	free(all);
	return o;
}

/* Error rate of the API probes (ready + data) during the failure. */
static void
db_api_errors(struct run *r, struct db_plan *pl, const struct db_meas *m, json_t *o)
{
	size_t h = 0, tot = 0;

	if (m->t_fault <= 0 || m->t_restore == 0) {
		const char *why = scen_unmeasured_why(m->t_fault, m->restore_why);
		scen_null(o, "api_requests_during", why);
		scen_null(o, "api_errors_during", why);
		scen_null(o, "api_error_rate", why);
		return;
	}
	for (int k = DB_API_READY; k <= DB_API_DATA; k++)
		for (size_t i = 0; i < pl->n_cl; i++) {
			size_t hh, tt;
			scen_count(r, pl->probe[k][i], m->t_fault, m->t_restore, &hh,
			           &tt);
			h += hh, tot += tt;
		}
	json_object_set_new(o, "api_requests_during", json_integer((json_int_t)tot));
	json_object_set_new(o, "api_errors_during", json_integer((json_int_t)(tot - h)));
	if (tot > 0) /* a fraction, 0..1 */
		json_object_set_new(o, "api_error_rate",
		                    json_real((double)(tot - h) / (double)tot));
	else
		scen_null(o, "api_error_rate",
		          "no API sample arrived during the failure");
}

/* First unhealthy readiness answer after the fault, over all clients. */
static void
db_detection(struct run *r, struct db_plan *pl, const struct db_meas *m, json_t *o)
{
	int64_t first = 0;

	for (size_t i = 0; i < pl->n_cl && m->t_fault > 0; i++) {
		struct mttr_sample *s = NULL;
		size_t  n = scen_mttr_samples(r, pl->probe[DB_API_READY][i], &s);
		int64_t t;
		if (mttr_first_unhealthy(s, n, m->t_fault, &t) &&
		    (first == 0 || t < first))
			first = t;
		free(s);
	}
	report_seconds(
	    o, "api_detection_time", first > 0, (double)(first - m->t_fault) / 1e6,
	    m->t_fault > 0 ? "the API never turned unhealthy" : "no fault was applied");
}

/* One client's recovery times into clients; false when its agent was
 * lost (left out of the run's figures, as in db_all_recovered). */
static bool
db_client_json(struct run *r, struct db_plan *pl, const struct db_meas *m, size_t i,
               const char *unknown, double *d, double *a, bool *dok, bool *aok,
               json_t *clients)
{
	bool        lost = pl->cl[i].lost;
	const char *why  = lost ? "agent lost during the run: not counted as recovered"
	     : unknown          ? unknown
	                        : "not recovered";
	json_t     *c    = json_pack("{s:s}", "pod", pl->cl[i].pod);

	*d = *a = 0;
	*dok    = !lost && db_client_recovery(r, pl, m, i, DB_PG_CONN, DB_PG_QUERY, d);
	*aok    = !lost && db_client_recovery(r, pl, m, i, DB_API_READY, DB_API_DATA, a);
	report_seconds(c, "database_recovery_time", *dok, *d, why);
	report_seconds(c, "api_recovery_time", *aok, *a, why);
	report_time(c, "lost_at", lost ? pl->cl[i].lost_at_us : 0);
	json_array_append_new(clients, c);
	return !lost;
}

static void
db_summary(struct run *r, struct db_plan *pl, const struct db_meas *m, json_t *o,
           json_t *clients)
{
	double      db_worst = 0, api_worst = 0, per[SCEN_MAX_TARGETS], mean = 0;
	bool        db_all = true, api_all = true;
	size_t      np = 0, n_kept = 0;
	const char *unknown = m->t_fault <= 0 || m->t_restore == 0
	    ? scen_unmeasured_why(m->t_fault, m->restore_why)
	    : NULL;

	for (size_t i = 0; i < pl->n_cl; i++) {
		double d, a;
		bool   dok, aok;
		if (!db_client_json(r, pl, m, i, unknown, &d, &a, &dok, &aok, clients))
			continue;
		n_kept++;
		db_all = db_all && dok, api_all = api_all && aok;
		db_worst  = d > db_worst ? d : db_worst,
		api_worst = a > api_worst ? a : api_worst;
		if (dok && aok)
			per[np++] = d > a ? d : a;
	}
	const char *why = unknown ? unknown
	    : n_kept == 0         ? "every client agent was lost during the run"
	    : m->out.failure[0]   ? m->out.failure
	                          : "not recovered";
	db_all = db_all && n_kept > 0, api_all = api_all && n_kept > 0;
	report_seconds(o, "database_recovery_time", db_all, db_worst, why);
	report_seconds(o, "api_recovery_time", api_all, api_worst, why);
	report_seconds(o, "recovery_time", db_all && api_all,
	               db_worst > api_worst ? db_worst : api_worst, why);
	/* computed first: argument evaluation order is unspecified in C */
	bool have_mean = db_all && api_all && mttr_mean(per, np, &mean);
	report_seconds(o, "mttr", have_mean, mean, why);
}

/* The API requests (readiness and data routes) from every client pod in
 * [from, to): what a user of the platform would see. */
static void
db_api_count(struct run *r, const struct db_plan *pl, int64_t from, int64_t to,
             size_t *ok, size_t *total)
{
	*ok = *total = 0;
	for (int k = DB_API_READY; k <= DB_API_DATA; k++)
		for (size_t i = 0; i < pl->n_cl; i++) {
			size_t h, t;
			scen_count(r, pl->probe[k][i], from, to, &h, &t);
			*ok += h, *total += t;
		}
}

/* --abort-error-rate: the API requests since the failure began. */
static bool
db_user_requests(struct run *r, void *plan, void *meas, uint64_t *ok, uint64_t *total)
{
	const struct db_meas *m = meas;
	size_t                h, t;

	*ok = *total = 0;
	if (m->t_fault <= 0)
		return false;
	db_api_count(r, plan, m->t_fault, clk_now_us() + 1, &h, &t);
	*ok = h, *total = t;
	return true;
}

static void
db_counts(struct run *r, struct db_plan *pl, const struct db_meas *m, json_t *o,
          json_t *samples)
{
	size_t ok = 0, total = 0, api_ok, api_total;

	for (int k = 0; k < DB_N_PROBES; k++)
		for (size_t i = 0; i < pl->n_cl; i++) {
			size_t h, t;
			char   key[300];
			scen_count(r, pl->probe[k][i], m->test_start, m->test_end + 1, &h,
			           &t);
			ok += h, total += t;
			snprintf(key, sizeof(key), "%s/%s", db_probe_tag[k],
			         pl->cl[i].pod);
			json_object_set_new(samples, key,
			                    scen_samples_json(r, pl->probe[k][i]));
		}
	json_object_set_new(o, "success_count", json_integer((json_int_t)ok));
	json_object_set_new(o, "error_count", json_integer((json_int_t)(total - ok)));
	db_api_count(r, pl, m->test_start, m->test_end + 1, &api_ok, &api_total);
	json_object_set_new(
	    o, "user_requests",
	    scen_user_requests(api_ok, api_total,
	                       "API requests (readiness and data routes) from every "
	                       "client pod, over the whole run",
	                       ok - api_ok, total - api_total,
	                       "PostgreSQL probes (connect and query) of the clients"));
}

static json_t *
db_latency_json(struct run *r, struct db_plan *pl, const struct db_meas *m, int k)
{
	int64_t after = m->t_restore > 0 ? m->t_restore : m->test_end;
	json_t *o     = json_pack(
	        "{s:o,s:o}", "baseline",
	        db_percentiles(r, pl->probe[k], pl->n_cl, m->base_start,
                           m->t_fault > 0 ? m->t_fault : m->test_end, true),
	        "after",
	        db_percentiles(r, pl->probe[k], pl->n_cl, after, m->test_end + 1, true));

	if (m->t_fault <= 0 || m->t_restore == 0)
		scen_null(o, "during", scen_unmeasured_why(m->t_fault, m->restore_why));
	else
		json_object_set_new(o, "during",
		                    db_percentiles(r, pl->probe[k], pl->n_cl, m->t_fault,
		                                   m->t_restore, true));
	return o;
}

static json_t *
db_result(struct run *r, struct db_plan *pl, struct db_meas *m)
{
	json_t *o = json_object(), *clients = json_array(), *samples = json_object();
	size_t  n;
	struct scen_target *t   = db_fault_targets(pl, &n);
	struct scen_clock   clk = {0};

	json_object_set_new(o, "scenario", json_string("database_failure"));
	json_object_set_new(o, "run_id", json_integer((json_int_t)run_id(r)));
	json_object_set_new(
	    o, "failure", m->out.failure[0] ? json_string(m->out.failure) : json_null());
	json_object_set_new(
	    o, "failure_type",
	    json_string(pl->latency ? "high_latency" : "connection_blocked"));
	report_time(o, "test_start", m->test_start);
	report_time(o, "test_end", m->test_end);
	report_time(o, "failure_start", m->t_fault);
	scen_window_end(o, "failure_end", m->t_fault, m->t_restore, m->restore_why);
	db_summary(r, pl, m, o, clients);
	db_detection(r, pl, m, o);
	db_api_errors(r, pl, m, o);
	db_counts(r, pl, m, o, samples);
	json_object_set_new(o, "api_latency", db_latency_json(r, pl, m, DB_API_DATA));
	json_object_set_new(o, "db_query_latency",
	                    db_latency_json(r, pl, m, DB_PG_QUERY));
	json_object_set_new(o, "clients", clients);
	json_object_set_new(o, "fault_spread_ms",
	                    m->t_fault > 0 ? json_real((double)m->spread_us / 1000.0)
	                                   : json_null());
	json_object_set_new(o, "fault_effects", scen_fault_effects(r, t, n));
	/* the samples come on the clients' clocks, the fault's times on its
	 * targets' */
	scen_clock_targets(r, pl->cl, pl->n_cl, &clk);
	if (!pl->client_side)
		scen_clock_targets(r, t, n, &clk);
	scen_clock_json(o, "clock_error_ms", &clk);
	json_object_set_new(o, "parameters", db_plan_json(pl));
	json_object_set_new(o, "samples", samples);
	return o;
}

/* ---- the orchestrator's rule ---- */

/* API error rate of an entry during the failure: details.api_error_rate,
 * always a fraction (0..1). Nothing else stands in for it: the run's
 * counts cover the whole run and the PostgreSQL probes too, so an entry
 * without it (no fault applied, no API sample during it) has no rate. */
static bool
db_error_rate(const json_t *e, double *rate)
{
	return entry_num(json_object_get(e, "details"), "api_error_rate", rate) &&
	    *rate >= 0 && *rate <= 1;
}

static void
db_recommend(const json_t *entries, json_t *recs)
{
	const json_t *e, *w = NULL, *type;
	double        worst = 0, r;
	size_t        i;

	json_array_foreach(entries, i,
	                   e) if (entry_is(e, "scenario", "database_failure") &&
	                          !entry_is(e, "outcome", "skipped") &&
	                          db_error_rate(e, &r) && (w == NULL || r > worst))
	    w     = e,
	    worst = r;
	if (w == NULL || worst <= DB_API_ERR_RATE)
		return;
	type = json_object_get(json_object_get(w, "details"), "failure_type");
	entry_rec(recs, "database_api_error_rate_high", "high", "database_failure",
	          worst * 100.0, DB_API_ERR_RATE * 100.0,
	          "API error rate %.1f %% during the database failure (cycle %lld%s%s), "
	          "above %g %%: add connection retry with backoff and a connection pool "
	          "that validates and re-opens connections, and answer 503 with "
	          "Retry-After instead of failing every request.",
	          worst * 100.0, json_integer_value(json_object_get(w, "cycle")),
	          json_is_string(type) ? ", failure type " : "",
	          json_string_value(type) ?: "", DB_API_ERR_RATE * 100.0);
}

static const char *const db_lanes[] = {"samples", NULL};

const struct scenario scenario_database = {
    .cli         = "database",
    .name        = "database_failure",
    .summary     = "make PostgreSQL unreachable or slow and watch the API",
    .params      = db_params_table,
    .params_size = sizeof(struct db_params),
    .rules       = db_rules,
    .shape       = {.window = "failure", .lanes = db_lanes},
    .finish      = db_finish,
    .recommend   = db_recommend,
    .plan        = db_plan,
    .execute     = db_execute,
    .plan_free   = free,
};
