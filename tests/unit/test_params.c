// SPDX-License-Identifier: MIT
/*
 * A scenario parameter's range is written once (its row in the scenario's
 * table): for every parameter of every scenario, an out-of-range or
 * malformed value is refused by chaosctl's flag parser and by the
 * controller's run manager with the same message. The controller side goes
 * through run_mgr_start() exactly as a RunRequest from the network would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/limits.h"
#include "controller/chaosctl/flags.h"
#include "controller/registry.h"
#include "controller/run.h"
#include "controller/scenarios/param.h"
#include "controller/scenarios/scenario.h"

struct fix {
	struct registry *reg;
	struct run_mgr  *runs;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(registry_new(1000, 16, &f->reg), CHAOS_OK);
	assert_int_equal(run_mgr_new(f->reg, scenario_list, NULL, &f->runs), CHAOS_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	run_mgr_free(f->runs);
	registry_free(f->reg);
	free(f);
	return 0;
}

/* One bad value for a row: its text for the flag, its JSON for the
 * controller (built here, not by the code under test). */
struct bad {
	char    text[LIMIT_URL_LEN + 8];
	json_t *json;
};

static size_t
bad_numbers(const struct param *p, struct bad *out)
{
	double v[2] = {p->min - 1, p->max + 1};

	for (int i = 0; i < 2; i++) {
		if (p->type == PARAM_UINT) {
			snprintf(out[i].text, sizeof(out[i].text), "%.0f", v[i]);
			out[i].json = json_integer((json_int_t)v[i]);
		} else {
			snprintf(out[i].text, sizeof(out[i].text), "%.17g", v[i]);
			out[i].json = json_real(strtod(out[i].text, NULL));
		}
	}
	return 2;
}

static size_t
bad_text(const struct param *p, struct bad *out)
{
	size_t n = 0;

	switch (p->type) {
	case PARAM_CHOICE:
		snprintf(out[n++].text, sizeof(out[0].text), "bogus");
		break;
	case PARAM_PATH:
		snprintf(out[n++].text, sizeof(out[0].text), "noslash");
		break;
	case PARAM_URL:
		snprintf(out[n++].text, sizeof(out[0].text), "ftp://x");
		snprintf(out[n++].text, sizeof(out[0].text), "notaurl");
		break;
	case PARAM_NAME:
		snprintf(out[n++].text, sizeof(out[0].text), "Bad Name!");
		break;
	default:
		break;
	}
	/* one character over the row's length limit */
	memset(out[n].text, 'x', (size_t)p->max + 1);
	out[n++].text[(size_t)p->max + 1] = '\0';
	for (size_t i = 0; i < n; i++)
		out[i].json = json_string(out[i].text);
	return n;
}

static size_t
bad_values(const struct param *p, struct bad *out)
{
	switch (p->type) {
	case PARAM_DOUBLE:
	case PARAM_UINT:
		return bad_numbers(p, out);
	case PARAM_GROUPS:
		snprintf(out[0].text, sizeof(out[0].text), "chain-0");
		out[0].json = json_pack("[[s]]", "chain-0");
		snprintf(out[1].text, sizeof(out[1].text), "a/a");
		out[1].json = json_pack("[[s],[s]]", "a", "a");
		return 2;
	case PARAM_URLS:
		/* a flag gives one URL; the controller gets the list */
		snprintf(out[0].text, sizeof(out[0].text), "ftp://x/");
		out[0].json = json_pack("[s]", "ftp://x/");
		snprintf(out[1].text, sizeof(out[1].text), "notaurl");
		out[1].json = json_pack("[s]", "notaurl");
		return 2;
	case PARAM_BOOL:
		return 0; /* no range: true or false */
	default:
		return bad_text(p, out);
	}
}

static void
cli_message(const struct scenario *sc, const struct param *p, const char *text,
            chaos_why *why)
{
	char             *argv[] = {(char *)sc->cli, (char *)p->flag, (char *)text};
	json_t           *params = NULL;
	struct cli_common c;

	if (cli_parse(sc, 3, argv, &params, &c, why) != CLI_USAGE)
		fail_msg("%s %s '%.40s' accepted by chaosctl", sc->cli, p->flag, text);
	json_decref(params);
}

