/* SPDX-License-Identifier: MIT */
/*
 * The one URL parser of the project: endpoint URLs (ipc://, tcp://,
 * tls+tcp://), HTTP URLs (probes, load, the Kubernetes API, guards) and
 * "host:port" pairs all go through here. The splitting is NNG's own
 * (nng_url_parse, already linked); this module adds what NNG does not check:
 * a host, a port in range, no spaces or control bytes, a known scheme.
 */
#ifndef CHAOS_COMMON_URL_H
#define CHAOS_COMMON_URL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "common/err.h"
#include "common/limits.h"

/* Schemes, as a bit set so a caller can say which it accepts. */
enum url_scheme {
	URL_IPC     = 1 << 0,
	URL_TCP     = 1 << 1,
	URL_TLS_TCP = 1 << 2,
	URL_HTTP    = 1 << 3,
	URL_HTTPS   = 1 << 4,
};

#define URL_ENDPOINT (URL_IPC | URL_TCP | URL_TLS_TCP)

/* The longest ipc:// path, in bytes: what a sockaddr_un holds, less its NUL. */
#define URL_IPC_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define URL_WEB (URL_HTTP | URL_HTTPS)

struct url_parts {
	enum url_scheme scheme;
	char            host[256]; /* no brackets around an IPv6 literal; "" for ipc */
	uint16_t        port; /* the default one for http(s) when not given; 0 for ipc */
	char path[LIMIT_URL_LEN]; /* request URI ("/" when empty) or the ipc path */
};

/* Parses url and checks it is one of the schemes in allowed. CHAOS_EINVAL
 * with why naming what is wrong and what is allowed. */
chaos_err url_parse(const char *url, unsigned allowed, struct url_parts *out,
                    chaos_why *why);

/* "host:port" or "[v6]:port" (port 1..65535, host not empty). */
chaos_err url_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port,
                             chaos_why *why);

/* The events channel lives next to the session channel: the same host with
 * port + 1 for tcp:// and tls+tcp://, or the path with ".events" appended for
 * ipc://. CHAOS_EINVAL for an unusable URL or a too-small buffer. */
chaos_err url_events_from_session(const char *session_url, char *out, size_t len);

/* Checks that the events endpoint derived from session_url, given as flag,
 * is usable too: a tcp port below 65535, an ipc path that still fits with
 * ".events" appended. CHAOS_EINVAL with why naming flag and what is
 * allowed. */
chaos_err url_events_check(const char *flag, const char *session_url, chaos_why *why);

/* Copies the host part of a tcp:// or tls+tcp:// URL into out. */
chaos_err url_host(const char *url, char *out, size_t len);

/* The scheme's name ("tls+tcp") for messages. */
const char *url_scheme_name(enum url_scheme s);

#endif
