// SPDX-License-Identifier: MIT
#include "controller/scenarios/param.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/flags.h"
#include "common/url.h"
#include "common/wire.h"
#include "controller/scenarios/selector.h"

const struct param *
param_by_flag(const struct param *table, const char *flag)
{
	for (const struct param *p = table; p->key != NULL; p++)
		if (p->flag != NULL && !(p->flags & PARAM_NO_FLAG) &&
		    strcmp(p->flag, flag) == 0)
			return p;
	return NULL;
}

const struct param *
param_by_key(const struct param *table, const char *key)
{
	for (const struct param *p = table; p->key != NULL; p++)
		if (strcmp(p->key, key) == 0)
			return p;
	return NULL;
}

const char *
param_allowed(const struct param *p, char *buf, size_t len)
{
	switch (p->type) {
	case PARAM_DOUBLE:
		snprintf(buf, len, "a number in %g..%g", p->min, p->max);
		break;
	case PARAM_UINT:
		snprintf(buf, len, "a whole number in %.0f..%.0f", p->min, p->max);
		break;
	case PARAM_CHOICE:
		snprintf(buf, len, "%s", p->choices);
		break;
	case PARAM_BOOL:
		snprintf(buf, len, "true or false");
		break;
	case PARAM_NAME:
		snprintf(buf, len, "a name of [A-Za-z0-9._:/-], up to %.0f characters",
		         p->max);
		break;
	case PARAM_URL:
		/* {ip} is a template only where a row's help says so */
		snprintf(buf, len, "an http:// or https:// URL");
		break;
	case PARAM_PATH:
		snprintf(buf, len, "an HTTP path starting with '/'");
		break;
	case PARAM_GROUPS:
		snprintf(buf, len,
		         "two sides of distinct pod names, e.g. "
		         "chain-0,chain-1/chain-2");
		break;
	case PARAM_SELECTOR:
		snprintf(buf, len,
		         "labels: key=value, key!=value, key or !key, comma "
		         "separated");
		break;
	case PARAM_URLS:
		snprintf(buf, len, "an http:// or https:// URL, up to %.0f of them",
		         p->max);
		break;
	default:
		if (p->min > 0)
			snprintf(buf, len, "%.0f..%.0f characters", p->min, p->max);
		else
			snprintf(buf, len, "at most %.0f characters", p->max);
		break;
	}
	return buf;
}

const char *
param_choice(const struct param *p, int i, char *buf, size_t len)
{
	const char *s = p->choices;

	buf[0] = '\0';
	for (int k = 0; s != NULL && *s != '\0'; k++) {
		size_t n = strcspn(s, "|");
		if (k == i) {
			snprintf(buf, len, "%.*s", (int)n, s);
			break;
		}
		s += n + (s[n] == '|');
	}
	return buf;
}

/* Index of v among the choices; -1 when it is not one. */
static int
param_choice_index(const struct param *p, const char *v)
{
	char buf[64];

	for (int i = 0; param_choice(p, i, buf, sizeof(buf))[0] != '\0'; i++)
		if (strcmp(buf, v) == 0)
			return i;
	return -1;
}

/* "--flag (key)", or the key alone for a row without a flag. */
static const char *
param_label(const struct param *p, char *buf, size_t len)
{
	if (p->flag != NULL && !(p->flags & PARAM_NO_FLAG))
		snprintf(buf, len, "%s (%s)", p->flag, p->key);
	else
		snprintf(buf, len, "%s", p->key);
	return buf;
}

