// SPDX-License-Identifier: MIT
#include "agent/fault.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/exempt.h"
#include "agent/fault_ops.h"
#include "agent/lease.h"
#include "agent/nft.h"
#include "agent/nsexec.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/wire.h"

static const struct fault_ops *const fault_kinds[] = {
    &fault_partition_ops, &fault_port_ops,    &fault_loss_ops,
    &fault_kill_ops,      &fault_latency_ops, &fault_pgterm_ops,
};

struct fault_entry {
	Chaos__V1__FaultSpec   *spec; /* owned deep copy */
	const struct fault_ops *ops;
	struct lease            lease; /* agent/lease.h */
	int64_t                 hard_end_mono;
	uint16_t                ports[NFT_MAX_PORTS];
	int                     nft_index;  /* in the last committed ruleset, or -1 */
	void                   *state;      /* process kinds */
	bool                    applying;   /* its after_commit runs, unlocked */
	bool                    rules_lost; /* while applying: fault_drop_rest */
};

struct fault_engine {
	pthread_mutex_t mtx; /* guards what follows but ev, path and label */
	struct events  *ev;
	struct nft_ctx *nft;
	/* FAULT_MAX_ACTIVE, made by the first fault: a node agent makes an
	 * engine per target before running its commands on the nsexec
	 * threads, and the 6 KiB of first-touched pages are microseconds
	 * each in a VM */
	struct fault_entry *active;
	size_t              n_active;
	/* the controller's addresses: shared, and the copy the rules use */
	struct exempt *ex;
	char           exempt[EXEMPT_MAX][EXEMPT_CIDR_LEN];
	size_t         n_exempt;
	uint64_t       exempt_gen;
	bool           exempt_stale; /* a re-commit for them failed */
	/* a node agent's target; path "" for the agent's own namespace */
	struct nsexec    *nsx;
	struct nft_cache *cache;
	char              path[96];
	char              label[160];
};

/* Runs fn inside the engine's namespace: at once when this thread is
 * already there (the agent's own, or an nsexec job for this target). */
static chaos_err
fault_in_netns(struct fault_engine *fe, chaos_err (*fn)(void *, chaos_why *), void *arg,
               chaos_why *why)
{
	struct nsexec_job job = {.path = fe->path, .fn = fn, .arg = arg};
	chaos_err         rv;

	if (fe->path[0] == '\0' || nsexec_inside(fe->path))
		return fn(arg, why);
	if ((rv = nsexec_run(fe->nsx, &job)) != CHAOS_OK)
		chaos_fail(why, rv, "%s", job.why.text);
	return rv;
}

/* " on target ..." for log lines, "" for the agent's own namespace. */
static const char *
fault_on(const struct fault_engine *fe, char *buf, size_t len)
{
	if (fe->label[0] == '\0')
		return "";
	snprintf(buf, len, " on %s", fe->label);
	return buf;
}

static chaos_err
fault_open_socket(void *arg, chaos_why *why)
{
	return nft_open_socket(FAULT_TABLE_NAME, arg, why);
}

/* Opens the table (a target's: only the socket, inside its namespace; the
 * first commit makes the table); a failure is CHAOS_EPERM or
 * CHAOS_EUNSUPPORTED (no usable nftables), logged and said in why. */
static chaos_err
fault_open_nft(struct fault_engine *fe, chaos_why *why)
{
	chaos_why w  = {{0}};
	chaos_err rv = fe->path[0] != '\0'
	    ? fault_in_netns(fe, fault_open_socket, &fe->nft, &w)
	    : nft_open(FAULT_TABLE_NAME, &fe->nft, &w);

	if (rv == CHAOS_OK) {
		nft_set_cache(fe->nft, fe->cache);
		return CHAOS_OK;
	}
	fe->nft = NULL;
	log_warn("nftables unavailable: %s", w.text);
	return chaos_fail(why, rv == CHAOS_EPERM ? CHAOS_EPERM : CHAOS_EUNSUPPORTED,
	                  "nftables unavailable: %s%s", w.text,
	                  rv == CHAOS_EPERM ? " (the agent needs CAP_NET_ADMIN)" : "");
}

