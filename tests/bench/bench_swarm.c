// SPDX-License-Identifier: MIT
/*
 * The controller at scale: N simulated agents (swarm_agents.c: the real wire
 * protocol through common/wire.c over real NNG sockets, a session and an
 * events socket each) in one process of their own (swarm_child.c) against a
 * real chaos-controller process (swarm_ctl.c) on loopback, for N = 100 and
 * 1000, and 5000 with --max 5000 or CHAOS_BENCH_SWARM_MAX=5000. For each N,
 * on a fresh controller:
 *
 *  - connect: from starting the agents until the control API's listing (as
 *    `chaosctl agents` asks for it) shows all N connected;
 *  - heartbeat: the period the controller settles on for N agents (with
 *    its default --max-heartbeats-per-s of 500: 500 ms up to 250 agents,
 *    2 s at 1000, 10 s at 5000), and the round trip: p50/p99 of every
 *    reply's delay without the controller's hold, (t4 - t1) - (t3 - t2),
 *    over an idle window at that period;
 *  - controller CPU (share of one core, utime + stime from /proc/<pid>/stat)
 *    over that window, and RSS (VmRSS; the peak is VmHWM at the end);
 *  - fan-out: the noop scenario (a fault that changes nothing, applied to
 *    every agent, then reverted) started through the control API as
 *    chaosctl starts it: apply = from the run request to the controller
 *    holding every agent's ack, revert = from the revert's first command to
 *    every ack; p50/p99 over --reps runs; CPU of both processes over them;
 *  - one at a time, through the same controller, two ways: a run per agent
 *    (noop with agent=ID, as a script looping over the agents would start
 *    them), summing each run's request-to-ack, so that neither its revert
 *    nor this program's polling counts; and in one run, each agent's command
 *    sent after the previous agent's ack (noop with one_at_a_time).
 *
 * Bars (exit 1 when one is missed; a bar whose N did not run is not judged):
 * 1000 agents all connected within 10 s; the fault acked by all within 50 ms
 * p99 from the run request; controller CPU idle with 1000 agents at most
 * 10 % of a core; the fan-out of 1000 at least 20x faster than a run per
 * agent; controller RSS at most 64 MiB at 5000 agents (the peak). Every run
 * must have succeeded with every agent's ack. The 50 ms p99 and the 20x are
 * judged only on a machine with 4 or more CPUs: on fewer the simulated agents
 * share the controller's cores (on a cluster they run on other nodes) and
 * both are CPU-bound during a fan-out, while a run per agent waits on one
 * round trip at a time and gains nothing from more cores; there a miss is
 * printed, set false in "bars" and explained under bars.not_judged, without
 * failing the run. On any machine the fan-out of 1000 must still be at least
 * 8x a run per agent (10.9-15.5x on 2 CPUs), so that a fan-out that went
 * sequential fails here too. The in-one-run speed-up
 * is reported, not judged: there each agent costs one round trip through both processes'
 * threads (about 0.15 ms on loopback), while the fan-out is bound by the CPU that the
 * controller and the simulated agents share here. Ends with one JSON line holding every
 * figure.
 *
 * usage: bench_swarm CONTROLLER [--max 100|1000|5000] [--reps R] [--idle-s S]
 *        (bench_swarm --agents N SESSION_URL EVENTS_URL is its agents' process)
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "proto/chaos.pb-c.h"
#include "tests/bench/swarm_agents.h"
#include "tests/bench/swarm_child.h"
#include "tests/bench/swarm_ctl.h"

#define BAR_N 1000
#define BAR_CONNECT_S 10.0
#define BAR_APPLY_P99_MS 50.0
#define BAR_CPU_IDLE_PCT 10.0
#define BAR_SPEEDUP 20.0
#define BAR_SPEEDUP_FLOOR 8.0 /* on every machine: a guard, not the bar */
#define BAR_RSS_N 5000
#define BAR_RSS_MIB 64.0
/* The fan-out's p99 and its 20x are judged only with this many CPUs: on
 * fewer, the simulated agents (about 40 % of a phase's CPU: three TCP
 * messages each) share the controller's cores, which in a cluster they
 * never do, and the phase is CPU-bound on both. The figures are reported
 * either way. */
