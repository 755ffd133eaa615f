// SPDX-License-Identifier: MIT
#include "common/url.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <nng/nng.h>

#include "common/flags.h"

static const struct {
	enum url_scheme scheme;
	const char     *name;
} url_schemes[] = {
    {URL_IPC, "ipc"},   {URL_TCP, "tcp"},     {URL_TLS_TCP, "tls+tcp"},
    {URL_HTTP, "http"}, {URL_HTTPS, "https"},
};

#define URL_N_SCHEMES (sizeof(url_schemes) / sizeof(url_schemes[0]))

const char *
url_scheme_name(enum url_scheme s)
{
	for (size_t i = 0; i < URL_N_SCHEMES; i++)
		if (url_schemes[i].scheme == s)
			return url_schemes[i].name;
	return "?";
}

/* "ipc://, tcp:// or tls+tcp://" */
static void
url_allowed_text(unsigned allowed, char *buf, size_t len)
{
	size_t n = 0, k = 0, total = 0;

	for (size_t i = 0; i < URL_N_SCHEMES; i++)
		total += (allowed & url_schemes[i].scheme) != 0;
	buf[0] = '\0';
	for (size_t i = 0; i < URL_N_SCHEMES && n < len; i++) {
		if (!(allowed & url_schemes[i].scheme))
			continue;
		k++;
		n += (size_t)snprintf(buf + n, len - n, "%s%s://",
		                      k == 1           ? ""
		                          : k == total ? " or "
		                                       : ", ",
		                      url_schemes[i].name);
	}
}

static bool
url_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* Whether the authority (after "://", up to the path, query or fragment)
 * ends in '@': a user@ with no host. Refused before NNG sees it: NNG
 * 1.5.2's nng_url_parse reads past the end of the string when that '@' is
 * the URL's last byte (found by tests/fuzz/fuzz_url.c under ASan). */
static bool
url_empty_host_after_user(const char *url)
{
	const char *auth = strstr(url, "://");
	size_t      n;

	if (auth == NULL)
		return false;
	auth += 3;
	n = strcspn(auth, "/?#");
	return n > 0 && auth[n - 1] == '@';
}

/* A host name, an IPv4 address or an IPv6 literal (brackets taken off, a
 * %zone allowed): NNG takes anything between "//" and the port as the host,
 * "@h" of "http://u@@h" too. */
static bool
url_host_ok(const char *h)
{
	for (; *h != '\0'; h++)
		if (!isalnum((unsigned char)*h) && strchr(".-_:%", *h) == NULL)
			return false;
	return true;
}

static chaos_err
url_port(const char *s, uint16_t *port, chaos_why *why)
{
	uint32_t v;

	if (flags_parse_u32(s, LIMIT_PORT_MIN, LIMIT_PORT_MAX, &v) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EINVAL, "port '%s': allowed 1..65535", s);
	*port = (uint16_t)v;
	return CHAOS_OK;
}

static chaos_err
url_fill(const nng_url *u, enum url_scheme scheme, struct url_parts *out, chaos_why *why)
{
	chaos_err rv;

	memset(out, 0, sizeof(*out));
	out->scheme = scheme;
	if (scheme == URL_IPC) {
		if (u->u_path == NULL || u->u_path[0] == '\0')
			return chaos_fail(why, CHAOS_EINVAL, "ipc:// needs a path");
		/* Refused here, at the flag, rather than by bind() or connect()
		 * later with a less telling error. */
		if (strlen(u->u_path) > URL_IPC_PATH_MAX)
			return chaos_fail(why, CHAOS_EINVAL,
			                  "ipc path is %zu bytes; at most %zu",
			                  strlen(u->u_path), (size_t)URL_IPC_PATH_MAX);
		snprintf(out->path, sizeof(out->path), "%s", u->u_path);
		return CHAOS_OK;
	}
	if (u->u_hostname == NULL || u->u_hostname[0] == '\0' ||
	    strlen(u->u_hostname) >= sizeof(out->host))
		return chaos_fail(why, CHAOS_EINVAL, "expected host:port after %s://",
		                  url_scheme_name(scheme));
	if (u->u_port == NULL || u->u_port[0] == '\0')
		return chaos_fail(why, CHAOS_EINVAL,
		                  "expected host:port after %s://, port 1..65535",
		                  url_scheme_name(scheme));
	if (!url_host_ok(u->u_hostname))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "host '%s': letters, digits, '.', '-' and '_' only, or "
		                  "an IPv6 address in brackets",
		                  u->u_hostname);
	if ((rv = url_port(u->u_port, &out->port, why)) != CHAOS_OK)
		return rv;
	snprintf(out->host, sizeof(out->host), "%s", u->u_hostname);
	snprintf(out->path, sizeof(out->path), "%s",
	         u->u_requri != NULL && u->u_requri[0] != '\0' ? u->u_requri : "/");
	return CHAOS_OK;
}