chaos_err
fault_engine_new(struct events *ev, struct exempt *ex, struct fault_engine **out)
{
	struct fault_engine *fe = calloc(1, sizeof(*fe));

	if (fe == NULL)
		return CHAOS_ENOMEM;
	pthread_mutex_init(&fe->mtx, NULL);
	fe->ev = ev;
	fe->ex = ex;
	/* Opening removes a leftover table of ours (from a crash of an older
	 * agent); closing again leaves no table at all while nothing is in
	 * force. The table exists only while a fault does. */
	if (fault_open_nft(fe, NULL) == CHAOS_OK) {
		nft_close(fe->nft);
		fe->nft = NULL;
	}
	*out = fe;
	return CHAOS_OK;
}

chaos_err
fault_engine_new_target(const struct fault_engine *home, const struct fault_where *where,
                        struct fault_engine **out)
{
	struct fault_engine *fe = calloc(1, sizeof(*fe));

	if (fe == NULL)
		return CHAOS_ENOMEM;
	pthread_mutex_init(&fe->mtx, NULL);
	fe->ev    = home->ev;
	fe->ex    = home->ex;
	fe->nsx   = where->nsx;
	fe->cache = where->cache;
	snprintf(fe->path, sizeof(fe->path), "%s", where->path);
	snprintf(fe->label, sizeof(fe->label), "%s", where->label);
	*out = fe;
	return CHAOS_OK;
}

static void
fault_report(struct fault_engine *fe, const char *id, Chaos__V1__FaultPhase phase,
             const char *detail, int64_t packets)
{
	Chaos__V1__Event      e  = CHAOS__V1__EVENT__INIT;
	Chaos__V1__FaultState st = CHAOS__V1__FAULT_STATE__INIT;

	st.fault_id = (char *)id;
	st.phase    = phase;
	st.detail   = (char *)detail;
	if (packets >= 0) {
		st.has_packets_dropped = true;
		st.packets_dropped     = (uint64_t)packets;
	}
	e.body_case   = CHAOS__V1__EVENT__BODY_FAULT_STATE;
	e.fault_state = &st;
	events_send(fe->ev, &e);
}

static struct fault_entry *
fault_find(struct fault_engine *fe, const char *id)
{
	for (size_t i = 0; i < fe->n_active; i++)
		if (strcmp(fe->active[i].spec->fault_id, id) == 0)
			return &fe->active[i];
	return NULL;
}

static const struct fault_ops *
fault_ops_for(Chaos__V1__FaultSpec__KindCase kind)
{
	for (size_t i = 0; i < sizeof(fault_kinds) / sizeof(fault_kinds[0]); i++)
		if (fault_kinds[i]->kind == kind)
			return fault_kinds[i];
	return NULL;
}

/* Takes the exemption's latest addresses; true when they changed. */
static bool
fault_exempt_sync(struct fault_engine *fe)
{
	if (fe->ex == NULL || exempt_generation(fe->ex) == fe->exempt_gen)
		return false;
	fe->n_exempt = exempt_snapshot(fe->ex, fe->exempt, EXEMPT_MAX, &fe->exempt_gen);
	return true;
}

/* Exempt CIDRs: the controller's (the latest), then every fault's own. */
static size_t
fault_exempt_list(struct fault_engine *fe, const char **list, size_t cap)
{
	size_t n = 0;

	fault_exempt_sync(fe);
	for (size_t i = 0; i < fe->n_exempt && n < cap; i++)
		list[n++] = fe->exempt[i];
	for (size_t i = 0; i < fe->n_active; i++)
		for (size_t k = 0; k < fe->active[i].spec->n_exempt && n < cap; k++)
			list[n++] = fe->active[i].spec->exempt[k];
	return n;
}

