/* SPDX-License-Identifier: MIT */
/*
 * An incremental HTTP/1.x response parser for the agent's HTTP client
 * (agent/load_http.h): feed it bytes as they arrive, in pieces of any size,
 * and it says when one whole response has been read, with its status and
 * whether the connection may carry another request. It keeps no copy of the
 * bytes (a few counters and a short header buffer), so a connection costs
 * ~100 bytes. Bodies are skipped without a look, or handed, de-chunked, to
 * a body function (http1_set_body) for a caller that wants them.
 *
 * Understood: the status line, Content-Length, Transfer-Encoding: chunked
 * (chunk extensions and trailers skipped), Connection: close / keep-alive,
 * HTTP/1.0's close by default, bodies that end at EOF, no body for 1xx, 204
 * and 304, interim 1xx responses (skipped, the final response counts).
 * Refused: anything else on the status line, a header section over
 * HTTP1_MAX_HEAD bytes, malformed or conflicting lengths, chunk sizes over
 * 2^48.
 *
 * The bytes come from the target server: untrusted (fuzzed by
 * tests/fuzz/fuzz_http1.c).
 */
#ifndef CHAOS_AGENT_HTTP1_H
#define CHAOS_AGENT_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_HEAD (64u * 1024u) /* status line + headers of one response */
#define HTTP1_HDR_BUF 48             /* longest header line we need to read */

enum http1_result {
	HTTP1_MORE,  /* all bytes taken; the response goes on */
	HTTP1_DONE,  /* a whole response was read */
	HTTP1_ERROR, /* not a valid response: the connection is unusable */
};

/* Takes len bytes of the body (de-chunked); returns false to stop reading
 * (http1_parse() then returns HTTP1_ERROR). */
typedef bool (*http1_body_fn)(void *arg, const char *data, size_t len);

/* Parser state for one response; zero it (or http1_reset()) per request. */
struct http1_resp {
	/* Results, valid after HTTP1_DONE. */
	int  status;     /* 100..999 */
	bool keep_alive; /* the connection may carry another request */
	bool got_bytes;  /* any byte of a response arrived (even a bad one) */

	/* Internal. */
	uint8_t       state;
	uint8_t       minor; /* HTTP/1.<minor> */
	uint8_t       hdr;   /* the header being read, one of the few we need */
	uint8_t       pos;   /* position in the status line's fixed part */
	bool          chunked, has_te, has_length, conn_close, conn_keep;
	uint64_t      length;   /* Content-Length, or the chunk being read */
	uint32_t      head_len; /* bytes of the header section so far */
	uint8_t       n_line;
	char          line[HTTP1_HDR_BUF];
	http1_body_fn body; /* NULL: bodies are skipped */
	void         *body_arg;
};

/* Starts a new response (with no body function). */
void http1_reset(struct http1_resp *p);

/* Hands the body of the response being read to fn (after http1_reset()). */
void http1_set_body(struct http1_resp *p, http1_body_fn fn, void *arg);

/* Whether the final response's status line and headers have been read, so
 * that p->status is its status (also when the body then fails). */
bool http1_head_complete(const struct http1_resp *p);

/* Parses len bytes. On HTTP1_DONE, *used says how many were part of the
 * response (bytes after it are not: a server that sends them is broken);
 * otherwise *used = len on HTTP1_MORE, or where the error was found. */
enum http1_result http1_parse(struct http1_resp *p, const char *buf, size_t len,
                              size_t *used);

/* The connection was closed: HTTP1_DONE when that ends the response (a
 * body delimited by EOF, keep_alive then false), else HTTP1_ERROR
 * (truncated). */
enum http1_result http1_eof(struct http1_resp *p);

#endif
