// SPDX-License-Identifier: MIT
#include "agent/agent.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "agent/conncheck.h"
#include "agent/fault.h"
#include "agent/lease.h"
#include "agent/load.h"
#include "agent/node.h"
#include "agent/nsexec.h"
#include "agent/probe.h"
#include "agent/ticker.h"
#include "agent/tset.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

/* Commands are re-sent until acked, so the same id can arrive several times;
 * remembering the last ones makes applying idempotent. */
#define AGENT_RECENT 256
/* Threads that enter targets: two, as many as the cores a small node agent
 * gets; commands for different targets run side by side. Never fewer: the
 * ticker, holding a target's engine, may need a thread to open that
 * target's nftables socket again (a revert whose batch failed), while the
 * target's own job, on the other one, waits for the engine. */
#define AGENT_NS_THREADS 2
#define AGENT_MAX_ENGINES (LIMIT_NODE_TARGETS + 1)

struct agent_recent {
	uint64_t  command_id;
	int       status;
	int64_t   applied_us; /* agent clock, when it took effect */
	chaos_why why;        /* "" when it went well */
};

struct agent {
	struct events       *ev;
	struct session      *session;
	struct fault_engine *faults; /* the agent's own namespace */
	struct probe_set    *probes;
	struct load_set     *loads;
	struct agent_recent  recent[AGENT_RECENT];
	size_t               next_recent;
	/* reverts the faults whose time ran out, whatever the session thread
	 * is doing; it reads the engines under engines_mtx, which the session
	 * thread holds while it changes the targets' (node mode) */
	struct ticker  *ticker;
	pthread_mutex_t engines_mtx;
	char            active[SESSION_MAX_ACTIVE][FAULT_ID_SIZE]; /* agent_active's */
	/* node mode only */
	struct node   *node;
	struct nsexec *nsx;
	struct tset   *targets;
};

/* A command's work, once it is known where it runs. */
struct agent_work {
	struct agent        *a;
	Chaos__V1__Command  *cmd; /* the reply's: an apply takes its spec */
	struct agent_recent *r;   /* NULL: nothing (more) to run */
	struct tset_target   t;   /* t.key NULL: the agent's own namespace */
	int64_t              offset;
	struct agent_work   *next; /* the same target's next command */
};

static chaos_err
agent_node_start(struct agent *a, chaos_why *why)
{
	chaos_err rv;

	if ((rv = nsexec_new(AGENT_NS_THREADS, &a->nsx, why)) != CHAOS_OK ||
	    (rv = node_new(a->ev, NULL, &a->node, why)) != CHAOS_OK)
		return rv;
	return tset_new(a->faults, a->node, a->nsx, &a->targets);
}

/* The agent's own engine and every target's. */
static size_t
agent_engines(struct agent *a, struct fault_engine **fe)
{
	fe[0] = a->faults;
	return 1 +
	    (a->targets != NULL ? tset_engines(a->targets, fe + 1, AGENT_MAX_ENGINES - 1)
	                        : 0);
}

/* The sooner of two deadlines, 0 being none. */
static int64_t
agent_sooner(int64_t a, int64_t b)
{
	return a == 0 || (b != 0 && b < a) ? b : a;
}

/* A probe or load its lease stopped: said once, and no longer a worker of
 * its target (node mode). Its load's final report has gone out; a probe's
 * samples just end. */
static void
agent_worker_gone(void *arg, const char *what, const char *id, const char *why)
{
	struct agent *a = arg;

	log_warn("%s %s stopped: %s", what, id, why);
	if (a->targets != NULL)
		tset_forget_worker(a->targets, id);
}

/* The ticker's work: every engine's fault_tick, and the probes' and loads'
 * lease ends, on the ticker's thread. The session thread changes the
 * targets' engines only under engines_mtx, each engine guards its own
 * faults and each worker set its workers, so an apply running meanwhile
 * (on the session thread or an nsexec thread) holds up no revert, and no
 * probe or load outlives its lease by more than a tick. */
