// SPDX-License-Identifier: MIT
#include "agent/probe.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"

#define PROBE_STACK_SIZE (256u * 1024u)

struct probe {
	char                    id[LIMIT_ID_LEN + 1];
	const struct probe_ops *ops;
	void                   *state;
	struct events          *ev;
	uint32_t                interval_ms;
	uint32_t                timeout_ms;
	int                     stop_fd; /* eventfd, written once by probe_signal() */
	pthread_t               thread;
	uint64_t                checks;
	uint64_t                skipped;
};

struct probe_set {
	struct events  *ev;
	pthread_mutex_t lock;
	struct probe   *probes[PROBE_MAX];
	size_t          n;
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

static void
probe_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
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
	struct pollfd pfd = {.fd = p->stop_fd, .events = POLLIN};

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

	s.probe_id = p->id;
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
		c.stop_fd          = p->stop_fd;
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
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	free(p);
}

static void
probe_signal(struct probe *p)
{
	uint64_t one = 1;

	/* An eventfd write of 1 only fails on counter overflow: not here. */
	(void)!write(p->stop_fd, &one, sizeof(one));
}

static void
probe_join(struct probe *p)
{
	pthread_join(p->thread, NULL);
	log_debug("probe %s stopped after %llu checks, %llu slots skipped", p->id,
	          (unsigned long long)p->checks, (unsigned long long)p->skipped);
	probe_free(p);
}

static int
probe_check_spec(const Chaos__V1__ProbeSpec *spec, char *err, size_t errlen)
{
	if (spec == NULL || wire_check_id(spec->probe_id) != CHAOS_OK) {
		probe_errf(err, errlen, "probe: bad probe_id");
		return CHAOS_EINVAL;
	}
	if (spec->interval_ms < PROBE_MIN_INTERVAL_MS) {
		probe_errf(err, errlen, "probe %s: interval_ms under %u", spec->probe_id,
		           PROBE_MIN_INTERVAL_MS);
		return CHAOS_EINVAL;
	}
	if (spec->timeout_ms == 0 || spec->timeout_ms > PROBE_MAX_TIMEOUT_MS) {
		probe_errf(err, errlen, "probe %s: timeout_ms must be 1..%u",
		           spec->probe_id, PROBE_MAX_TIMEOUT_MS);
		return CHAOS_EINVAL;
	}
	if (spec->target == NULL || spec->target[0] == '\0') {
		probe_errf(err, errlen, "probe %s: no target", spec->probe_id);
		return CHAOS_EINVAL;
	}
	return CHAOS_OK;
}

static int
probe_new(struct events *ev, const Chaos__V1__ProbeSpec *spec, struct probe **out,
          char *err, size_t errlen)
{
	const struct probe_ops *ops = probe_find_kind(spec->kind);
	struct probe           *p   = NULL;
	int                     rv;

	if (ops == NULL) {
		probe_errf(err, errlen, "probe %s: kind %d not supported", spec->probe_id,
		           (int)spec->kind);
		return CHAOS_EUNSUPPORTED;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return CHAOS_ENOMEM;
	p->stop_fd = -1;
	snprintf(p->id, sizeof(p->id), "%s", spec->probe_id);
	p->ops         = ops;
	p->ev          = ev;
	p->interval_ms = spec->interval_ms;
	p->timeout_ms  = spec->timeout_ms;
	if ((rv = ops->init(spec, &p->state, err, errlen)) != CHAOS_OK)
		goto fail;
	if ((p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rv = chaos_err_from_errno(errno);
		probe_errf(err, errlen, "probe %s: eventfd: %s", p->id, strerror(errno));
		goto fail;
	}
	*out = p;
	return CHAOS_OK;
fail:
	probe_free(p);
	return rv;
}

static int
probe_spawn(struct probe *p, char *err, size_t errlen)
{
	pthread_attr_t attr;
	int            rc;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PROBE_STACK_SIZE);
	rc = pthread_create(&p->thread, &attr, probe_main, p);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		probe_errf(err, errlen, "probe %s: thread: %s", p->id, strerror(rc));
		return chaos_err_from_errno(rc);
	}
	return CHAOS_OK;
}

