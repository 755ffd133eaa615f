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
#include <unistd.h>

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
		if (param_read(sc->params, none, out, &why) != CHAOS_OK ||
		    param_rules_check(sc->params, sc->rules, none, &why) != CHAOS_OK)
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

/* argv words of `chaosctl run <cli> ...` through chaosctl's checks: the
 * flags, the finish step, the rules; CLI_OK or CLI_USAGE with why. The
 * params the controller would get are left in *sent (NULL on CLI_USAGE
 * from the flags). */
static enum cli_result
cli_run(const struct scenario *sc, const char *words, json_t **sent, chaos_why *why)
{
	char             *argv[16] = {(char *)sc->cli}, buf[256], *save = NULL;
	int               argc = 1;
	struct cli_common c;

	*sent = NULL;
	snprintf(buf, sizeof(buf), "%s", words);
	for (char *w = strtok_r(buf, " ", &save); w != NULL && argc < 16;
	     w       = strtok_r(NULL, " ", &save))
                argv[argc++] = w;
	if (cli_parse(sc, argc, argv, sent, &c, why) != CLI_OK)
		return CLI_USAGE;
	return cli_finish(sc, *sent, why) == CHAOS_OK ? CLI_OK : CLI_USAGE;
}

/* The controller's answer to params: its error, "" when it took them. */
static void
controller_answer(struct run_mgr *m, const struct scenario *sc, const json_t *params,
                  char *out, size_t len)
{
	Chaos__V1__RunRequest      req  = CHAOS__V1__RUN_REQUEST__INIT;
	Chaos__V1__ControlResponse resp = CHAOS__V1__CONTROL_RESPONSE__INIT;
	char                      *text = json_dumps(params, JSON_COMPACT);

	req.scenario    = (char *)sc->name;
	req.params_json = text;
	req.has_dry_run = req.dry_run = true;
	run_mgr_start(m, &req, &resp);
	snprintf(out, len, "%s",
	         resp.run_state == CHAOS__V1__RUN_STATE__RUN_STATE_REFUSED && resp.error
	             ? resp.error
	             : "");
	run_mgr_resp_free(&resp);
	free(text);
}

/* A flag that the chosen mode does not use, or that contradicts another,
 * is refused, by chaosctl before anything is sent and by the controller
 * when another client sends it, with the same one line. */
static void
test_a_flag_the_mode_does_not_use_is_refused_by_cli_and_controller(void **state)
{
	static const struct {
		const char *cli, *words, *want;
	} cases[] = {
	    {"database", "--failure-type latency --connection-mode drop",
	     "--connection-mode applies only with --failure-type connection"},
	    {"database", "--failure-type connection --latency-ms 100",
	     "--latency-ms applies only with --failure-type latency"},
	    /* the default type is connection */
	    {"database", "--jitter-ms 10",
	     "--jitter-ms applies only with --failure-type latency"},
	    {"coordinator", "--method kill --outage-duration 5",
	     "--outage-duration applies only with --method blackhole"},
	    {"coordinator",
	     "--method pod-delete --kube-api https://k:6443 --outage-duration 5",
	     "--outage-duration applies only with --method blackhole"},
	    {"coordinator", "--method blackhole --process-name x",
	     "--process-name applies only with --method kill"},
	    {"coordinator", "--method blackhole --kube-namespace ns",
	     "--kube-namespace applies only with --method pod-delete"},
	    {"coordinator", "--method kill --kube-api https://k:6443",
	     "--kube-api applies only with --method pod-delete"},
	    {"coordinator", "--method kill --kube-token-file /t",
	     "--kube-token-file applies only with --method pod-delete"},
	    {"coordinator", "--method kill --kube-ca /ca",
	     "--kube-ca applies only with --method pod-delete"},
	    {"network", "--groups a,b/c,d --partition-ratio 0.3",
	     "--groups and --partition-ratio cannot be combined; give one of them"},
	    {"network", "--partition-ratio 0.3 --groups a/b",
	     "--groups and --partition-ratio cannot be combined; give one of them"},
	    {"network", "--stall-window 5",
	     "--stall-window applies only with --probe-field"},
	};
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct scenario *sc  = scenario_find(cases[i].cli);
		chaos_why              why = {{0}};
		json_t                *sent;
		char                   ctl[CHAOS_WHY_LEN];
		assert_non_null(sc);
		if (cli_run(sc, cases[i].words, &sent, &why) != CLI_USAGE)
			fail_msg("run %s %s: accepted by chaosctl", cases[i].cli,
			         cases[i].words);
		if (strcmp(why.text, cases[i].want) != 0)
			fail_msg("run %s %s:\n  got    %s\n  wanted %s", cases[i].cli,
			         cases[i].words, why.text, cases[i].want);
		/* what chaosctl would have sent, from another client */
		controller_answer(f->runs, sc, sent, ctl, sizeof(ctl));
		if (strcmp(ctl, cases[i].want) != 0)
			fail_msg("run %s %s: the controller said '%s'", cases[i].cli,
			         cases[i].words, ctl);
		json_decref(sent);
	}
	/* the key without a flag is named by its key */
	{
		const struct scenario *co = scenario_find("coordinator");
		json_t                *sent =
		    json_pack("{s:s,s:b}", "method", "blackhole", "kube_allow_http", 1);
		char ctl[CHAOS_WHY_LEN];
		controller_answer(f->runs, co, sent, ctl, sizeof(ctl));
		assert_string_equal(
		    ctl, "kube_allow_http applies only with --method pod-delete");
		json_decref(sent);
	}
}

