// SPDX-License-Identifier: MIT
/*
 * HTTP(S) probe: one GET per check on a fresh connection (a probe must show
 * whether a new client can reach the target, not whether an old socket
 * survived), healthy when the status is the expected one and, if a JSON field
 * is watched, that field keeps increasing (a chain height, a counter).
 *
 * Each check goes through the agent's HTTP client (agent/load_http.h): a
 * pool of one connection made for the check and freed after it, so nothing
 * is reused. The host is resolved again for every check (a cached address
 * would hide a DNS fault) within the check's deadline, and its addresses
 * are tried in turn until one connects. The stop fd is part of every wait:
 * stopping never waits for a slow server. An https probe holds the CA
 * certificates (agent/tls_client.h) from start to stop.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/load_http.h"
#include "agent/probe.h"
#include "agent/tls_client.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/url.h"

#define HTTP_BODY_MAX (64u * 1024u)
#define HTTP_USER_AGENT "chaos-agent-probe"

struct http_state {
	char                   *url;
	char                    host[256];
	char                    port[8];
	bool                    literal;
	struct sockaddr_storage addr; /* literal only */
	socklen_t               addrlen;
	struct tlsc_config     *tls;   /* https: the CAs, kept while the probe runs */
	char                   *field; /* NULL: status only */
	uint32_t                expect_status;
	int64_t                 window_us;
	bool                    has_last;
	int64_t                 last_value;
	int64_t last_advance_us; /* mono time the value last rose (or was first seen) */
};

/* One check's exchange, filled by the client's callbacks. */
struct http_exchange {
	char                *buf; /* the body, when a field is watched */
	size_t               len;
	bool                 overflow;
	bool                 ended;
	struct load_http_end end;
};

static void
http_fini(void *state)
{
	struct http_state *st = state;

	if (st == NULL)
		return;
	tlsc_config_put(st->tls);
	free(st->url);
	free(st->field);
	free(st);
}

static chaos_err
http_init(const Chaos__V1__ProbeSpec *spec, void **state, chaos_why *why)
{
	struct http_state *st = NULL;
	struct url_parts   u;
	chaos_err          rv;

	if (url_parse(spec->target, URL_WEB, &u, why) != CHAOS_OK)
		return chaos_fail_prefix(why, CHAOS_EINVAL, "probe %s: target",
		                         spec->probe_id);
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->url = strdup(spec->target)) == NULL)
		goto nomem;
	if (spec->json_field != NULL && spec->json_field[0] != '\0' &&
	    (st->field = strdup(spec->json_field)) == NULL)
		goto nomem;
	snprintf(st->host, sizeof(st->host), "%s", u.host);
	snprintf(st->port, sizeof(st->port), "%u", u.port);
	st->literal = probe_tcp_literal(u.host, u.port, &st->addr, &st->addrlen);
	if (u.scheme == URL_HTTPS && (rv = tlsc_config_get(&st->tls, why)) != CHAOS_OK) {
		http_fini(st);
		return chaos_fail_prefix(why, rv, "probe %s: https", spec->probe_id);
	}
	st->expect_status = spec->has_expect_status && spec->expect_status != 0
	    ? spec->expect_status
	    : 200;
	st->window_us =
	    (int64_t)(spec->has_advance_window_ms && spec->advance_window_ms != 0
	                  ? spec->advance_window_ms
	                  : PROBE_DEFAULT_WINDOW_MS) *
	    1000;
	*state = st;
	return CHAOS_OK;
nomem:
	http_fini(st);
	return CHAOS_ENOMEM;
}

/* Keeps the first HTTP_BODY_MAX bytes; beyond that gives up on the
 * response, since the status is known and a bigger body is not one we
 * parse. */
static bool
http_on_body(void *arg, int64_t tag, const char *data, size_t len)
{
	struct http_exchange *x = arg;

	(void)tag;
	if (len > HTTP_BODY_MAX - x->len) {
		x->overflow = true;
		return false;
	}
	if (x->buf == NULL && (x->buf = malloc(HTTP_BODY_MAX + 1)) == NULL)
		return false;
	memcpy(x->buf + x->len, data, len);
	x->len += len;
	x->buf[x->len] = '\0';
	return true;
}

