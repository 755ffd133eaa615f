/* SPDX-License-Identifier: MIT */
/*
 * Label selectors over targets, in the equality form Kubernetes users
 * write: terms separated by commas, all of which must hold:
 *   key=value, key==value, key!=value (also true when the key is absent),
 *   key (the label exists), !key (it does not).
 * Keys are Kubernetes label keys ([prefix/]name), values label values.
 * A key is named once, except in several key!=value terms.
 * "" selects everything. Thread safety: reentrant.
 */
#ifndef CHAOS_CONTROLLER_SCENARIOS_SELECTOR_H
#define CHAOS_CONTROLLER_SCENARIOS_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "proto/chaos.pb-c.h"

#define SELECTOR_MAX_TERMS 16
#define SELECTOR_KEY_LEN 317 /* 253 prefix + '/' + 63 name */
#define SELECTOR_VALUE_LEN 63

enum selector_op { SELECTOR_EQ, SELECTOR_NE, SELECTOR_EXISTS, SELECTOR_ABSENT };

struct selector_term {
	enum selector_op op;
	char             key[SELECTOR_KEY_LEN + 1];
	char             value[SELECTOR_VALUE_LEN + 1];
};

struct selector {
	struct selector_term term[SELECTOR_MAX_TERMS];
	size_t               n;
};

/* Parses text into *out. CHAOS_EINVAL with why saying which term is wrong
 * and what is allowed. */
chaos_err selector_parse(const char *text, struct selector *out, chaos_why *why);

/* Whether labels satisfy every term of s. */
bool selector_matches(const struct selector *s, Chaos__V1__Label *const *labels,
                      size_t n_labels);

#endif
