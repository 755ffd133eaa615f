// SPDX-License-Identifier: MIT
/*
 * The latency proxy's delay line on a fake clock: release times, order under
 * jitter, partial writes, the end of the stream, and the bounds that give
 * backpressure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/proxy_queue.h"

#define MS 1000

/* Pops what is due at now into out (up to cap); returns bytes taken. */
static size_t
drain(struct proxy_queue *q, int64_t now, char *out, size_t cap)
{
	const uint8_t *data;
	size_t         len, got = 0;
	bool           eof;

	while (proxy_queue_peek(q, now, &data, &len, &eof) && !eof) {
		size_t n = len < cap - got ? len : cap - got;
		memcpy(out + got, data, n);
		got += n;
		proxy_queue_consume(q, n);
		if (n < len)
			break;
	}
	return got;
}

static void
test_data_is_held_until_its_release_time(void **state)
{
	struct proxy_queue q;
	char               out[16];

	(void)state;
	proxy_queue_init(&q, 1024);
	assert_true(proxy_queue_empty(&q));
	assert_int_equal(proxy_queue_next_due(&q), -1);
	assert_int_equal(proxy_queue_push(&q, "abc", 3, 500 * MS), CHAOS_OK);
	assert_int_equal(proxy_queue_next_due(&q), 500 * MS);
	assert_int_equal(drain(&q, 499 * MS, out, sizeof(out)), 0);
	assert_int_equal(drain(&q, 500 * MS, out, sizeof(out)), 3);
	assert_memory_equal(out, "abc", 3);
	assert_true(proxy_queue_empty(&q));
	proxy_queue_fini(&q);
}

static void
test_chunks_come_out_one_by_one_as_each_falls_due(void **state)
{
	struct proxy_queue q;
	char               out[16];

	(void)state;
	proxy_queue_init(&q, 1024);
	assert_int_equal(proxy_queue_push(&q, "one", 3, 100 * MS), CHAOS_OK);
	assert_int_equal(proxy_queue_push(&q, "two", 3, 200 * MS), CHAOS_OK);
	assert_int_equal(drain(&q, 150 * MS, out, sizeof(out)), 3);
	assert_memory_equal(out, "one", 3);
	assert_int_equal(proxy_queue_next_due(&q), 200 * MS);
	assert_int_equal(drain(&q, 250 * MS, out, sizeof(out)), 3);
	assert_memory_equal(out, "two", 3);
	proxy_queue_fini(&q);
}

/* Negative jitter must never let a later chunk overtake an earlier one. */
static void
test_an_earlier_release_time_is_raised_so_order_is_kept(void **state)
{
	struct proxy_queue q;
	char               out[16];

	(void)state;
	proxy_queue_init(&q, 1024);
	assert_int_equal(proxy_queue_push(&q, "first", 5, 300 * MS), CHAOS_OK);
	assert_int_equal(proxy_queue_push(&q, "second", 6, 120 * MS), CHAOS_OK);
	assert_int_equal(drain(&q, 200 * MS, out, sizeof(out)), 0);
	assert_int_equal(drain(&q, 300 * MS, out, sizeof(out)), 11);
	assert_memory_equal(out, "firstsecond", 11);
	proxy_queue_fini(&q);
}

static void
test_partial_consume_keeps_the_rest_of_the_chunk(void **state)
{
	struct proxy_queue q;
	const uint8_t     *data;
	size_t             len;
	bool               eof;

	(void)state;
	proxy_queue_init(&q, 1024);
	assert_int_equal(proxy_queue_push(&q, "abcdef", 6, 0), CHAOS_OK);
	assert_true(proxy_queue_peek(&q, 0, &data, &len, &eof));
	assert_int_equal(len, 6);
	proxy_queue_consume(&q, 4);
	assert_int_equal(q.bytes, 2);
	assert_true(proxy_queue_peek(&q, 0, &data, &len, &eof));
	assert_int_equal(len, 2);
	assert_memory_equal(data, "ef", 2);
	assert_false(eof);
	proxy_queue_consume(&q, 2);
	assert_true(proxy_queue_empty(&q));
	proxy_queue_fini(&q);
}

