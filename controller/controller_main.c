// SPDX-License-Identifier: MIT
/*
 * chaos-controller: serves the agents' sessions and events and chaosctl's
 * control API; tracks every agent (connected or lost, clock offset).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/exitguard.h"
#include "common/log.h"
#include "common/memtune.h"
#include "common/transport.h"
#include "common/url.h"
#include "controller/control_srv.h"
#include "controller/controller_cli.h"
#include "controller/epstats.h"
#include "controller/events_srv.h"
#include "controller/identity_check.h"
#include "controller/metrics.h"
#include "controller/registry.h"
#include "controller/run.h"
#include "controller/session_srv.h"
#include "controller/targets.h"

static atomic_bool controller_stop;

/* After a signal the controller reverts a run in progress (its revert waits
 * a few seconds for acks at most) and exits; past this it is stuck
 * (common/exitguard.h). Below Kubernetes' default 30 s grace. */
#define CONTROLLER_EXIT_GRACE_S 20

static void *
controller_signal_thread(void *arg)
{
	sigset_t *set = arg;
	int       sig;

	if (sigwait(set, &sig) == 0) {
		log_info("signal %d: shutting down", sig);
		exitguard_arm(CONTROLLER_EXIT_GRACE_S,
		              "the agents' leases revert what is left");
		atomic_store(&controller_stop, true);
	}
	return NULL;
}

/* ipc:// needs its directory; made owner-only like the socket itself. */
static void
controller_ipc_dir(const char *url)
{
	char  path[512];
	char *slash;

	if (strncmp(url, "ipc://", 6) != 0)
		return;
	snprintf(path, sizeof(path), "%s", url + 6);
	if ((slash = strrchr(path, '/')) != NULL && slash != path) {
		*slash = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			log_warn("cannot create %s: %s", path, strerror(errno));
	}
}

struct controller {
	struct registry    *reg;
	struct run_mgr     *runs;
	struct epstats      st_session, st_events, st_control;
	struct session_srv *session;
	struct events_srv  *events;
	struct control_srv *control;
	struct metrics     *metrics;
	struct run_store   *store;
	struct targets     *targets; /* who node agents' pods are */
	struct idcheck     *idc;     /* mutual TLS only */
};

/* Over mutual TLS every agent proves its certificate names the identity it
 * claims; plaintext and ipc:// carry no certificate to check. */
static chaos_err
controller_open_idcheck(struct controller *c, const struct controller_opts *o,
                        chaos_why *why)
{
	struct url_parts u;

	if (url_parse(o->listen, URL_ENDPOINT, &u, NULL) != CHAOS_OK ||
	    u.scheme != URL_TLS_TCP) {
		log_info("agents are not asked to prove their identity over %s: pod and "
		         "node names are taken as they declare them",
		         o->listen);
		return CHAOS_OK;
	}
	return idcheck_new(o->tls.ca_file, registry_instance(c->reg), o->max_agents,
	                   &c->idc, why);
}

/* Runs on disk when --state-dir is given; said plainly when not. */
static chaos_err
controller_open_store(struct controller *c, const struct controller_opts *o,
                      chaos_why *why)
{
	size_t    interrupted = 0;
	chaos_err rv;

	if (o->state_dir == NULL) {
		log_warn("no --state-dir: runs are kept in memory only, so a controller "
		         "restart loses the run in flight and its result");
		return CHAOS_OK;
	}
	if ((rv = run_store_open(o->state_dir, &c->store, &interrupted, why)) != CHAOS_OK)
		return rv;
	log_info("runs kept in %s/runs%s", o->state_dir,
	         interrupted ? " (a restart interrupted some: see chaosctl results)"
	                     : "");
	return CHAOS_OK;
}

/* Which namespaces runs may touch, said once at start. */
static void
controller_log_allow(const struct allow_list *a)
{
	char text[1024];

	allow_describe(a, text, sizeof(text));
	if (a->n == 0)
		log_warn("no --allow-namespace: runs may touch %s", text);
	else
		log_info("runs may touch: %s (never kube-system%s%s)", text,
		         a->own[0] ? " or " : "", a->own);
}

/* The resolver of node agents' targets, from --inventory and --kube-*. */
static chaos_err
controller_targets(struct controller *c, const struct controller_opts *o, chaos_why *why)
{
	struct k8s_config     kube = {0};
	struct targets_config cfg  = {.inventory = o->inventory};

	if (o->kube_api != NULL || o->kube_in_cluster) {
		kube.api_url    = o->kube_api;
		kube.token_file = o->kube_token_file;
		kube.ca_file    = o->kube_ca;
		kube.allow_http = o->kube_allow_http;
		cfg.kube        = &kube;
	}
	return targets_start(registry_targets(c->reg), &cfg, &c->targets, why);
}

/* Everything that can refuse the configuration, in memory only: the
 * identity check's CA, the inventory and the Kubernetes client. Nothing is
 * created on disk before they all passed, so a refused start leaves
 * nothing behind. */
static chaos_err
controller_check(struct controller *c, const struct controller_opts *o, chaos_why *why)
{
	chaos_err rv;

	if ((rv = registry_new(o->heartbeat_ms, o->max_agents, &c->reg)) != CHAOS_OK)
		return chaos_fail(why, rv, "the agent table: %s", chaos_strerror(rv));
	registry_set_forget_after(c->reg, o->forget_s);
	registry_set_max_heartbeats(c->reg, o->max_hb_per_s);
	if ((rv = transport_tls_check(o->listen, &o->tls, why)) != CHAOS_OK ||
	    (rv = transport_tls_check(o->control, &o->tls, why)) != CHAOS_OK ||
	    (rv = controller_open_idcheck(c, o, why)) != CHAOS_OK)
		return rv;
	return controller_targets(c, o, why);
}

