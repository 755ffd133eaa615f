/* SPDX-License-Identifier: MIT */
/*
 * The latency proxy's delay line for one direction of one connection: bytes
 * are stamped with a release time when they are read and handed out, in
 * order, once that time has come. Pure data structure: the caller passes
 * every time in (microseconds on any monotonic clock), so tests drive it
 * with a fake clock.
 *
 * Order is the stream's: a release time earlier than the one before it (a
 * negative jitter) is raised to it, so jitter never reorders bytes. The
 * queue is bounded in bytes and in chunks (many tiny reads would otherwise
 * cost more in headers than in data); when it is full the proxy stops
 * reading from the sender, and TCP flow control pushes back on the peer.
 * Not thread-safe; owned by the proxy's loop.
 */
#ifndef CHAOS_AGENT_PROXY_QUEUE_H
#define CHAOS_AGENT_PROXY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define PROXY_QUEUE_MAX_CHUNKS 4096

struct proxy_chunk; /* one read: data or the end of the stream */

struct proxy_queue {
	struct proxy_chunk *head, *tail;
	size_t              bytes; /* data bytes not yet handed out */
	size_t              chunks;
	size_t              max_bytes; /* bound on bytes */
	int64_t             last_due;  /* release time of the tail */
	bool                eof;       /* the end of the stream is queued */
};

/* Empty queue holding at most max_bytes (> 0). */
void proxy_queue_init(struct proxy_queue *q, size_t max_bytes);

/* Frees every chunk; the queue is then empty (init again to reuse). */
void proxy_queue_fini(struct proxy_queue *q);

/* Bytes that may be pushed now: 0 when full or after the end was queued. */
size_t proxy_queue_room(const struct proxy_queue *q);

/* Appends a copy of data[0..len) (0 < len <= room) to be released at due
 * (raised to the previous release time if earlier). Returns CHAOS_OK,
 * CHAOS_EINVAL (len 0), CHAOS_ETOOBIG (len over the room, or after the end
 * of the stream) or CHAOS_ENOMEM. */
chaos_err proxy_queue_push(struct proxy_queue *q, const void *data, size_t len,
                           int64_t due);

/* Queues the end of the stream, released like data at due (raised as
 * above). Nothing may be pushed after it. Returns CHAOS_OK, CHAOS_EINVAL
 * (the end was already queued) or CHAOS_ENOMEM. */
chaos_err proxy_queue_push_eof(struct proxy_queue *q, int64_t due);

/* Release time of the head, or -1 when the queue is empty. */
int64_t proxy_queue_next_due(const struct proxy_queue *q);

/* Whether the head is due at now: then *data and *len are what is left of its
 * bytes (*len 0 and *eof true for the end of the stream). The pointer is
 * valid until the next consume or push. */
bool proxy_queue_peek(const struct proxy_queue *q, int64_t now, const uint8_t **data,
                      size_t *len, bool *eof);

/* Marks n bytes of the head as handed out (n <= the *len of peek; n 0 with
 * the end of the stream drops it). The head is freed once fully used. */
void proxy_queue_consume(struct proxy_queue *q, size_t n);

bool proxy_queue_empty(const struct proxy_queue *q);

#endif