static void
test_end_of_stream_is_delayed_like_data_and_ends_pushing(void **state)
{
	struct proxy_queue q;
	const uint8_t     *data;
	size_t             len;
	bool               eof;
	char               out[8];

	(void)state;
	proxy_queue_init(&q, 1024);
	assert_int_equal(proxy_queue_push(&q, "x", 1, 10 * MS), CHAOS_OK);
	assert_int_equal(proxy_queue_push_eof(&q, 20 * MS), CHAOS_OK);
	assert_int_equal(proxy_queue_room(&q), 0);
	assert_int_equal(proxy_queue_push(&q, "y", 1, 30 * MS), CHAOS_ETOOBIG);
	assert_int_equal(proxy_queue_push_eof(&q, 30 * MS), CHAOS_EINVAL);
	assert_int_equal(drain(&q, 15 * MS, out, sizeof(out)), 1);
	assert_false(proxy_queue_peek(&q, 19 * MS, &data, &len, &eof));
	assert_true(proxy_queue_peek(&q, 20 * MS, &data, &len, &eof));
	assert_true(eof);
	assert_int_equal(len, 0);
	proxy_queue_consume(&q, 0);
	assert_true(proxy_queue_empty(&q));
	proxy_queue_fini(&q);
}

static void
test_byte_bound_gives_no_room_until_data_leaves(void **state)
{
	struct proxy_queue q;
	char               big[100], out[100];

	(void)state;
	memset(big, 'z', sizeof(big));
	proxy_queue_init(&q, 100);
	assert_int_equal(proxy_queue_room(&q), 100);
	assert_int_equal(proxy_queue_push(&q, big, 60, 0), CHAOS_OK);
	assert_int_equal(proxy_queue_room(&q), 40);
	assert_int_equal(proxy_queue_push(&q, big, 41, 0),
	                 CHAOS_ETOOBIG); /* over the room */
	assert_int_equal(proxy_queue_push(&q, big, 40, 0), CHAOS_OK);
	assert_int_equal(proxy_queue_room(&q), 0);
	assert_int_equal(drain(&q, 0, out, 60), 60);
	assert_int_equal(proxy_queue_room(&q), 60);
	proxy_queue_fini(&q);
}

/* Many one-byte reads: bounded by chunk count too, not only by bytes. */
static void
test_chunk_bound_stops_a_flood_of_tiny_reads(void **state)
{
	struct proxy_queue q;
	size_t             n = 0;

	(void)state;
	proxy_queue_init(&q, 1u << 20);
	while (proxy_queue_room(&q) > 0 && n < 2 * PROXY_QUEUE_MAX_CHUNKS)
		assert_int_equal(proxy_queue_push(&q, "b", 1, (int64_t)n++), CHAOS_OK);
	assert_int_equal(n, PROXY_QUEUE_MAX_CHUNKS);
	assert_int_equal(q.bytes, PROXY_QUEUE_MAX_CHUNKS);
	proxy_queue_fini(&q); /* frees them all (ASan checks) */
	assert_true(proxy_queue_empty(&q));
}

static void
test_zero_length_push_is_refused(void **state)
{
	struct proxy_queue q;

	(void)state;
	proxy_queue_init(&q, 16);
	assert_int_equal(proxy_queue_push(&q, "", 0, 0), CHAOS_EINVAL);
	assert_true(proxy_queue_empty(&q));
	proxy_queue_fini(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_data_is_held_until_its_release_time),
	    cmocka_unit_test(test_chunks_come_out_one_by_one_as_each_falls_due),
	    cmocka_unit_test(test_an_earlier_release_time_is_raised_so_order_is_kept),
	    cmocka_unit_test(test_partial_consume_keeps_the_rest_of_the_chunk),
	    cmocka_unit_test(test_end_of_stream_is_delayed_like_data_and_ends_pushing),
	    cmocka_unit_test(test_byte_bound_gives_no_room_until_data_leaves),
	    cmocka_unit_test(test_chunk_bound_stops_a_flood_of_tiny_reads),
	    cmocka_unit_test(test_zero_length_push_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