#define BAR_APPLY_MIN_CPUS 4
#define CONNECT_MAX_S 120
#define SETTLE_MAX_S 60
#define SEQ_REPS 3
#define MAX_REPS 200

static const size_t bench_sizes[] = {100, 1000, 5000};

struct opts {
	const char *self; /* this program, for its agents mode */
	const char *exe;
	size_t      sizes[3];
	size_t      n_sizes;
	unsigned    reps;
	double      idle_s;
};

struct figures {
	size_t   n;
	double   connect_s;
	unsigned hb_ms;            /* the heartbeat the controller settled on */
	double   rtt_p50, rtt_p99; /* ms */
	double   apply_p50, apply_p99, revert_p50, revert_p99;
	double   start_p50; /* from the run request to the first command queued */
	double   seq_apply, seq_revert, seq_speedup;    /* one at a time, in one run */
	double   runs_apply, runs_revert, runs_speedup; /* a run per agent, summed */
	double   rss_empty, rss_idle, rss_peak;         /* MiB */
	double   cpu_idle, cpu_run;                     /* % of one core */
	double   cpu_ms_per_run, bench_cpu_ms_per_run; /* the controller's, the agents' */
	unsigned runs, runs_ok;
	char     error[CHAOS_WHY_LEN + 64];
};

static double
bench_mib(size_t kib)
{
	return (double)kib / 1024.0;
}

/* ---- phases ---- */

static bool
bench_connect(const char *self, const struct swarm_ctl *c, size_t n,
              struct swarm_child *sw, struct figures *f)
{
	int64_t   t0 = clk_mono_us(), until = t0 + CONNECT_MAX_S * 1000000LL;
	size_t    listed = 0, connected = 0;
	chaos_why why = {{0}};

	if (swarm_child_start(self, n, c->session_url, c->events_url, sw, &why) !=
	    CHAOS_OK) {
		snprintf(f->error, sizeof(f->error), "agents: %s", why.text);
		return false;
	}
	while (clk_mono_us() < until) {
		if (swarm_ctl_agents(c, &listed, &connected, NULL, &why) == CHAOS_OK &&
		    connected == n) {
			f->connect_s = (double)(clk_mono_us() - t0) / 1e6;
			return true;
		}
		nng_msleep(100);
	}
	snprintf(f->error, sizeof(f->error), "%zu of %zu connected after %d s", connected,
	         n, CONNECT_MAX_S);
	return false;
}

/* Waits (bounded) until the heartbeat the controller grows with the agents
 * (--max-heartbeats-per-s) has stayed the same for two of its periods plus
 * a second: every agent then polls at that rate and every poll parked under
 * an earlier one has been answered. */
static void
bench_settle(const struct swarm_ctl *c, struct figures *f)
{
	int64_t  until = clk_mono_us() + SETTLE_MAX_S * 1000000LL, since = clk_mono_us();
	uint32_t hb = 0, now;
	size_t   listed, connected;

	while (clk_mono_us() < until) {
		if (swarm_ctl_agents(c, &listed, &connected, &now, NULL) == CHAOS_OK &&
		    now != hb) {
			hb    = now;
			since = clk_mono_us();
		}
		if (hb > 0 && clk_mono_us() - since >= (2 * (int64_t)hb + 1000) * 1000)
			break;
		nng_msleep(200);
	}
	f->hb_ms = hb;
}

/* Round trips and CPU over an idle window, at the heartbeat settled on. */
static void
bench_idle(const struct swarm_ctl *c, struct swarm_child *sw, double idle_s,
           struct figures *f)
{
	struct swarm_proc a = {0}, b = {0};
	int64_t           t0, t1;
	size_t            n = 0;

	bench_settle(c, f); /* also: registrations logged, every agent parked */
	swarm_child_rtt_on(sw);
	swarm_ctl_proc(c->pid, &a);
	t0 = clk_mono_us();
	nng_msleep((nng_duration)(idle_s * 1000));
	swarm_ctl_proc(c->pid, &b);
	t1          = clk_mono_us();
	f->cpu_idle = (b.cpu_s - a.cpu_s) / ((double)(t1 - t0) / 1e6) * 100.0;
	f->rss_idle = bench_mib(b.rss_kib);
	if (swarm_child_rtt_off(sw, &n, &f->rtt_p50, &f->rtt_p99)) {
		f->rtt_p50 /= 1000.0;
		f->rtt_p99 /= 1000.0;
	}
}