/* Commits the table for every nftables fault in force (all in one batch). */
static chaos_err
fault_commit(struct fault_engine *fe, chaos_why *why)
{
	struct nft_fault   nf[FAULT_MAX_ACTIVE];
	const char        *exempt[NFT_MAX_PEERS > 256 ? 256 : NFT_MAX_PEERS];
	struct nft_ruleset rs = {.faults = nf};
	chaos_err          rv;

	for (size_t i = 0; i < fe->n_active; i++) {
		struct fault_entry *e = &fe->active[i];
		e->nft_index          = -1;
		if (e->ops->to_nft == NULL)
			continue;
		memset(&nf[rs.n_faults], 0, sizeof(nf[0]));
		e->ops->to_nft(e->spec, e->state, &nf[rs.n_faults], e->ports);
		e->nft_index = (int)rs.n_faults++;
	}
	if (rs.n_faults == 0) {
		/* Nothing left: no table of ours. The socket stays for the next
		 * fault (no entering the namespace to open one); when the delete
		 * fails, closing the owner socket makes the kernel drop it. */
		if (fe->nft != NULL && nft_drop(fe->nft, NULL) != CHAOS_OK) {
			nft_close(fe->nft);
			fe->nft = NULL;
		}
		return CHAOS_OK;
	}
	if (fe->nft == NULL && (rv = fault_open_nft(fe, why)) != CHAOS_OK)
		return rv;
	rs.exempt   = exempt;
	rs.n_exempt = fault_exempt_list(fe, exempt, sizeof(exempt) / sizeof(exempt[0]));
	if ((rv = nft_commit(fe->nft, &rs, why)) != CHAOS_OK)
		return chaos_fail_prefix(why, rv, "nftables: %s", chaos_strerror(rv));
	return CHAOS_OK;
}

static void
fault_entry_fini(struct fault_entry *e)
{
	if (e->ops->stop != NULL)
		e->ops->stop(e->state);
	chaos__v1__fault_spec__free_unpacked(e->spec, NULL);
}

/* The remaining faults' rules went with a dropped table and could not be
 * made again: they are no longer in force, so they are reported failed and
 * forgotten rather than renewed and measured as if they were. What they
 * run (a latency proxy) stops with them; faults without rules stay. One
 * whose after_commit runs (without the lock) is only marked: its apply
 * fails it when that step returns. */
static void
fault_drop_rest(struct fault_engine *fe, const char *why)
{
	char detail[80 + sizeof(((chaos_why *)0)->text)];

	log_error("re-applying the remaining faults failed: %s", why);
	snprintf(detail, sizeof(detail),
	         "its rules went with the dropped table and could not be made again: "
	         "%s",
	         why);
	utf8_trim_partial(detail);
	for (size_t i = fe->n_active; i-- > 0;) {
		struct fault_entry e = fe->active[i];
		if (e.ops->to_nft == NULL)
			continue;
		if (e.applying) {
			fe->active[i].rules_lost = true;
			continue;
		}
		fe->active[i] = fe->active[--fe->n_active];
		fault_report(fe, e.spec->fault_id,
		             CHAOS__V1__FAULT_PHASE__FAULT_PHASE_FAILED, detail, -1);
		fault_entry_fini(&e);
	}
	if (fe->nft != NULL) { /* an empty table of ours: the kernel drops it */
		nft_close(fe->nft);
		fe->nft = NULL;
	}
}

/* Last resort when a revert batch fails: closing the owner socket makes the
 * kernel delete the whole table, so no rule can outlive the failure. */
static void
fault_drop_table(struct fault_engine *fe, const char *what, const char *why)
{
	log_error("%s (%s): closing the netlink socket so the kernel removes the table",
	          what, why);
	nft_close(fe->nft);
	fe->nft = NULL;
	if (fe->n_active > 0) {
		chaos_why w = {{0}};
		if (fault_commit(fe, &w) != CHAOS_OK)
			fault_drop_rest(fe, w.text);
	}
}