static void
http_on_end(void *arg, const struct load_http_end *e)
{
	struct http_exchange *x = arg;

	x->end   = *e;
	x->ended = true;
}

/* One request to the address the pool holds, until it ends. Returns
 * CHAOS_OK or CHAOS_ECLOSED (the probe was stopped). */
static chaos_err
http_request(struct load_http *h, const struct probe_check *c, struct http_exchange *x)
{
	x->ended    = false;
	x->overflow = false;
	x->len      = 0;
	/* Scheduled at the check's start, so that the pool's timeout ends it
	 * at the check's deadline. A pool of one with nothing in flight always
	 * takes it. */
	if (!load_http_send(h, c->deadline_mono_us - (int64_t)c->timeout_ms * 1000, 0)) {
		x->end.cls = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER;
		return CHAOS_OK;
	}
	while (!x->ended)
		if (!load_http_wait(h, c->deadline_mono_us))
			return CHAOS_ECLOSED;
	return CHAOS_OK;
}

/* Tries the addresses in turn, as a client would, until one connects.
 * Returns CHAOS_OK with x filled, CHAOS_ECLOSED, or another code with r
 * filled (no client could be made). */
static chaos_err
http_exchange(struct http_state *st, const struct addrinfo *addrs,
              const struct probe_check *c, struct http_exchange *x,
              struct probe_result *r)
{
	struct load_http *h   = NULL;
	chaos_why         why = {{0}};
	chaos_err         rv;

	if ((rv = load_http_new(st->url, HTTP_USER_AGENT, 1, c->timeout_ms, http_on_end,
	                        x, &h, &why)) != CHAOS_OK ||
	    (rv = load_http_watch(h, c->stop_fd)) != CHAOS_OK) {
		r->error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER;
		probe_detail(r, "%s", why.text[0] ? why.text : chaos_strerror(rv));
		load_http_free(h);
		return rv;
	}
	if (st->field != NULL)
		load_http_on_body(h, http_on_body, x);
	for (const struct addrinfo *a = addrs; a != NULL; a = a->ai_next) {
		load_http_set_addr(h, a->ai_addr, a->ai_addrlen);
		if ((rv = http_request(h, c, x)) != CHAOS_OK || x->end.connected ||
		    x->end.cls == CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT)
			break;
	}
	load_http_free(h);
	return rv;
}

/* A request that got no complete answer: why, as a client would say it. */
static void
http_fail(const struct load_http_end *e, uint32_t timeout_ms, struct probe_result *r)
{
	char tls[160];

	r->error_class = e->cls;
	if (e->cls == CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT) {
		probe_detail(r, "timeout after %u ms", timeout_ms);
	} else if (e->errnum != 0) {
		probe_detail(r, "%s: %s", e->connected ? "transfer" : "connect",
		             strerror(e->errnum));
	} else if (e->tls_err != 0) {
		tlsc_describe(e->tls_err, e->tls_verify, tls, sizeof(tls));
		probe_detail(r, "tls: %s", tls);
	} else if (e->cls == CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED) {
		/* Accepted, then closed without a word: to a client, a reset. */
		probe_detail(r, "closed without a reply");
	} else if (e->cls == CHAOS__V1__ERROR_CLASS__ERROR_CLASS_PROTOCOL) {
		probe_detail(r,
		             e->status != 0 ? "response cut short or malformed"
		                            : "not an HTTP/1.x response");
	} else {
		probe_detail(r, "request failed (out of sockets or memory)");
	}
}

/* Finds the integer at the dotted path in a JSON object body. */
static bool
http_field(const struct http_exchange *x, const char *path, int64_t *out,
           struct probe_result *r)
{
	json_error_t jerr;
	json_t      *root = x->len > 0 ? json_loadb(x->buf, x->len, 0, &jerr) : NULL;
	json_t      *v    = root;
	const char  *p    = path;
	bool         ok   = false;