static int64_t
agent_deadline_tick(void *arg, int64_t now_mono_us)
{
	struct agent        *a = arg;
	struct fault_engine *fe[AGENT_MAX_ENGINES];
	int64_t              next = 0;
	size_t               n;

	pthread_mutex_lock(&a->engines_mtx);
	n = agent_engines(a, fe);
	for (size_t i = 0; i < n; i++)
		next = agent_sooner(next, fault_tick(fe[i], now_mono_us));
	pthread_mutex_unlock(&a->engines_mtx);
	next = agent_sooner(
	    next, probe_lease_tick(a->probes, now_mono_us, agent_worker_gone, a));
	return agent_sooner(next,
	                    load_lease_tick(a->loads, now_mono_us, agent_worker_gone, a));
}

chaos_err
agent_new(struct events *ev, struct exempt *ex, bool node_mode, struct agent **out,
          chaos_why *why)
{
	struct agent *a = calloc(1, sizeof(*a));
	chaos_err     rv;

	if (a == NULL)
		return CHAOS_ENOMEM;
	a->ev = ev;
	pthread_mutex_init(&a->engines_mtx, NULL);
	if ((rv = fault_engine_new(ev, ex, &a->faults)) != CHAOS_OK ||
	    (rv = probe_set_new(ev, &a->probes)) != CHAOS_OK ||
	    (rv = load_set_new(ev, &a->loads)) != CHAOS_OK ||
	    (node_mode && (rv = agent_node_start(a, why)) != CHAOS_OK) ||
	    (rv = ticker_new(agent_deadline_tick, a, &a->ticker, why)) != CHAOS_OK) {
		agent_free(a);
		return rv;
	}
	*out = a;
	return CHAOS_OK;
}

void
agent_set_session(struct agent *a, struct session *s)
{
	a->session = s;
}

void
agent_free(struct agent *a)
{
	if (a == NULL)
		return;
	ticker_free(a->ticker); /* first: it reads the engines */
	tset_free(a->targets);
	fault_engine_free(a->faults);
	probe_set_free(a->probes);
	load_set_free(a->loads);
	conncheck_drain();
	/* after everything that may still run a job on their threads */
	node_free(a->node);
	nsexec_free(a->nsx);
	pthread_mutex_destroy(&a->engines_mtx);
	free(a);
}

/* ---- running one command ---- */

static void
agent_finish(struct agent_recent *r, chaos_err rv)
{
	r->status = rv == CHAOS_OK     ? CHAOS__V1__STATUS__STATUS_OK
	    : rv == CHAOS_EUNSUPPORTED ? CHAOS__V1__STATUS__STATUS_UNSUPPORTED
	                               : CHAOS__V1__STATUS__STATUS_FAILED;
	if (rv == CHAOS_OK)
		r->why.text[0] = '\0';
	else if (r->why.text[0] == '\0') /* a bare code: say at least that */
		chaos_fail(&r->why, rv, "%s", chaos_strerror(rv));
	r->applied_us = clk_now_us();
}

/* The agent's own faults and every target's, probes and loads: all of it. */
static void
agent_revert_all(struct agent *a)
{
	struct fault_engine *fe[AGENT_MAX_ENGINES];
	size_t               n =
            a->targets != NULL ? tset_engines(a->targets, fe, AGENT_MAX_ENGINES) : 0;

	fault_revert_all(a->faults, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED,
	                 "revert-all on command");
	for (size_t i = 0; i < n; i++)
		fault_revert_all(fe[i], CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED,
		                 "revert-all on command");
	probe_stop_all(a->probes);
	load_stop_all(a->loads);
}