static int64_t
fault_dropped_packets(struct fault_engine *fe, const struct fault_entry *e)
{
	struct nft_counter c[4 * FAULT_MAX_ACTIVE];
	size_t             n     = 0;
	int64_t            total = 0;

	if (fe->nft == NULL || e->nft_index < 0 ||
	    nft_counters(fe->nft, c, sizeof(c) / sizeof(c[0]), &n, NULL) != CHAOS_OK)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((int)c[i].fault == e->nft_index)
			total += (int64_t)c[i].packets;
	return total;
}

/* Stops what the entry runs and frees it (already out of the list). */
/* Removes entry idx: what it runs first, then its rules; reports phase. A
 * failed commit drops the whole table (fault_drop_table), so this cannot
 * leave a fault behind and has no failure to return. */
static void
fault_remove(struct fault_engine *fe, size_t idx, Chaos__V1__FaultPhase phase,
             const char *detail)
{
	char               id[256], on[200];
	int64_t            dropped = fault_dropped_packets(fe, &fe->active[idx]);
	struct fault_entry e       = fe->active[idx];
	chaos_why          w       = {{0}};

	snprintf(id, sizeof(id), "%s", e.spec->fault_id);
	fe->active[idx] = fe->active[--fe->n_active];
	/* A fault that runs something behind nat rules (the latency proxy) is
	 * stopped first: its connections must be closed while the kernel still
	 * translates them, or the FIN never reaches the clients (removing the
	 * table's nat hooks drops the translation of existing connections) and
	 * they hang until their own timeouts. The price is that a connection
	 * opened in the microseconds between the two steps is refused. */
	fault_entry_fini(&e);
	if (e.ops->to_nft != NULL && fe->nft != NULL && fault_commit(fe, &w) != CHAOS_OK)
		fault_drop_table(fe, "revert failed", w.text);
	/* kinds without rules (kill, pg_terminate) have no counter */
	if (dropped >= 0)
		log_info("fault %s reverted%s (%s), %lld packets dropped", id,
		         fault_on(fe, on, sizeof(on)), detail, (long long)dropped);
	else
		log_info("fault %s reverted%s (%s)", id, fault_on(fe, on, sizeof(on)),
		         detail);
	fault_report(fe, id, phase, detail, dropped);
}

/* Sets e's lease and hard end, or refuses a fault that would end before
 * it starts: an apply re-sent late (to an agent that restarted, say) must
 * not fire a one-shot kill long after its run gave up on it, and an
 * nftables fault would only flash until the next tick. */
static chaos_err
fault_set_deadlines(struct fault_entry *e, int64_t offset_us, chaos_why *why)
{
	int64_t now_mono = clk_mono_us();
	/* hard end is on the controller's clock; agent time = ctl + offset */
	int64_t left = e->spec->hard_end_ctl_us + offset_us - clk_now_us();

	if (left <= 0)
		return chaos_fail(why, CHAOS_ETIMEDOUT,
		                  "fault %s not applied: its hard end passed %lld ms ago "
		                  "(agent clock, offset to the controller's %lld us)",
		                  e->spec->fault_id, (long long)(-left / 1000),
		                  (long long)offset_us);
	if (e->spec->lease_ms == 0)
		return chaos_fail(why, CHAOS_ETIMEDOUT,
		                  "fault %s not applied: its lease of 0 ms has already "
		                  "ended",
		                  e->spec->fault_id);
	e->lease.end_mono = now_mono + (int64_t)e->spec->lease_ms * 1000;
	e->hard_end_mono  = now_mono + left;
	return CHAOS_OK;
}

/* When e's lease or hard end runs out, whichever is sooner: its own apply
 * gives up by then (the kinds' slow steps, fault_step_deadline). */
static int64_t
fault_until(const struct fault_entry *e)
{
	return e->lease.end_mono < e->hard_end_mono ? e->lease.end_mono
	                                            : e->hard_end_mono;
}

static chaos_err
fault_start_op(void *arg, chaos_why *why)
{
	struct fault_entry *e = arg;

	return e->ops->start(e->spec, fault_until(e), &e->state, why);
}

