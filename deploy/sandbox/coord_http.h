/* SPDX-License-Identifier: MIT */
/*
 * The coordinator stand-in's HTTP/1.1 request head parser and response
 * writer. Pure functions over caller-owned buffers: no I/O, no allocation,
 * so they can be tested and fuzzed without a socket.
 */
#ifndef CHAOS_SANDBOX_COORD_HTTP_H
#define CHAOS_SANDBOX_COORD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Largest request head (request line + headers + blank line) accepted. */
#define HTTP_MAX_HEAD 8192

enum http_parse_result {
	HTTP_PARSE_OK,      /* a complete, valid head; req is filled */
	HTTP_PARSE_MORE,    /* valid so far, the head is not complete yet */
	HTTP_PARSE_BAD,     /* malformed: answer 400 and close */
	HTTP_PARSE_TOO_BIG, /* head over HTTP_MAX_HEAD: answer 431 and close */
};

struct http_request {
	char   method[16];
	char   path[1024]; /* origin-form target without the query string */
	int    minor;      /* the 1 of HTTP/1.1 */
	bool   keep_alive; /* the connection may carry another request */
	bool   has_body;   /* Content-Length > 0 or Transfer-Encoding present */
	size_t head_len;   /* bytes of buf that the head used */
};

/* Parses the head at the start of buf[0..len). req is written only when the
 * result is HTTP_PARSE_OK. Rejects as early as the bytes seen allow, so garbage
 * (a TLS hello, binary noise) gets HTTP_PARSE_BAD without waiting for more. */
enum http_parse_result http_parse_request(const char *buf, size_t len,
                                          struct http_request *req);

/* Writes a complete response with Content-Length, a JSON content type and the
 * Connection header into out. extra_headers is NULL or CRLF-terminated lines.
 * Returns the length written, or 0 when cap is too small. */
size_t http_format_response(char *out, size_t cap, int status, const char *body,
                            bool keep_alive, const char *extra_headers);

/* Reason phrase for a status code ("OK", "Not Found", ...). */
const char *http_reason(int status);

#endif
