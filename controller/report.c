// SPDX-License-Identifier: MIT
#include "controller/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
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

void
report_seconds(json_t *o, const char *key, bool known, double seconds, const char *reason)
{
	char rkey[96];

	snprintf(rkey, sizeof(rkey), "%s_reason", key);
	if (known && isfinite(seconds)) {
		json_object_set_new(o, key, json_real(round(seconds * 1000.0) / 1000.0));
		json_object_set_new(o, rkey, json_null());
	} else {
		json_object_set_new(o, key, json_null());
		json_object_set_new(o, rkey,
		                    json_string(reason ? reason : "not measured"));
	}
}

const char *
report_error_class(int c)
{
	switch (c) {
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_REFUSED:
		return "refused";
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_TIMEOUT:
		return "timeout";
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_5XX:
		return "http_5xx";
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_OTHER:
		return "http_other";
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_DNS:
		return "dns";
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_PROTOCOL:
		return "protocol";
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_SQL:
		return "sql";
	case CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER:
		return "other";
	default:
		return NULL;
	}
}

void
report_file_stamp(int64_t us, char *buf, size_t len)
{
	time_t    secs = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
}