/* Index of id in the set, or -1. Called with the lock held. */
static ptrdiff_t
probe_index(const struct probe_set *ps, const char *id)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->probes[i]->id, id) == 0)
			return (ptrdiff_t)i;
	return -1;
}

int
probe_start(struct probe_set *ps, const Chaos__V1__ProbeSpec *spec, char *err,
            size_t errlen)
{
	struct probe *p = NULL;
	int           rv;

	if ((rv = probe_check_spec(spec, err, errlen)) != CHAOS_OK)
		return rv;
	pthread_mutex_lock(&ps->lock);
	if (probe_index(ps, spec->probe_id) >= 0) {
		rv = CHAOS_OK;
		goto out;
	}
	if (ps->n == PROBE_MAX) {
		probe_errf(err, errlen, "probe %s: %d probes already running",
		           spec->probe_id, PROBE_MAX);
		rv = CHAOS_EBUSY;
		goto out;
	}
	if ((rv = probe_new(ps->ev, spec, &p, err, errlen)) != CHAOS_OK)
		goto out;
	if ((rv = probe_spawn(p, err, errlen)) != CHAOS_OK) {
		probe_free(p);
		goto out;
	}
	ps->probes[ps->n++] = p;
	/* a PostgreSQL target is a conninfo, which may hold a password */
	log_info("probe %s started: %s %s every %u ms, timeout %u ms", p->id,
	         p->ops->name,
	         spec->kind == CHAOS__V1__PROBE_KIND__PROBE_KIND_POSTGRES ? "(conninfo)"
	                                                                  : spec->target,
	         p->interval_ms, p->timeout_ms);
out:
	pthread_mutex_unlock(&ps->lock);
	return rv;
}

int
probe_stop(struct probe_set *ps, const char *probe_id)
{
	struct probe *p = NULL;
	ptrdiff_t     i;

	pthread_mutex_lock(&ps->lock);
	if (probe_id != NULL && (i = probe_index(ps, probe_id)) >= 0) {
		p                 = ps->probes[i];
		ps->probes[i]     = ps->probes[--ps->n];
		ps->probes[ps->n] = NULL;
	}
	pthread_mutex_unlock(&ps->lock);
	if (p == NULL)
		return CHAOS_ENOENT;
	/* Joined outside the lock so other probes can start and stop meanwhile. */
	probe_signal(p);
	probe_join(p);
	return CHAOS_OK;
}

void
probe_stop_all(struct probe_set *ps)
{
	struct probe *all[PROBE_MAX];
	size_t        n;

	pthread_mutex_lock(&ps->lock);
	n = ps->n;
	memcpy(all, ps->probes, n * sizeof(all[0]));
	memset(ps->probes, 0, sizeof(ps->probes));
	ps->n = 0;
	pthread_mutex_unlock(&ps->lock);
	for (size_t i = 0; i < n; i++)
		probe_signal(all[i]);
	for (size_t i = 0; i < n; i++)
		probe_join(all[i]);
}

size_t
probe_count(struct probe_set *ps)
{
	size_t n;

	pthread_mutex_lock(&ps->lock);
	n = ps->n;
	pthread_mutex_unlock(&ps->lock);
	return n;
}

int
probe_set_new(struct events *ev, struct probe_set **out)
{
	struct probe_set *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return CHAOS_ENOMEM;
	ps->ev = ev;
	pthread_mutex_init(&ps->lock, NULL);
	*out = ps;
	return CHAOS_OK;
}

void
probe_set_free(struct probe_set *ps)
{
	if (ps == NULL)
		return;
	probe_stop_all(ps);
	pthread_mutex_destroy(&ps->lock);
	free(ps);
}
