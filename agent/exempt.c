// SPDX-License-Identifier: MIT
#include "agent/exempt.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct exempt {
	pthread_mutex_t   mu;
	pthread_cond_t    cv;
	pthread_t         thread;
	bool              thread_started, renew, stop;
	char             *host; /* NULL: nothing to resolve */
	exempt_resolve_fn resolve;
	void             *arg;
	/* under mu */
	char     peer[EXEMPT_CHANNELS][EXEMPT_CIDR_LEN]; /* "" none yet */
	char     names[EXEMPT_MAX][EXEMPT_CIDR_LEN];
	size_t   n_names;
	char     all[EXEMPT_MAX][EXEMPT_CIDR_LEN]; /* the union */
	size_t   n_all;
	uint64_t gen;
};

/* An address literal as a host CIDR ("/32" or "/128"); false when it is
 * neither IPv4 nor IPv6. */
static bool
exempt_host_cidr(const char *addr, char *out, size_t len)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char          text[INET6_ADDRSTRLEN];
	int           af = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;

	if (inet_pton(af, addr, buf) != 1 ||
	    inet_ntop(af, buf, text, sizeof(text)) == NULL)
		return false;
	snprintf(out, len, "%s/%d", text, af == AF_INET6 ? 128 : 32);
	return true;
}

static size_t
exempt_getaddrinfo(void *arg, const char *host, char (*out)[EXEMPT_CIDR_LEN], size_t cap)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM},
	                *res  = NULL;
	size_t n              = 0;
	int    rv;

	(void)arg;
	if ((rv = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		log_warn("cannot resolve the controller host '%s' (%s): only the "
		         "addresses it is reached at are exempt from faults",
		         host, gai_strerror(rv));
		return 0;
	}
	for (struct addrinfo *a = res; a != NULL && n < cap; a = a->ai_next) {
		char        ip[INET6_ADDRSTRLEN];
		const void *src = a->ai_family == AF_INET6
		    ? (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr
		    : (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;
		if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
		    inet_ntop(a->ai_family, src, ip, sizeof(ip)) != NULL &&
		    exempt_host_cidr(ip, out[n], sizeof(out[0])))
			n++;
	}
	freeaddrinfo(res);
	return n;
}

static bool
exempt_has(char (*list)[EXEMPT_CIDR_LEN], size_t n, const char *cidr)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], cidr) == 0)
			return true;
	return false;
}

static void
exempt_add(char (*list)[EXEMPT_CIDR_LEN], size_t *n, const char *cidr)
{
	if (cidr[0] != '\0' && *n < EXEMPT_MAX && !exempt_has(list, *n, cidr))
		snprintf(list[(*n)++], EXEMPT_CIDR_LEN, "%s", cidr);
}

static void
exempt_log(const struct exempt *x)
{
	char   text[EXEMPT_MAX * (EXEMPT_CIDR_LEN + 1)] = "";
	size_t len                                      = 0;

	for (size_t i = 0; i < x->n_all && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s",
		                        i > 0 ? " " : "", x->all[i]);
	log_info("exempt from faults (the controller): %s",
	         x->n_all > 0 ? text : "nothing");
}

/* Recomputes the union (under mu); a change bumps the generation. */
static void
exempt_update(struct exempt *x)
{
	char   all[EXEMPT_MAX][EXEMPT_CIDR_LEN] = {{0}}; /* compared whole */
	size_t n                                = 0;

	for (int c = 0; c < EXEMPT_CHANNELS; c++)
		exempt_add(all, &n, x->peer[c]);
	for (size_t i = 0; i < x->n_names; i++)
		exempt_add(all, &n, x->names[i]);
	if (n == x->n_all && memcmp(all, x->all, n * sizeof(all[0])) == 0)
		return;
	memcpy(x->all, all, n * sizeof(all[0]));
	x->n_all = n;
	x->gen++;
	exempt_log(x);
}