/* What one noop run measured, ms: apply from the run request, revert from
 * its own start, and the start (request to the first command queued). */
struct bench_run {
	double apply, revert, start;
};

static int64_t
bench_us(const json_t *result, const char *phase, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(result, phase), key));
}

/* One noop run with params (JSON text); false (f->error set) unless it
 * succeeded with the ack of every one of `agents`. */
static bool
bench_noop(const struct swarm_ctl *c, const char *params, size_t agents,
           struct figures *f, struct bench_run *out)
{
	json_t   *res   = NULL;
	int64_t   t_req = 0;
	int       state = 0;
	chaos_why why   = {{0}};
	bool      ok;

	f->runs++;
	if (swarm_ctl_run(c, "noop", params, &t_req, &state, &res, &why) != CHAOS_OK) {
		snprintf(f->error, sizeof(f->error), "noop run: %s", why.text);
		return false;
	}
	ok = state == CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED &&
	    (size_t)json_integer_value(json_object_get(res, "agents")) == agents;
	if (ok) {
		f->runs_ok++;
		out->apply =
		    (double)(bench_us(res, "apply", "acked_us") - t_req) / 1000.0;
		out->start = (double)(bench_us(res, "apply", "sent_us") - t_req) / 1000.0;
		out->revert = (double)(bench_us(res, "revert", "acked_us") -
		                       bench_us(res, "revert", "sent_us")) /
		    1000.0;
	} else {
		char *text = json_dumps(res, JSON_COMPACT);
		snprintf(f->error, sizeof(f->error), "noop run ended in state %d: %.400s",
		         state, text ? text : "(no result)");
		free(text);
	}
	json_decref(res);
	return ok;
}

static bool
bench_fanout(const struct swarm_ctl *c, pid_t agents, unsigned reps, struct figures *f)
{
	double            ap[MAX_REPS], rv[MAX_REPS], st[MAX_REPS];
	struct bench_run  run;
	struct swarm_proc a = {0}, b = {0}, sa = {0}, sb = {0};
	int64_t           t0, t1;

	if (!bench_noop(c, "{}", f->n, f, &run)) /* warm-up, not counted */
		return false;
	swarm_ctl_proc(c->pid, &a);
	swarm_ctl_proc(agents, &sa);
	t0 = clk_mono_us();
	for (unsigned i = 0; i < reps; i++) {
		if (!bench_noop(c, "{}", f->n, f, &run))
			return false;
		ap[i] = run.apply, rv[i] = run.revert, st[i] = run.start;
		nng_msleep(50);
	}
	t1 = clk_mono_us();
	swarm_ctl_proc(c->pid, &b);
	swarm_ctl_proc(agents, &sb);
	f->cpu_run              = (b.cpu_s - a.cpu_s) / ((double)(t1 - t0) / 1e6) * 100.0;
	f->cpu_ms_per_run       = (b.cpu_s - a.cpu_s) * 1000.0 / reps;
	f->bench_cpu_ms_per_run = (sb.cpu_s - sa.cpu_s) * 1000.0 / reps;
	f->apply_p50            = swarm_percentile(ap, reps, 50);
	f->apply_p99            = swarm_percentile(ap, reps, 99);
	f->revert_p50           = swarm_percentile(rv, reps, 50);
	f->revert_p99           = swarm_percentile(rv, reps, 99);
	f->start_p50            = swarm_percentile(st, reps, 50);
	return true;
}

/* The baselines. In one run, one agent at a time: each gets the fault
 * after the previous one acked (median over a few runs). And one run per
 * agent, as a script looping over the agents would start them: the sum of
 * each run's request-to-ack (its revert and this process's polling left
 * out, so the baseline is the least it could be). */
static bool
bench_sequential(const struct swarm_ctl *c, struct figures *f)
{
	double           ap[SEQ_REPS], rv[SEQ_REPS];
	struct bench_run run;

	for (unsigned i = 0; i < SEQ_REPS; i++) {
		if (!bench_noop(c, "{\"one_at_a_time\":true}", f->n, f, &run))
			return false;
		ap[i] = run.apply, rv[i] = run.revert;
	}
	f->seq_apply   = swarm_percentile(ap, SEQ_REPS, 50);
	f->seq_revert  = swarm_percentile(rv, SEQ_REPS, 50);
	f->seq_speedup = f->apply_p50 > 0 ? f->seq_apply / f->apply_p50 : 0;
	return true;
}

