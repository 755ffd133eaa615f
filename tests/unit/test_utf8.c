// SPDX-License-Identifier: MIT
/*
 * Cutting text on a UTF-8 boundary (common/utf8.c): a localised PostgreSQL
 * message cut to a fixed buffer keeps whole characters only, so jansson
 * accepts it and a null keeps its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/utf8.h"

/* "ВАЖНО: пользователь" as libpq prints it with lc_messages=ru_RU: every
 * letter two bytes. */
static const char pg_ru[] = "\xd0\x92\xd0\x90\xd0\x96\xd0\x9d\xd0\x9e: "
                            "\xd0\xbf\xd0\xbe\xd0\xbb\xd1\x8c\xd0\xb7";

static void
test_a_cut_cyrillic_message_keeps_whole_letters(void **state)
{
	char out[4]; /* room for one letter and half of the next */

	(void)state;
	utf8_copy(out, sizeof(out), pg_ru);
	assert_string_equal(out, "\xd0\x92");
	/* odd sizes everywhere: the result is always valid for jansson */
	for (size_t cap = 1; cap <= sizeof(pg_ru); cap++) {
		char    buf[sizeof(pg_ru)];
		json_t *s = json_string(utf8_copy(buf, cap, pg_ru));
		assert_non_null(s);
		assert_true(strlen(buf) >= cap - 2 || cap == 1);
		json_decref(s);
	}
}

static void
test_a_reason_cut_by_snprintf_survives_in_json(void **state)
{
	char    reason[16];
	json_t *o = json_object();

	(void)state;
	/* what snprintf(reason, 14, "pg: %s", pg_ru) leaves: half a letter */
	memcpy(reason, "pg: ", 4);
	memcpy(reason + 4, pg_ru, 9);
	reason[13] = '\0';
	assert_null(json_string(reason));
	utf8_trim_partial(reason);
	json_object_set_new(o, "mttr", json_null());
	json_object_set_new(o, "mttr_reason", json_string(reason));
	assert_string_equal(json_string_value(json_object_get(o, "mttr_reason")),
	                    "pg: \xd0\x92\xd0\x90\xd0\x96\xd0\x9d");
	json_decref(o);
}

static void
test_whole_text_and_ascii_are_left_alone(void **state)
{
	char s[64];

	(void)state;
	snprintf(s, sizeof(s), "%s", pg_ru);
	assert_int_equal(utf8_trim_partial(s), strlen(pg_ru));
	assert_string_equal(utf8_copy(s, 6, "refused by peer"), "refus");
	assert_string_equal(utf8_copy(s, 8, NULL), "");
	/* a 4-byte character (U+1F600) cut after 1, 2, 3 bytes goes whole */
	for (size_t k = 1; k <= 3; k++) {
		char e[8] = "a";
		memcpy(e + 1, "\xf0\x9f\x98\x80", k);
		e[1 + k] = '\0';
		assert_int_equal(utf8_trim_partial(e), 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_cut_cyrillic_message_keeps_whole_letters),
	    cmocka_unit_test(test_a_reason_cut_by_snprintf_survives_in_json),
	    cmocka_unit_test(test_whole_text_and_ascii_are_left_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
