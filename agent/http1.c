// SPDX-License-Identifier: MIT
#include "agent/http1.h"

#include <string.h>
#include <strings.h>

#define HTTP1_MAX_CHUNK (UINT64_C(1) << 48)

enum http1_state {
	S_VERSION,    /* "HTTP/1.x " */
	S_STATUS,     /* three digits */
	S_REASON,     /* up to the end of the status line */
	S_HEADER,     /* a header line, or the empty line ending the section */
	S_BODY_LEN,   /* Content-Length bytes */
	S_BODY_EOF,   /* everything until the connection closes */
	S_CHUNK_SIZE, /* hex digits */
	S_CHUNK_EXT,  /* ";ext" up to the end of the line */
	S_CHUNK_DATA, /* the chunk's bytes */
	S_CHUNK_END,  /* the CRLF after them */
	S_TRAILER,    /* trailer lines until an empty one */
	S_DONE,
};

enum http1_header { H_OTHER, H_LENGTH, H_TE, H_CONNECTION };

void
http1_reset(struct http1_resp *p)
{
	memset(p, 0, sizeof(*p));
}

void
http1_set_body(struct http1_resp *p, http1_body_fn fn, void *arg)
{
	p->body     = fn;
	p->body_arg = arg;
}

bool
http1_head_complete(const struct http1_resp *p)
{
	return p->state >= S_BODY_LEN; /* every state after the header section */
}

/* Case-insensitive: is the comma-separated list's last token tok? */
static bool
http1_last_token_is(const char *v, const char *tok)
{
	const char *last = strrchr(v, ',');

	last = last != NULL ? last + 1 : v;
	while (*last == ' ' || *last == '\t')
		last++;
	return strcasecmp(last, tok) == 0;
}

/* Case-insensitive: does the comma-separated list hold tok? */
static bool
http1_has_token(const char *v, const char *tok)
{
	size_t n = strlen(tok);

	for (const char *t = v; *t != '\0';) {
		while (*t == ' ' || *t == '\t' || *t == ',')
			t++;
		if (strncasecmp(t, tok, n) == 0 &&
		    (t[n] == '\0' || t[n] == ',' || t[n] == ' '))
			return true;
		while (*t != '\0' && *t != ',')
			t++;
	}
	return false;
}