/* Where a failed start left the rules: the unwinding must take them out
 * again when they went in, and cannot know when the kernel's answer was
 * lost. */
enum fault_rules { FAULT_RULES_OUT, FAULT_RULES_IN, FAULT_RULES_UNKNOWN };

/* Undoes a failed start of entry idx: rules out first, then stop. Rules in
 * an unknown state are not trusted to a context that lost its replies: the
 * table goes with its socket and the others are applied again. */
static void
fault_unwind(struct fault_engine *fe, size_t idx, enum fault_rules rules)
{
	struct fault_entry e = fe->active[idx];
	chaos_why          w = {{0}};

	fe->active[idx] = fe->active[--fe->n_active];
	if (rules == FAULT_RULES_UNKNOWN && fe->nft != NULL)
		fault_drop_table(fe, "apply failed with its rules maybe in force",
		                 "the kernel's answer was lost");
	else if (rules == FAULT_RULES_IN && fe->nft != NULL &&
	         fault_commit(fe, &w) != CHAOS_OK)
		fault_drop_table(fe, "undoing a failed apply failed", w.text);
	fault_entry_fini(&e);
}

/* The kinds read spec->target as a namespace path (kill): a target's
 * engine names its own, whatever key the command carried. */
static chaos_err
fault_set_target(Chaos__V1__FaultSpec *spec, const char *path)
{
	char *copy = strdup(path);

	if (copy == NULL)
		return CHAOS_ENOMEM;
	free(spec->target);
	spec->target = copy;
	return CHAOS_OK;
}

/* The kind for a new fault spec, or why not: *ops NULL with CHAOS_OK when
 * it is in force already (idempotent). Locked. */
static chaos_err
fault_admit(struct fault_engine *fe, const Chaos__V1__FaultSpec *spec,
            const struct fault_ops **ops, chaos_why *why)
{
	*ops = NULL;
	if (fault_find(fe, spec->fault_id) != NULL)
		return CHAOS_OK;
	if ((*ops = fault_ops_for(spec->kind_case)) == NULL)
		return chaos_fail(why, CHAOS_EUNSUPPORTED,
		                  "fault kind %d is not supported by this agent",
		                  (int)spec->kind_case);
	if (fe->n_active == FAULT_MAX_ACTIVE)
		return chaos_fail(why, CHAOS_EBUSY, "too many faults in force (%d)",
		                  FAULT_MAX_ACTIVE);
	if (fe->active == NULL &&
	    (fe->active = calloc(FAULT_MAX_ACTIVE, sizeof(*fe->active))) == NULL)
		return CHAOS_ENOMEM;
	return CHAOS_OK;
}

/* Entry idx is in force: logged and reported. Locked, so that its APPLIED
 * report goes out before any EXPIRED one of the tick. */
static void
fault_applied(struct fault_engine *fe, size_t idx)
{
	const struct fault_entry *e = &fe->active[idx];
	char                      detail[256], on[200];

	snprintf(detail, sizeof(detail), "%s", e->ops->name);
	if (e->ops->describe != NULL)
		e->ops->describe(e->state, detail, sizeof(detail));
	log_info("fault %s applied%s (%s, lease %u ms)", e->spec->fault_id,
	         fault_on(fe, on, sizeof(on)), detail, e->spec->lease_ms);
	fault_report(fe, e->spec->fault_id, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_APPLIED,
	             detail, -1);
}

/* Puts the started entry e (copied) in force, its rules committed. A kind with an
 * after_commit stays marked applying (the tick leaves it alone) and unreported; the
 * others are reported applied. On failure it is unwound (stopped, freed). Locked. */