void
exempt_resolve_now(struct exempt *x)
{
	char   names[EXEMPT_MAX][EXEMPT_CIDR_LEN];
	size_t n;

	if (x == NULL || x->host == NULL)
		return;
	n = x->resolve(x->arg, x->host, names, EXEMPT_MAX);
	pthread_mutex_lock(&x->mu);
	/* A name that stops resolving keeps its last addresses: DNS trouble
	 * mid-fault must not cut the controller. */
	if (n > 0) {
		memcpy(x->names, names, n * sizeof(names[0]));
		x->n_names = n;
		exempt_update(x);
	}
	pthread_mutex_unlock(&x->mu);
}

static void *
exempt_thread(void *arg)
{
	struct exempt *x = arg;

	pthread_mutex_lock(&x->mu);
	while (!x->stop) {
		if (!x->renew) {
			pthread_cond_wait(&x->cv, &x->mu);
			continue;
		}
		x->renew = false;
		pthread_mutex_unlock(&x->mu);
		exempt_resolve_now(x);
		pthread_mutex_lock(&x->mu);
	}
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

chaos_err
exempt_new(const char *host, exempt_resolve_fn resolve, void *arg, struct exempt **out)
{
	struct exempt *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return CHAOS_ENOMEM;
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->cv, NULL);
	x->resolve = resolve != NULL ? resolve : exempt_getaddrinfo;
	x->arg     = arg;
	if (host != NULL && host[0] != '\0' && (x->host = strdup(host)) == NULL) {
		exempt_free(x);
		return CHAOS_ENOMEM;
	}
	exempt_resolve_now(x);
	if (x->host != NULL) {
		if (pthread_create(&x->thread, NULL, exempt_thread, x) != 0) {
			exempt_free(x);
			return CHAOS_ESYS;
		}
		x->thread_started = true;
	}
	*out = x;
	return CHAOS_OK;
}

void
exempt_free(struct exempt *x)
{
	if (x == NULL)
		return;
	if (x->thread_started) {
		pthread_mutex_lock(&x->mu);
		x->stop = true;
		pthread_cond_signal(&x->cv);
		pthread_mutex_unlock(&x->mu);
		pthread_join(x->thread, NULL);
	}
	pthread_cond_destroy(&x->cv);
	pthread_mutex_destroy(&x->mu);
	free(x->host);
	free(x);
}

void
exempt_note_peer(struct exempt *x, enum exempt_channel ch, const char *addr)
{
	char cidr[EXEMPT_CIDR_LEN];

	if (x == NULL || ch >= EXEMPT_CHANNELS ||
	    !exempt_host_cidr(addr, cidr, sizeof(cidr)))
		return;
	pthread_mutex_lock(&x->mu);
	snprintf(x->peer[ch], sizeof(x->peer[ch]), "%s", cidr);
	exempt_update(x);
	pthread_mutex_unlock(&x->mu);
}

void
exempt_renew(struct exempt *x)
{
	if (x == NULL || !x->thread_started)
		return;
	pthread_mutex_lock(&x->mu);
	x->renew = true;
	pthread_cond_signal(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

void
exempt_note_pipe(struct exempt *x, enum exempt_channel ch, nng_pipe p)
{
	nng_sockaddr sa;
	char         ip[INET6_ADDRSTRLEN] = "";

	if (x == NULL)
		return;
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) == 0) {
		if (sa.s_family == NNG_AF_INET)
			inet_ntop(AF_INET, &sa.s_in.sa_addr, ip, sizeof(ip));
		else if (sa.s_family == NNG_AF_INET6)
			inet_ntop(AF_INET6, sa.s_in6.sa_addr, ip, sizeof(ip));
	}
	if (ip[0] != '\0')
		exempt_note_peer(x, ch, ip);
	exempt_renew(x);
}

uint64_t
exempt_generation(struct exempt *x)
{
	uint64_t gen;

	pthread_mutex_lock(&x->mu);
	gen = x->gen;
	pthread_mutex_unlock(&x->mu);
	return gen;
}

size_t
exempt_snapshot(struct exempt *x, char (*out)[EXEMPT_CIDR_LEN], size_t cap, uint64_t *gen)
{
	size_t n;

	pthread_mutex_lock(&x->mu);
	n = x->n_all < cap ? x->n_all : cap;
	memcpy(out, x->all, n * sizeof(out[0]));
	if (gen != NULL)
		*gen = x->gen;
	pthread_mutex_unlock(&x->mu);
	return n;
}