static bool
bench_run_per_agent(const struct swarm_ctl *c, struct figures *f)
{
	struct bench_run run;
	char             params[128], id[64];

	for (size_t i = 0; i < f->n; i++) {
		snprintf(params, sizeof(params), "{\"agent\":\"%s\"}",
		         swarm_agent_id("swarm", i, id, sizeof(id)));
		if (!bench_noop(c, params, 1, f, &run))
			return false;
		f->runs_apply += run.apply;
		f->runs_revert += run.revert;
	}
	f->runs_speedup = f->apply_p50 > 0 ? f->runs_apply / f->apply_p50 : 0;
	return true;
}

/* ---- one size ---- */

static void
bench_print(const struct figures *f)
{
	printf("%6zu agents: connect %.2f s, heartbeat %u ms, rtt p50 %.2f p99 %.2f ms, "
	       "cpu idle %.1f %% run %.1f %% (%.0f ms a run; agents %.0f ms), rss empty "
	       "%.1f idle %.1f peak %.1f MiB\n",
	       f->n, f->connect_s, f->hb_ms, f->rtt_p50, f->rtt_p99, f->cpu_idle,
	       f->cpu_run, f->cpu_ms_per_run, f->bench_cpu_ms_per_run, f->rss_empty,
	       f->rss_idle, f->rss_peak);
	printf("%6s         fan-out apply p50 %.1f p99 %.1f ms (of which start %.1f), "
	       "revert p50 %.1f p99 %.1f ms\n",
	       "", f->apply_p50, f->apply_p99, f->start_p50, f->revert_p50,
	       f->revert_p99);
	printf("%6s         one at a time: a run per agent apply %.0f revert %.0f ms "
	       "(%.1fx); in one run apply %.1f revert %.1f ms (%.1fx)\n",
	       "", f->runs_apply, f->runs_revert, f->runs_speedup, f->seq_apply,
	       f->seq_revert, f->seq_speedup);
	if (f->error[0] != '\0')
		printf("%6s         ERROR: %s\n", "", f->error);
	fflush(stdout);
}

static void
bench_size(const struct opts *o, size_t n, struct figures *f)
{
	struct swarm_ctl   c;
	struct swarm_child sw  = {0};
	struct swarm_proc  p   = {0};
	chaos_why          why = {{0}};
	size_t             max = n + n / 8 > 1024 ? n + n / 8 : 1024;

	memset(f, 0, sizeof(*f));
	f->n = n;
	if (swarm_ctl_start(o->exe, max, &c, &why) != CHAOS_OK) {
		snprintf(f->error, sizeof(f->error), "controller: %s", why.text);
		swarm_ctl_stop(&c);
		return;
	}
	swarm_ctl_proc(c.pid, &p);
	f->rss_empty = bench_mib(p.rss_kib);
	if (bench_connect(o->self, &c, n, &sw, f)) {
		bench_idle(&c, &sw, o->idle_s, f);
		if (bench_fanout(&c, sw.pid, o->reps, f) && bench_sequential(&c, f))
			bench_run_per_agent(&c, f);
	}
	if (swarm_ctl_proc(c.pid, &p))
		f->rss_peak = bench_mib(p.hwm_kib);
	swarm_child_kill(&sw);
	swarm_ctl_stop(&c);
	bench_print(f);
}

/* ---- bars and the JSON line ---- */

