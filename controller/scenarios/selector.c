// SPDX-License-Identifier: MIT
#include "controller/scenarios/selector.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define SELECTOR_ALLOWED                                                                 \
	"allowed: key=value, key!=value, key or !key, separated by commas"

/* A label name or value: alphanumerics with '-', '_', '.' inside, at most
 * 63 (an empty value is valid, an empty name is not). */
static bool
selector_word_ok(const char *s, size_t n, bool empty_ok)
{
	if (n == 0)
		return empty_ok;
	if (n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.')
			return false;
	return true;
}

/* [prefix/]name with a DNS-subdomain prefix of at most 253. */
static bool
selector_key_ok(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	size_t      p     = slash != NULL ? (size_t)(slash - s) : 0;

	if (slash == NULL)
		return selector_word_ok(s, n, false);
	if (p == 0 || p > 253)
		return false;
	for (size_t i = 0; i < p; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '-' && s[i] != '.')
			return false;
	return selector_word_ok(slash + 1, n - p - 1, false);
}

/* One term, s[0..n), into *t. */
static bool
selector_term(const char *s, size_t n, struct selector_term *t)
{
	const char *eq = memchr(s, '=', n);
	size_t      k = eq != NULL ? (size_t)(eq - s) : n, v = 0;
	const char *val = NULL;

	t->op = SELECTOR_EXISTS;
	if (eq == NULL && n > 0 && s[0] == '!')
		t->op = SELECTOR_ABSENT, s++, n--, k--;
	if (eq != NULL) {
		t->op = k > 0 && s[k - 1] == '!' ? SELECTOR_NE : SELECTOR_EQ;
		val   = eq + 1 + (eq + 1 < s + n && eq[1] == '=' && t->op == SELECTOR_EQ);
		v     = (size_t)(s + n - val);
		k -= t->op == SELECTOR_NE;
		if (!selector_word_ok(val, v, true))
			return false;
	}
	if (!selector_key_ok(s, k))
		return false;
	snprintf(t->key, sizeof(t->key), "%.*s", (int)k, s);
	snprintf(t->value, sizeof(t->value), "%.*s", (int)v, val ? val : "");
	return true;
}

/* Whether t's key is in an earlier term of out. Several key!=value terms
 * exclude several values (there is no "notin"); any other pair on one key
 * contradicts itself or says one thing twice, likely a typo. */
static bool
selector_key_again(const struct selector *out, const struct selector_term *t)
{
	for (size_t i = 0; i < out->n; i++)
		if (strcmp(out->term[i].key, t->key) == 0 &&
		    (out->term[i].op != SELECTOR_NE || t->op != SELECTOR_NE))
			return true;
	return false;
}

chaos_err
selector_parse(const char *text, struct selector *out, chaos_why *why)
{
	const char *s = text != NULL ? text : "";

	memset(out, 0, sizeof(*out));
	while (*s != '\0') {
		size_t n = strcspn(s, ",");
		if (out->n == SELECTOR_MAX_TERMS)
			return chaos_fail(why, CHAOS_EINVAL, "at most %d terms",
			                  SELECTOR_MAX_TERMS);
		if (!selector_term(s, n, &out->term[out->n]))
			return chaos_fail(why, CHAOS_EINVAL, "'%.*s' is not a term; %s",
			                  (int)(n < 80 ? n : 80), s, SELECTOR_ALLOWED);
		if (selector_key_again(out, &out->term[out->n]))
			return chaos_fail(
			    why, CHAOS_EINVAL,
			    "label key '%.80s' is named twice; allowed: each "
			    "key once (key!=value may repeat)",
			    out->term[out->n].key);
		out->n++;
		s += n;
		if (*s == ',' && *++s == '\0')
			return chaos_fail(why, CHAOS_EINVAL, "a trailing comma; %s",
			                  SELECTOR_ALLOWED);
	}
	return CHAOS_OK;
}

static const char *
selector_label(Chaos__V1__Label *const *labels, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (labels[i]->key != NULL && strcmp(labels[i]->key, key) == 0)
			return labels[i]->value != NULL ? labels[i]->value : "";
	return NULL;
}

bool
selector_matches(const struct selector *s, Chaos__V1__Label *const *labels,
                 size_t n_labels)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct selector_term *t = &s->term[i];
		const char                 *v = selector_label(labels, n_labels, t->key);
		bool                        ok;
		switch (t->op) {
		case SELECTOR_EQ:
			ok = v != NULL && strcmp(v, t->value) == 0;
			break;
		case SELECTOR_NE:
			ok = v == NULL || strcmp(v, t->value) != 0;
			break;
		case SELECTOR_EXISTS:
			ok = v != NULL;
			break;
		default:
			ok = v == NULL;
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}
