// SPDX-License-Identifier: MIT
/*
 * HTTP(S) probe: one GET per check on a fresh connection (a probe must show
 * whether a new client can reach the target, not whether an old socket
 * survived), healthy when the status is the expected one and, if a JSON field
 * is watched, that field keeps increasing (a chain height, a counter).
 *
 * The transfer runs on a private multi handle so the wait can include the
 * probe's stop fd: stopping never waits for a slow server.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/probe.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/url.h"

#define HTTP_BODY_MAX (64u * 1024u)
#define HTTP_POLL_MS 1000
#define HTTP_GRACE_US 1000000 /* past the deadline curl should have ended it */

struct http_state {
	char    *url;
	char    *field; /* NULL: status only */
	uint32_t expect_status;
	int64_t  window_us;
	bool     has_last;
	int64_t  last_value;
	int64_t  last_advance_us; /* mono time the value last rose (or was first seen) */
};

struct http_body {
	char  *buf;
	size_t len;
	bool   overflow;
};

static pthread_once_t http_once    = PTHREAD_ONCE_INIT;
static CURLcode       http_init_rc = CURLE_FAILED_INIT;

static void
http_global_init(void)
{
	http_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
http_fini(void *state)
{
	struct http_state *st = state;

	if (st == NULL)
		return;
	free(st->url);
	free(st->field);
	free(st);
}

static chaos_err
http_init(const Chaos__V1__ProbeSpec *spec, void **state, chaos_why *why)
{
	struct http_state *st = NULL;
	struct url_parts   u;

	pthread_once(&http_once, http_global_init);
	if (http_init_rc != CURLE_OK)
		return chaos_fail(why, CHAOS_ESYS, "probe %s: curl_global_init: %s",
		                  spec->probe_id, curl_easy_strerror(http_init_rc));
	if (url_parse(spec->target, URL_WEB, &u, why) != CHAOS_OK)
		return chaos_fail_prefix(why, CHAOS_EINVAL, "probe %s: target",
		                         spec->probe_id);
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->url = strdup(spec->target)) == NULL)
		goto nomem;
	if (spec->json_field != NULL && spec->json_field[0] != '\0' &&
	    (st->field = strdup(spec->json_field)) == NULL)
		goto nomem;
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

/* Keeps the first HTTP_BODY_MAX bytes; beyond that aborts the transfer,
 * since the status is already known and a bigger body is not one we parse. */
static size_t
http_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_body *b = arg;
	size_t            n = size * nmemb;

	if (n > HTTP_BODY_MAX - b->len) {
		b->overflow = true;
		return 0;
	}
	if (b->buf == NULL && (b->buf = malloc(HTTP_BODY_MAX + 1)) == NULL)
		return 0;
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

