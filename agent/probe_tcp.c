// SPDX-License-Identifier: MIT
/*
 * TCP probe: healthy when a fresh connect to "host:port" succeeds within the
 * timeout; the socket is closed at once. Literal addresses are parsed once;
 * names are resolved on every check, on a throwaway thread, because
 * getaddrinfo() cannot be bounded or interrupted and a DNS fault must show
 * up as a failed check, not as a probe stuck past its timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/probe.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/url.h"

#define TCP_RESOLVER_STACK (256u * 1024u)

struct tcp_state {
	char                    host[256];
	char                    port[8];
	bool                    literal;
	struct sockaddr_storage addr; /* literal only */
	socklen_t               addrlen;
};

/* One name lookup, shared by the check that waits for it and the thread
 * that runs it; whichever lets go last frees it. */
struct tcp_lookup {
	atomic_int       refs;
	int              done_fd; /* eventfd, written once done is set */
	atomic_bool      done;    /* release: rc and res are set */
	int              rc;
	struct addrinfo *res;
	char             host[256];
	char             port[8];
};

int
probe_tcp_connect_start(const struct sockaddr *sa, socklen_t salen, int *fd)
{
	int s = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int e;

	*fd = -1;
	if (s < 0)
		return errno;
	if (connect(s, sa, salen) == 0) {
		*fd = s;
		return 0;
	}
	e = errno;
	if (e == EINPROGRESS) {
		*fd = s;
		return EINPROGRESS;
	}
	close(s);
	return e;
}

int
probe_tcp_connect_finish(int fd)
{
	int       e   = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
		return errno;
	return e;
}

bool
probe_tcp_literal(const char *host, uint16_t port, struct sockaddr_storage *ss,
                  socklen_t *len)
{
	struct sockaddr_in  *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port   = htons(port);
		*len           = sizeof(*v4);
		return true;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port   = htons(port);
		*len            = sizeof(*v6);
		return true;
	}
	return false;
}

/* "host:port" or "[v6]:port". */
static chaos_err
tcp_init(const Chaos__V1__ProbeSpec *spec, void **state, chaos_why *why)
{
	struct tcp_state *st = calloc(1, sizeof(*st));
	uint16_t          port;

	if (st == NULL)
		return CHAOS_ENOMEM;
	if (url_parse_hostport(spec->target, st->host, sizeof(st->host), &port, why) !=
	    CHAOS_OK) {
		free(st);
		return chaos_fail_prefix(why, CHAOS_EINVAL, "probe %s: target",
		                         spec->probe_id);
	}
	snprintf(st->port, sizeof(st->port), "%u", port);
	st->literal = probe_tcp_literal(st->host, port, &st->addr, &st->addrlen);
	*state      = st;
	return CHAOS_OK;
}

static void
tcp_fini(void *state)
{
	free(state);
}

static void
tcp_lookup_put(struct tcp_lookup *l)
{
	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	if (l->res != NULL)
		freeaddrinfo(l->res);
	close(l->done_fd);
	free(l);
}

static void *
tcp_lookup_main(void *arg)
{
	struct tcp_lookup *l  = arg;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
	uint64_t        one   = 1;

	l->rc = getaddrinfo(l->host, l->port, &hints, &l->res);
	atomic_store_explicit(&l->done, true, memory_order_release);
	(void)!write(l->done_fd, &one, sizeof(one));
	tcp_lookup_put(l);
	return NULL;
}

static int
tcp_lookup_spawn(struct tcp_lookup *l)
{
	pthread_attr_t attr;
	pthread_t      t;
	int            rc;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, TCP_RESOLVER_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, tcp_lookup_main, l);
	pthread_attr_destroy(&attr);
	return rc;
}

/* Waits for fd to poll readable (or for events) until the deadline. Returns
 * 1 when fd is ready, 0 on timeout, CHAOS_ECLOSED when the probe stopped. */
static int
tcp_wait(int fd, short events, const struct probe_check *c)
{
	struct pollfd pfd[2] = {{.fd = fd, .events = events},
	                        {.fd = c->stop_fd, .events = POLLIN}};

	for (;;) {
		int64_t left = c->deadline_mono_us - clk_mono_us();
		int     n;

		if (left <= 0)
			return 0;
		n = poll(pfd, 2, (int)((left + 999) / 1000));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pfd[1].revents != 0)
			return CHAOS_ECLOSED;
		if (pfd[0].revents != 0)
			return 1;
	}
}

