// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the load generator's HTTP/1.x response parser
 * (agent/http1.c), which reads bytes from whatever server is under load.
 * The first input byte sets the size of the pieces the rest is fed in; the
 * outcome (result, status, keep-alive, bytes taken, and the body handed
 * to the body function, as the HTTP probe reads it) must be the same as
 * when it is fed whole, and what is reported must be consistent. Any
 * difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>

#include "agent/http1.h"

struct outcome {
	enum http1_result r;
	size_t            taken;
	int               status;
	bool              keep_alive;
	uint64_t          body_len, body_sum; /* what the body function got */
};

static bool
take_body(void *arg, const char *data, size_t len)
{
	struct outcome *o = arg;

	o->body_len += len;
	for (size_t i = 0; i < len; i++)
		o->body_sum = o->body_sum * 31 + (unsigned char)data[i];
	return true;
}

static struct outcome
feed(const char *buf, size_t len, size_t step)
{
	struct http1_resp p;
	struct outcome    o   = {.r = HTTP1_MORE};
	size_t            off = 0;

	http1_reset(&p);
	http1_set_body(&p, take_body, &o);
	while (off < len && o.r == HTTP1_MORE) {
		size_t n    = len - off < step ? len - off : step;
		size_t used = SIZE_MAX;

		o.r = http1_parse(&p, buf + off, n, &used);
		if (used > n || (o.r == HTTP1_MORE && used != n))
			abort();
		off += used;
	}
	if (o.r == HTTP1_MORE)
		o.r = http1_eof(&p);
	o.taken = off;
	if (o.r == HTTP1_DONE) {
		if (p.status < 200 || p.status > 999)
			abort(); /* interim answers are never the outcome */
		o.status     = p.status;
		o.keep_alive = p.keep_alive;
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, pieces;

	if (size < 1)
		return 0;
	whole  = feed((const char *)data + 1, size - 1, size);
	pieces = feed((const char *)data + 1, size - 1, (size_t)data[0] % 16 + 1);
	if (whole.r != pieces.r || whole.status != pieces.status ||
	    whole.keep_alive != pieces.keep_alive)
		abort();
	/* Where an error is found may differ by a piece; a whole answer may not. */
	if (whole.r == HTTP1_DONE &&
	    (whole.taken != pieces.taken || whole.body_len != pieces.body_len ||
	     whole.body_sum != pieces.body_sum))
		abort();
	return 0;
}
