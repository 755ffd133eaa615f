// SPDX-License-Identifier: MIT
#include "controller/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/url.h"
#include "common/wire.h"

#define METRICS_MAX_SCENARIOS 16
#define METRICS_N_STATES 16 /* room for every Chaos__V1__RunState value */
#define METRICS_MAX_EPS 8

struct metrics {
	nng_http_server  *srv;
	nng_http_handler *h;
	struct registry  *reg;
	struct epstats   *eps[METRICS_MAX_EPS];
	size_t            n_eps;
};

/* Counters live for the process: hooks need no handle and count before and
 * without the server. */
static _Atomic uint64_t metrics_samples_ok, metrics_samples_err;
static _Atomic uint64_t metrics_refused_identity;
static _Atomic uint64_t metrics_runs[METRICS_N_STATES];
static pthread_mutex_t  metrics_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char   scenario[64];
	double mttr_s;        /* the last one measured */
	bool   have_mttr;     /* some run measured one */
	bool   last_measured; /* the newest run did */
} metrics_mttr[METRICS_MAX_SCENARIOS];
static size_t metrics_n_mttr;

void
metrics_on_event(const Chaos__V1__Event *e)
{
	if (e->body_case != CHAOS__V1__EVENT__BODY_SAMPLE || e->sample == NULL)
		return;
	atomic_fetch_add(e->sample->healthy ? &metrics_samples_ok : &metrics_samples_err,
	                 1);
}

void
metrics_on_identity_refused(void)
{
	atomic_fetch_add(&metrics_refused_identity, 1);
}

void
metrics_on_run_end(const char *scenario, int state, const json_t *result)
{
	const json_t *v = json_object_get(result, "mttr");
	size_t        i;

	bool measured = json_is_number(v) && isfinite(json_number_value(v));

	if (state >= 0 && state < METRICS_N_STATES)
		atomic_fetch_add(&metrics_runs[state], 1);
	if (scenario == NULL)
		return;
	pthread_mutex_lock(&metrics_mtx);
	for (i = 0; i < metrics_n_mttr && strcmp(metrics_mttr[i].scenario, scenario) != 0;
	     i++)
		;
	if (i < METRICS_MAX_SCENARIOS) {
		snprintf(metrics_mttr[i].scenario, sizeof(metrics_mttr[i].scenario), "%s",
		         scenario);
		/* Only a measured MTTR replaces the last one (unknown is never
		 * 0); whether the newest run measured one is said beside it, so
		 * an old figure cannot pass for the newest run's. */
		metrics_mttr[i].last_measured = measured;
		if (measured) {
			metrics_mttr[i].mttr_s    = json_number_value(v);
			metrics_mttr[i].have_mttr = true;
		}
		metrics_n_mttr = i == metrics_n_mttr ? i + 1 : metrics_n_mttr;
	}
	pthread_mutex_unlock(&metrics_mtx);
}

