/* SPDX-License-Identifier: MIT */
/*
 * A scenario's parameters, written once: each row names the flag, the JSON
 * key, the type, the allowed range, the default and the help text, and
 * where the value lands in the scenario's own parameter struct. chaosctl's
 * flag parser (and its YAML reader), the controller's validator and the
 * usage text all read the same rows, and every range check goes through
 * param_check(), so chaosctl and the controller refuse the same value with
 * the same message.
 *
 * Thread safety: the tables are constant; every function is reentrant.
 */
#ifndef CHAOS_CONTROLLER_SCENARIOS_PARAM_H
#define CHAOS_CONTROLLER_SCENARIOS_PARAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/limits.h"

enum param_type {
	PARAM_DOUBLE,   /* double, in [min, max] */
	PARAM_UINT,     /* uint32_t, whole number in [min, max] */
	PARAM_STRING,   /* char[size], up to max characters ("" allowed when min is 0) */
	PARAM_NAME,     /* char[size]: a Kubernetes-style name, "" allowed (= any) */
	PARAM_CHOICE,   /* int: the index of the value in choices ("a|b|c") */
	PARAM_BOOL,     /* bool */
	PARAM_URL,      /* char[size]: an http:// or https:// URL; "{ip}" allowed */
	PARAM_PATH,     /* char[size]: an HTTP path starting with '/' */
	PARAM_GROUPS,   /* json_t *: two lists of pod names (owned; param_free) */
	PARAM_SELECTOR, /* char[size]: a label selector (selector.h), "" = any */
	PARAM_URLS,     /* a list of http(s):// URLs, at most max; the flag repeats */
};

/* Laid out by hand: the comments span lines, and the values stay aligned. */
/* clang-format off */
enum param_flags {
	PARAM_CLI_ONLY = 1 << 0, /* read by chaosctl's finish step, never sent */
	PARAM_NO_FLAG  = 1 << 1, /* JSON/YAML key only, no command-line flag */
	PARAM_SHORTEN  = 1 << 2, /* a duration that continuous orchestration
	                          * shortens unless it is given */
	PARAM_NS       = 1 << 3, /* names a namespace the run touches: checked
	                          * against the controller's allow-list */
	PARAM_RUN      = 1 << 4, /* read by the run manager (stop conditions),
	                          * not stored in the scenario's struct */
};
/* clang-format on */

struct param {
	const char     *flag; /* "--partition-duration" */
	const char     *key;  /* "partition_duration_s" */
	enum param_type type;
	double          min, max; /* number range; for text: its length */
	const char     *dflt;     /* default as text; NULL: none (empty) */
	const char     *choices;  /* PARAM_CHOICE: "connection|latency" */
	const char     *help;
	size_t          off, size; /* where the value goes in the params struct */
	unsigned        flags;     /* enum param_flags */
};

/* Offset and size of member m of struct type T, for a row. */
#define PARAM_AT(T, m) offsetof(T, m), sizeof(((T *)0)->m)

/* Rows every scenario shares, so their ranges and help are written once. */
#define PARAM_ROW_NAMESPACE(T, m)                                                        \
	{                                                                                \
		"--namespace", "namespace", PARAM_NAME, 0, LIMIT_ID_LEN, "", NULL,       \
		    "only targets in this namespace (default: any allowed)",             \
		    PARAM_AT(T, m), PARAM_NS                                             \
	}
#define PARAM_ROW_SELECTOR(T, m, help)                                                   \
	{                                                                                \
		"--selector", "selector", PARAM_SELECTOR, 0, 255, "", NULL, help,        \
		    PARAM_AT(T, m), 0                                                    \
	}
/* Stop conditions, read by the run manager for every scenario (run.c);
 * three rows laid out alike, by hand. */
/* clang-format off */
#define PARAM_ROWS_STOP                                                                  \
	{"--guard", "guards", PARAM_URLS, 0, 8, NULL, NULL,                              \
	 "abort when this URL fails --guard-failures times in a row (repeatable; "       \
	 "healthy = 2xx)",                                                               \
	 0, 0, PARAM_RUN},                                                               \
	{"--guard-failures", "guard_failures", PARAM_UINT, 1, 100, "3", NULL,            \
	 "consecutive failed checks that trip a guard", 0, 0, PARAM_RUN},                \
	{"--abort-error-rate", "abort_error_rate_percent", PARAM_DOUBLE, 0, 100,         \
	 NULL, NULL,                                                                     \
	 "abort when this % of the user-facing requests since the fault "                \
	 "fail (at least 20 counted)",                                                   \
	 0, 0, PARAM_RUN}
/* clang-format on */
#define PARAM_ROW_LEASE(T, m)                                                            \
	{                                                                                \
		"--lease-ms", "lease_ms", PARAM_UINT, LIMIT_LEASE_MIN_MS,                \
		    LIMIT_LEASE_MAX_MS, "3000", NULL,                                    \
		    "agents revert on their own when not renewed for this",              \
		    PARAM_AT(T, m), 0                                                    \
	}
#define PARAM_ROW_WINDOW(T, m)                                                           \
	{                                                                                \
		"--stability-window", "stability_window_s", PARAM_DOUBLE, 0,             \
		    LIMIT_WINDOW_MAX_S, "3", NULL,                                       \
		    "seconds healthy that count as recovered", PARAM_AT(T, m), 0         \
	}
