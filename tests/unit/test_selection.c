// SPDX-License-Identifier: MIT
/*
 * Which targets a run may take: the controller's namespace allow-list
 * (controller/allow) and label selectors (controller/scenarios/selector).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/err.h"
#include "controller/allow.h"
#include "controller/scenarios/selector.h"

static void
test_kube_system_and_the_own_namespace_are_never_allowed(void **state)
{
	struct allow_list a;
	chaos_why         why = {{0}};

	(void)state;
	allow_init(&a, "chaos");
	/* no list: everything but the two */
	assert_true(allow_permits(&a, "staging"));
	assert_false(allow_permits(&a, "kube-system"));
	assert_false(allow_permits(&a, "chaos"));
	assert_false(allow_permits(&a, ""));
	assert_int_equal(allow_add(&a, "kube-system", &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "never allowed"));
	assert_int_equal(allow_add(&a, "chaos", &why), CHAOS_EINVAL);
	assert_int_equal(allow_add(&a, "Bad_Name", &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "allowed a namespace name"));
	assert_int_equal(a.n, 0);
}

static void
test_a_list_allows_exactly_its_namespaces(void **state)
{
	struct allow_list a;
	chaos_why         why = {{0}};

	(void)state;
	allow_init(&a, NULL);
	assert_int_equal(allow_add(&a, "staging", &why), CHAOS_OK);
	assert_int_equal(allow_add(&a, "team-a", &why), CHAOS_OK);
	assert_int_equal(allow_add(&a, "staging", &why), CHAOS_OK); /* once */
	assert_int_equal(a.n, 2);
	assert_true(allow_permits(&a, "team-a"));
	assert_false(allow_permits(&a, "prod"));
	assert_int_equal(allow_check(&a, "--namespace", "prod", &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "--namespace prod: not allowed"));
	assert_non_null(strstr(why.text, "staging, team-a"));
}

static Chaos__V1__Label *
label(Chaos__V1__Label *l, const char *k, const char *v)
{
	chaos__v1__label__init(l);
	l->key   = (char *)k;
	l->value = (char *)v;
	return l;
}

static bool
matches(const char *sel, Chaos__V1__Label *const *labels, size_t n)
{
	struct selector s;

	assert_int_equal(selector_parse(sel, &s, NULL), CHAOS_OK);
	return selector_matches(&s, labels, n);
}

static void
test_selectors_match_like_kubernetes_equality_selectors(void **state)
{
	Chaos__V1__Label  l[3];
	Chaos__V1__Label *labels[] = {label(&l[0], "app", "chain"),
	                              label(&l[1], "tier", "validator"),
	                              label(&l[2], "example.com/zone", "a")};

	(void)state;
	assert_true(matches("", labels, 3));
	assert_true(matches("app=chain", labels, 3));
	assert_true(matches("app==chain,tier=validator", labels, 3));
	assert_false(matches("app=chain,tier=observer", labels, 3));
	assert_true(matches("tier!=observer", labels, 3));
	assert_true(matches("missing!=x", labels, 3)); /* absent: not equal */
	assert_true(matches("example.com/zone", labels, 3));
	assert_true(matches("!missing", labels, 3));
	assert_false(matches("!app", labels, 3));
	assert_false(matches("app=chain", labels, 0));
}

static void
test_bad_selectors_say_which_term_and_what_is_allowed(void **state)
{
	static const char *const bad[] = {"app=",       "=x",         "app=chain,",
	                                  "a b=c",      "app=ch ain", "-app=x",
	                                  "app=x,,y=z", "Bad/x=y",    "!app=x"};
	struct selector          s;
	chaos_why                why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (strcmp(bad[i], "app=") == 0) /* an empty value is a value */
			continue;
		memset(&why, 0, sizeof(why));
		if (selector_parse(bad[i], &s, &why) == CHAOS_OK)
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(strstr(why.text, "allowed"));
	}
	assert_int_equal(selector_parse("app=", &s, NULL), CHAOS_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.term[0].value, "");
}

/* A label key named twice is refused with its name, except several
 * key!=value terms, which exclude several values. */
static void
test_a_label_key_named_twice_is_refused(void **state)
{
	static const char *const twice[] = {"app=a,app=b", "app=a,tier=x,app=a",
	                                    "app,app=x", "!app,app!=x", "app!=x,app"};
	struct selector          s;
	chaos_why                why;

	(void)state;
	for (size_t i = 0; i < sizeof(twice) / sizeof(twice[0]); i++) {
		memset(&why, 0, sizeof(why));
		if (selector_parse(twice[i], &s, &why) == CHAOS_OK)
			fail_msg("'%s' accepted", twice[i]);
		assert_string_equal(why.text,
		                    "label key 'app' is named twice; allowed: "
		                    "each key once (key!=value may repeat)");
	}
	assert_int_equal(selector_parse("app!=a,app!=b,tier=x", &s, NULL), CHAOS_OK);
	assert_int_equal(s.n, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kube_system_and_the_own_namespace_are_never_allowed),
	    cmocka_unit_test(test_a_list_allows_exactly_its_namespaces),
	    cmocka_unit_test(test_selectors_match_like_kubernetes_equality_selectors),
	    cmocka_unit_test(test_bad_selectors_say_which_term_and_what_is_allowed),
	    cmocka_unit_test(test_a_label_key_named_twice_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