/* What stops or reverts acts the same wherever it was started. */
static bool
agent_run_stop(struct agent_work *w)
{
	struct agent             *a   = w->a;
	const Chaos__V1__Command *cmd = w->cmd;
	const char *id = cmd->body_case == CHAOS__V1__COMMAND__BODY_STOP_PROBE
	    ? cmd->stop_probe
	    : cmd->stop_load;

	switch (cmd->body_case) {
	case CHAOS__V1__COMMAND__BODY_STOP_PROBE:
		/* stopping a probe that is already gone is done */
		probe_stop(a->probes, id);
		break;
	case CHAOS__V1__COMMAND__BODY_STOP_LOAD:
		/* stopping a load that already ended (or never ran here) is done */
		load_stop(a->loads, id);
		break;
	case CHAOS__V1__COMMAND__BODY_REVERT_ALL:
		if (w->t.key == NULL) {
			agent_revert_all(a);
			return true;
		}
		fault_revert_all(w->t.fe, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED,
		                 "revert-all on command");
		tset_stop_workers(a->targets, w->t.key, a->probes, a->loads);
		return true;
	default:
		return false;
	}
	if (a->targets != NULL)
		tset_forget_worker(a->targets, id);
	return true;
}

/* What starts runs in the work's namespace: the agent's own, or a
 * target's (on an nsexec thread inside it, so that what it starts lives
 * there). */
static chaos_err
agent_run_start(struct agent_work *w, chaos_why *why)
{
	struct agent        *a   = w->a;
	Chaos__V1__Command  *cmd = w->cmd;
	struct fault_engine *fe  = w->t.key != NULL ? w->t.fe : a->faults;
	chaos_err            rv;

	switch (cmd->body_case) {
	case CHAOS__V1__COMMAND__BODY_APPLY_FAULT:
		/* the reply is freed after the commands: no copy */
		return fault_apply_take(fe, &cmd->apply_fault, w->offset, why);
	case CHAOS__V1__COMMAND__BODY_REVERT_FAULT:
		fault_revert(fe, cmd->revert_fault);
		return CHAOS_OK;
	case CHAOS__V1__COMMAND__BODY_START_PROBE:
		rv = probe_start(a->probes, cmd->start_probe, why);
		if (rv == CHAOS_OK && w->t.key != NULL)
			tset_note_worker(a->targets, w->t.key, cmd->start_probe->probe_id,
			                 false);
		return rv;
	case CHAOS__V1__COMMAND__BODY_START_LOAD:
		rv = load_start(a->loads, cmd->start_load, why);
		if (rv == CHAOS_OK && w->t.key != NULL)
			tset_note_worker(a->targets, w->t.key, cmd->start_load->load_id,
			                 true);
		return rv;
	case CHAOS__V1__COMMAND__BODY_CHECK_CONN:
		return conncheck_start(a->ev, cmd->check_conn, why);
	default:
		return chaos_fail(why, CHAOS_EUNSUPPORTED,
		                  "command kind %d not supported by this agent",
		                  (int)cmd->body_case);
	}
}

static void
agent_work_run(struct agent_work *w)
{
	agent_finish(w->r, agent_run_stop(w) ? CHAOS_OK : agent_run_start(w, &w->r->why));
	/* an apply brought a deadline the ticker may not sleep past */
	ticker_kick(w->a->ticker);
}

/* An nsexec job: one target's commands, in order, inside it. */
static chaos_err
agent_target_job(void *arg, chaos_why *why)
{
	(void)why;
	for (struct agent_work *w = arg; w != NULL; w = w->next)
		agent_work_run(w);
	return CHAOS_OK;
}

/* ---- where a command runs ---- */

/* The target a command names: Command.target, else FaultSpec.target. */
static const char *
agent_command_target(const Chaos__V1__Command *cmd)
{
	if (cmd->target != NULL && cmd->target[0] != '\0')
		return cmd->target;
	if (cmd->body_case == CHAOS__V1__COMMAND__BODY_APPLY_FAULT &&
	    cmd->apply_fault->target != NULL && cmd->apply_fault->target[0] != '\0')
		return cmd->apply_fault->target;
	return NULL;
}

