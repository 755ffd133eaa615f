// SPDX-License-Identifier: MIT
#include "agent/conncheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent/probe.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/url.h"
#include "common/wire.h"

#define CONNCHECK_STACK (256u * 1024u)

struct conncheck_target {
	char                 *target;
	int                   fd;
	bool                  pending;
	int64_t               t0;
	Chaos__V1__ConnTarget out;
};

struct conncheck_round {
	struct events           *ev;
	char                    *check_id;
	uint32_t                 timeout_ms;
	size_t                   n;
	struct conncheck_target *t;
};

/* Process-wide: the running count bounds threads; abort_fd (readable while
 * a drain is in progress) makes every round give up at once. */
static pthread_mutex_t conncheck_lock     = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  conncheck_idle     = PTHREAD_COND_INITIALIZER;
static int             conncheck_running  = 0;
static bool            conncheck_draining = false;
static int             conncheck_abort_fd = -1;

static void
conncheck_round_free(struct conncheck_round *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		if (r->t[i].fd >= 0)
			close(r->t[i].fd);
		free(r->t[i].target);
	}
	free(r->t);
	free(r->check_id);
	free(r);
}

static chaos_err
conncheck_round_new(struct events *ev, const Chaos__V1__ConnCheckSpec *spec,
                    struct conncheck_round **out)
{
	struct conncheck_round *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return CHAOS_ENOMEM;
	r->ev         = ev;
	r->timeout_ms = spec->timeout_ms;
	if ((r->check_id = strdup(spec->check_id)) == NULL ||
	    (r->t = calloc(spec->n_targets, sizeof(r->t[0]))) == NULL)
		goto nomem;
	for (; r->n < spec->n_targets; r->n++) {
		struct conncheck_target *t = &r->t[r->n];

		t->fd = -1;
		if ((t->target = strdup(spec->targets[r->n])) == NULL)
			goto nomem;
	}
	*out = r;
	return CHAOS_OK;
nomem:
	conncheck_round_free(r);
	return CHAOS_ENOMEM;
}

static void
conncheck_done(struct conncheck_target *t, int errnum)
{
	int64_t us = clk_mono_us() - t->t0;

	t->pending             = false;
	t->out.ok              = errnum == 0;
	t->out.latency_us      = us > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	t->out.has_error_class = true;
	t->out.error_class     = errnum == 0 ? CHAOS__V1__ERROR_CLASS__ERROR_CLASS_NONE
	                                     : probe_class_errno(errnum);
}

/* "a.b.c.d:port": the controller maps pairs of pod IPs (IPv4 for now). */
static bool
conncheck_parse(const char *s, struct sockaddr_in *sa)
{
	char     host[256];
	uint16_t port;

	if (url_parse_hostport(s, host, sizeof(host), &port, NULL) != CHAOS_OK)
		return false;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port   = htons(port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

/* Starts every connect; the ones that finish at once are done already. */
static void
conncheck_launch(struct conncheck_round *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct conncheck_target *t = &r->t[i];
		struct sockaddr_in       sa;
		int                      e;

		chaos__v1__conn_target__init(&t->out);
		t->out.target = t->target;
		t->t0         = clk_mono_us();
		if (!conncheck_parse(t->target, &sa)) {
			conncheck_done(t, EINVAL);
			continue;
		}
		e = probe_tcp_connect_start((struct sockaddr *)&sa, sizeof(sa), &t->fd);
		if (e == EINPROGRESS)
			t->pending = true;
		else
			conncheck_done(t, e);
	}
}

/* One poll over every pending connect plus the abort fd, until all are done
 * or the deadline. Returns false when aborted. */
static bool
conncheck_wait(struct conncheck_round *r, int64_t deadline)
{
	struct pollfd *pfd = calloc(r->n + 1, sizeof(*pfd));
	size_t        *idx = calloc(r->n + 1, sizeof(*idx));
	bool           ok  = true;

	while (pfd != NULL && idx != NULL) {
		int64_t left = deadline - clk_mono_us();
		size_t  np   = 0;

		for (size_t i = 0; i < r->n; i++)
			if (r->t[i].pending) {
				pfd[np] =
				    (struct pollfd) {.fd = r->t[i].fd, .events = POLLOUT};
				idx[np++] = i;
			}
		if (np == 0 || left <= 0)
			break;
		pfd[np] = (struct pollfd) {.fd = conncheck_abort_fd, .events = POLLIN};
		if (poll(pfd, np + 1, (int)((left + 999) / 1000)) < 0 && errno != EINTR)
			break;
		if (pfd[np].revents != 0) {
			ok = false;
			break;
		}
		for (size_t j = 0; j < np; j++)
			if (pfd[j].revents != 0)
				conncheck_done(&r->t[idx[j]],
				               probe_tcp_connect_finish(pfd[j].fd));
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->t[i].pending)
			conncheck_done(&r->t[i], ETIMEDOUT);
	free(pfd);
	free(idx);
	return ok;
}

static void
conncheck_send(struct conncheck_round *r)
{
	Chaos__V1__Event           e   = CHAOS__V1__EVENT__INIT;
	Chaos__V1__ConnCheckResult res = CHAOS__V1__CONN_CHECK_RESULT__INIT;
	Chaos__V1__ConnTarget    **ptr = calloc(r->n, sizeof(*ptr));

	if (ptr == NULL && r->n > 0) {
		log_warn("conncheck %s: out of memory, result lost", r->check_id);
		return;
	}
	for (size_t i = 0; i < r->n; i++)
		ptr[i] = &r->t[i].out;
	res.check_id  = r->check_id;
	res.n_results = r->n;
	res.results   = ptr;
	e.body_case   = CHAOS__V1__EVENT__BODY_CONN;
	e.conn        = &res;
	if (events_send(r->ev, &e) != CHAOS_OK)
		log_warn("conncheck %s: result event dropped", r->check_id);
	free(ptr);
}

static void *
conncheck_main(void *arg)
{
	struct conncheck_round *r        = arg;
	int64_t                 deadline = clk_mono_us() + (int64_t)r->timeout_ms * 1000;

	conncheck_launch(r);
	if (conncheck_wait(r, deadline))
		conncheck_send(r);
	conncheck_round_free(r);
	pthread_mutex_lock(&conncheck_lock);
	if (--conncheck_running == 0)
		pthread_cond_broadcast(&conncheck_idle);
	pthread_mutex_unlock(&conncheck_lock);
	return NULL;
}

static chaos_err
conncheck_check_spec(const Chaos__V1__ConnCheckSpec *spec, chaos_why *why)
{
	if (spec == NULL || wire_check_id(spec->check_id) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EINVAL, "connectivity check: bad check_id");
	if (spec->n_targets == 0 || spec->n_targets > LIMIT_CONNCHECK_MAX_TARGETS)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "connectivity check %s: 1..%u targets allowed",
		                  spec->check_id, LIMIT_CONNCHECK_MAX_TARGETS);
	if (spec->timeout_ms == 0 || spec->timeout_ms > LIMIT_TIMEOUT_MAX_MS)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "connectivity check %s: timeout_ms must be 1..%u",
		                  spec->check_id, LIMIT_TIMEOUT_MAX_MS);
	return CHAOS_OK;
}