static bool
http1_length_value(struct http1_resp *p, const char *v)
{
	uint64_t n = 0;

	if (*v < '0' || *v > '9')
		return false;
	for (; *v >= '0' && *v <= '9'; v++) {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	if (*v != '\0' || (p->has_length && p->length != n))
		return false;
	p->has_length = true;
	p->length     = n;
	return true;
}

/* Interprets the header line in p->line (NUL-terminated, CR stripped).
 * overflow: the line was longer than the buffer. Returns false if bad. */
static bool
http1_header(struct http1_resp *p, bool overflow)
{
	char *colon = strchr(p->line, ':');
	char *v, *end;
	int   which = H_OTHER;

	if (colon == NULL)
		return overflow || p->line[0] == ' ' || p->line[0] == '\t'; /* a fold */
	*colon = '\0';
	if (strcasecmp(p->line, "content-length") == 0)
		which = H_LENGTH;
	else if (strcasecmp(p->line, "transfer-encoding") == 0)
		which = H_TE;
	else if (strcasecmp(p->line, "connection") == 0)
		which = H_CONNECTION;
	if (which == H_OTHER)
		return true;
	if (overflow) /* a value we need and cannot see whole */
		return which == H_CONNECTION;
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*end = '\0';
	if (which == H_LENGTH)
		return http1_length_value(p, v);
	if (which == H_TE) {
		p->has_te  = true;
		p->chunked = http1_last_token_is(v, "chunked");
		return true;
	}
	p->conn_close |= http1_has_token(v, "close");
	p->conn_keep |= http1_has_token(v, "keep-alive");
	return true;
}

/* The header section ended: what comes next. */
static enum http1_result
http1_head_done(struct http1_resp *p)
{
	if (p->status == 101)
		return HTTP1_ERROR; /* we never ask for an upgrade */
	if (p->status < 200) {
		/* Interim: the final response follows; count its bytes anew. */
		struct http1_resp next = {
		    .got_bytes = true, .body = p->body, .body_arg = p->body_arg};
		*p = next;
		return HTTP1_MORE;
	}
	if (p->has_te && p->has_length)
		return HTTP1_ERROR; /* both: a smuggling attempt or a broken server */
	p->keep_alive = p->minor >= 1 ? !p->conn_close : p->conn_keep && !p->conn_close;
	p->pos        = 0; /* from here: whether a chunk size had digits */
	if (p->status == 204 || p->status == 304 || (p->has_length && p->length == 0)) {
		p->state = S_DONE;
		return HTTP1_DONE;
	}
	if (p->chunked)
		p->state = S_CHUNK_SIZE;
	else if (p->has_length && !p->has_te)
		p->state = S_BODY_LEN;
	else {
		p->state      = S_BODY_EOF;
		p->keep_alive = false;
	}
	return HTTP1_MORE;
}

/* One byte of the status line. */
static enum http1_result
http1_status_byte(struct http1_resp *p, char c)
{
	static const char version[] = "HTTP/1.";

	switch (p->state) {
	case S_VERSION:
		if (p->pos < sizeof(version) - 1) {
			if (c != version[p->pos++])
				return HTTP1_ERROR;
		} else if (p->pos == sizeof(version) - 1) {
			if (c < '0' || c > '9')
				return HTTP1_ERROR;
			p->minor = (uint8_t)(c - '0');
			p->pos++;
		} else {
			if (c != ' ')
				return HTTP1_ERROR;
			p->state = S_STATUS;
			p->pos   = 0;
		}
		return HTTP1_MORE;
	case S_STATUS:
		if (c < '0' || c > '9' || (p->pos == 0 && c == '0'))
			return HTTP1_ERROR;
		p->status = p->status * 10 + (c - '0');
		if (++p->pos == 3)
			p->state = S_REASON;
		return HTTP1_MORE;
	default: /* S_REASON */
		if (c == '\n')
			p->state = S_HEADER;
		return HTTP1_MORE;
	}
}

/* One byte of a header line (or of the empty line ending them). */
static enum http1_result
http1_header_byte(struct http1_resp *p, char c)
{
	bool overflow;

	if (c != '\n') {
		if (p->n_line < sizeof(p->line))
			p->line[p->n_line] = c;
		if (p->n_line < UINT8_MAX)
			p->n_line++;
		return HTTP1_MORE;
	}
	overflow = p->n_line >= sizeof(p->line);
	if (!overflow) {
		size_t n = p->n_line;
		if (n > 0 && p->line[n - 1] == '\r')
			n--;
		p->line[n] = '\0';
		p->n_line  = 0;
		if (n == 0)
			return http1_head_done(p);
		return http1_header(p, false) ? HTTP1_MORE : HTTP1_ERROR;
	}
	p->line[sizeof(p->line) - 1] = '\0';
	p->n_line                    = 0;
	return http1_header(p, true) ? HTTP1_MORE : HTTP1_ERROR;
}

/* One byte of the chunk framing (sizes, extensions, CRLFs, trailers). */
static enum http1_result
http1_chunk_byte(struct http1_resp *p, char c)
{
	int d;

	switch (p->state) {
	case S_CHUNK_SIZE:
		d = c >= '0' && c <= '9'                     ? c - '0'
		    : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
		                                             : -1;
		if (d >= 0) {
			p->length = p->length * 16 + (uint64_t)d;
			if (p->length > HTTP1_MAX_CHUNK)
				return HTTP1_ERROR;
			p->pos = 1;
			return HTTP1_MORE;
		}
		if (p->pos == 0)
			return HTTP1_ERROR; /* no digits */
		p->state = S_CHUNK_EXT;
		__attribute__((fallthrough)); /* this byte may end the line */
	case S_CHUNK_EXT:
		if (c != '\n')
			return HTTP1_MORE;
		p->pos    = 0;
		p->state  = p->length == 0 ? S_TRAILER : S_CHUNK_DATA;
		p->n_line = 0;
		return HTTP1_MORE;
	case S_CHUNK_END:
		if (c == '\r' && p->pos == 0) {
			p->pos = 1;
			return HTTP1_MORE;
		}
		if (c != '\n')
			return HTTP1_ERROR;
		p->pos   = 0;
		p->state = S_CHUNK_SIZE;
		return HTTP1_MORE;
	default: /* S_TRAILER: lines until an empty one */
		if (c != '\n') {
			if (c != '\r')
				p->n_line = 1;
			return HTTP1_MORE;
		}
		if (p->n_line == 0) {
			p->state = S_DONE;
			return HTTP1_DONE;
		}
		p->n_line = 0;
		return HTTP1_MORE;
	}
}

/* Skips body bytes in bulk. Returns how many of len it took. */
static size_t
http1_skip_body(struct http1_resp *p, size_t len)
{
	size_t n;

	if (p->state == S_BODY_EOF)
		return len;
	n = p->length < len ? (size_t)p->length : len;
	p->length -= n;
	if (p->length == 0)
		p->state = p->state == S_CHUNK_DATA ? S_CHUNK_END : S_DONE;
	return n;
}

static bool
http1_in_head(const struct http1_resp *p)
{
	return p->state <= S_HEADER || p->state == S_TRAILER;
}

enum http1_result
http1_parse(struct http1_resp *p, const char *buf, size_t len, size_t *used)
{
	enum http1_result r = HTTP1_MORE;
	size_t            i = 0;

	if (len > 0)
		p->got_bytes = true;
	while (i < len && p->state != S_DONE) {
		if (p->state == S_BODY_LEN || p->state == S_BODY_EOF ||
		    p->state == S_CHUNK_DATA) {
			size_t n = http1_skip_body(p, len - i);

			if (p->body != NULL && n > 0 &&
			    !p->body(p->body_arg, buf + i, n)) {
				r = HTTP1_ERROR;
				break;
			}
			i += n;
			continue;
		}
		if (http1_in_head(p) && ++p->head_len > HTTP1_MAX_HEAD) {
			r = HTTP1_ERROR;
			break;
		}
		char c = buf[i++];
		if (p->state <= S_REASON)
			r = http1_status_byte(p, c);
		else if (p->state == S_HEADER)
			r = http1_header_byte(p, c);
		else
			r = http1_chunk_byte(p, c);
		if (r == HTTP1_ERROR)
			break;
	}
	if (r != HTTP1_ERROR && p->state == S_DONE)
		r = HTTP1_DONE;
	*used = i;
	return r;
}

enum http1_result
http1_eof(struct http1_resp *p)
{
	if (p->state == S_BODY_EOF) {
		p->state      = S_DONE;
		p->keep_alive = false;
		return HTTP1_DONE;
	}
	return p->state == S_DONE ? HTTP1_DONE : HTTP1_ERROR;
}