/* Finds w's target; on failure records it in w->r and returns false. */
static bool
agent_work_place(struct agent_work *w)
{
	const char *key = agent_command_target(w->cmd);
	chaos_err   rv;

	if (key == NULL)
		return true;
	if (w->a->targets == NULL) {
		agent_finish(w->r,
		             chaos_fail(&w->r->why, CHAOS_EUNSUPPORTED,
		                        "target %s: this agent runs in sidecar mode and "
		                        "acts only in its own pod; a node agent "
		                        "(--mode node) serves targets",
		                        key));
		return false;
	}
	pthread_mutex_lock(&w->a->engines_mtx); /* it may free an idle engine */
	rv = tset_get(w->a->targets, key, &w->t, &w->r->why);
	pthread_mutex_unlock(&w->a->engines_mtx);
	if (rv != CHAOS_OK) {
		log_warn("command %llu: %s", (unsigned long long)w->cmd->command_id,
		         w->r->why.text);
		agent_finish(w->r, rv);
		return false;
	}
	return true;
}

static struct agent_recent *
agent_find_recent(struct agent *a, uint64_t id)
{
	for (size_t i = 0; i < AGENT_RECENT; i++)
		if (a->recent[i].command_id == id)
			return &a->recent[i];
	return NULL;
}

static struct agent_recent *
agent_remember(struct agent *a, uint64_t id)
{
	struct agent_recent *r = &a->recent[a->next_recent];

	a->next_recent = (a->next_recent + 1) % AGENT_RECENT;
	memset(r, 0, sizeof(*r));
	r->command_id = id;
	return r;
}

/* Chains w behind the job of its target, or starts a job for it. */
static void
agent_queue(struct nsexec_job *jobs, size_t *n_jobs, struct agent_work *w)
{
	for (size_t k = 0; k < *n_jobs; k++) {
		struct agent_work *tail = jobs[k].arg;
		if (strcmp(tail->t.key, w->t.key) != 0)
			continue;
		while (tail->next != NULL)
			tail = tail->next;
		tail->next = w;
		return;
	}
	jobs[(*n_jobs)++] = (struct nsexec_job) {
	    .path = w->t.path, .ns_fd = w->t.fd, .fn = agent_target_job, .arg = w};
}

/* Runs the placed work: each target's commands as one job on the nsexec
 * threads (targets side by side), the agent's own here. When a reply mixes
 * the two, everything runs in order instead: a revert-all of the whole
 * agent must not race a target's apply. */
static void
agent_run_works(struct agent *a, struct agent_work *w, size_t n)
{
	struct nsexec_job jobs[SESSION_MAX_COMMANDS];
	size_t            n_jobs = 0;
	bool              mixed  = false;

	for (size_t i = 0; i < n; i++)
		mixed |= w[i].r != NULL && w[i].t.key == NULL;
	for (size_t i = 0; i < n; i++) {
		struct nsexec_job one = {.path  = w[i].t.path,
		                         .ns_fd = w[i].t.fd,
		                         .fn    = agent_target_job,
		                         .arg   = &w[i]};
		if (w[i].r == NULL)
			continue;
		if (w[i].t.key == NULL)
			agent_work_run(&w[i]);
		else if (mixed)
			nsexec_run(a->nsx, &one);
		else
			agent_queue(jobs, &n_jobs, &w[i]);
	}
	if (n_jobs > 0)
		nsexec_run_all(a->nsx, jobs, n_jobs);
}

