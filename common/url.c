// SPDX-License-Identifier: MIT
#include "common/url.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"

static const char *
url_after_scheme(const char *url)
{
	if (strncmp(url, "tcp://", 6) == 0)
		return url + 6;
	if (strncmp(url, "tls+tcp://", 10) == 0)
		return url + 10;
	return NULL;
}

int
url_events_from_session(const char *session_url, char *out, size_t len)
{
	const char *colon;
	uint32_t    port;
	int         n;

	if (strncmp(session_url, "ipc://", 6) == 0) {
		n = snprintf(out, len, "%s.events", session_url);
		return n > 0 && (size_t)n < len ? CHAOS_OK : CHAOS_EINVAL;
	}
	if (url_after_scheme(session_url) == NULL ||
	    (colon = strrchr(session_url, ':')) == NULL ||
	    flags_parse_u32(colon + 1, 1, 65534, &port) != CHAOS_OK)
		return CHAOS_EINVAL;
	n = snprintf(out, len, "%.*s:%u", (int)(colon - session_url), session_url,
	             port + 1);
	return n > 0 && (size_t)n < len ? CHAOS_OK : CHAOS_EINVAL;
}

int
url_host(const char *url, char *out, size_t len)
{
	const char *host = url_after_scheme(url);
	const char *colon;
	size_t      n;

	if (host == NULL || (colon = strrchr(host, ':')) == NULL)
		return CHAOS_EINVAL;
	n = (size_t)(colon - host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= len)
		return CHAOS_EINVAL;
	memcpy(out, host, n);
	out[n] = '\0';
	return CHAOS_OK;
}