	if (root == NULL || !json_is_object(root)) {
		probe_detail(r, "body is not a JSON object");
		goto out;
	}
	while (v != NULL && *p != '\0') {
		const char *dot = strchr(p, '.');
		size_t      n   = dot != NULL ? (size_t)(dot - p) : strlen(p);

		v = json_is_object(v) ? json_object_getn(v, p, n) : NULL;
		p += n + (dot != NULL);
	}
	if (v == NULL) {
		probe_detail(r, "field %s missing", path);
		goto out;
	}
	if (!json_is_integer(v)) {
		probe_detail(r, "field %s is not an integer", path);
		goto out;
	}
	*out = (int64_t)json_integer_value(v);
	ok   = true;
out:
	json_decref(root);
	return ok;
}

/* Healthy while the value has risen within the window. A lower value counts
 * as a change, not progress: the next rise from there is progress again. */
static void
http_advance(struct http_state *st, int64_t value, struct probe_result *r)
{
	int64_t now = clk_mono_us();

	r->has_value = true;
	r->value     = value;
	if (!st->has_last || value > st->last_value) {
		st->has_last        = true;
		st->last_advance_us = now;
		st->last_value      = value;
		r->healthy          = true;
		return;
	}
	st->last_value = value;
	if (now - st->last_advance_us <= st->window_us) {
		r->healthy = true;
		return;
	}
	r->error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_PROTOCOL;
	probe_detail(r, "%s %lld not advancing for %.1f s", st->field, (long long)value,
	             (double)(now - st->last_advance_us) / 1e6);
}

/* A complete answer (or one given up on for its size): status, then field. */
static void
http_judge(struct http_state *st, const struct http_exchange *x, struct probe_result *r)
{
	int     status = x->end.status;
	int64_t value;

	r->http_status = status > 0 && status < 1000 ? (uint32_t)status : 0;
	if (status != (int)st->expect_status) {
		r->error_class = status >= 500 && status <= 599
		    ? CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_5XX
		    : CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_OTHER;
		probe_detail(r, "status %d, expected %u", status, st->expect_status);
		return;
	}
	if (st->field == NULL) {
		r->healthy = true;
		return;
	}
	r->error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_PROTOCOL;
	if (x->overflow) {
		probe_detail(r, "body over %u bytes", HTTP_BODY_MAX);
		return;
	}
	if (http_field(x, st->field, &value, r))
		http_advance(st, value, r);
}

static bool
http_answered(const struct http_exchange *x)
{
	switch (x->end.cls) {
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_NONE:
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_5XX:
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_OTHER:
		return true; /* the client's classes for a whole response */
	default:
		return x->overflow;
	}
}

static chaos_err
http_check(void *state, const struct probe_check *c, struct probe_result *r)
{
	struct http_state   *st  = state;
	struct http_exchange x   = {0};
	struct addrinfo      lit = {0}, *res = NULL;
	chaos_err            rv;

	if (st->literal) {
		lit.ai_addr    = (struct sockaddr *)&st->addr;
		lit.ai_addrlen = st->addrlen;
	} else if ((rv = probe_tcp_resolve(st->host, st->port, c, &res, r)) != CHAOS_OK) {
		return rv == CHAOS_ECLOSED ? rv : CHAOS_OK;
	}
	rv = http_exchange(st, st->literal ? &lit : res, c, &x, r);
	if (res != NULL)
		freeaddrinfo(res);
	if (rv == CHAOS_OK && http_answered(&x))
		http_judge(st, &x, r);
	else if (rv == CHAOS_OK)
		http_fail(&x.end, c->timeout_ms, r);
	free(x.buf);
	return rv == CHAOS_ECLOSED ? rv : CHAOS_OK;
}

const struct probe_ops probe_http_ops = {
    .kind  = CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP,
    .init  = http_init,
    .check = http_check,
    .fini  = http_fini,
};
