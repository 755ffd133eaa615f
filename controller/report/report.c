// SPDX-License-Identifier: MIT
#include "controller/report/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/wire.h"
#include "proto/chaos.pb-c.h"

void
report_time(json_t *o, const char *key, int64_t us)
{
	char buf[CLK_ISO_LEN];

	if (us <= 0) {
		json_object_set_new(o, key, json_null());
		return;
	}
	clk_iso8601(us, buf, sizeof(buf));
	json_object_set_new(o, key, json_string(buf));
}

static void
report_rounded(json_t *o, const char *key, bool known, double v, double scale,
               const char *reason)
{
	char rkey[96];

	snprintf(rkey, sizeof(rkey), "%s_reason", key);
	if (known && isfinite(v)) {
		json_object_set_new(o, key, json_real(round(v * scale) / scale));
		json_object_set_new(o, rkey, json_null());
	} else {
		json_object_set_new(o, key, json_null());
		json_object_set_new(o, rkey,
		                    json_string(reason ? reason : "not measured"));
	}
}

void
report_seconds(json_t *o, const char *key, bool known, double seconds, const char *reason)
{
	report_rounded(o, key, known, seconds, 1e3, reason);
}

void
report_percent(json_t *o, const char *key, bool known, double pct, const char *reason)
{
	report_rounded(o, key, known, pct, 1e6, reason);
}

const char *
report_error_class(int c, char *buf, size_t len)
{
	if (c == CHAOS__V1__ERROR_CLASS__ERROR_CLASS_NONE ||
	    protobuf_c_enum_descriptor_get_value(&chaos__v1__error_class__descriptor,
	                                         c) == NULL)
		return NULL;
	return wire_enum_name(&chaos__v1__error_class__descriptor, c, buf, len);
}

void
report_file_stamp(int64_t us, char *buf, size_t len)
{
	time_t    secs = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
}