static bool
param_text_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A value as a message shows it: quoted, at most 60 characters, and on one
 * line (a control character, e.g. a YAML block's line break, as '?'). */
static const char *
param_shown(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s);

	snprintf(buf, len, "'%.60s%s'", s, n > 60 ? "..." : "");
	for (char *c = buf; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return buf;
}

static chaos_err
param_bad(const struct param *p, const char *shown, chaos_why *why)
{
	char label[128], allowed[128];

	return chaos_fail(why, CHAOS_EINVAL, "%s %s: allowed %s",
	                  param_label(p, label, sizeof(label)), shown,
	                  param_allowed(p, allowed, sizeof(allowed)));
}

static chaos_err
param_check_number(const struct param *p, const json_t *v, chaos_why *why)
{
	char   shown[64];
	double d;

	if (p->type == PARAM_UINT && !json_is_integer(v))
		return param_bad(p, "(not a whole number)", why);
	if (p->type == PARAM_DOUBLE && !json_is_number(v))
		return param_bad(p, "(not a number)", why);
	d = json_number_value(v);
	if (json_is_integer(v))
		snprintf(shown, sizeof(shown), "%lld", (long long)json_integer_value(v));
	else
		snprintf(shown, sizeof(shown), "%g", d);
	if (!isfinite(d) || d < p->min || d > p->max)
		return param_bad(p, shown, why);
	return CHAOS_OK;
}

static chaos_err
param_check_url(const struct param *p, const char *s, chaos_why *why)
{
	char             url[LIMIT_URL_LEN + 32], label[128], shown[96];
	const char      *ip = strstr(s, "{ip}");
	struct url_parts u;
	chaos_why        inner;

	/* a template: judge it with an address in place of {ip} */
	if (ip != NULL)
		snprintf(url, sizeof(url), "%.*s127.0.0.1%s", (int)(ip - s), s, ip + 4);
	else
		snprintf(url, sizeof(url), "%s", s);
	if (url_parse(url, URL_WEB, &u, &inner) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EINVAL, "%s %s: %s",
		                  param_label(p, label, sizeof(label)),
		                  param_shown(s, shown, sizeof(shown)), inner.text);
	return CHAOS_OK;
}

static chaos_err
param_check_selector(const struct param *p, const char *s, chaos_why *why)
{
	struct selector sel;
	chaos_why       inner;
	char            label[128];

	if (selector_parse(s, &sel, &inner) != CHAOS_OK)
		return chaos_fail(why, CHAOS_EINVAL, "%s '%.60s': %s",
		                  param_label(p, label, sizeof(label)), s, inner.text);
	return CHAOS_OK;
}

/* ["http://...", ...]: at most max URLs, each as PARAM_URL judges it. */
static chaos_err
param_check_urls(const struct param *p, const json_t *v, chaos_why *why)
{
	const json_t *u;
	size_t        i;

	if (!json_is_array(v) || json_array_size(v) > p->max)
		return param_bad(p, "(not a list of URLs, or too many)", why);
	json_array_foreach(v, i, u)
	{
		const char *s = json_string_value(u);
		if (s == NULL || strlen(s) >= LIMIT_URL_LEN || !param_text_clean(s))
			return param_bad(p, "(not a URL)", why);
		if (param_check_url(p, s, why) != CHAOS_OK)
			return CHAOS_EINVAL;
	}
	return CHAOS_OK;
}

/* "--groups (groups): <what is wrong>; allowed <what is>": each shape
 * error of a PARAM_GROUPS value says which it is. */
__attribute__((format(printf, 3, 4))) static chaos_err
param_groups_bad(const struct param *p, chaos_why *why, const char *fmt, ...)
{
	char    label[128], allowed[128], what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return chaos_fail(why, CHAOS_EINVAL, "%s: %s; allowed %s",
	                  param_label(p, label, sizeof(label)), what,
	                  param_allowed(p, allowed, sizeof(allowed)));
}

/* Side i (1 or 2): at least one name, each a valid pod name. A side of one
 * empty name is how "a,b/" arrives from the text. */
static chaos_err
param_groups_side(const struct param *p, const json_t *side, size_t i, chaos_why *why)
{
	const json_t *pod;
	const char   *s;
	char          shown[96];
	size_t        k, n = json_array_size(side);

	if (!json_is_array(side))
		return param_groups_bad(p, why, "side %zu is not a list", i);
	s = json_string_value(json_array_get(side, 0));
	if (n == 0 || (n == 1 && s != NULL && s[0] == '\0'))
		return param_groups_bad(p, why, "side %zu is empty", i);
	if (n > LIMIT_REPEATED)
		return param_groups_bad(p, why, "side %zu has %zu names, at most %u", i,
		                        n, LIMIT_REPEATED);
	json_array_foreach(side, k, pod)
	{
		if ((s = json_string_value(pod)) == NULL)
			return param_groups_bad(
			    p, why, "side %zu: a name is not a UTF-8 string", i);
		if (s[0] == '\0')
			return param_groups_bad(p, why, "side %zu has an empty name", i);
		if (wire_check_id(s) != CHAOS_OK)
			return param_groups_bad(p, why, "side %zu: %s is not a pod name",
			                        i, param_shown(s, shown, sizeof(shown)));
	}
	return CHAOS_OK;
}

/* Where the name at (side i, index k) is named again, if anywhere. */
static bool
param_groups_again(const json_t *v, size_t i, size_t k, size_t *side)
{
	const json_t *pod = json_array_get(json_array_get(v, i), k), *other, *o;
	size_t        j, m;

	json_array_foreach(v, j, other) json_array_foreach(other, m, o)
	{
		if ((j > i || (j == i && m > k)) && json_equal(pod, o)) {
			*side = j;
			return true;
		}
	}
	return false;
}

/* [["a","b"],["c"]]: two non-empty sides of distinct valid names. A name
 * on both sides, or twice on one, is a typo, not a plan. */
static chaos_err
param_check_groups(const struct param *p, const json_t *v, chaos_why *why)
{
	const json_t *side, *pod;
	char          shown[96];
	size_t        i, k, again;

	if (!json_is_array(v))
		return param_groups_bad(p, why, "not a list of two sides");
	if (json_array_size(v) != 2)
		return param_groups_bad(p, why, "%zu side%s", json_array_size(v),
		                        json_array_size(v) == 1 ? "" : "s");
	json_array_foreach(v, i, side)
	{
		if (param_groups_side(p, side, i + 1, why) != CHAOS_OK)
			return CHAOS_EINVAL;
	}
	json_array_foreach(v, i, side) json_array_foreach(side, k, pod)
	{
		if (!param_groups_again(v, i, k, &again))
			continue;
		param_shown(json_string_value(pod), shown, sizeof(shown));
		return again != i
		    ? param_groups_bad(p, why, "%s is on both sides", shown)
		    : param_groups_bad(p, why, "%s is twice on side %zu", shown, i + 1);
	}
	return CHAOS_OK;
}

static chaos_err
param_check_text(const struct param *p, const json_t *v, chaos_why *why)
{
	const char *s = json_string_value(v);
	char        shown[96];
	size_t      n;

	if (s == NULL)
		return param_bad(p, "(not a string)", why);
	n = strlen(s);
	param_shown(s, shown, sizeof(shown));
	if (n > p->max || !param_text_clean(s))
		return param_bad(p, shown, why);
	switch (p->type) {
	case PARAM_NAME:
		return n == 0 || wire_check_id(s) == CHAOS_OK ? CHAOS_OK
		                                              : param_bad(p, shown, why);
	case PARAM_CHOICE:
		return param_choice_index(p, s) >= 0 ? CHAOS_OK
		                                     : param_bad(p, shown, why);
	case PARAM_URL:
		return n == 0 && p->min == 0 ? CHAOS_OK : param_check_url(p, s, why);
	case PARAM_PATH:
		return s[0] == '/' && strchr(s, ' ') == NULL ? CHAOS_OK
		                                             : param_bad(p, shown, why);
	case PARAM_SELECTOR:
		return param_check_selector(p, s, why);
	default:
		return (double)n >= p->min ? CHAOS_OK : param_bad(p, shown, why);
	}
}

chaos_err
param_check(const struct param *p, const json_t *v, chaos_why *why)
{
	switch (p->type) {
	case PARAM_DOUBLE:
	case PARAM_UINT:
		return param_check_number(p, v, why);
	case PARAM_BOOL:
		return json_is_boolean(v) ? CHAOS_OK
		                          : param_bad(p, "(not true/false)", why);
	case PARAM_GROUPS:
		return param_check_groups(p, v, why);
	case PARAM_URLS:
		return param_check_urls(p, v, why);
	default:
		return param_check_text(p, v, why);
	}
}

/* "a,b/c,d" -> [["a","b"],["c","d"]]: split at '/' and ','; whether that
 * is two sides of good names is param_check's to say. */
static json_t *
param_groups_from_text(const char *s)
{
	json_t *groups = json_array(), *side = json_array();

	for (const char *c = s;; c++) {
		size_t  n    = strcspn(c, ",/");
		json_t *name = json_stringn(c, n);
		/* not UTF-8: kept as null, for param_check to name the side */
		json_array_append_new(side, name != NULL ? name : json_null());
		c += n;
		if (*c == ',')
			continue;
		json_array_append_new(groups, side);
		if (*c == '\0')
			break;
		side = json_array();
	}
	return groups;
}

/* The text as the JSON value of the row's type; NULL when it does not
 * parse as that type at all (a range is judged later, by param_check). */
/* A decimal integer, optionally signed, nothing else. */
static chaos_err
param_parse_int(const char *s, json_int_t *out)
{
	char     *end;
	long long v;

	if (s == NULL || !((*s >= '0' && *s <= '9') || *s == '-'))
		return CHAOS_EINVAL;
	errno = 0;
	v     = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return CHAOS_EINVAL;
	*out = (json_int_t)v;
	return CHAOS_OK;
}

static json_t *
param_value_of(const struct param *p, const char *text)
{
	json_int_t i;
	double     d;

	switch (p->type) {
	case PARAM_DOUBLE:
		return flags_parse_double(text, -HUGE_VAL, HUGE_VAL, &d) == CHAOS_OK
		    ? json_real(d)
		    : NULL;
	case PARAM_UINT:
		/* any whole number, so that a negative or too large one is judged
		 * by param_check, in the words the controller would use */
		return param_parse_int(text, &i) == CHAOS_OK ? json_integer(i) : NULL;
	case PARAM_BOOL:
		return strcmp(text, "true") == 0 ? json_true()
		    : strcmp(text, "false") == 0 ? json_false()
		                                 : NULL;
	case PARAM_GROUPS:
		return param_groups_from_text(text);
	case PARAM_URLS:
		return json_pack("[s]", text);
	default:
		return json_string(text);
	}
}

chaos_err
param_from_text(const struct param *p, const char *text, json_t **out, chaos_why *why)
{
	json_t   *v = text != NULL ? param_value_of(p, text) : NULL;
	char      shown[96];
	chaos_err rv;

	if (v == NULL) {
		param_shown(text != NULL ? text : "", shown, sizeof(shown));
		return param_bad(p, shown, why);
	}
	if ((rv = param_check(p, v, why)) != CHAOS_OK) {
		json_decref(v);
		return rv;
	}
	*out = v;
	return CHAOS_OK;
}

/* Writes a checked value into the struct. */
static void
param_store(const struct param *p, const json_t *v, void *out)
{
	char *at = (char *)out + p->off;

	if (p->flags & PARAM_RUN)
		return; /* the run manager's, not the scenario's */
	switch (p->type) {
	case PARAM_DOUBLE:
		*(double *)(void *)at = json_number_value(v);
		break;
	case PARAM_UINT:
		*(uint32_t *)(void *)at = (uint32_t)json_integer_value(v);
		break;
	case PARAM_BOOL:
		*(bool *)(void *)at = json_is_true(v);
		break;
	case PARAM_CHOICE:
		*(int *)(void *)at = param_choice_index(p, json_string_value(v));
		break;
	case PARAM_GROUPS:
		*(json_t **)(void *)at = json_incref((json_t *)v);
		break;
	default:
		snprintf(at, p->size, "%s", json_string_value(v));
		break;
	}
}

static chaos_err
param_unknown(const struct param *table, const char *key, chaos_why *why)
{
	char   keys[1024] = "";
	size_t n          = 0;

	for (const struct param *p = table; p->key != NULL && n < sizeof(keys); p++)
		if (!(p->flags & PARAM_CLI_ONLY))
			n += (size_t)snprintf(keys + n, sizeof(keys) - n, "%s%s",
			                      n ? ", " : "", p->key);
	return chaos_fail(why, CHAOS_EINVAL, "unknown parameter '%s'; allowed: %s", key,
	                  keys);
}

/* The value of row p: the given one, or its default. */
static chaos_err
param_read_one(const struct param *p, const json_t *given, void *out, chaos_why *why)
{
	json_t   *dflt = NULL;
	chaos_err rv;

	if (given != NULL) {
		if ((rv = param_check(p, given, why)) == CHAOS_OK)
			param_store(p, given, out);
		return rv;
	}
	if (p->dflt == NULL)
		return CHAOS_OK; /* zero: "", 0, false, first choice, no groups */
	if ((rv = param_from_text(p, p->dflt, &dflt, why)) != CHAOS_OK)
		return chaos_fail_prefix(why, rv, "default of %s", p->key);
	param_store(p, dflt, out);
	json_decref(dflt);
	return CHAOS_OK;
}

chaos_err
param_read(const struct param *table, const json_t *params, void *out, chaos_why *why)
{
	const char         *key;
	const json_t       *v;
	const struct param *p;
	chaos_err           rv = CHAOS_OK;

	if (!json_is_object(params))
		return chaos_fail(why, CHAOS_EINVAL, "parameters must be a JSON object");
	json_object_foreach((json_t *)params, key, v)
	{
		p = param_by_key(table, key);
		if (p == NULL || (p->flags & PARAM_CLI_ONLY))
			return param_unknown(table, key, why);
	}
	for (p = table; p->key != NULL && rv == CHAOS_OK; p++)
		if (!(p->flags & PARAM_CLI_ONLY))
			rv = param_read_one(p, json_object_get(params, p->key), out, why);
	if (rv != CHAOS_OK)
		param_free(table, out);
	return rv;
}

void
param_free(const struct param *table, void *params)
{
	for (const struct param *p = table; p->key != NULL; p++)
		if (p->type == PARAM_GROUPS) {
			json_t **at = (json_t **)(void *)((char *)params + p->off);
			json_decref(*at);
			*at = NULL;
		}
}

/* ---- which given parameters go together ---- */

/* How messages name a key: its flag, or the key for a row without one. */
static const char *
rule_name(const struct param *table, const char *key)
{
	const struct param *p = param_by_key(table, key);

	return p != NULL && p->flag != NULL && !(p->flags & PARAM_NO_FLAG) ? p->flag
	                                                                   : key;
}

/* The value of key as text: the given one, else its default, else (a
 * choice) its first choice, which is what param_read stores then. */
static const char *
rule_value(const struct param *table, const json_t *params, const char *key, char *buf,
           size_t len)
{
	const struct param *p = param_by_key(table, key);
	const char         *s = json_string_value(json_object_get(params, key));

	if (s != NULL)
		return s;
	if (p != NULL && p->dflt != NULL)
		return p->dflt;
	if (p != NULL && p->type == PARAM_CHOICE)
		return param_choice(p, 0, buf, len);
	return "";
}

/* Whether key is set: given other than "", or with a default other than "". */
static bool
rule_is_set(const struct param *table, const json_t *params, const char *key)
{
	const struct param *p = param_by_key(table, key);
	const json_t       *v = json_object_get(params, key);

	if (v != NULL)
		return !json_is_string(v) || json_string_value(v)[0] != '\0';
	return p != NULL && p->dflt != NULL && p->dflt[0] != '\0';
}

/* Whether v is one of "a|b|c". */
static bool
rule_one_of(const char *values, const char *v)
{
	size_t n = strlen(v);

	for (const char *s = values; *s != '\0';) {
		size_t k = strcspn(s, "|");
		if (k == n && strncmp(s, v, n) == 0)
			return true;
		s += k + (s[k] == '|');
	}
	return false;
}

/* "a|b" as "a or b", for messages. */
static const char *
rule_values_text(const char *values, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (const char *s = values; *s != '\0' && n < len;) {
		size_t k = strcspn(s, "|");
		n += (size_t)snprintf(buf + n, len - n, "%s%.*s", n ? " or " : "", (int)k,
		                      s);
		s += k + (s[k] == '|');
	}
	return buf;
}

/* One rule that names key, judged with params. */
static chaos_err
rule_judge(const struct param *table, const struct param_rule *r, const json_t *params,
           const char *key, chaos_why *why)
{
	char        buf[64], values[128];
	const char *other;

	if (r->kind == PARAM_EXCLUDES) {
		other = strcmp(r->key, key) == 0 ? r->other : r->key;
		if (json_object_get(params, other) == NULL)
			return CHAOS_OK;
		return chaos_fail(why, CHAOS_EINVAL,
		                  "%s and %s cannot be combined; give one of them",
		                  rule_name(table, r->key), rule_name(table, r->other));
	}
	if (strcmp(r->key, key) != 0)
		return CHAOS_OK;
	if (r->kind == PARAM_NEEDS)
		return rule_is_set(table, params, r->other)
		    ? CHAOS_OK
		    : chaos_fail(why, CHAOS_ENOENT, "%s applies only with %s",
		                 rule_name(table, key), rule_name(table, r->other));
	if (rule_one_of(r->values, rule_value(table, params, r->other, buf, sizeof(buf))))
		return CHAOS_OK;
	return chaos_fail(why, CHAOS_ENOENT, "%s applies only with %s %s",
	                  rule_name(table, key), rule_name(table, r->other),
	                  rule_values_text(r->values, values, sizeof(values)));
}

chaos_err
param_rule_check_key(const struct param *table, const struct param_rule *rules,
                     const json_t *params, const char *key, chaos_why *why)
{
	chaos_err rv;

	if (rules == NULL || json_object_get(params, key) == NULL)
		return CHAOS_OK;
	for (const struct param_rule *r = rules; r->key != NULL; r++)
		if ((strcmp(r->key, key) == 0 || strcmp(r->other, key) == 0) &&
		    (rv = rule_judge(table, r, params, key, why)) != CHAOS_OK)
			return rv;
	return CHAOS_OK;
}

chaos_err
param_rules_check(const struct param *table, const struct param_rule *rules,
                  const json_t *params, chaos_why *why)
{
	/* in the table's order, so that the first complaint is always the same */
	for (const struct param *p = table; p->key != NULL; p++)
		if (param_rule_check_key(table, rules, params, p->key, why) != CHAOS_OK)
			return CHAOS_EINVAL;
	return CHAOS_OK;
}

const char *
param_rule_note(const struct param *table, const struct param_rule *rules,
                const char *key, char *buf, size_t len)
{
	char   values[128];
	size_t n = 0;

	buf[0] = '\0';
	for (const struct param_rule *r = rules; r != NULL && r->key != NULL && n < len;
	     r++) {
		const char *sep = n ? "; " : "";
		if (r->kind == PARAM_EXCLUDES && strcmp(r->other, key) == 0)
			n += (size_t)snprintf(buf + n, len - n, "%snot with %s", sep,
			                      rule_name(table, r->key));
		if (strcmp(r->key, key) != 0)
			continue;
		if (r->kind == PARAM_EXCLUDES)
			n += (size_t)snprintf(buf + n, len - n, "%snot with %s", sep,
			                      rule_name(table, r->other));
		else
			n += (size_t)snprintf(
			    buf + n, len - n, "%sonly with %s%s%s", sep,
			    rule_name(table, r->other), r->kind == PARAM_NEEDS ? "" : " ",
			    r->kind == PARAM_NEEDS
			        ? ""
			        : rule_values_text(r->values, values, sizeof(values)));
	}
	return buf;
}