static chaos_err
fault_insert(struct fault_engine *fe, const struct fault_entry *e, chaos_why *why)
{
	size_t    idx = fe->n_active++; /* fault_admit made room */
	chaos_err rv;

	fe->active[idx] = *e;
	if (e->ops->to_nft != NULL && (rv = fault_commit(fe, why)) != CHAOS_OK) {
		/* replies lost (nft_commit): the batch may be in force */
		fault_unwind(fe, idx,
		             rv == CHAOS_ETIMEDOUT || rv == CHAOS_ESYS
		                 ? FAULT_RULES_UNKNOWN
		                 : FAULT_RULES_OUT);
		return rv;
	}
	fe->active[idx].applying = e->ops->after_commit != NULL;
	if (!fe->active[idx].applying)
		fault_applied(fe, idx);
	return CHAOS_OK;
}

/* Runs the after_commit of the fault in force with id, unlocked (the tick
 * leaves it alone while it runs, and it is bounded by the fault's own
 * deadlines), then reports it, or unwinds it when it failed. */
static chaos_err
fault_after_commit(struct fault_engine *fe, const char *id, const struct fault_ops *ops,
                   void *state, chaos_why *why)
{
	chaos_err           rv = ops->after_commit(state, why);
	struct fault_entry *e;

	pthread_mutex_lock(&fe->mtx);
	/* still there: the tick and fault_drop_rest leave it alone */
	e           = fault_find(fe, id);
	e->applying = false;
	if (rv == CHAOS_OK && e->rules_lost)
		rv = chaos_fail(why, CHAOS_ESYS,
		                "its rules went with a table dropped meanwhile (a revert "
		                "batch failed) and could not be made again");
	if (rv != CHAOS_OK)
		fault_unwind(fe, (size_t)(e - fe->active), FAULT_RULES_IN);
	else
		fault_applied(fe, (size_t)(e - fe->active));
	pthread_mutex_unlock(&fe->mtx);
	return rv;
}

/* Starts e (the caller's, admitted) in its namespace without the lock,
 * then puts it in force and reports how it went. e is consumed. */
static chaos_err
fault_enter(struct fault_engine *fe, struct fault_entry *e, chaos_why *why)
{
	char      id[FAULT_ID_SIZE], on[200];
	chaos_why w  = {{0}}; /* a reason of our own: the report needs it */
	chaos_err rv = CHAOS_OK;

	snprintf(id, sizeof(id), "%s", e->spec->fault_id); /* e may go */
	if (e->ops->start != NULL &&
	    (rv = fault_in_netns(fe, fault_start_op, e, &w)) != CHAOS_OK) {
		fault_entry_fini(e);
	} else {
		pthread_mutex_lock(&fe->mtx);
		rv = fault_insert(fe, e, &w);
		pthread_mutex_unlock(&fe->mtx);
		if (rv == CHAOS_OK && e->ops->after_commit != NULL)
			rv = fault_after_commit(fe, id, e->ops, e->state, &w);
	}
	if (rv != CHAOS_OK) {
		log_warn("fault %s not applied%s: %s", id, fault_on(fe, on, sizeof(on)),
		         w.text);
		fault_report(fe, id, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_FAILED, w.text,
		             -1);
		return chaos_fail(why, rv, "%s", w.text);
	}
	return CHAOS_OK;
}

/* Takes spec into a new entry *e, or says why not (spec freed): *e->ops
 * NULL with CHAOS_OK when it is in force already. */
static chaos_err
fault_prepare(struct fault_engine *fe, Chaos__V1__FaultSpec *spec, int64_t offset_us,
              struct fault_entry *e, chaos_why *why)
{
	chaos_why w = {{0}};
	chaos_err rv;

	memset(e, 0, sizeof(*e));
	e->spec      = spec;
	e->nft_index = -1;
	pthread_mutex_lock(&fe->mtx);
	rv = fault_admit(fe, spec, &e->ops, why);
	pthread_mutex_unlock(&fe->mtx);
	if (rv == CHAOS_OK && e->ops != NULL &&
	    (rv = fault_set_deadlines(e, offset_us, &w)) != CHAOS_OK) {
		log_warn("%s", w.text);
		chaos_fail(why, rv, "%s", w.text);
	}
	if (rv == CHAOS_OK && e->ops != NULL && fe->path[0] != '\0')
		rv = fault_set_target(spec, fe->path);
	if (rv != CHAOS_OK || e->ops == NULL)
		chaos__v1__fault_spec__free_unpacked(spec, NULL);
	return rv;
}

