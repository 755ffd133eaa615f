// SPDX-License-Identifier: MIT
#include "controller/stop.h"

#include <stdio.h>
#include <string.h>

/* The value of key: the given one, else the row's default as text. */
static json_t *
stop_value(const struct param *table, const json_t *params, const char *key)
{
	const struct param *p = param_by_key(table, key);
	json_t             *v = json_object_get(params, key), *d = NULL;

	if (v != NULL)
		return json_incref(v);
	if (p != NULL && p->dflt != NULL &&
	    param_from_text(p, p->dflt, &d, NULL) != CHAOS_OK)
		d = NULL;
	return d;
}

void
stop_read(const struct param *table, const json_t *params, struct stop *s)
{
	json_t       *urls  = stop_value(table, params, "guards");
	json_t       *fails = stop_value(table, params, "guard_failures");
	json_t       *rate  = stop_value(table, params, "abort_error_rate_percent");
	json_t       *every = stop_value(table, params, "probe_interval_ms");
	const json_t *u;
	size_t        i;

	memset(s, 0, sizeof(*s));
	json_array_foreach(urls, i, u) if (s->cfg.n < GUARD_MAX)
	{
		snprintf(s->urls[s->cfg.n], sizeof(s->urls[0]), "%s",
		         json_string_value(u));
		s->cfg.urls[s->cfg.n] = s->urls[s->cfg.n];
		s->cfg.n++;
	}
	s->cfg.failures    = fails ? (uint32_t)json_integer_value(fails) : 3;
	s->cfg.interval_ms = every ? (uint32_t)json_integer_value(every) : 1000;
	s->max_rate_pct    = json_is_number(rate) ? json_number_value(rate) : -1;
	json_decref(urls), json_decref(fails), json_decref(rate), json_decref(every);
}

chaos_err
stop_start(struct stop *s, guard_trip_fn trip, void *arg, chaos_why *why)
{
	return s->cfg.n > 0 ? guard_start(&s->cfg, trip, arg, &s->guard, why) : CHAOS_OK;
}

bool
stop_rate(struct stop *s, uint64_t ok, uint64_t total, char *reason, size_t len)
{
	double pct;

	s->ok = ok, s->total = total, s->rate_known = true;
	if (s->max_rate_pct < 0 || s->rate_tripped || total < STOP_MIN_REQUESTS)
		return false;
	pct = 100.0 * (double)(total - ok) / (double)total;
	if (pct <= s->max_rate_pct)
		return false;
	s->rate_tripped = true;
	snprintf(reason, len,
	         "user-facing error rate %.1f%% (%llu of %llu requests since the fault "
	         "failed) is above --abort-error-rate %g%%",
	         pct, (unsigned long long)(total - ok), (unsigned long long)total,
	         s->max_rate_pct);
	return true;
}

json_t *
stop_finish(struct stop *s)
{
	json_t *o;

	if (s->cfg.n == 0 && s->max_rate_pct < 0)
		return NULL;
	guard_stop(s->guard);
	o = s->guard != NULL ? guard_json(s->guard) : json_object();
	json_object_set_new(o, "abort_error_rate_percent",
	                    s->max_rate_pct >= 0 ? json_real(s->max_rate_pct)
	                                         : json_null());
	json_object_set_new(
	    o, "user_requests_since_fault",
	    s->rate_known ? json_pack("{s:I,s:I,s:f}", "ok", (json_int_t)s->ok, "total",
	                              (json_int_t)s->total, "error_rate_percent",
	                              s->total ? 100.0 * (double)(s->total - s->ok) /
	                                      (double)s->total
	                                       : 0.0)
	                  : json_null());
	json_object_set_new(o, "error_rate_tripped", json_boolean(s->rate_tripped));
	return o;
}

void
stop_free(struct stop *s)
{
	guard_free(s->guard);
	s->guard = NULL;
}
