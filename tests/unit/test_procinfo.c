// SPDX-License-Identifier: MIT
/*
 * The /proc parsers of the kill fault's guard (agent/procinfo.h): the pid a
 * process has in its innermost pid namespace (NSpid's last field; 1 means
 * that namespace's init, such as a pod's sandbox seen from a node agent),
 * and the start time, past a process name that holds spaces and ')'.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "agent/procinfo.h"
#include "common/err.h"

#define STATUS_HEAD "Name:\tpause\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\n"

static long
nspid(const char *status)
{
	long v = -7;

	assert_int_equal(procinfo_nspid_inner(status, &v), CHAOS_OK);
	return v;
}

static void
test_nspid_is_the_pid_in_the_innermost_namespace(void **state)
{
	(void)state;
	/* the host's pid namespace only */
	assert_int_equal(nspid(STATUS_HEAD "NSpid:\t4242\nNSpgid:\t4242\n"), 4242);
	/* a pod's sandbox seen from the host: its namespace's init */
	assert_int_equal(nspid(STATUS_HEAD "NSpid:\t4242\t1\nNSpgid:\t4242\t1\n"), 1);
	/* nested: the last field counts */
	assert_int_equal(nspid(STATUS_HEAD "NSpid:\t4242\t17\t1\n"), 1);
	assert_int_equal(nspid(STATUS_HEAD "NSpid:\t4242\t1\t17\n"), 17);
	/* first line, no newline at the end, spaces instead of tabs */
	assert_int_equal(nspid("NSpid:  9 1"), 1);
}

static void
test_nspid_missing_or_malformed_is_refused(void **state)
{
	long v = -7;

	(void)state;
	/* kernels before 4.1: no NSpid line */
	assert_int_equal(procinfo_nspid_inner(STATUS_HEAD "NStgid:\t1\n", &v),
	                 CHAOS_ENOENT);
	/* NSpgid is not NSpid, nor a name that ends in it */
	assert_int_equal(procinfo_nspid_inner("NSpgid:\t1\nXNSpid:\t1\n", &v),
	                 CHAOS_ENOENT);
	assert_int_equal(procinfo_nspid_inner(STATUS_HEAD "NSpid:\t\n", &v),
	                 CHAOS_EINVAL);
	assert_int_equal(procinfo_nspid_inner(STATUS_HEAD "NSpid:\t12\tx\n", &v),
	                 CHAOS_EINVAL);
	assert_int_equal(procinfo_nspid_inner(STATUS_HEAD "NSpid:\t-1\n", &v),
	                 CHAOS_EINVAL);
	assert_int_equal(v, -7); /* untouched on failure */
}

static void
test_starttime_is_field_22_past_any_name(void **state)
{
	uint64_t t = 0;

	(void)state;
	assert_int_equal(
	    procinfo_starttime("18488 (cat) R 18482 18482 26507 0 -1 4194304 127 "
	                       "0 0 0 0 0 0 0 20 0 1 0 7813227 3133440 413\n",
	                       &t),
	    CHAOS_OK);
	assert_int_equal(t, 7813227);
	/* a name with spaces and parentheses of its own */
	assert_int_equal(
	    procinfo_starttime("7 (a) b (c)) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 "
	                       "0 1 0 99 0 0",
	                       &t),
	    CHAOS_OK);
	assert_int_equal(t, 99);
}

static void
test_starttime_of_a_short_or_odd_line_is_refused(void **state)
{
	uint64_t t = 5;

	(void)state;
	assert_int_equal(procinfo_starttime("", &t), CHAOS_EINVAL);
	assert_int_equal(procinfo_starttime("7 (x) S 1 7 7", &t), CHAOS_EINVAL);
	assert_int_equal(
	    procinfo_starttime("7 (x) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
	                       "abc 0",
	                       &t),
	    CHAOS_EINVAL);
	assert_int_equal(t, 5); /* untouched on failure */
}

static void
test_this_process_reads_as_itself(void **state)
{
	char     buf[4096];
	long     inner;
	uint64_t start;

	(void)state;
	assert_int_equal(procinfo_read(getpid(), "status", buf, sizeof(buf)), CHAOS_OK);
	assert_int_equal(procinfo_nspid_inner(buf, &inner), CHAOS_OK);
	assert_true(inner > 0);
	assert_int_equal(procinfo_read(getpid(), "stat", buf, sizeof(buf)), CHAOS_OK);
	assert_int_equal(procinfo_starttime(buf, &start), CHAOS_OK);
	assert_true(start > 0);
	assert_int_equal(procinfo_read(0, "status", buf, sizeof(buf)), CHAOS_ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nspid_is_the_pid_in_the_innermost_namespace),
	    cmocka_unit_test(test_nspid_missing_or_malformed_is_refused),
	    cmocka_unit_test(test_starttime_is_field_22_past_any_name),
	    cmocka_unit_test(test_starttime_of_a_short_or_odd_line_is_refused),
	    cmocka_unit_test(test_this_process_reads_as_itself),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
