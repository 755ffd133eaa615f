// SPDX-License-Identifier: MIT
#include "controller/report/entry.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool
entry_is(const json_t *o, const char *key, const char *value)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && strcmp(s, value) == 0;
}

bool
entry_num(const json_t *o, const char *key, double *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return false;
	*out = json_number_value(v);
	return true;
}

const json_t *
entry_worst(const json_t *entries, const char *scenario, const char *key, double *out)
{
	const json_t *e, *worst = NULL;
	size_t        i;
	double        v;

	json_array_foreach(entries, i, e)
	{
		if ((scenario != NULL && !entry_is(e, "scenario", scenario)) ||
		    entry_is(e, "outcome", "skipped") || !entry_num(e, key, &v))
			continue;
		if (worst == NULL || v > *out)
			worst = e, *out = v;
	}
	return worst;
}

void
entry_rec(json_t *recs, const char *rule, const char *severity, const char *scenario,
          double value, double threshold, const char *fmt, ...)
{
	char    msg[1024];
	va_list ap;
	json_t *r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r = json_pack("{s:s,s:s,s:s,s:s?}", "rule", rule, "severity", severity, "message",
	              msg, "scenario", scenario);
	json_object_set_new(r, "value", isfinite(value) ? json_real(value) : json_null());
	json_object_set_new(r, "threshold",
	                    isfinite(threshold) ? json_real(threshold) : json_null());
	json_array_append_new(recs, r);
}