/* The state dir and the run manager over it. */
static chaos_err
controller_open_runs(struct controller *c, const struct controller_opts *o,
                     chaos_why *why)
{
	chaos_err rv;

	if ((rv = controller_open_store(c, o, why)) != CHAOS_OK)
		return rv;
	if ((rv = run_mgr_new(c->reg, scenario_list, c->store, &c->runs)) != CHAOS_OK ||
	    (rv = epstats_init(&c->st_session, "session")) != CHAOS_OK ||
	    (rv = epstats_init(&c->st_events, "events")) != CHAOS_OK ||
	    (rv = epstats_init(&c->st_control, "control")) != CHAOS_OK)
		return chaos_fail(why, rv, "%s", chaos_strerror(rv));
	run_mgr_set_allow(c->runs, &o->allow);
	controller_log_allow(&o->allow);
	registry_set_ack_sink(c->reg, run_mgr_on_ack, c->runs);
	return CHAOS_OK;
}

/* An address in use is most often another controller's; said once. */
static chaos_err
controller_busy(chaos_err rv, chaos_why *why)
{
	size_t n = strlen(why->text);

	if (rv == CHAOS_EBUSY && strstr(why->text, "another controller") == NULL)
		snprintf(why->text + n, sizeof(why->text) - n,
		         " (is another controller using the address?)");
	return rv;
}

/* The three endpoints and /metrics. */
static chaos_err
controller_serve(struct controller *c, const struct controller_opts *o,
                 const char *events_url, chaos_why *why)
{
	struct control_endpoints eps = {&c->st_session, &c->st_events, &c->st_control};
	chaos_err                rv;

	controller_ipc_dir(o->control);
	if ((rv = session_srv_start(o->listen, &o->tls, c->reg, &c->st_session, c->idc,
	                            o->max_agents, &c->session, why)) != CHAOS_OK ||
	    (rv = events_srv_start(events_url, &o->tls, c->reg, &c->st_events, c->idc,
	                           run_mgr_on_event, c->runs, &c->events, why)) !=
	        CHAOS_OK ||
	    (rv = control_srv_start(o->control, &o->tls, c->reg, c->runs, &eps,
	                            &c->control, why)) != CHAOS_OK)
		return controller_busy(rv, why);
	if (o->metrics != NULL) {
		struct epstats *all[] = {&c->st_session, &c->st_events, &c->st_control};
		if ((rv = metrics_start(o->metrics, c->reg, all, 3, &c->metrics, why)) !=
		    CHAOS_OK)
			return controller_busy(rv, why);
		log_info("Prometheus metrics on http://%s/metrics", o->metrics);
	}
	return CHAOS_OK;
}

static chaos_err
controller_start(struct controller *c, const struct controller_opts *o, chaos_why *why)
{
	char      events_url[512];
	chaos_err rv;

	/* controller_cli_check() made sure this works */
	if ((rv = url_events_from_session(o->listen, events_url, sizeof(events_url))) !=
	    CHAOS_OK)
		return chaos_fail(why, rv, "cannot derive the events URL from --listen");
	if ((rv = controller_check(c, o, why)) != CHAOS_OK ||
	    (rv = controller_open_runs(c, o, why)) != CHAOS_OK ||
	    (rv = controller_serve(c, o, events_url, why)) != CHAOS_OK)
		return rv;
	log_info("serving agents on %s (events %s), chaosctl on %s, heartbeat %u ms",
	         o->listen, events_url, o->control, o->heartbeat_ms);
	return CHAOS_OK;
}

static void
controller_stop_all(struct controller *c)
{
	/* A run in progress reverts first, while the sessions still carry its
	 * commands to the agents. */
	if (c->runs != NULL)
		run_mgr_abort_all(c->runs, "controller stopping (signal)");
	metrics_stop(c->metrics);
	control_srv_stop(c->control);
	events_srv_stop(c->events);
	session_srv_stop(c->session);
	targets_stop(c->targets);
	if (c->reg != NULL)
		registry_set_ack_sink(c->reg, NULL, NULL);
	run_mgr_free(c->runs);
	run_store_close(c->store);
	idcheck_free(c->idc);
	registry_free(c->reg);
	epstats_fini(&c->st_session);
	epstats_fini(&c->st_events);
	epstats_fini(&c->st_control);
}

int
main(int argc, char **argv)
{
	struct controller_opts o;
	struct controller      c   = {0};
	chaos_why              why = {{0}};
	sigset_t               set;
	pthread_t              sig_thread;
	int                    rv;

	if ((rv = flags_exit_status(controller_cli_parse(argc, argv, &o, &why),
	                            "chaos-controller", &why)) >= 0)
		return rv;
	log_init("controller", o.log_level);
	memtune_mmap_large();
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((rv = controller_start(&c, &o, &why)) != CHAOS_OK) {
		log_error("cannot start: %s: %s", chaos_strerror(rv), why.text);
		controller_stop_all(&c);
		return 3;
	}
	pthread_create(&sig_thread, NULL, controller_signal_thread, &set);
	pthread_detach(sig_thread);
	/* The sweeper: a tenth of the heartbeat keeps "lost" within 3.1 periods. */
	while (!atomic_load(&controller_stop)) {
		nng_msleep(o.heartbeat_ms / 10);
		registry_sweep(c.reg, clk_mono_us());
	}
	controller_stop_all(&c);
	return 0;
}