chaos_err
url_parse(const char *url, unsigned allowed, struct url_parts *out, chaos_why *why)
{
	char      names[96];
	nng_url  *u = NULL;
	chaos_err rv;
	size_t    i;

	url_allowed_text(allowed, names, sizeof(names));
	if (url == NULL || url[0] == '\0')
		return chaos_fail(why, CHAOS_EINVAL, "empty URL; allowed: %s", names);
	if (strlen(url) >= LIMIT_URL_LEN || !url_clean(url))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "URL too long or with spaces or control bytes");
	if (url_empty_host_after_user(url))
		return chaos_fail(why, CHAOS_EINVAL, "expected host:port after user@");
	if (nng_url_parse(&u, url) != 0)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "not a URL; allowed: %s (host:port with port 1..65535)",
		                  names);
	for (i = 0; i < URL_N_SCHEMES; i++)
		if (strcmp(u->u_scheme, url_schemes[i].name) == 0)
			break;
	if (i == URL_N_SCHEMES || !(allowed & url_schemes[i].scheme))
		rv = chaos_fail(why, CHAOS_EINVAL, "scheme not allowed; allowed: %s",
		                names);
	else
		rv = url_fill(u, url_schemes[i].scheme, out, why);
	nng_url_free(u);
	return rv;
}

chaos_err
url_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port,
                   chaos_why *why)
{
	char             url[300];
	struct url_parts p;
	chaos_err        rv;

	if (s == NULL || strchr(s, '/') != NULL || strlen(s) >= 280)
		return chaos_fail(why, CHAOS_EINVAL, "expected host:port");
	snprintf(url, sizeof(url), "tcp://%s", s);
	if ((rv = url_parse(url, URL_TCP, &p, why)) != CHAOS_OK)
		return rv;
	if (strlen(p.host) >= hostlen)
		return chaos_fail(why, CHAOS_EINVAL, "host too long");
	memcpy(host, p.host, strlen(p.host) + 1);
	*port = p.port;
	return CHAOS_OK;
}

chaos_err
url_events_from_session(const char *session_url, char *out, size_t len)
{
	struct url_parts p;
	const char      *colon;
	int              n;

	if (url_parse(session_url, URL_ENDPOINT, &p, NULL) != CHAOS_OK)
		return CHAOS_EINVAL;
	if (p.scheme == URL_IPC)
		n = snprintf(out, len, "%s.events", session_url);
	else if (p.port == LIMIT_PORT_MAX || (colon = strrchr(session_url, ':')) == NULL)
		return CHAOS_EINVAL;
	else
		n = snprintf(out, len, "%.*s:%u", (int)(colon - session_url), session_url,
		             p.port + 1u);
	return n > 0 && (size_t)n < len ? CHAOS_OK : CHAOS_EINVAL;
}

chaos_err
url_events_check(const char *flag, const char *session_url, chaos_why *why)
{
	char             events[LIMIT_URL_LEN + 16];
	struct url_parts p;

	if (url_events_from_session(session_url, events, sizeof(events)) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "%s '%s': no port above it for the events endpoint "
		                  "(port + 1); allowed ports 1..65534",
		                  flag, session_url);
	if (url_parse(events, URL_ENDPOINT, &p, why) != CHAOS_OK)
		return chaos_fail_prefix(
		    why, CHAOS_EINVAL,
		    "%s '%s': its events endpoint (path + \".events\")", flag,
		    session_url);
	return CHAOS_OK;
}

chaos_err
url_host(const char *url, char *out, size_t len)
{
	struct url_parts p;

	if (url_parse(url, URL_TCP | URL_TLS_TCP, &p, NULL) != CHAOS_OK ||
	    strlen(p.host) >= len)
		return CHAOS_EINVAL;
	memcpy(out, p.host, strlen(p.host) + 1);
	return CHAOS_OK;
}