#define PARAM_ROW_RECOVERY_TIMEOUT(T, m)                                                 \
	{                                                                                \
		"--recovery-timeout", "recovery_timeout_s", PARAM_DOUBLE,                \
		    LIMIT_RECOVERY_TIMEOUT_MIN_S, LIMIT_DURATION_MAX_S, "120", NULL,     \
		    "give up waiting for recovery after this many seconds",              \
		    PARAM_AT(T, m), 0                                                    \
	}
#define PARAM_ROW_PROBE_INTERVAL(T, m, dflt, help)                                       \
	{                                                                                \
		"--probe-interval-ms", "probe_interval_ms", PARAM_UINT,                  \
		    LIMIT_PROBE_INTERVAL_MIN_MS, LIMIT_PROBE_INTERVAL_MAX_MS, dflt,      \
		    NULL, help, PARAM_AT(T, m), 0                                        \
	}
#define PARAM_ROW_BASELINE(T, m, dflt)                                                   \
	{                                                                                \
		"--baseline", "baseline_s", PARAM_DOUBLE, 0, LIMIT_DURATION_MAX_S, dflt, \
		    NULL,                                                                \
		    "seconds of probing before the fault (the steady-state check)",      \
		    PARAM_AT(T, m), 0                                                    \
	}
#define PARAM_ROW_END                                                                    \
	{                                                                                \
		NULL, NULL, 0, 0, 0, NULL, NULL, NULL, 0, 0, 0                           \
	}

/* The row with this flag or key; NULL when the table has none. A row with
 * PARAM_NO_FLAG has no flag. */
const struct param *param_by_flag(const struct param *table, const char *flag);
const struct param *param_by_key(const struct param *table, const char *key);

/* Checks one JSON value against its row: type and range. The one place a
 * value is judged: CHAOS_EINVAL with why, e.g. "--partition-duration
 * (partition_duration_s) 0.05: allowed a number in 0.1..86400". */
chaos_err param_check(const struct param *p, const json_t *v, chaos_why *why);

/* Turns a flag's (or a YAML scalar's) text into the JSON value the row
 * takes, then checks it with param_check. *out is new on success. */
chaos_err param_from_text(const struct param *p, const char *text, json_t **out,
                          chaos_why *why);

/* Reads params (a JSON object) into the struct at out, zeroed first:
 * unknown keys and PARAM_CLI_ONLY keys are refused, every value is checked,
 * absent ones take their default. CHAOS_EINVAL with why on the first bad
 * key. On failure nothing is left to free. */
chaos_err param_read(const struct param *table, const json_t *params, void *out,
                     chaos_why *why);

/* Releases what param_read put in the struct (PARAM_GROUPS values). */
void param_free(const struct param *table, void *params);

/* The allowed values of a row as text for usage lines: "0.1..86400",
 * "connection|latency", "an http(s):// URL". */
const char *param_allowed(const struct param *p, char *buf, size_t len);

/* The text of choice index i of a PARAM_CHOICE row into buf; "" when out of
 * range. */
const char *param_choice(const struct param *p, int i, char *buf, size_t len);

/* Which parameters go together. Some are used only by one mode of the
 * scenario (--latency-ms only by --failure-type latency), and some pairs
 * contradict each other (--groups names the sides that --partition-ratio
 * would pick). A rule is judged only for a key the user gave (present in
 * the params object): a default never trips one, while the other key's
 * value is the given one or, when absent, its default. chaosctl (run, and
 * orchestrate after routing its scenario flags) and the controller
 * (run_mgr_start) check the same rules, so both refuse with the same line.
 * (In this file, not one of its own: the controller's run manager calls
 * it, and its library is linked before the scenarios'.) */
enum param_rule_kind {
	PARAM_ONLY_WITH, /* key is used only when other is one of values */
	PARAM_NEEDS,     /* key is used only when other is set (not "") */
	PARAM_EXCLUDES,  /* key and other cannot both be given */
};

struct param_rule {
	const char          *key; /* "connection_mode" */
	enum param_rule_kind kind;
	const char          *other;  /* "failure_type" */
	const char          *values; /* PARAM_ONLY_WITH: "connection" or "a|b" */
};

#define PARAM_RULE_END                                                                   \
	{                                                                                \
		NULL, PARAM_ONLY_WITH, NULL, NULL                                        \
	}

/* Whether key, given in params, is used with the rest of params: CHAOS_OK
 * when it is (or is not given, or no rule names it); CHAOS_ENOENT when the
 * mode the rest chose does not use it ("--connection-mode applies only
 * with --failure-type connection"); CHAOS_EINVAL when it contradicts
 * another given key ("--groups and --partition-ratio cannot be
 * combined; give one of them"). why says which, in one line. rules may be
 * NULL (none). */
chaos_err param_rule_check_key(const struct param *table, const struct param_rule *rules,
                               const json_t *params, const char *key, chaos_why *why);

/* Every given key of params against the rules: CHAOS_EINVAL with why (as
 * above) on the first that does not go with the others. params' values
 * are assumed checked (param_read or param_from_text). */
chaos_err param_rules_check(const struct param *table, const struct param_rule *rules,
                            const json_t *params, chaos_why *why);

/* For usage texts: what the rules say of key ("only with --failure-type
 * latency", "not with --partition-ratio") into buf; "" when nothing. */
const char *param_rule_note(const struct param *table, const struct param_rule *rules,
                            const char *key, char *buf, size_t len);

#endif
