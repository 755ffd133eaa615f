// SPDX-License-Identifier: MIT
/*
 * Runs on disk (controller/run_store): ids never repeat across restarts, a
 * run a dead controller left running comes back interrupted with what it
 * measured (or every figure unknown when nothing was saved), one controller
 * per directory, only the newest RUN_STORE_KEEP records kept, and their
 * summaries listed without reading a file; a torn or garbage record is
 * skipped with a warning naming it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/run_store.h"

static char dir[] = "/tmp/chaos-run-store-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/chaos-run-store-XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct run_store *
open_store(size_t *interrupted)
{
	struct run_store *s   = NULL;
	chaos_why         why = {{0}};

	assert_int_equal(run_store_open(dir, &s, interrupted, &why), CHAOS_OK);
	return s;
}

static void
test_ids_never_repeat_across_restarts(void **state)
{
	struct run_store *s = open_store(NULL);
	uint64_t          a, b, c;

	(void)state;
	a = run_store_next_id(s);
	b = run_store_next_id(s);
	assert_true(a != 0 && b > a);
	run_store_close(s); /* no record saved: only the counter knows b */
	s = open_store(NULL);
	c = run_store_next_id(s);
	assert_true(c > b);
	run_store_close(s);
}

static void
test_a_running_run_comes_back_interrupted_with_its_checkpoint(void **state)
{
	struct run_store *s  = open_store(NULL);
	uint64_t          id = run_store_next_id(s), bare = run_store_next_id(s);
	size_t            n = 0;
	json_t           *rec, *res;

	(void)state;
	rec = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:i}}", "scenario", "network_partition",
	                "state", "running", "started", "2026-11-27T10:00:00.000Z",
	                "checkpoint", "2026-11-27T10:00:04.000Z", "result", "scenario",
	                "network_partition", "samples", 40);
	assert_int_equal(run_store_save(s, id, rec), CHAOS_OK);
	json_decref(rec);
	rec = json_pack("{s:s,s:s,s:s,s:n}", "scenario", "database_failure", "state",
	                "planning", "started", "2026-11-27T10:01:00.000Z", "result");
	assert_int_equal(run_store_save(s, bare, rec), CHAOS_OK);
	json_decref(rec);
	run_store_close(s); /* as kill -9 leaves it */

	s = open_store(&n);
	assert_int_equal(n, 2);
	rec = run_store_load(s, id);
	assert_string_equal(json_string_value(json_object_get(rec, "state")),
	                    "interrupted");
	res = json_object_get(rec, "result");
	assert_true(json_is_true(json_object_get(res, "interrupted")));
	assert_int_equal(json_integer_value(json_object_get(res, "samples")), 40);
	assert_non_null(strstr(json_string_value(json_object_get(res, "failure")),
	                       "2026-11-27T10:00:04"));
	json_decref(rec);
	/* nothing measured: a result all the same, every figure unknown */
	rec = run_store_load(s, bare);
	res = json_object_get(rec, "result");
	assert_true(json_is_true(json_object_get(res, "interrupted")));
	assert_true(json_is_null(json_object_get(res, "mttr")));
	assert_non_null(strstr(json_string_value(json_object_get(res, "mttr_reason")),
	                       "not measured"));
	json_decref(rec);
	run_store_close(s);
	s = open_store(&n);
	assert_int_equal(n, 0); /* marked once */
	run_store_close(s);
}

static void
test_a_second_controller_on_the_directory_is_refused(void **state)
{
	struct run_store *s = open_store(NULL), *t = NULL;
	chaos_why         why = {{0}};

	(void)state;
	assert_int_equal(run_store_open(dir, &t, NULL, &why), CHAOS_EBUSY);
	assert_null(t);
	assert_non_null(strstr(why.text, "in use by another controller"));
	run_store_close(s);
}