static json_t *
bench_size_json(const struct figures *f)
{
	json_t *o = json_pack("{s:i,s:f,s:i,s:{s:f,s:f}}", "agents", (int)f->n,
	                      "connect_s", f->connect_s, "heartbeat_ms", (int)f->hb_ms,
	                      "heartbeat_rtt_ms", "p50", f->rtt_p50, "p99", f->rtt_p99);

	json_object_set_new(o, "fanout_ms",
	                    json_pack("{s:{s:f,s:f},s:{s:f,s:f},s:f}", "apply", "p50",
	                              f->apply_p50, "p99", f->apply_p99, "revert", "p50",
	                              f->revert_p50, "p99", f->revert_p99, "start_p50",
	                              f->start_p50));
	json_object_set_new(o, "one_at_a_time_ms",
	                    json_pack("{s:{s:f,s:f},s:{s:f,s:f}}", "run_per_agent",
	                              "apply", f->runs_apply, "revert", f->runs_revert,
	                              "in_one_run", "apply", f->seq_apply, "revert",
	                              f->seq_revert));
	json_object_set_new(o, "speedup",
	                    json_pack("{s:f,s:f}", "run_per_agent", f->runs_speedup,
	                              "in_one_run", f->seq_speedup));
	json_object_set_new(o, "controller_rss_mib",
	                    json_pack("{s:f,s:f,s:f}", "empty", f->rss_empty, "idle",
	                              f->rss_idle, "peak", f->rss_peak));
	json_object_set_new(o, "cpu",
	                    json_pack("{s:f,s:f,s:f,s:f}", "controller_idle_pct",
	                              f->cpu_idle, "controller_run_pct", f->cpu_run,
	                              "controller_ms_per_run", f->cpu_ms_per_run,
	                              "agents_ms_per_run", f->bench_cpu_ms_per_run));
	json_object_set_new(o, "runs",
	                    json_pack("{s:i,s:i}", "started", (int)f->runs, "succeeded",
	                              (int)f->runs_ok));
	json_object_set_new(o, "error",
	                    f->error[0] ? json_string(f->error) : json_null());
	return o;
}

/* Adds bar name -> true/false (null when its size did not run). */
static bool
bench_bar(json_t *bars, const char *name, const struct figures *f, bool met)
{
	json_object_set_new(bars, name, f == NULL ? json_null() : json_boolean(met));
	if (f != NULL && !met)
		printf("BAR MISSED: %s\n", name);
	return f == NULL || met;
}

/* bench_bar() for a bar judged only on BAR_APPLY_MIN_CPUS or more: on
 * fewer, a miss is printed and listed under "not_judged" with the reason,
 * and the run does not fail on it. */
static bool
bench_bar_cpus(json_t *bars, const char *name, const struct figures *f, bool met)
{
	long    cpus = sysconf(_SC_NPROCESSORS_ONLN);
	json_t *nj;
	char    why[200];

	if (cpus >= BAR_APPLY_MIN_CPUS || f == NULL || met)
		return bench_bar(bars, name, f, met);
	json_object_set_new(bars, name, json_false());
	snprintf(why, sizeof(why),
	         "%ld CPUs shared by the controller and the simulated agents; judged "
	         "with %d or more",
	         cpus, BAR_APPLY_MIN_CPUS);
	if ((nj = json_object_get(bars, "not_judged")) == NULL)
		json_object_set_new(bars, "not_judged", nj = json_object());
	json_object_set_new(nj, name, json_string(why));
	printf("BAR MISSED, NOT JUDGED HERE: %s (%s)\n", name, why);
	return true;
}

static const struct figures *
bench_find(const struct figures *all, size_t n_all, size_t n)
{
	for (size_t i = 0; i < n_all; i++)
		if (all[i].n == n)
			return &all[i];
	return NULL;
}

static bool
bench_bars(const struct figures *all, size_t n_all, json_t *bars)
{
	const struct figures *k  = bench_find(all, n_all, BAR_N);
	const struct figures *m  = bench_find(all, n_all, BAR_RSS_N);
	bool                  ok = true;

	for (size_t i = 0; i < n_all; i++)
		if (all[i].error[0] != '\0' || all[i].runs_ok != all[i].runs)
			ok = false;
	json_object_set_new(bars, "every_run_acked_by_all", json_boolean(ok));
	ok &= bench_bar(bars, "connect_1000_within_10_s", k,
	                k && k->connect_s > 0 && k->connect_s <= BAR_CONNECT_S);
	ok &= bench_bar_cpus(bars, "apply_1000_p99_within_50_ms", k,
	                     k && k->runs_ok > 0 && k->apply_p99 <= BAR_APPLY_P99_MS);
	ok &= bench_bar(bars, "cpu_idle_1000_at_most_10_pct", k,
	                k && k->cpu_idle <= BAR_CPU_IDLE_PCT);
	ok &= bench_bar_cpus(bars, "fanout_1000_at_least_20x_a_run_per_agent", k,
	                     k && k->runs_speedup >= BAR_SPEEDUP);
	ok &= bench_bar(bars, "fanout_1000_at_least_8x_a_run_per_agent", k,
	                k && k->runs_speedup >= BAR_SPEEDUP_FLOOR);
	ok &= bench_bar(bars, "rss_5000_at_most_64_mib", m,
	                m && m->rss_peak > 0 && m->rss_peak <= BAR_RSS_MIB);
	return ok;
}

