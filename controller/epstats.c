// SPDX-License-Identifier: MIT
#include "controller/epstats.h"

#include <stdio.h>

#include <nng/supplemental/util/platform.h>

#include "common/err.h"
#include "common/log.h"

chaos_err
epstats_init(struct epstats *s, const char *name)
{
	s->name     = name;
	s->received = s->dropped = s->pipes_closed = 0;
	s->last_reason[0]                          = '\0';
	return nng_mtx_alloc(&s->mtx) == 0 ? CHAOS_OK : CHAOS_ENOMEM;
}

void
epstats_fini(struct epstats *s)
{
	if (s->mtx != NULL)
		nng_mtx_free(s->mtx);
	s->mtx = NULL;
}

void
epstats_received(struct epstats *s)
{
	nng_mtx_lock(s->mtx);
	s->received++;
	nng_mtx_unlock(s->mtx);
}

void
epstats_dropped(struct epstats *s, const char *reason)
{
	uint64_t n;

	nng_mtx_lock(s->mtx);
	n = ++s->dropped;
	snprintf(s->last_reason, sizeof(s->last_reason), "%s", reason);
	nng_mtx_unlock(s->mtx);
	if (n == 1 || n % 100 == 0)
		log_warn("%s: dropped message (%llu so far): %s", s->name,
		         (unsigned long long)n, reason);
}

void
epstats_pipe_closed(struct epstats *s)
{
	nng_mtx_lock(s->mtx);
	s->pipes_closed++;
	nng_mtx_unlock(s->mtx);
}

static void
epstats_pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)ev;
	epstats_pipe_closed(arg);
}

void
epstats_watch_pipes(struct epstats *s, nng_socket sock)
{
	nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, epstats_pipe_removed, s);
}

void
epstats_fill(struct epstats *s, Chaos__V1__EndpointStats *m, char *reason_buf,
             size_t reason_len)
{
	chaos__v1__endpoint_stats__init(m);
	nng_mtx_lock(s->mtx);
	m->name             = (char *)s->name;
	m->received         = s->received;
	m->dropped          = s->dropped;
	m->has_pipes_closed = true;
	m->pipes_closed     = s->pipes_closed;
	snprintf(reason_buf, reason_len, "%s", s->last_reason);
	nng_mtx_unlock(s->mtx);
	m->last_reason = reason_buf;
}