static void
controller_message(struct run_mgr *m, const struct scenario *sc, const struct param *p,
                   json_t *value, char *out, size_t len)
{
	Chaos__V1__RunRequest      req    = CHAOS__V1__RUN_REQUEST__INIT;
	Chaos__V1__ControlResponse resp   = CHAOS__V1__CONTROL_RESPONSE__INIT;
	json_t                    *params = json_object();
	char                      *text;

	json_object_set(params, p->key, value);
	text            = json_dumps(params, JSON_COMPACT | JSON_ENCODE_ANY);
	req.scenario    = (char *)sc->name;
	req.params_json = text;
	run_mgr_start(m, &req, &resp);
	if (resp.error == NULL ||
	    resp.run_state != CHAOS__V1__RUN_STATE__RUN_STATE_REFUSED)
		fail_msg("%s %s accepted by the controller", sc->name, p->key);
	snprintf(out, len, "%s", resp.error);
	run_mgr_resp_free(&resp);
	free(text);
	json_decref(params);
}

static void
test_every_bad_value_gets_the_same_message_from_cli_and_controller(void **state)
{
	struct fix *f       = *state;
	size_t      checked = 0;

	for (size_t s = 0; scenario_list[s] != NULL; s++) {
		const struct scenario *sc = scenario_list[s];
		for (const struct param *p = sc->params; p->key != NULL; p++) {
			struct bad bad[4];
			size_t     n;
			if (p->flags & (PARAM_NO_FLAG | PARAM_CLI_ONLY))
				continue;
			n = bad_values(p, bad);
			for (size_t i = 0; i < n; i++) {
				chaos_why cli = {{0}};
				char      ctl[CHAOS_WHY_LEN];
				cli_message(sc, p, bad[i].text, &cli);
				controller_message(f->runs, sc, p, bad[i].json, ctl,
				                   sizeof(ctl));
				if (strcmp(cli.text, ctl) != 0)
					fail_msg("%s %s '%.40s':\n  chaosctl:   %s\n  "
					         "controller: %s",
					         sc->cli, p->flag, bad[i].text, cli.text,
					         ctl);
				assert_non_null(strstr(cli.text, p->flag));
				assert_non_null(strstr(cli.text, "allowed"));
				json_decref(bad[i].json);
				checked++;
			}
		}
	}
	/* every scenario has several bounded parameters */
	assert_true(checked >= 40);
}

static void
test_the_default_of_every_parameter_is_allowed(void **state)
{
	(void)state;
	for (size_t s = 0; scenario_list[s] != NULL; s++) {
		const struct scenario *sc   = scenario_list[s];
		void                  *out  = calloc(1, sc->params_size);
		chaos_why              why  = {{0}};
		json_t                *none = json_object();
		assert_non_null(out);
		if (param_read(sc->params, none, out, &why) != CHAOS_OK)
			fail_msg("%s: defaults refused: %s", sc->cli, why.text);
		param_free(sc->params, out);
		free(out);
		json_decref(none);
	}
}

static void
test_unknown_and_cli_only_keys_are_refused_by_the_controller(void **state)
{
	const struct scenario *db  = scenario_find("database");
	void                  *out = calloc(1, db->params_size);
	chaos_why              why = {{0}};
	json_t                *p   = json_pack("{s:s}", "dsn_file", "/x");

	(void)state;
	assert_non_null(db);
	assert_int_equal(param_read(db->params, p, out, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "unknown parameter 'dsn_file'"));
	json_decref(p);
	p = json_pack("{s:i}", "bogus", 1);
	assert_int_equal(param_read(db->params, p, out, &why), CHAOS_EINVAL);
	assert_non_null(
	    strstr(why.text, "unknown parameter 'bogus'; allowed: namespace"));
	json_decref(p);
	free(out);
}

static void
test_lease_rows_use_the_shared_limits(void **state)
{
	(void)state;
	for (size_t s = 0; scenario_list[s] != NULL; s++) {
		const struct param *p =
		    param_by_key(scenario_list[s]->params, "lease_ms");
		assert_non_null(p);
		assert_true(p->min == LIMIT_LEASE_MIN_MS);
		assert_true(p->max == LIMIT_LEASE_MAX_MS);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_every_bad_value_gets_the_same_message_from_cli_and_controller, setup,
	        teardown),
	    cmocka_unit_test(test_the_default_of_every_parameter_is_allowed),
	    cmocka_unit_test(
	        test_unknown_and_cli_only_keys_are_refused_by_the_controller),
	    cmocka_unit_test(test_lease_rows_use_the_shared_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
