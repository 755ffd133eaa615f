// SPDX-License-Identifier: MIT
#include "agent/proxy_queue.h"

#include <stdlib.h>
#include <string.h>

struct proxy_chunk {
	struct proxy_chunk *next;
	int64_t             due;
	uint32_t            len; /* 0: the end of the stream */
	uint32_t            off; /* bytes already handed out */
	uint8_t             data[];
};

void
proxy_queue_init(struct proxy_queue *q, size_t max_bytes)
{
	memset(q, 0, sizeof(*q));
	q->max_bytes = max_bytes;
	q->last_due  = INT64_MIN;
}

void
proxy_queue_fini(struct proxy_queue *q)
{
	struct proxy_chunk *c = q->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	proxy_queue_init(q, q->max_bytes);
}

size_t
proxy_queue_room(const struct proxy_queue *q)
{
	if (q->eof || q->chunks >= PROXY_QUEUE_MAX_CHUNKS || q->bytes >= q->max_bytes)
		return 0;
	return q->max_bytes - q->bytes;
}

static chaos_err
proxy_queue_append(struct proxy_queue *q, const void *data, size_t len, int64_t due)
{
	struct proxy_chunk *c = malloc(sizeof(*c) + len);

	if (c == NULL)
		return CHAOS_ENOMEM;
	c->next = NULL;
	c->due  = due > q->last_due ? due : q->last_due;
	c->len  = (uint32_t)len;
	c->off  = 0;
	if (len > 0)
		memcpy(c->data, data, len);
	if (q->tail != NULL)
		q->tail->next = c;
	else
		q->head = c;
	q->tail     = c;
	q->last_due = c->due;
	q->bytes += len;
	q->chunks++;
	return CHAOS_OK;
}

chaos_err
proxy_queue_push(struct proxy_queue *q, const void *data, size_t len, int64_t due)
{
	if (len == 0)
		return CHAOS_EINVAL;
	if (len > proxy_queue_room(q) || len > UINT32_MAX)
		return CHAOS_ETOOBIG;
	return proxy_queue_append(q, data, len, due);
}

chaos_err
proxy_queue_push_eof(struct proxy_queue *q, int64_t due)
{
	chaos_err rv;

	if (q->eof)
		return CHAOS_EINVAL;
	if ((rv = proxy_queue_append(q, NULL, 0, due)) != CHAOS_OK)
		return rv;
	q->eof = true;
	return CHAOS_OK;
}

int64_t
proxy_queue_next_due(const struct proxy_queue *q)
{
	return q->head != NULL ? q->head->due : -1;
}

bool
proxy_queue_peek(const struct proxy_queue *q, int64_t now, const uint8_t **data,
                 size_t *len, bool *eof)
{
	const struct proxy_chunk *c = q->head;

	if (c == NULL || c->due > now)
		return false;
	*data = c->data + c->off;
	*len  = c->len - c->off;
	*eof  = c->len == 0;
	return true;
}

void
proxy_queue_consume(struct proxy_queue *q, size_t n)
{
	struct proxy_chunk *c = q->head;

	if (c == NULL || n > c->len - c->off)
		return;
	c->off += (uint32_t)n;
	q->bytes -= n;
	if (c->off < c->len)
		return;
	q->head = c->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->chunks--;
	free(c);
}

bool
proxy_queue_empty(const struct proxy_queue *q)
{
	return q->head == NULL;
}