chaos_err
fault_apply_take(struct fault_engine *fe, Chaos__V1__FaultSpec **specp, int64_t offset_us,
                 chaos_why *why)
{
	Chaos__V1__FaultSpec *spec = *specp;
	struct fault_entry    e;
	chaos_err             rv;

	*specp = NULL; /* ours from here, whatever happens */
	if ((rv = fault_prepare(fe, spec, offset_us, &e, why)) != CHAOS_OK ||
	    e.ops == NULL)
		return rv;
	return fault_enter(fe, &e, why);
}

chaos_err
fault_apply(struct fault_engine *fe, const Chaos__V1__FaultSpec *spec, int64_t offset_us,
            chaos_why *why)
{
	Chaos__V1__FaultSpec *copy;
	bool                  known;

	pthread_mutex_lock(&fe->mtx);
	known = fault_find(fe, spec->fault_id) != NULL;
	pthread_mutex_unlock(&fe->mtx);
	if (known)
		return CHAOS_OK; /* no copy needed */
	if ((copy = wire_copy(&spec->base)) == NULL)
		return CHAOS_ENOMEM;
	return fault_apply_take(fe, &copy, offset_us, why);
}

void
fault_revert(struct fault_engine *fe, const char *fault_id)
{
	struct fault_entry *e;

	pthread_mutex_lock(&fe->mtx);
	if ((e = fault_find(fe, fault_id)) != NULL)
		fault_remove(fe, (size_t)(e - fe->active),
		             CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED,
		             "reverted on command");
	pthread_mutex_unlock(&fe->mtx);
}

void
fault_revert_all(struct fault_engine *fe, Chaos__V1__FaultPhase phase, const char *detail)
{
	pthread_mutex_lock(&fe->mtx);
	while (fe->n_active > 0)
		fault_remove(fe, fe->n_active - 1, phase, detail);
	pthread_mutex_unlock(&fe->mtx);
}

static bool
fault_named(char *const *live, size_t n_live, const char *id)
{
	for (size_t i = 0; i < n_live; i++)
		if (strcmp(live[i], id) == 0)
			return true;
	return false;
}

void
fault_leases(struct fault_engine *fe, int64_t now_mono_us, uint64_t instance,
             char *const *live, size_t n_live)
{
	pthread_mutex_lock(&fe->mtx);
	for (size_t i = 0; i < fe->n_active;) {
		struct fault_entry *e = &fe->active[i];
		enum lease_verdict  v = lease_reply(
		     &e->lease, now_mono_us, instance,
		     fault_named(live, n_live, e->spec->fault_id), e->spec->lease_ms);
		const char *why = lease_verdict_why(v);

		if (v == LEASE_RENEWED) {
			i++;
			continue;
		}
		log_warn("fault %s: %s; reverting", e->spec->fault_id, why);
		fault_remove(fe, i, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_EXPIRED, why);
	}
	pthread_mutex_unlock(&fe->mtx);
}

/* The controller's addresses changed (a new connection, the name resolved
 * anew): the rules in force take them at once, so the session to the new
 * address is not cut by the faults it renews. A failed commit keeps the
 * old rules and is tried again at the next tick. */
static void
fault_exempt_refresh(struct fault_engine *fe)
{
	chaos_why w = {{0}};
	char      on[200];

	if (!fault_exempt_sync(fe) && !fe->exempt_stale)
		return;
	fe->exempt_stale = false;
	if (fe->nft == NULL) /* no rules in force */
		return;
	if (fault_commit(fe, &w) != CHAOS_OK) {
		fe->exempt_stale = true;
		log_warn("the controller's new addresses are not exempt yet%s: %s",
		         fault_on(fe, on, sizeof(on)), w.text);
		return;
	}
	log_info("rules re-committed%s: the controller's addresses changed",
	         fault_on(fe, on, sizeof(on)));
}

