// SPDX-License-Identifier: MIT
#include "agent/probe.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/worker.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/wire.h"

struct probe {
	struct worker           w; /* w.id is the probe_id */
	const struct probe_ops *ops;
	void                   *state;
	struct events          *ev;
	uint32_t                interval_ms;
	uint32_t                timeout_ms;
	uint64_t                checks;
	uint64_t                skipped;
};

struct probe_set {
	struct events     *ev;
	struct worker_set *workers;
};

static const struct probe_ops *const probe_kinds[] = {
    &probe_http_ops,
    &probe_tcp_ops,
    &probe_pg_ops,
};

Chaos__V1__ErrorClass
probe_class_errno(int errnum)
{
	switch (errnum) {
	case ECONNREFUSED:
	case ECONNRESET:
	case ECONNABORTED:
	case EPIPE:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED;
	case ETIMEDOUT:
		return CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT;
	default:
		return CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER;
	}
}

void
probe_detail(struct probe_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* Details quote servers, resolvers and JSON parsers; the controller rejects
 * a whole event over one control character or bad UTF-8 byte, so keep to
 * printable ASCII. */
static void
probe_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

static const struct probe_ops *
probe_find_kind(Chaos__V1__ProbeKind kind)
{
	for (size_t i = 0; i < sizeof(probe_kinds) / sizeof(probe_kinds[0]); i++)
		if (probe_kinds[i]->kind == kind)
			return probe_kinds[i];
	return NULL;
}

/* Sleeps until the monotonic time t_us or until the probe is stopped.
 * Returns false when stopped. */
static bool
probe_sleep_until(const struct probe *p, int64_t t_us)
{
	struct pollfd pfd = {.fd = p->w.stop_fd, .events = POLLIN};

	for (;;) {
		int64_t         left = t_us - clk_mono_us();
		struct timespec ts;

		if (left <= 0)
			return true;
		ts.tv_sec  = left / 1000000;
		ts.tv_nsec = (left % 1000000) * 1000;
		int n      = ppoll(&pfd, 1, &ts, NULL);
		if (n > 0)
			return false;
		if (n < 0 && errno != EINTR)
			return false; /* cannot wait: stop rather than spin */
	}
}

static void
probe_emit(struct probe *p, struct probe_result *r, int64_t t_wall_us, int64_t latency_us)
{
	Chaos__V1__Event       e = CHAOS__V1__EVENT__INIT;
	Chaos__V1__ProbeSample s = CHAOS__V1__PROBE_SAMPLE__INIT;

	s.probe_id = p->w.id;
	s.healthy  = r->healthy;
	if (r->has_latency_us)
		latency_us = r->latency_us;
	s.latency_us =
	    latency_us > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)latency_us;
	s.has_error_class = true;
	s.error_class =
	    r->healthy ? CHAOS__V1__ERROR_CLASS__ERROR_CLASS_NONE : r->error_class;
	if (r->http_status != 0) {
		s.has_http_status = true;
		s.http_status     = r->http_status;
	}
	if (r->has_value) {
		s.has_value = true;
		s.value     = r->value;
	}
	if (r->has_connect_us) {
		s.has_connect_us = true;
		s.connect_us     = r->connect_us;
	}
	if (r->sqlstate[0] != '\0') {
		probe_sanitize(r->sqlstate);
		s.sqlstate = r->sqlstate;
	}
	if (r->detail[0] != '\0') {
		probe_sanitize(r->detail);
		s.detail = r->detail;
	}
	e.body_case  = CHAOS__V1__EVENT__BODY_SAMPLE;
	e.sample     = &s;
	e.t_agent_us = t_wall_us;
	/* A dropped event is counted by events; the probe keeps its rate. */
	(void)events_send(p->ev, &e);
}

/* Slot after k once a check has ended: k + 1, or the first slot still ahead
 * when the check overran. Adds the slots passed over to *skipped. */