static void
test_only_the_newest_records_are_kept(void **state)
{
	struct run_store *s = open_store(NULL);
	uint64_t          ids[RUN_STORE_KEEP + 10], kept[RUN_STORE_KEEP + 10];
	json_t           *rec = json_pack("{s:s}", "state", "succeeded");
	size_t            n;

	(void)state;
	for (size_t i = 0; i < RUN_STORE_KEEP + 10; i++) {
		ids[i] = run_store_next_id(s);
		assert_int_equal(run_store_save(s, ids[i], rec), CHAOS_OK);
	}
	json_decref(rec);
	run_store_close(s);
	s = open_store(NULL);
	n = run_store_ids(s, kept, RUN_STORE_KEEP + 10);
	assert_int_equal(n, RUN_STORE_KEEP);
	assert_int_equal(kept[0], ids[RUN_STORE_KEEP + 9]); /* newest first */
	assert_null(run_store_load(s, ids[0]));
	run_store_close(s);
}

static void
test_the_list_holds_summaries_newest_first_across_a_restart(void **state)
{
	struct run_store *s = open_store(NULL);
	uint64_t          a = run_store_next_id(s), b = run_store_next_id(s);
	json_t *rec = json_pack("{s:s,s:[s,s],s:{s:f,s:[i,i,i],s:s}}", "state", "failed",
	                        "progress", "applied", "reverted", "result", "mttr", 1.25,
	                        "samples", 1, 2, 3, "failure", "not recovered");
	json_t *list, *first;

	(void)state;
	assert_int_equal(run_store_save(s, a, rec), CHAOS_OK);
	json_decref(rec);
	rec = json_pack("{s:s,s:[],s:n}", "state", "running", "progress", "result");
	assert_int_equal(run_store_save(s, b, rec), CHAOS_OK);
	json_decref(rec);
	for (int round = 0; round < 2; round++) {
		list = run_store_list(s);
		assert_int_equal(json_array_size(list), 2);
		assert_int_equal(
		    json_integer_value(json_object_get(json_array_get(list, 0), "id")),
		    b);
		first = json_array_get(list, 1); /* run a: its summary, not its samples */
		assert_int_equal(json_integer_value(json_object_get(first, "id")), a);
		assert_int_equal(json_array_size(json_object_get(first, "progress")), 1);
		assert_string_equal(json_string_value(json_array_get(
		                        json_object_get(first, "progress"), 0)),
		                    "reverted");
		assert_true(json_number_value(json_object_get(
		                json_object_get(first, "result"), "mttr")) == 1.25);
		assert_null(json_object_get(json_object_get(first, "result"), "samples"));
		assert_string_equal(json_string_value(json_object_get(
		                        json_object_get(first, "result"), "failure")),
		                    "not recovered");
		json_decref(list);
		run_store_close(s); /* the next round reads it back from disk */
		s = open_store(NULL);
	}
	run_store_close(s);
}

/* A record cut short, garbage, or JSON that is no object: the store opens,
 * lists and loads only the good one, and says which file it skipped. */
static void
test_a_torn_or_garbage_record_is_skipped_at_restart(void **state)
{
	static const char *const bad[] = {"{\"state\":\"running\",\"progress\":[\"pl",
	                                  "\x01\x02garbage", "[1,2]", ""};
	struct run_store        *s     = open_store(NULL);
	uint64_t                 good  = run_store_next_id(s);
	json_t                  *rec   = json_pack("{s:s}", "state", "succeeded");
	char                     path[256];
	size_t                   n = 99;

	(void)state;
	assert_int_equal(run_store_save(s, good, rec), CHAOS_OK);
	json_decref(rec);
	run_store_close(s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f;
		snprintf(path, sizeof(path), "%s/runs/%zu.json", dir, 100 + i);
		assert_non_null(f = fopen(path, "w"));
		fputs(bad[i], f);
		fclose(f);
	}
	s = open_store(&n);
	assert_int_equal(n, 0);
	rec = run_store_list(s);
	assert_int_equal(json_array_size(rec), 1);
	json_decref(rec);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(run_store_load(s, 100 + i));
	assert_non_null(rec = run_store_load(s, good));
	json_decref(rec);
	assert_true(run_store_next_id(s) >= 100 + sizeof(bad) / sizeof(bad[0]));
	run_store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ids_never_repeat_across_restarts, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_a_running_run_comes_back_interrupted_with_its_checkpoint, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_a_second_controller_on_the_directory_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_the_newest_records_are_kept, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_the_list_holds_summaries_newest_first_across_a_restart, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_a_torn_or_garbage_record_is_skipped_at_restart, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
