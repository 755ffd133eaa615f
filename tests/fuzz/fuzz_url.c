// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the one URL parser (common/url.c) on its own:
 * url_parse, url_parse_hostport, url_events_from_session and url_host,
 * which read argv, LoadSpec URLs from the controller and ConnTarget
 * "ip:port" pairs.
 *
 * Input: byte 0 picks the function (byte % 4) and, for url_parse, the
 * schemes allowed (byte / 4, as the bit set of enum url_scheme); the rest,
 * up to a NUL, is the text.
 * Beyond "no crash, no leak": what is taken has a scheme that was allowed,
 * a NUL-terminated host and path inside their arrays, a port in 1..65535
 * (none for ipc://, whose path fits a sockaddr_un), no space or control
 * byte; host and port written back as host:port parse to the same; a
 * refusal says why.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/url.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
fuzz_clean(const char *s, size_t size)
{
	if (!fuzz_terminated(s, size))
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* host and port as "host:port" (an IPv6 literal in brackets) parse back to
 * themselves. */
static void
fuzz_check_hostport(const char *host, uint16_t port)
{
	char     text[300], again[256];
	uint16_t p = 0;

	snprintf(text, sizeof(text), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	fuzz_require(url_parse_hostport(text, again, sizeof(again), &p, NULL) ==
	             CHAOS_OK);
	fuzz_require(strcmp(again, host) == 0 && p == port);
}

static void
fuzz_url_parse(const char *text, unsigned allowed)
{
	struct url_parts u;
	chaos_why        why = {{0}};

	if (url_parse(text, allowed, &u, &why) != CHAOS_OK) {
		fuzz_require(why.text[0] != '\0');
		return;
	}
	fuzz_require((allowed & u.scheme) != 0);
	fuzz_require(fuzz_clean(u.host, sizeof(u.host)));
	fuzz_require(fuzz_clean(u.path, sizeof(u.path)) && u.path[0] != '\0');
	if (u.scheme == URL_IPC) {
		fuzz_require(u.host[0] == '\0' && u.port == 0);
		fuzz_require(strlen(u.path) <= URL_IPC_PATH_MAX);
		return;
	}
	fuzz_require(u.host[0] != '\0' && u.port >= 1);
	if (strlen(u.host) < 270)
		fuzz_check_hostport(u.host, u.port);
}

static void
fuzz_hostport(const char *text)
{
	char      host[64];
	uint16_t  port = 0;
	chaos_why why  = {{0}};

	memset(host, 0x5a, sizeof(host));
	if (url_parse_hostport(text, host, sizeof(host), &port, &why) != CHAOS_OK) {
		fuzz_require(why.text[0] != '\0');
		fuzz_require(memchr(host, 0x5a, sizeof(host)) == host &&
		             port == 0); /* untouched */
		return;
	}
	fuzz_require(fuzz_clean(host, sizeof(host)) && host[0] != '\0' && port >= 1);
	fuzz_check_hostport(host, port);
}

static void
fuzz_derived(const char *text)
{
	char             out[LIMIT_URL_LEN + 16], host[256];
	struct url_parts u, ev;

	if (url_events_from_session(text, out, sizeof(out)) == CHAOS_OK) {
		fuzz_require(url_parse(text, URL_ENDPOINT, &u, NULL) == CHAOS_OK);
		fuzz_require(url_parse(out, URL_ENDPOINT, &ev, NULL) == CHAOS_OK ||
		             strlen(out) >= LIMIT_URL_LEN || u.scheme == URL_IPC);
	}
	if (url_host(text, host, sizeof(host)) == CHAOS_OK) {
		fuzz_require(url_parse(text, URL_TCP | URL_TLS_TCP, &u, NULL) ==
		             CHAOS_OK);
		fuzz_require(strcmp(u.host, host) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size == 0 || (text = fuzz_body(data + 1, size - 1)) == NULL)
		return 0;
	switch (data[0] % 4) {
	case 0:
	case 1:
		fuzz_url_parse(text, (unsigned)(data[0] / 4) & 0x1f);
		break;
	case 2:
		fuzz_hostport(text);
		break;
	default:
		fuzz_derived(text);
		break;
	}
	free(text);
	return 0;
}