static uint64_t
probe_next_slot(const struct probe *p, int64_t start, uint64_t k, uint64_t *skipped)
{
	int64_t  interval = (int64_t)p->interval_ms * 1000;
	int64_t  now      = clk_mono_us();
	uint64_t next     = k + 1;

	if (start + (int64_t)next * interval < now) {
		uint64_t first_ahead = (uint64_t)((now - start) / interval) + 1;
		*skipped += first_ahead - next;
		next = first_ahead;
	}
	return next;
}

static void *
probe_main(void *arg)
{
	struct probe *p     = arg;
	int64_t       start = clk_mono_us();

	for (uint64_t k = 0;;) {
		struct probe_result r = {0};
		struct probe_check  c;
		uint64_t            skipped = 0;
		int64_t             t_wall, t0;

		if (!probe_sleep_until(p, start + (int64_t)k * p->interval_ms * 1000))
			break;
		t_wall             = clk_now_us();
		t0                 = clk_mono_us();
		c.timeout_ms       = p->timeout_ms;
		c.deadline_mono_us = t0 + (int64_t)p->timeout_ms * 1000;
		c.stop_fd          = p->w.stop_fd;
		if (p->ops->check(p->state, &c, &r) != CHAOS_OK)
			break;
		int64_t latency = clk_mono_us() - t0;
		k               = probe_next_slot(p, start, k, &skipped);
		if (skipped > 0) {
			size_t len = strlen(r.detail);
			snprintf(r.detail + len, sizeof(r.detail) - len,
			         "%s%llu slots skipped", len > 0 ? "; " : "",
			         (unsigned long long)skipped);
			p->skipped += skipped;
		}
		p->checks++;
		probe_emit(p, &r, t_wall, latency);
	}
	return NULL;
}

static void
probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	if (p->state != NULL)
		p->ops->fini(p->state);
	worker_fini(&p->w);
	free(p);
}

/* The set's release callback: the thread has been joined. */
static void
probe_release(struct worker *w)
{
	struct probe *p = worker_owner(w, struct probe, w);

	log_debug("probe %s stopped after %llu checks, %llu slots skipped", p->w.id,
	          (unsigned long long)p->checks, (unsigned long long)p->skipped);
	probe_free(p);
}

static chaos_err
probe_check_spec(const Chaos__V1__ProbeSpec *spec, chaos_why *why)
{
	if (spec == NULL || wire_check_id(spec->probe_id) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EINVAL, "probe: bad probe_id");
	if (spec->interval_ms < LIMIT_PROBE_INTERVAL_MIN_MS ||
	    spec->interval_ms > LIMIT_PROBE_INTERVAL_MAX_MS)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "probe %s: interval_ms must be %u..%u", spec->probe_id,
		                  LIMIT_PROBE_INTERVAL_MIN_MS,
		                  LIMIT_PROBE_INTERVAL_MAX_MS);
	if (spec->timeout_ms == 0 || spec->timeout_ms > LIMIT_TIMEOUT_MAX_MS)
		return chaos_fail(why, CHAOS_EINVAL, "probe %s: timeout_ms must be 1..%u",
		                  spec->probe_id, LIMIT_TIMEOUT_MAX_MS);
	if (spec->target == NULL || spec->target[0] == '\0')
		return chaos_fail(why, CHAOS_EINVAL, "probe %s: no target",
		                  spec->probe_id);
	return CHAOS_OK;
}

static chaos_err
probe_new(struct events *ev, const Chaos__V1__ProbeSpec *spec, struct probe **out,
          chaos_why *why)
{
	const struct probe_ops *ops = probe_find_kind(spec->kind);
	struct probe           *p   = NULL;
	chaos_err               rv;

	if (ops == NULL)
		return chaos_fail(why, CHAOS_EUNSUPPORTED,
		                  "probe %s: kind %d not supported", spec->probe_id,
		                  (int)spec->kind);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return CHAOS_ENOMEM;
	if ((rv = worker_init(&p->w, spec->probe_id, why)) != CHAOS_OK) {
		chaos_fail_prefix(why, rv, "probe %s", spec->probe_id);
		goto fail;
	}
	p->ops         = ops;
	p->ev          = ev;
	p->interval_ms = spec->interval_ms;
	p->timeout_ms  = spec->timeout_ms;
	if ((rv = ops->init(spec, &p->state, why)) != CHAOS_OK)
		goto fail;
	*out = p;
	return CHAOS_OK;
fail:
	probe_free(p);
	return rv;
}

