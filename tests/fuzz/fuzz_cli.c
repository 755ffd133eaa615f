// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for what a person types at chaosctl and what a client
 * sends the controller as a run's parameters: cli_parse()
 * (controller/chaosctl/flags.c) over every scenario of scenario_list, and
 * param_from_text() / param_read() / param_rules_check()
 * (controller/scenarios/param.c).
 *
 * Input: byte 0 picks the scenario (byte / 4) and the mode (byte % 4):
 *   0, 3  argv: the rest split at NUL bytes into argv[1..] for cli_parse
 *   1     JSON: the rest is a run's params_json for param_read
 *   2     text: byte 1 picks a row of the table, the rest (up to a NUL)
 *         is that flag's value for param_from_text
 * Beyond "no crash, no leak": what chaosctl accepts the controller accepts
 * too (cli_parse's params pass param_read), every accepted value lands in
 * the parameter struct unchanged (no truncation, the right choice), and
 * every refusal says why and leaves nothing to free.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/chaosctl/flags.h"
#include "controller/scenarios/param.h"
#include "controller/scenarios/scenario.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ARGS 64

static size_t
fuzz_count(const void *const *list)
{
	size_t n = 0;

	while (list[n] != NULL)
		n++;
	return n;
}

static size_t
fuzz_rows(const struct param *table)
{
	size_t n = 0;

	while (table[n].key != NULL)
		n++;
	return n;
}

/* The value row p stored at at equals v (a checked value or its default). */
static void
fuzz_check_stored(const struct param *p, const json_t *v, const char *at)
{
	char choice[64];

	switch (p->type) {
	case PARAM_DOUBLE:
		fuzz_require(*(const double *)(const void *)at == json_number_value(v));
		break;
	case PARAM_UINT:
		fuzz_require(*(const uint32_t *)(const void *)at ==
		             json_integer_value(v));
		break;
	case PARAM_BOOL:
		fuzz_require(*(const bool *)(const void *)at == json_is_true(v));
		break;
	case PARAM_CHOICE:
		param_choice(p, *(const int *)(const void *)at, choice, sizeof(choice));
		fuzz_require(strcmp(choice, json_string_value(v)) == 0);
		break;
	case PARAM_GROUPS:
		fuzz_require(json_equal(*(json_t *const *)(const void *)at, (json_t *)v));
		break;
	default: /* text: whole, NUL-terminated inside its array */
		fuzz_require(memchr(at, '\0', p->size) != NULL);
		fuzz_require(strcmp(at, json_string_value(v)) == 0);
		break;
	}
}

/* After a good param_read: every row holds the given value or its default
 * (zero when it has none). */
static void
fuzz_check_struct(const struct param *table, const json_t *params, const char *out)
{
	for (const struct param *p = table; p->key != NULL; p++) {
		const json_t *v    = json_object_get(params, p->key);
		json_t       *dflt = NULL;

		/* CLI-only rows never reach the controller; run-manager rows
		 * (stop conditions) are read from the JSON, not stored */
		if (p->flags & (PARAM_CLI_ONLY | PARAM_RUN))
			continue;
		if (v == NULL && p->dflt == NULL) {
			for (size_t i = 0; i < p->size; i++)
				fuzz_require(out[p->off + i] == 0);
			continue;
		}
		if (v == NULL) {
			fuzz_require(param_from_text(p, p->dflt, &dflt, NULL) ==
			             CHAOS_OK);
			v = dflt;
		}
		fuzz_check_stored(p, v, out + p->off);
		json_decref(dflt);
	}
}

/* After param_read or param_free: no PARAM_GROUPS value left to free. */
static void
fuzz_check_released(const struct param *table, const char *out)
{
	for (const struct param *p = table; p->key != NULL; p++)
		if (p->type == PARAM_GROUPS)
			fuzz_require(*(json_t *const *)(const void *)(out + p->off) ==
			             NULL);
}

/* param_read on params into an exact-size struct (ASan sees any write past
 * it), then the checks above. Returns param_read's verdict. */
static chaos_err
fuzz_read(const struct scenario *sc, const json_t *params)
{
	char     *out = calloc(1, sc->params_size);
	chaos_why why = {{0}};
	chaos_err rv;

	if (out == NULL)
		return CHAOS_ENOMEM;
	rv = param_read(sc->params, params, out, &why);
	if (rv == CHAOS_OK) {
		chaos_why rule = {{0}};
		chaos_err rr   = param_rules_check(sc->params, sc->rules, params, &rule);
		/* which given keys go together: a verdict, and a reason in one line */
		fuzz_require(rr == CHAOS_OK ||
		             (rr == CHAOS_EINVAL && rule.text[0] != '\0' &&
		              strchr(rule.text, '\n') == NULL));
		fuzz_check_struct(sc->params, params, out);
		param_free(sc->params, out);
	} else {
		fuzz_require(rv == CHAOS_EINVAL && why.text[0] != '\0');
	}
	fuzz_check_released(sc->params, out);
	free(out);
	return rv;
}

/* Mode argv. */
static void
fuzz_argv(const struct scenario *sc, char *text, size_t len)
{
	char             *argv[FUZZ_MAX_ARGS + 1] = {(char *)sc->cli};
	int               argc                    = 1;
	json_t           *params                  = NULL;
	struct cli_common common;
	chaos_why         why = {{0}};
	const char       *key;
	json_t           *v;
	void             *tmp;

	for (size_t i = 0; i < len && argc < FUZZ_MAX_ARGS; i += strlen(text + i) + 1)
		argv[argc++] = text + i;
	switch (cli_parse(sc, argc, argv, &params, &common, &why)) {
	case CLI_OK:
		break;
	case CLI_HELP:
		fuzz_require(params == NULL);
		return;
	default:
		fuzz_require(params == NULL && why.text[0] != '\0');
		return;
	}
	fuzz_require(json_is_object(params) && common.output != NULL);
	json_object_foreach_safe(params, tmp, key, v)
	{
		const struct param *p = param_by_key(sc->params, key);

		fuzz_require(p != NULL && !(p->flags & PARAM_NO_FLAG));
		fuzz_require(param_check(p, v, NULL) == CHAOS_OK);
		/* chaosctl's finish step turns these into sent keys */
		if (p->flags & PARAM_CLI_ONLY)
			json_object_del(params, key);
	}
	fuzz_require(fuzz_read(sc, params) == CHAOS_OK);
	json_decref(params);
}

/* Mode text. */
static void
fuzz_text(const struct scenario *sc, const char *text, uint8_t row)
{
	const struct param *p   = &sc->params[row % fuzz_rows(sc->params)];
	json_t             *v   = NULL, *obj;
	chaos_why           why = {{0}};

	if (param_from_text(p, text, &v, &why) != CHAOS_OK) {
		fuzz_require(v == NULL && why.text[0] != '\0');
		return;
	}
	fuzz_require(param_check(p, v, NULL) == CHAOS_OK);
	if (json_is_string(v))
		fuzz_require(strcmp(json_string_value(v), text) == 0);
	/* sent as the only key, the controller takes it, unless chaosctl
	 * never sends it */
	if (!(p->flags & PARAM_CLI_ONLY)) {
		obj = json_object();
		json_object_set(obj, p->key, v);
		fuzz_require(fuzz_read(sc, obj) == CHAOS_OK);
		json_decref(obj);
	}
	json_decref(v);
}

/* Mode JSON: whatever the bytes parse to, param_read must judge it. */
static void
fuzz_json(const struct scenario *sc, const char *text, size_t len)
{
	json_t *params = json_loadb(text, len, JSON_DECODE_ANY, NULL);

	if (params != NULL)
		fuzz_read(sc, params);
	json_decref(params);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool            quiet;
	const struct scenario *sc;
	char                  *text;
	size_t                 n_sc = fuzz_count((const void *const *)scenario_list);

	/* --help prints the usage: keep it out of the fuzzer's output */
	if (!quiet)
		quiet = freopen("/dev/null", "w", stdout) != NULL;
	if (size < 2)
		return 0;
	sc = scenario_list[(data[0] / 4) % n_sc];
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 1:
		fuzz_json(sc, text, size - 1);
		break;
	case 2:
		fuzz_text(sc, text + 1, data[1]);
		break;
	default:
		fuzz_argv(sc, text, size - 1);
		break;
	}
	free(text);
	return 0;
}