/* The machine, with its 1-minute load average before the run: other work
 * on it moves the latency figures, and the line says how much there was. */
static void
bench_machine(json_t *o, double load1)
{
	char  line[256], model[128] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "model name", 10) == 0 && strchr(line, ':') != NULL) {
			snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	if (f != NULL)
		fclose(f);
	json_object_set_new(o, "machine",
	                    json_pack("{s:i,s:s,s:f}", "cpus",
	                              (int)sysconf(_SC_NPROCESSORS_ONLN), "model", model,
	                              "load1_before", load1));
}

/* ---- options ---- */

static int
bench_usage(void)
{
	fprintf(stderr,
	        "usage: bench_swarm CONTROLLER [--max 100|1000|5000] [--reps 1..%d] "
	        "[--idle-s 1..600]\n",
	        MAX_REPS);
	return 2;
}

static bool
bench_opts(int argc, char **argv, struct opts *o)
{
	const char *env = getenv("CHAOS_BENCH_SWARM_MAX");
	long        max = env != NULL ? atol(env) : 1000;

	*o = (struct opts) {
	    .self = argv[0], .exe = argc > 1 ? argv[1] : NULL, .reps = 20, .idle_s = 10};
	for (int i = 2; i < argc; i += 2) {
		if (i + 1 >= argc)
			return false;
		if (strcmp(argv[i], "--max") == 0)
			max = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--reps") == 0)
			o->reps = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--idle-s") == 0)
			o->idle_s = atof(argv[i + 1]);
		else
			return false;
	}
	if (o->exe == NULL || (max != 100 && max != 1000 && max != 5000) || o->reps < 1 ||
	    o->reps > MAX_REPS || o->idle_s < 1 || o->idle_s > 600)
		return false;
	for (size_t i = 0; i < sizeof(o->sizes) / sizeof(o->sizes[0]); i++)
		if (bench_sizes[i] <= (size_t)max)
			o->sizes[o->n_sizes++] = bench_sizes[i];
	return true;
}

/* Two sockets per agent in this process and in the controller. */
static bool
bench_raise_fd_limit(size_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return false;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 2 * n + 256;
}

int
main(int argc, char **argv)
{
	struct opts    o;
	struct figures all[3];
	json_t        *out = json_object(), *sizes = json_array(), *bars = json_object();
	char          *line;
	bool           ok;
	double         load1 = -1;

	if (argc > 1 && strcmp(argv[1], SWARM_CHILD_FLAG) == 0)
		return swarm_child_main(argc - 1, argv + 1);
	if (!bench_opts(argc, argv, &o))
		return bench_usage();
	if (!bench_raise_fd_limit(o.sizes[o.n_sizes - 1])) {
		printf("skipped: the open-file limit is below what %zu agents need\n",
		       o.sizes[o.n_sizes - 1]);
		return 77;
	}
	getloadavg(&load1, 1);
	for (size_t i = 0; i < o.n_sizes; i++) {
		bench_size(&o, o.sizes[i], &all[i]);
		json_array_append_new(sizes, bench_size_json(&all[i]));
	}
	ok = bench_bars(all, o.n_sizes, bars);
	json_object_set_new(out, "bench", json_string("swarm"));
	bench_machine(out, load1);
	json_object_set_new(out, "reps", json_integer(o.reps));
	json_object_set_new(out, "sizes", sizes);
	json_object_set_new(out, "bars", bars);
	json_object_set_new(out, "pass", json_boolean(ok));
	line = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(4));
	printf("%s\n", line ? line : "{}");
	free(line);
	json_decref(out);
	return ok ? 0 : 1;
}