static void
agent_commands(void *arg, Chaos__V1__Command *const *cmds, size_t n,
               Chaos__V1__Ack *const *acks)
{
	struct agent        *a = arg;
	struct agent_work    w[SESSION_MAX_COMMANDS];
	struct agent_recent *r[SESSION_MAX_COMMANDS];
	int64_t offset = a->session != NULL ? session_clock_offset_us(a->session) : 0;

	/* discovery's scans and the events the commands report wait: the CPU
	 * is for the commands */
	if (a->node != NULL)
		node_hold(a->node);
	events_hold(a->ev);
	if (a->targets != NULL)
		tset_hold(a->targets);
	for (size_t i = 0; i < n && i < SESSION_MAX_COMMANDS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].a      = a;
		w[i].cmd    = cmds[i];
		w[i].offset = offset;
		/* seen before: acked again, never applied twice */
		if ((r[i] = agent_find_recent(a, cmds[i]->command_id)) != NULL)
			continue;
		r[i] = w[i].r = agent_remember(a, cmds[i]->command_id);
		if (!agent_work_place(&w[i]))
			w[i].r = NULL;
	}
	agent_run_works(a, w, n);
	events_release(a->ev);
	if (a->node != NULL)
		node_release(a->node);
	for (size_t i = 0; i < n && i < SESSION_MAX_COMMANDS; i++) {
		acks[i]->status = r[i]->status;
		if (r[i]->why.text[0] != '\0')
			acks[i]->error = r[i]->why.text;
		acks[i]->has_applied_agent_us = true;
		acks[i]->applied_agent_us     = r[i]->applied_us;
	}
}

/* ---- the session's other callbacks ---- */

static void
agent_leases(void *arg, int64_t now_mono_us, uint64_t instance, char *const *live,
             size_t n_live)
{
	struct agent        *a = arg;
	struct fault_engine *fe[AGENT_MAX_ENGINES];
	size_t               n = agent_engines(a, fe);
	/* probes and loads: every reply of their instance holds them */
	uint32_t ms =
	    lease_worker_ms(a->session != NULL ? session_heartbeat_ms(a->session) : 0);

	for (size_t i = 0; i < n; i++)
		fault_leases(fe[i], now_mono_us, instance, live, n_live);
	probe_leases(a->probes, now_mono_us, instance, ms, agent_worker_gone, a);
	load_leases(a->loads, now_mono_us, instance, ms, agent_worker_gone, a);
}

/* The session thread's tick: the sweep of gone targets, then what the
 * ticker does too (the deadline the session may not sleep past). */
static int64_t
agent_tick(void *arg, int64_t now_mono_us)
{
	struct agent *a = arg;

	if (a->targets != NULL) {
		pthread_mutex_lock(&a->engines_mtx); /* it frees engines */
		tset_sweep(a->targets, a->probes, a->loads);
		pthread_mutex_unlock(&a->engines_mtx);
	}
	return agent_deadline_tick(a, now_mono_us);
}

/* Copies: the ticker may revert a fault before the poll is packed. The
 * ids stay valid until the next call (the session thread's). */
static size_t
agent_active(void *arg, const char **ids, size_t max)
{
	struct agent        *a = arg;
	struct fault_engine *fe[AGENT_MAX_ENGINES];
	size_t               n = agent_engines(a, fe), count = 0;

	if (max > SESSION_MAX_ACTIVE)
		max = SESSION_MAX_ACTIVE;
	for (size_t i = 0; i < n && count < max; i++)
		count += fault_active(fe[i], a->active + count, max - count);
	for (size_t i = 0; i < count; i++)
		ids[i] = a->active[i];
	return count;
}

/* A new connection: the controller may not know our targets (yet). */
static void
agent_connected(void *arg)
{
	struct agent *a = arg;

	if (a->node != NULL)
		node_resend(a->node);
}

void
agent_session_handler(struct agent *a, struct session_handler *h)
{
	memset(h, 0, sizeof(*h));
	h->commands  = agent_commands;
	h->tick      = agent_tick;
	h->leases    = agent_leases;
	h->active    = agent_active;
	h->connected = agent_connected;
	h->arg       = a;
}
