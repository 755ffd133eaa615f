// SPDX-License-Identifier: MIT
#include "controller/guard.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/limits.h"
#include "common/log.h"

/* A check slower than this failed (the interval bounds it too). */
#define GUARD_TIMEOUT_MAX_MS 2000L

struct guard_url {
	char     url[LIMIT_URL_LEN];
	uint64_t checks, failed;
	uint32_t in_a_row;
	long     last_status; /* HTTP status; 0: no answer */
	char     last_error[128];
};

struct guard {
	struct guard_url u[GUARD_MAX];
	size_t           n;
	uint32_t         failures, interval_ms;
	guard_trip_fn    trip;
	void            *arg;
	nng_mtx         *mtx;
	nng_cv          *cv;
	nng_thread      *thread;
	bool             stop;
	char             tripped[512];
};

static size_t
guard_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)arg;
	return size * n; /* the body does not matter, only the status */
}

/* One GET; fills status (0: none) and err; true when 2xx. */
static bool
guard_check(const char *url, long timeout_ms, long *status, char *err, size_t len)
{
	CURL    *c = curl_easy_init();
	CURLcode rc;

	*status = 0;
	if (c == NULL) {
		snprintf(err, len, "out of memory");
		return false;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, guard_discard);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	snprintf(err, len, "%s",
	         rc != CURLE_OK                        ? curl_easy_strerror(rc)
	             : *status >= 200 && *status < 300 ? ""
	                                               : "not 2xx");
	curl_easy_cleanup(c);
	return rc == CURLE_OK && *status >= 200 && *status < 300;
}

/* Checks every URL once; the reason of a trip into g->tripped. */
static bool
guard_round(struct guard *g, long timeout_ms)
{
	for (size_t i = 0; i < g->n; i++) {
		struct guard_url *u = &g->u[i];
		long              status;
		char              err[128];
		bool ok = guard_check(u->url, timeout_ms, &status, err, sizeof(err));
		nng_mtx_lock(g->mtx);
		u->checks++;
		u->last_status = status;
		snprintf(u->last_error, sizeof(u->last_error), "%s", err);
		u->in_a_row = ok ? 0 : u->in_a_row + 1;
		u->failed += !ok;
		if (u->in_a_row >= g->failures && g->tripped[0] == '\0') {
			char last[160];
			if (status != 0)
				snprintf(last, sizeof(last), "HTTP %ld", status);
			else
				snprintf(last, sizeof(last), "%s", err);
			snprintf(g->tripped, sizeof(g->tripped),
			         "guard %.300s failed %u checks in a row (last: %s)",
			         u->url, u->in_a_row, last);
		}
		nng_mtx_unlock(g->mtx);
	}
	return g->tripped[0] != '\0';
}

static void
guard_loop(void *arg)
{
	struct guard *g       = arg;
	long          timeout = (long)g->interval_ms;

	if (timeout > GUARD_TIMEOUT_MAX_MS)
		timeout = GUARD_TIMEOUT_MAX_MS;
	for (;;) {
		nng_time next = nng_clock() + g->interval_ms;
		if (guard_round(g, timeout)) {
			log_warn("%s: stopping the run", g->tripped);
			g->trip(g->arg, g->tripped);
			return;
		}
		nng_mtx_lock(g->mtx);
		while (!g->stop && nng_cv_until(g->cv, next) != NNG_ETIMEDOUT)
			;
		if (g->stop) {
			nng_mtx_unlock(g->mtx);
			return;
		}
		nng_mtx_unlock(g->mtx);
	}
}

chaos_err
guard_start(const struct guard_cfg *cfg, guard_trip_fn trip, void *arg,
            struct guard **out, chaos_why *why)
{
	struct guard *g = calloc(1, sizeof(*g));

	if (g == NULL || nng_mtx_alloc(&g->mtx) != 0 ||
	    nng_cv_alloc(&g->cv, g->mtx) != 0) {
		guard_free(g);
		return chaos_fail(why, CHAOS_ENOMEM, "out of memory");
	}
	g->n           = cfg->n < GUARD_MAX ? cfg->n : GUARD_MAX;
	g->failures    = cfg->failures > 0 ? cfg->failures : 1;
	g->interval_ms = cfg->interval_ms > GUARD_MIN_INTERVAL_MS ? cfg->interval_ms
	                                                          : GUARD_MIN_INTERVAL_MS;
	g->trip = trip, g->arg = arg;
	for (size_t i = 0; i < g->n; i++)
		snprintf(g->u[i].url, sizeof(g->u[i].url), "%s", cfg->urls[i]);
	if (g->n > 0 && nng_thread_create(&g->thread, guard_loop, g) != 0) {
		guard_free(g);
		return chaos_fail(why, CHAOS_ESYS, "cannot start the guard thread");
	}
	*out = g;
	return CHAOS_OK;
}

void
guard_stop(struct guard *g)
{
	if (g == NULL || g->thread == NULL)
		return;
	nng_mtx_lock(g->mtx);
	g->stop = true;
	nng_cv_wake(g->cv);
	nng_mtx_unlock(g->mtx);
	nng_thread_destroy(g->thread); /* joins */
	g->thread = NULL;
}

json_t *
guard_json(struct guard *g)
{
	json_t *list = json_array(), *o;

	nng_mtx_lock(g->mtx);
	for (size_t i = 0; i < g->n; i++) {
		const struct guard_url *u = &g->u[i];
		json_array_append_new(
		    list,
		    json_pack("{s:s,s:I,s:I,s:o,s:o}", "url", u->url, "checks",
		              (json_int_t)u->checks, "failed", (json_int_t)u->failed,
		              "last_status",
		              u->last_status ? json_integer(u->last_status) : json_null(),
		              "last_error",
		              u->last_error[0] ? json_string(u->last_error)
		                               : json_null()));
	}
	o = json_pack("{s:o,s:i,s:i,s:o}", "guards", list, "failures_to_trip",
	              (int)g->failures, "interval_ms", (int)g->interval_ms, "tripped",
	              g->tripped[0] ? json_string(g->tripped) : json_null());
	nng_mtx_unlock(g->mtx);
	return o;
}

void
guard_free(struct guard *g)
{
	if (g == NULL)
		return;
	guard_stop(g);
	if (g->cv != NULL)
		nng_cv_free(g->cv);
	if (g->mtx != NULL)
		nng_mtx_free(g->mtx);
	free(g);
}