/* A label value: backslash, double quote and newline escaped (0.0.4). */
static void
metrics_label(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
metrics_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* How the agent table copes: forgotten entries and refused newcomers. */
static void
metrics_table(FILE *f, const struct registry_counts *c)
{
	metrics_head(f, "chaos_agents_forgotten_total", "counter",
	             "Agents forgotten: lost too long, or to make room in a full table.");
	fprintf(f, "chaos_agents_forgotten_total %llu\n", (unsigned long long)c->evicted);
	metrics_head(f, "chaos_agents_refused_total", "counter",
	             "Agents refused, by reason.");
	fprintf(f, "chaos_agents_refused_total{reason=\"duplicate_id\"} %llu\n",
	        (unsigned long long)c->refused_duplicate);
	fprintf(f, "chaos_agents_refused_total{reason=\"table_full\"} %llu\n",
	        (unsigned long long)c->refused_full);
	fprintf(f, "chaos_agents_refused_total{reason=\"identity\"} %llu\n",
	        (unsigned long long)atomic_load(&metrics_refused_identity));
}

/* Counted in one pass over the table: a scrape copies no agent, so its cost
 * does not grow with what each agent carries. */
static void
metrics_agents(FILE *f, struct registry *reg)
{
	struct registry_counts c = {0};

	if (reg != NULL)
		registry_counts(reg, &c);
	metrics_head(f, "chaos_agents", "gauge",
	             "Agents known to the controller, by role and state.");
	for (unsigned v = 0; v < chaos__v1__role__descriptor.n_values; v++) {
		int  r = chaos__v1__role__descriptor.values[v].value;
		char name[32];
		if (r < 0 || r >= REGISTRY_N_ROLES)
			continue;
		wire_enum_name(&chaos__v1__role__descriptor, r, name, sizeof(name));
		fprintf(f, "chaos_agents{role=\"%s\",state=\"connected\"} %zu\n", name,
		        c.connected_by_role[r]);
		fprintf(f, "chaos_agents{role=\"%s\",state=\"lost\"} %zu\n", name,
		        c.lost_by_role[r]);
	}
	metrics_head(f, "chaos_active_faults", "gauge",
	             "Faults in force now, as reported by the connected agents.");
	fprintf(f, "chaos_active_faults %zu\n", c.active_faults);
	if (reg != NULL) {
		metrics_head(f, "chaos_heartbeat_seconds", "gauge",
		             "The heartbeat announced to agents now (it grows with them "
		             "beyond --max-heartbeats-per-s); lost after three.");
		fprintf(f, "chaos_heartbeat_seconds %.3f\n",
		        registry_heartbeat_ms(reg) / 1000.0);
	}
	metrics_table(f, &c);
}

static void
metrics_counters(FILE *f)
{
	metrics_head(f, "chaos_probe_samples_total", "counter",
	             "Probe samples received from the agents, by result.");
	fprintf(f, "chaos_probe_samples_total{result=\"ok\"} %llu\n",
	        (unsigned long long)atomic_load(&metrics_samples_ok));
	fprintf(f, "chaos_probe_samples_total{result=\"error\"} %llu\n",
	        (unsigned long long)atomic_load(&metrics_samples_err));
	metrics_head(f, "chaos_runs_total", "counter",
	             "Scenario runs that ended, by final state.");
	for (unsigned v = 0; v < chaos__v1__run_state__descriptor.n_values; v++) {
		int  s = chaos__v1__run_state__descriptor.values[v].value;
		char name[32];
		/* only the states a run ends in */
		if (s == CHAOS__V1__RUN_STATE__RUN_STATE_UNSPECIFIED ||
		    s == CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING ||
		    s == CHAOS__V1__RUN_STATE__RUN_STATE_PLANNING ||
		    s >= METRICS_N_STATES)
			continue;
		fprintf(f, "chaos_runs_total{state=\"%s\"} %llu\n",
		        wire_enum_name(&chaos__v1__run_state__descriptor, s, name,
		                       sizeof(name)),
		        (unsigned long long)atomic_load(&metrics_runs[s]));
	}
	metrics_head(f, "chaos_last_mttr_seconds", "gauge",
	             "MTTR of the last run of each scenario that measured one (absent "
	             "until then).");
	pthread_mutex_lock(&metrics_mtx);
	for (size_t i = 0; i < metrics_n_mttr; i++) {
		if (!metrics_mttr[i].have_mttr)
			continue;
		fputs("chaos_last_mttr_seconds{scenario=\"", f);
		metrics_label(f, metrics_mttr[i].scenario);
		fprintf(f, "\"} %.6g\n", metrics_mttr[i].mttr_s);
	}
	metrics_head(f, "chaos_last_run_mttr_measured", "gauge",
	             "1 when the newest run of the scenario measured its MTTR, 0 when "
	             "it did not (chaos_last_mttr_seconds is then an older run's).");
	for (size_t i = 0; i < metrics_n_mttr; i++) {
		fputs("chaos_last_run_mttr_measured{scenario=\"", f);
		metrics_label(f, metrics_mttr[i].scenario);
		fprintf(f, "\"} %d\n", metrics_mttr[i].last_measured ? 1 : 0);
	}
	pthread_mutex_unlock(&metrics_mtx);
}

static void
metrics_endpoints(FILE *f, struct epstats *const *eps, size_t n)
{
	static const char *const names[] = {"chaos_messages_received_total",
	                                    "chaos_messages_dropped_total",
	                                    "chaos_pipes_closed_total"};
	static const char *const help[]  = {
	     "Messages received, by endpoint.",
	     "Messages dropped as malformed, oversize or invalid, by endpoint.",
	     "Connections (pipes) closed, by endpoint."};

	for (int k = 0; k < 3; k++) {
		metrics_head(f, names[k], "counter", help[k]);
		for (size_t i = 0; i < n; i++) {
			uint64_t v;
			nng_mtx_lock(eps[i]->mtx);
			v = k == 0   ? eps[i]->received
			    : k == 1 ? eps[i]->dropped
			             : eps[i]->pipes_closed;
			nng_mtx_unlock(eps[i]->mtx);
			fprintf(f, "%s{endpoint=\"", names[k]);
			metrics_label(f, eps[i]->name);
			fprintf(f, "\"} %llu\n", (unsigned long long)v);
		}
	}
}

char *
metrics_render(struct registry *reg, struct epstats *const *eps, size_t n)
{
	char  *out = NULL;
	size_t len = 0;
	FILE  *f   = open_memstream(&out, &len);

	if (f == NULL)
		return NULL;
	metrics_agents(f, reg);
	metrics_counters(f);
	metrics_endpoints(f, eps, n);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void
metrics_handle(nng_aio *aio)
{
	nng_http_handler *h    = nng_aio_get_input(aio, 1);
	struct metrics   *m    = nng_http_handler_get_data(h);
	char             *text = metrics_render(m->reg, m->eps, m->n_eps);
	nng_http_res     *res  = NULL;

	if (text == NULL || nng_http_res_alloc(&res) != 0 ||
	    nng_http_res_set_header(res, "Content-Type",
	                            "text/plain; version=0.0.4; charset=utf-8") != 0 ||
	    nng_http_res_copy_data(res, text, strlen(text)) != 0) {
		if (res != NULL)
			nng_http_res_free(res);
		free(text);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	free(text);
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

chaos_err
metrics_check_addr(const char *addr, chaos_why *why)
{
	char     host[256];
	uint16_t port;

	if (url_parse_hostport(addr, host, sizeof(host), &port, NULL) != CHAOS_OK)
		return chaos_fail(
		    why, CHAOS_EINVAL,
		    "allowed is HOST:PORT, e.g. 0.0.0.0:9100 or [::1]:9100, "
		    "port 1..65535");
	return CHAOS_OK;
}

chaos_err
metrics_start(const char *addr, struct registry *reg, struct epstats *const *eps,
              size_t n, struct metrics **out, chaos_why *why)
{
	struct metrics *m = calloc(1, sizeof(*m));
	char            url[512];
	nng_url        *u = NULL;
	int             rv;

	if (m == NULL)
		return CHAOS_ENOMEM;
	m->reg   = reg;
	m->n_eps = n < METRICS_MAX_EPS ? n : METRICS_MAX_EPS;
	memcpy(m->eps, eps, m->n_eps * sizeof(*eps));
	snprintf(url, sizeof(url), "http://%s", addr);
	chaos_fail(why, CHAOS_EINVAL, "bad --metrics address");
	if ((rv = nng_url_parse(&u, url)) != 0)
		goto fail;
	chaos_fail(why, CHAOS_ESYS, "cannot set up the HTTP server");
	if ((rv = nng_http_server_hold(&m->srv, u)) != 0)
		goto fail;
	if ((rv = nng_http_handler_alloc(&m->h, "/metrics", metrics_handle)) != 0 ||
	    (rv = nng_http_handler_set_data(m->h, m, NULL)) != 0 ||
	    (rv = nng_http_server_add_handler(m->srv, m->h)) != 0)
		goto fail;
	m->h = NULL; /* the server owns it now */
	chaos_fail(why, CHAOS_EBUSY,
	           "cannot listen on the --metrics address (in use? not local?)");
	if ((rv = nng_http_server_start(m->srv)) != 0)
		goto fail;
	nng_url_free(u);
	*out = m;
	return CHAOS_OK;
fail:
	if (m->h != NULL)
		nng_http_handler_free(m->h);
	if (m->srv != NULL)
		nng_http_server_release(m->srv);
	if (u != NULL)
		nng_url_free(u);
	free(m);
	return chaos_err_from_nng(rv);
}

void
metrics_stop(struct metrics *m)
{
	if (m == NULL)
		return;
	nng_http_server_stop(m->srv);
	nng_http_server_release(m->srv);
	free(m);
}