chaos_err
probe_tcp_resolve(const char *host, const char *port, const struct probe_check *c,
                  struct addrinfo **res, struct probe_result *r)
{
	struct tcp_lookup *l = calloc(1, sizeof(*l));
	int                rv, rc;

	r->error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_DNS;
	if (l == NULL || (l->done_fd = eventfd(0, EFD_CLOEXEC)) < 0) {
		free(l);
		probe_detail(r, "resolve: %s", strerror(errno));
		return CHAOS_ENOENT;
	}
	atomic_init(&l->refs, 2);
	atomic_init(&l->done, false);
	snprintf(l->host, sizeof(l->host), "%s", host);
	snprintf(l->port, sizeof(l->port), "%s", port);
	if ((rc = tcp_lookup_spawn(l)) != 0) {
		atomic_store(&l->refs, 1);
		tcp_lookup_put(l);
		probe_detail(r, "resolve: thread: %s", strerror(rc));
		return CHAOS_ENOENT;
	}
	rv = tcp_wait(l->done_fd, POLLIN, c);
	if (rv == 1 && !atomic_load_explicit(&l->done, memory_order_acquire))
		rv = 0; /* the fd is written after done: cannot happen */
	if (rv == 1 && l->rc == 0) {
		*res   = l->res;
		l->res = NULL;
		rv     = CHAOS_OK;
	} else if (rv == 1) {
		probe_detail(r, "resolve %s: %s", host, gai_strerror(l->rc));
		rv = CHAOS_ENOENT;
	} else if (rv == 0) {
		probe_detail(r, "resolve %s: timed out after %u ms", host, c->timeout_ms);
		rv = CHAOS_ENOENT;
	}
	tcp_lookup_put(l);
	return rv;
}

/* One connect within the deadline. Returns CHAOS_OK with *errnum (0 when
 * connected) or CHAOS_ECLOSED. */
static chaos_err
tcp_connect(const struct sockaddr *sa, socklen_t salen, const struct probe_check *c,
            int *errnum)
{
	int       fd = -1;
	int       e  = probe_tcp_connect_start(sa, salen, &fd);
	chaos_err rv = CHAOS_OK;

	if (e == EINPROGRESS) {
		int w = tcp_wait(fd, POLLOUT, c);
		if (w == CHAOS_ECLOSED)
			rv = CHAOS_ECLOSED;
		e = w == 1 ? probe_tcp_connect_finish(fd) : ETIMEDOUT;
	}
	if (fd >= 0)
		close(fd);
	*errnum = e;
	return rv;
}

/* Tries each address in turn, as a client would, until one connects. */
static chaos_err
tcp_check(void *state, const struct probe_check *c, struct probe_result *r)
{
	struct tcp_state *st  = state;
	struct addrinfo  *res = NULL;
	int               e   = EADDRNOTAVAIL;
	chaos_err         rv;

	if (st->literal) {
		rv = tcp_connect((struct sockaddr *)&st->addr, st->addrlen, c, &e);
	} else {
		if ((rv = probe_tcp_resolve(st->host, st->port, c, &res, r)) != CHAOS_OK)
			return rv == CHAOS_ECLOSED ? rv : CHAOS_OK;
		for (struct addrinfo *a = res; a != NULL && rv == CHAOS_OK;
		     a                  = a->ai_next) {
			rv = tcp_connect(a->ai_addr, a->ai_addrlen, c, &e);
			if (e == 0 || e == ETIMEDOUT)
				break;
		}
		freeaddrinfo(res);
	}
	if (rv != CHAOS_OK)
		return rv;
	r->healthy     = e == 0;
	r->error_class = probe_class_errno(e);
	if (e == ETIMEDOUT)
		probe_detail(r, "connect: timed out after %u ms", c->timeout_ms);
	else if (e != 0)
		probe_detail(r, "connect: %s", strerror(e));
	return CHAOS_OK;
}

const struct probe_ops probe_tcp_ops = {
    .kind  = CHAOS__V1__PROBE_KIND__PROBE_KIND_TCP,
    .init  = tcp_init,
    .check = tcp_check,
    .fini  = tcp_fini,
};