/* Reverts the faults whose lease or hard end ran out; returns the next
 * deadline of those left (0: none). One whose apply still runs is left to
 * it (it gives up by the same deadline) and not waited for: the agent's
 * ticker runs again once the command is done. Locked. */
static int64_t
fault_expire(struct fault_engine *fe, int64_t now_mono_us)
{
	int64_t next = 0;

	for (size_t i = 0; i < fe->n_active;) {
		struct fault_entry *e   = &fe->active[i];
		int64_t             due = fault_until(e);
		if (e->applying) {
			i++;
			continue;
		}
		if (lease_ended(&e->lease, now_mono_us) ||
		    now_mono_us >= e->hard_end_mono) {
			const char *why = now_mono_us >= e->hard_end_mono
			    ? "hard end time reached"
			    : "lease expired: no word from the controller";
			log_warn("fault %s: %s; reverting", e->spec->fault_id, why);
			fault_remove(fe, i, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_EXPIRED,
			             why);
			continue; /* entry i now holds another fault */
		}
		if (next == 0 || due < next)
			next = due;
		i++;
	}
	return next;
}

int64_t
fault_tick(struct fault_engine *fe, int64_t now_mono_us)
{
	int64_t next;

	pthread_mutex_lock(&fe->mtx);
	fault_exempt_refresh(fe);
	next = fault_expire(fe, now_mono_us);
	pthread_mutex_unlock(&fe->mtx);
	return next;
}

size_t
fault_active(struct fault_engine *fe, char (*ids)[FAULT_ID_SIZE], size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&fe->mtx);
	for (; n < fe->n_active && n < max; n++)
		snprintf(ids[n], FAULT_ID_SIZE, "%s", fe->active[n].spec->fault_id);
	pthread_mutex_unlock(&fe->mtx);
	return n;
}

size_t
fault_count(struct fault_engine *fe)
{
	size_t n;

	pthread_mutex_lock(&fe->mtx);
	n = fe->n_active;
	pthread_mutex_unlock(&fe->mtx);
	return n;
}

void
fault_engine_free(struct fault_engine *fe)
{
	if (fe == NULL)
		return;
	fault_revert_all(fe, CHAOS__V1__FAULT_PHASE__FAULT_PHASE_REVERTED,
	                 "agent stopping");
	nft_close(fe->nft);
	pthread_mutex_destroy(&fe->mtx);
	free(fe->active);
	free(fe);
}

int64_t
fault_step_deadline(int64_t until_mono, int timeout_ms)
{
	int64_t own = clk_mono_us() + (int64_t)timeout_ms * 1000;

	return until_mono > 0 && until_mono < own ? until_mono : own;
}

const char *
fault_step_why(chaos_err rv)
{
	return rv == CHAOS_ETIMEDOUT
	    ? " (a step waits until its timeout or the end of the fault's lease, "
	      "the sooner)"
	    : "";
}

enum nft_direction
fault_nft_direction(Chaos__V1__Direction d)
{
	switch (d) {
	case CHAOS__V1__DIRECTION__DIRECTION_IN:
		return NFT_DIR_IN;
	case CHAOS__V1__DIRECTION__DIRECTION_OUT:
		return NFT_DIR_OUT;
	default:
		return NFT_DIR_BOTH;
	}
}

enum nft_l4proto
fault_nft_proto(Chaos__V1__L4Proto p)
{
	return p == CHAOS__V1__L4_PROTO__L4_TCP ? NFT_L4_TCP
	    : p == CHAOS__V1__L4_PROTO__L4_UDP  ? NFT_L4_UDP
	                                        : NFT_L4_ANY;
}

size_t
fault_nft_ports(const uint32_t *ports, size_t n, uint16_t *buf)
{
	size_t k = 0;

	for (; k < n && k < NFT_MAX_PORTS; k++)
		buf[k] = (uint16_t)ports[k];
	return k;
}