static void
http_setup(CURL *h, const struct http_state *st, const struct probe_check *c,
           struct http_body *body, char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_URL, st->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	/* A new client resolves again; a cached address would hide DNS faults. */
	curl_easy_setopt(h, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "chaos-agent-probe/" CHAOS_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
}

/* Drives the transfer to its end. Returns CHAOS_OK with *cc set, or
 * CHAOS_ECLOSED when the probe was stopped. */
static chaos_err
http_run(CURLM *m, const struct probe_check *c, CURLcode *cc)
{
	int      running = 1, left;
	CURLMsg *msg;

	*cc = CURLE_OPERATION_TIMEDOUT;
	while (running) {
		struct curl_waitfd w = {.fd = c->stop_fd, .events = CURL_WAIT_POLLIN};

		if (curl_multi_perform(m, &running) != CURLM_OK) {
			*cc = CURLE_FAILED_INIT;
			return CHAOS_OK;
		}
		if (!running)
			break;
		/* curl enforces TIMEOUT_MS itself; the grace only bounds this loop
		 * should it ever fail to. */
		if (clk_mono_us() > c->deadline_mono_us + HTTP_GRACE_US)
			return CHAOS_OK;
		if (curl_multi_poll(m, &w, 1, HTTP_POLL_MS, NULL) != CURLM_OK) {
			*cc = CURLE_FAILED_INIT;
			return CHAOS_OK;
		}
		if (w.revents != 0)
			return CHAOS_ECLOSED;
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			*cc = msg->data.result;
	return CHAOS_OK;
}

/* Classifies a failed transfer. */
static void
http_fail(CURL *h, CURLcode cc, const char *errbuf, uint32_t timeout_ms,
          struct probe_result *r)
{
	long        os_errno = 0;
	const char *text     = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		r->error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_DNS;
		probe_detail(r, "resolve: %s", text);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		r->error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT;
		probe_detail(r, "timeout after %u ms", timeout_ms);
		return;
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		r->error_class = probe_class_errno((int)os_errno);
		if (os_errno != 0)
			probe_detail(r, "%s: %s",
			             cc == CURLE_COULDNT_CONNECT ? "connect" : "transfer",
			             strerror((int)os_errno));
		else
			probe_detail(r, "%s", text);
		return;
	case CURLE_GOT_NOTHING:
		/* Accepted, then closed without a word: to a client, a reset. */
		r->error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED;
		probe_detail(r, "closed without a reply");
		return;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_PARTIAL_FILE:
		r->error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_PROTOCOL;
		probe_detail(r, "%s", text);
		return;
	default:
		r->error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER;
		probe_detail(r, "%s", text);
		return;
	}
}

/* Finds the integer at the dotted path in a JSON object body. */
static bool
http_field(const struct http_body *b, const char *path, int64_t *out,
           struct probe_result *r)
{
	json_error_t jerr;
	json_t      *root = b->len > 0 ? json_loadb(b->buf, b->len, 0, &jerr) : NULL;
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

static void
http_judge(struct http_state *st, long status, const struct http_body *body,
           struct probe_result *r)
{
	int64_t value;

	r->http_status = status > 0 && status < 1000 ? (uint32_t)status : 0;
	if (status != (long)st->expect_status) {
		r->error_class = status >= 500 && status <= 599
		    ? CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_5XX
		    : CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_OTHER;
		probe_detail(r, "status %ld, expected %u", status, st->expect_status);
		return;
	}
	if (st->field == NULL) {
		r->healthy = true;
		return;
	}
	r->error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_PROTOCOL;
	if (body->overflow) {
		probe_detail(r, "body over %u bytes", HTTP_BODY_MAX);
		return;
	}
	if (http_field(body, st->field, &value, r))
		http_advance(st, value, r);
}

static chaos_err
http_check(void *state, const struct probe_check *c, struct probe_result *r)
{
	struct http_state *st                      = state;
	struct http_body   body                    = {0};
	char               errbuf[CURL_ERROR_SIZE] = "";
	CURL              *h                       = curl_easy_init();
	CURLM             *m                       = curl_multi_init();
	CURLcode           cc;
	long               status = 0;
	chaos_err          rv     = CHAOS_OK;

	if (h == NULL || m == NULL || curl_multi_add_handle(m, h) != CURLM_OK) {
		r->error_class = CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER;
		probe_detail(r, "curl: out of memory");
		goto out;
	}
	http_setup(h, st, c, &body, errbuf);
	if ((rv = http_run(m, c, &cc)) != CHAOS_OK)
		goto out;
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && body.overflow)) {
		http_fail(h, cc, errbuf, c->timeout_ms, r);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	http_judge(st, status, &body, r);
out:
	if (m != NULL && h != NULL)
		curl_multi_remove_handle(m, h);
	curl_easy_cleanup(h);
	curl_multi_cleanup(m);
	free(body.buf);
	return rv;
}

const struct probe_ops probe_http_ops = {
    .kind  = CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP,
    .init  = http_init,
    .check = http_check,
    .fini  = http_fini,
};
