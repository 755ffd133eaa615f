// SPDX-License-Identifier: MIT
#include "coord_http.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char http_version_prefix[] = "HTTP/1.";

/* RFC 9110 token characters; spelled out so the C locale does not matter. */
static bool
http_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
http_is_vchar(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

/* Field values: visible characters, obs-text, space and tab; never CR or LF. */
static bool
http_is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/*
 * Checks the request line in buf[0..n). Returns HTTP_PARSE_OK with *end at
 * the byte after its CRLF, HTTP_PARSE_MORE when what is there is a valid
 * prefix, HTTP_PARSE_BAD as soon as a byte cannot belong to a request line.
 */
static enum http_parse_result
http_scan_request_line(const char *buf, size_t n, struct http_request *req, size_t *end)
{
	const size_t vlen = sizeof(http_version_prefix) - 1;
	size_t       i    = 0;
	size_t       start;

	while (i < n && http_is_tchar((unsigned char)buf[i]))
		i++;
	if (i >= sizeof(req->method))
		return HTTP_PARSE_BAD;
	if (i == n)
		return HTTP_PARSE_MORE;
	if (i == 0 || buf[i] != ' ')
		return HTTP_PARSE_BAD;
	memcpy(req->method, buf, i);
	req->method[i] = '\0';

	start = ++i;
	while (i < n && http_is_vchar((unsigned char)buf[i]))
		i++;
	if (i - start >= sizeof(req->path))
		return HTTP_PARSE_BAD;
	if (i == n)
		return start < n && buf[start] != '/' ? HTTP_PARSE_BAD : HTTP_PARSE_MORE;
	if (i == start || buf[start] != '/' || buf[i] != ' ')
		return HTTP_PARSE_BAD;
	/* Routing ignores the query string and fragment. */
	size_t plen = strcspn(buf + start, "?# ");
	memcpy(req->path, buf + start, plen);
	req->path[plen] = '\0';

	start = ++i;
	for (; i < n && i - start < vlen; i++)
		if (buf[i] != http_version_prefix[i - start])
			return HTTP_PARSE_BAD;
	if (i == n)
		return HTTP_PARSE_MORE;
	if (buf[i] < '0' || buf[i] > '9')
		return HTTP_PARSE_BAD;
	req->minor = buf[i++] - '0';
	if (i < n && buf[i] != '\r')
		return HTTP_PARSE_BAD;
	if (i + 1 < n && buf[i + 1] != '\n')
		return HTTP_PARSE_BAD;
	if (i + 2 > n)
		return HTTP_PARSE_MORE;
	*end = i + 2;
	return HTTP_PARSE_OK;
}

/* Applies the comma-separated tokens of a Connection header. */
static void
http_apply_connection(const char *v, size_t len, struct http_request *req)
{
	size_t i = 0;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (i - s == 5 && strncasecmp(v + s, "close", 5) == 0)
			req->keep_alive = false;
		else if (i - s == 10 && strncasecmp(v + s, "keep-alive", 10) == 0)
			req->keep_alive = true;
	}
}

/* Content-Length: digits only; a value we cannot read is a bad request. */
static bool
http_apply_content_length(const char *v, size_t len, struct http_request *req)
{
	uint64_t n = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9' || n > UINT64_MAX / 10 - 10)
			return false;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (n > 0)
		req->has_body = true;
	return true;
}

/* Checks one header line buf[0..len) (without CRLF) and applies the few
 * headers the server acts on. */
static bool
http_parse_header(const char *buf, size_t len, struct http_request *req)
{
	size_t i = 0;

	while (i < len && http_is_tchar((unsigned char)buf[i]))
		i++;
	if (i == 0 || i == len || buf[i] != ':')
		return false;
	size_t name_len = i++;
	for (size_t k = i; k < len; k++)
		if (!http_is_field_char((unsigned char)buf[k]))
			return false;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	size_t vend = len;
	while (vend > i && (buf[vend - 1] == ' ' || buf[vend - 1] == '\t'))
		vend--;

	if (name_len == 10 && strncasecmp(buf, "connection", 10) == 0)
		http_apply_connection(buf + i, vend - i, req);
	else if (name_len == 14 && strncasecmp(buf, "content-length", 14) == 0)
		return http_apply_content_length(buf + i, vend - i, req);
	else if (name_len == 17 && strncasecmp(buf, "transfer-encoding", 17) == 0)
		req->has_body = true;
	return true;
}

enum http_parse_result
http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	struct http_request    r    = {0};
	size_t                 skip = 0, pos = 0;
	enum http_parse_result res;

	/* RFC 9112 2.2: ignore empty lines before the request line. */
	while (skip + 1 < len && buf[skip] == '\r' && buf[skip + 1] == '\n')
		skip += 2;
	res = http_scan_request_line(buf + skip, len - skip, &r, &pos);
	if (res == HTTP_PARSE_BAD)
		return res;
	pos += skip;
	/* The head ends at the first empty line; the request line's CRLF may be
	 * the first half of it. */
	const char *eoh = NULL;
	if (res == HTTP_PARSE_OK)
		eoh = memmem(buf + pos - 2, len - (pos - 2), "\r\n\r\n", 4);
	if (eoh == NULL)
		return len >= HTTP_MAX_HEAD ? HTTP_PARSE_TOO_BIG : HTTP_PARSE_MORE;
	size_t head_len = (size_t)(eoh - buf) + 4;
	if (head_len > HTTP_MAX_HEAD)
		return HTTP_PARSE_TOO_BIG;

	r.keep_alive = r.minor >= 1;
	while (pos < head_len - 2) {
		const char *eol = memmem(buf + pos, head_len - pos, "\r\n", 2);
		/* A line starting with white space is obsolete folding: refuse it. */
		if (buf[pos] == ' ' || buf[pos] == '\t')
			return HTTP_PARSE_BAD;
		if (!http_parse_header(buf + pos, (size_t)(eol - (buf + pos)), &r))
			return HTTP_PARSE_BAD;
		pos = (size_t)(eol - buf) + 2;
	}
	r.head_len = head_len;
	*req       = r;
	return HTTP_PARSE_OK;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

size_t
http_format_response(char *out, size_t cap, int status, const char *body, bool keep_alive,
                     const char *extra_headers)
{
	size_t blen = strlen(body);
	int    n    = snprintf(out, cap,
	                       "HTTP/1.1 %d %s\r\n"
	                             "Content-Type: application/json\r\n"
	                             "Content-Length: %zu\r\n"
	                             "Cache-Control: no-store\r\n"
	                             "Connection: %s\r\n"
	                             "%s\r\n"
	                             "%s",
	                       status, http_reason(status), blen,
                         keep_alive ? "keep-alive" : "close",
                         extra_headers ? extra_headers : "", body);

	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}