/* Takes a running slot. Called with the lock held. */
static chaos_err
conncheck_reserve(chaos_why *why)
{
	if (conncheck_draining)
		return chaos_fail(
		    why, CHAOS_ECLOSED,
		    "connectivity check not started: the agent is stopping");
	if (conncheck_running >= CONNCHECK_MAX_RUNNING)
		return chaos_fail(why, CHAOS_EBUSY,
		                  "connectivity check not started: %d already running",
		                  CONNCHECK_MAX_RUNNING);
	if (conncheck_abort_fd < 0 &&
	    (conncheck_abort_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return chaos_fail(why, chaos_err_from_errno(errno),
		                  "connectivity check not started: eventfd: %s",
		                  strerror(errno));
	conncheck_running++;
	return CHAOS_OK;
}

static chaos_err
conncheck_spawn(struct conncheck_round *r)
{
	pthread_attr_t attr;
	pthread_t      t;
	int            rc;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, CONNCHECK_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, conncheck_main, r);
	pthread_attr_destroy(&attr);
	return rc == 0 ? CHAOS_OK : chaos_err_from_errno(rc);
}

chaos_err
conncheck_start(struct events *ev, const Chaos__V1__ConnCheckSpec *spec, chaos_why *why)
{
	struct conncheck_round *r = NULL;
	chaos_err               rv;

	if ((rv = conncheck_check_spec(spec, why)) != CHAOS_OK)
		return rv;
	pthread_mutex_lock(&conncheck_lock);
	rv = conncheck_reserve(why);
	pthread_mutex_unlock(&conncheck_lock);
	if (rv != CHAOS_OK)
		return rv;
	if ((rv = conncheck_round_new(ev, spec, &r)) == CHAOS_OK &&
	    (rv = conncheck_spawn(r)) == CHAOS_OK)
		return CHAOS_OK;
	conncheck_round_free(r);
	pthread_mutex_lock(&conncheck_lock);
	if (--conncheck_running == 0)
		pthread_cond_broadcast(&conncheck_idle);
	pthread_mutex_unlock(&conncheck_lock);
	return chaos_fail(why, rv, "connectivity check not started: %s",
	                  chaos_strerror(rv));
}

void
conncheck_drain(void)
{
	uint64_t v = 1;

	pthread_mutex_lock(&conncheck_lock);
	if (conncheck_abort_fd < 0) {
		pthread_mutex_unlock(&conncheck_lock);
		return;
	}
	conncheck_draining = true;
	(void)!write(conncheck_abort_fd, &v, sizeof(v));
	while (conncheck_running > 0)
		pthread_cond_wait(&conncheck_idle, &conncheck_lock);
	/* Rearm for later rounds: nobody polls the fd any more. */
	(void)!read(conncheck_abort_fd, &v, sizeof(v));
	conncheck_draining = false;
	pthread_mutex_unlock(&conncheck_lock);
}