struct probe_make_args {
	struct events              *ev;
	const Chaos__V1__ProbeSpec *spec;
};

/* The target as logged: never a password. A PostgreSQL target is a
 * conninfo, which may hold one; an HTTP URL may carry user:password@. */
static void
probe_log_target(const Chaos__V1__ProbeSpec *spec, char *buf, size_t len)
{
	const char *auth = strstr(spec->target, "://");
	const char *at;

	if (spec->kind == CHAOS__V1__PROBE_KIND__PROBE_KIND_POSTGRES) {
		snprintf(buf, len, "(conninfo)");
		return;
	}
	auth = auth != NULL ? auth + 3 : spec->target;
	at   = memrchr(auth, '@', strcspn(auth, "/?#"));
	if (at == NULL)
		snprintf(buf, len, "%s", spec->target);
	else
		snprintf(buf, len, "%.*s***%s", (int)(auth - spec->target), spec->target,
		         at);
}

/* worker_set_start's make: builds and starts the probe. */
static chaos_err
probe_make(void *arg, struct worker **out, chaos_why *why)
{
	const struct probe_make_args *a    = arg;
	const Chaos__V1__ProbeSpec   *spec = a->spec;
	struct probe                 *p    = NULL;
	char                          kind[32], target[LIMIT_URL_LEN];
	chaos_err                     rv;

	if ((rv = probe_new(a->ev, spec, &p, why)) != CHAOS_OK)
		return rv;
	if ((rv = worker_start(&p->w, "chaos-probe", probe_main, p, why)) != CHAOS_OK) {
		probe_free(p);
		return rv;
	}
	probe_log_target(spec, target, sizeof(target));
	log_info("probe %s started: %s %s every %u ms, timeout %u ms", p->w.id,
	         wire_enum_name(&chaos__v1__probe_kind__descriptor, (int)spec->kind, kind,
	                        sizeof(kind)),
	         target, p->interval_ms, p->timeout_ms);
	*out = &p->w;
	return CHAOS_OK;
}

chaos_err
probe_start(struct probe_set *ps, const Chaos__V1__ProbeSpec *spec, chaos_why *why)
{
	struct probe_make_args a = {.ev = ps->ev, .spec = spec};
	chaos_err              rv;

	if ((rv = probe_check_spec(spec, why)) != CHAOS_OK)
		return rv;
	return worker_set_start(ps->workers, spec->probe_id, probe_make, &a, why);
}

chaos_err
probe_stop(struct probe_set *ps, const char *probe_id)
{
	return worker_set_stop(ps->workers, probe_id);
}

void
probe_stop_all(struct probe_set *ps)
{
	worker_set_stop_all(ps->workers);
}

void
probe_leases(struct probe_set *ps, int64_t now_mono_us, uint64_t instance, uint32_t ms,
             worker_gone_fn gone, void *arg)
{
	worker_set_leases(ps->workers, now_mono_us, instance, ms, gone, arg);
}

int64_t
probe_lease_tick(struct probe_set *ps, int64_t now_mono_us, worker_gone_fn gone,
                 void *arg)
{
	return worker_set_lease_tick(ps->workers, now_mono_us, gone, arg);
}

size_t
probe_count(struct probe_set *ps)
{
	return worker_set_count(ps->workers);
}

chaos_err
probe_set_new(struct events *ev, struct probe_set **out)
{
	struct probe_set *ps = calloc(1, sizeof(*ps));

	if (ps == NULL ||
	    worker_set_new("probe", PROBE_MAX, 0, probe_release, &ps->workers) !=
	        CHAOS_OK) {
		free(ps);
		return CHAOS_ENOMEM;
	}
	ps->ev = ev;
	*out   = ps;
	return CHAOS_OK;
}

void
probe_set_free(struct probe_set *ps)
{
	if (ps == NULL)
		return;
	worker_set_free(ps->workers);
	free(ps);
}