/* The same flags in the mode that uses them, and the defaults alone, pass
 * chaosctl's checks and the controller's. */
static void
test_flags_in_the_mode_that_uses_them_are_accepted(void **state)
{
	static const struct {
		const char *cli, *words;
	} cases[] = {
	    {"database", ""},
	    {"database", "--failure-type connection --connection-mode drop"},
	    {"database", "--failure-type latency --latency-ms 100 --jitter-ms 10"},
	    {"coordinator", ""},
	    {"coordinator", "--method blackhole --outage-duration 5"},
	    {"coordinator", "--method kill --process-name x --load-duration 6"},
	    /* finish picks pod-delete when an API is named */
	    {"coordinator",
	     "--kube-api https://k:6443 --kube-namespace ns --kube-ca /ca"},
	    {"coordinator", "--kube-api http://127.0.0.1:9 --kube-token-file /t"},
	    {"network", ""},
	    {"network", "--groups a,b/c"},
	    {"network", "--partition-ratio 0.3"},
	    {"network", "--probe-field height --stall-window 5"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct scenario *sc  = scenario_find(cases[i].cli);
		void                  *out = calloc(1, sc->params_size);
		chaos_why              why = {{0}};
		json_t                *sent;
		assert_non_null(out);
		if (cli_run(sc, cases[i].words, &sent, &why) != CLI_OK)
			fail_msg("run %s %s: refused by chaosctl: %s", cases[i].cli,
			         cases[i].words, why.text);
		/* the controller's two checks (run_new), short of planning */
		if (param_read(sc->params, sent, out, &why) != CHAOS_OK ||
		    param_rules_check(sc->params, sc->rules, sent, &why) != CHAOS_OK)
			fail_msg("run %s %s: refused by the controller: %s", cases[i].cli,
			         cases[i].words, why.text);
		param_free(sc->params, out);
		free(out);
		json_decref(sent);
	}
}

/* Each shape error of --groups says what it is. */
static void
test_each_groups_shape_error_says_what_is_wrong(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"a,b/a", "'a' is on both sides"},
	    {"a,a/b", "'a' is twice on side 1"},
	    {"a,b/", "side 2 is empty"},
	    {"/b", "side 1 is empty"},
	    {"a,,b/c", "side 1 has an empty name"},
	    {"a/b/c", "3 sides"},
	    {"chain-0", "1 side"},
	    {"a/b c", "side 2: 'b c' is not a pod name"},
	};
	const struct param *p = param_by_key(scenario_find("network")->params, "groups");

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t   *v   = NULL;
		chaos_why why = {{0}};
		char      want[256];
		snprintf(
		    want, sizeof(want),
		    "--groups (groups): %s; allowed two sides of distinct pod names, "
		    "e.g. chain-0,chain-1/chain-2",
		    cases[i].want);
		assert_int_equal(param_from_text(p, cases[i].text, &v, &why),
		                 CHAOS_EINVAL);
		assert_string_equal(why.text, want);
	}
	/* too many names on one side, as JSON */
	{
		json_t   *side = json_array(), *v;
		chaos_why why  = {{0}};
		for (unsigned i = 0; i <= LIMIT_REPEATED; i++) {
			char name[16];
			snprintf(name, sizeof(name), "p%u", i);
			json_array_append_new(side, json_string(name));
		}
		v = json_pack("[o,[s]]", side, "x");
		assert_int_equal(param_check(p, v, &why), CHAOS_EINVAL);
		assert_non_null(strstr(why.text, "side 1 has 4097 names, at most 4096"));
		json_decref(v);
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
	    cmocka_unit_test_setup_teardown(
	        test_a_flag_the_mode_does_not_use_is_refused_by_cli_and_controller, setup,
	        teardown),
	    cmocka_unit_test(test_flags_in_the_mode_that_uses_them_are_accepted),
	    cmocka_unit_test(test_each_groups_shape_error_says_what_is_wrong),
	};
	char dsn[] = "/tmp/test_params_dsn.XXXXXX";
	int  fd    = mkstemp(dsn), rv;

	/* the database scenario's finish step reads a DSN from a file; the
	 * coordinator's picks its method from the environment */
	if (fd < 0 || write(fd, "host=127.0.0.1 dbname=x\n", 24) != 24)
		return 1;
	close(fd);
	setenv("CHAOS_PG_DSN_FILE", dsn, 1);
	unsetenv("KUBERNETES_SERVICE_HOST");
	rv = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(dsn);
	return rv;
}
