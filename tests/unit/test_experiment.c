// SPDX-License-Identifier: MIT
/*
 * Experiment files (controller/chaosctl/experiment.h): `run -f` ends in the
 * very params the same flags give, for every parameter of every scenario
 * and for each example under deploy/examples; a flag on the command line
 * wins over the file; what is wrong is refused with file:line:column and,
 * for a value, the scenario validator's own words; empty, non-YAML, badly
 * shaped and oversized files are refused, never crash.
 *
 * usage: test_experiment EXAMPLES_DIR
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "controller/chaosctl/experiment.h"
#include "controller/chaosctl/flags.h"
#include "controller/chaosctl/orch.h"
#include "controller/scenarios/param.h"
#include "controller/scenarios/scenario.h"
#include "tests/support/stderr_cap.h"

static const char *examples; /* deploy/examples */
static char        dsn_file[] = "/tmp/test-experiment-dsn-XXXXXX";

/* ---- helpers ---- */

/* text into a new temporary file named *.yaml; its path in path. */
static void
write_file(char *path, size_t len, const char *text, size_t n)
{
	FILE *f;
	int   fd;

	snprintf(path, len, "/tmp/test-experiment-XXXXXX.yaml");
	fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Parses text as t.yaml; returns the result, why filled on failure. */
static chaos_err
parse(enum exp_kind kind, const char *text, chaos_why *why)
{
	struct exp *e = NULL;
	chaos_err   rv;

	why->text[0] = '\0';
	rv           = exp_parse("t.yaml", text, strlen(text), kind, &e, why);
	assert_true(rv == CHAOS_OK ? e != NULL : e == NULL);
	exp_free(e);
	return rv;
}

/* Refused with exactly this message. */
static void
refused(enum exp_kind kind, const char *text, const char *want)
{
	chaos_why why;

	assert_int_equal(parse(kind, text, &why), CHAOS_EINVAL);
	assert_string_equal(why.text, want);
}

/* Refused with a message that starts so. */
static void
refused_with(enum exp_kind kind, const char *text, const char *start)
{
	chaos_why why;

	assert_int_equal(parse(kind, text, &why), CHAOS_EINVAL);
	if (strncmp(why.text, start, strlen(start)) != 0)
		fail_msg("got \"%s\", wanted it to start with \"%s\"", why.text, start);
}

/* run -f path plus extra flags: the params (new) and where output goes. */
static json_t *
run_file(const char *path, char **extra, int n_extra, char *output, size_t len)
{
	char                  *argv[64] = {"run", "-f", (char *)path};
	int                    argc     = 3;
	struct exp            *file     = NULL;
	const struct scenario *sc       = NULL;
	struct cli_common      c;
	json_t                *params = NULL;
	chaos_why              why    = {{0}};

	for (int i = 0; i < n_extra; i++)
		argv[argc++] = extra[i];
	if (exp_run_cli(argc, argv, &file, &sc, &params, &c, &why) != CLI_OK)
		fail_msg("run -f %s: %s", path, why.text);
	snprintf(output, len, "%s", c.output);
	exp_free(file);
	return params;
}

/* The params of flags typed out: argv[0] is the scenario's word. */
static json_t *
run_flags(char **argv, int argc, char *output, size_t len)
{
	struct cli_common c;
	json_t           *params = NULL;
	chaos_why         why    = {{0}};

	if (cli_parse(scenario_find(argv[0]), argc, argv, &params, &c, &why) != CLI_OK)
		fail_msg("flags of %s: %s", argv[0], why.text);
	snprintf(output, len, "%s", c.output);
	return params;
}

static void
assert_same_params(json_t *from_file, json_t *from_flags)
{
	if (!json_equal(from_file, from_flags)) {
		char *a = json_dumps(from_file, JSON_SORT_KEYS);
		char *b = json_dumps(from_flags, JSON_SORT_KEYS);
		fail_msg("file %s\nflags %s", a, b);
	}
}

/* ---- run -f gives the params of the same flags ---- */

#define N_TEXTS(a) (sizeof(a) / sizeof((a)[0]))

/* texts[p's type]; a type without one fails the test by name, so that a new
 * parameter type gets its test values here. */
static const char *
type_text(const char *const *texts, size_t n, const struct param *p)
{
	if ((size_t)p->type >= n || texts[p->type] == NULL)
		fail_msg("%s: no test value for its type (%d); add one", p->flag,
		         (int)p->type);
	return texts[p->type];
}

/* Valid texts by type, for the types whose range is not a number. */
static const char *const good_text[] = {
    [PARAM_BOOL]     = "true",
    [PARAM_NAME]     = "ns-1",
    [PARAM_URL]      = "http://{ip}:8080/x",
    [PARAM_PATH]     = "/p",
    [PARAM_GROUPS]   = "a,b/c",
    [PARAM_STRING]   = "abc",
    [PARAM_SELECTOR] = "app=chain,tier!=x",
    [PARAM_URLS]     = "http://guard:8080/health",
};

/* A valid value for row p (not its default where that is easy). */
static const char *
good_value(const struct param *p, char *buf, size_t len)
{
	char choice[64];
	int  i = 0;

	if (p->type == PARAM_DOUBLE)
		snprintf(buf, len, "%g", p->min + (p->max - p->min) / 4);
	else if (p->type == PARAM_UINT)
		snprintf(buf, len, "%.0f", p->min + 1);
	else if (p->type == PARAM_CHOICE) {
		/* the last one: the first is the default */
		while (param_choice(p, i + 1, choice, sizeof(choice))[0] != '\0')
			i++;
		param_choice(p, i, buf, len);
	} else
		snprintf(buf, len, "%s", type_text(good_text, N_TEXTS(good_text), p));
	return buf;
}

static void
test_every_parameter_of_every_scenario_gives_the_params_of_its_flag(void **state)
{
	(void)state;
	for (size_t s = 0; scenario_list[s] != NULL; s++) {
		const struct scenario *sc = scenario_list[s];
		char    yaml[8192], path[64], out1[256], out2[256], val[128];
		char   *argv[256] = {(char *)sc->cli};
		char    vals[64][128];
		int     argc = 1, n = 0;
		size_t  off = (size_t)snprintf(yaml, sizeof(yaml),
		                               "scenario: %s\nparams:\n", sc->cli);
		json_t *a, *b;

		for (const struct param *p = sc->params; p->key != NULL; p++) {
			if (p->flags & PARAM_NO_FLAG)
				continue;
			good_value(p, val, sizeof(val));
			off += (size_t)snprintf(yaml + off, sizeof(yaml) - off,
			                        "  %s: %s\n", p->flag + 2, val);
			snprintf(vals[n], sizeof(vals[n]), "%s", val);
			argv[argc++] = (char *)p->flag;
			argv[argc++] = vals[n++];
		}
		write_file(path, sizeof(path), yaml, off);
		a = run_file(path, NULL, 0, out1, sizeof(out1));
		b = run_flags(argv, argc, out2, sizeof(out2));
		assert_same_params(a, b);
		assert_int_equal(json_object_size(a), n); /* every one arrived */
		json_decref(a);
		json_decref(b);
		unlink(path);
	}
}

/* The examples as flags, written out by hand (words split at spaces). */
static const struct example {
	const char *file;
	const char *flags;
} example_flags[] = {
    {"network-partition.yaml",
     "network --output results --namespace chaos-sandbox --partition-duration 10 "
     "--partition-ratio 0.34 --probe-url http://{ip}:2379/health --probe-expect 200 "
     "--probe-interval-ms 200 --probe-timeout-ms 1000 --check-port 2380 --baseline 2 "
     "--stability-window 3 --recovery-timeout 120 --lease-ms 3000"},
    {"database-failure.yaml",
     "database --output results --namespace chaos-sandbox --failure-type connection "
     "--failure-duration 10 --connection-mode reject "
     "--fault-side server --pg-port 5432 --api-port 8080 --ready-path /health/ready "
     "--data-path /v1/marketplace/stats --probe-interval-ms 200 --baseline 3 "
     "--stability-window 3 --recovery-timeout 120 --lease-ms 3000"},
    {"coordinator-outage.yaml",
     "coordinator --output results --namespace chaos-sandbox --method kill "
     "--load-duration 10 --rate 200 --concurrency 16 "
     "--request-timeout-ms 2000 --api-port 8080 --load-path /v1/marketplace/stats "
     "--probe-path /health/ready --probe-interval-ms 20 --process-name "
     "chaos-coordinator --stability-window 3 --recovery-timeout 120 --lease-ms 3000"},
    {"chain-rpc-head.yaml",
     "network --output results --namespace staging --partition-duration 30 "
     "--partition-ratio 0.34 --probe-url http://{ip}:8545/rpc/head --probe-field "
     "height --probe-expect 200 --probe-interval-ms 200 --probe-timeout-ms 1000 "
     "--check-port 30303 --baseline 10 --stability-window 5 --recovery-timeout 300 "
     "--lease-ms 3000"},
};

/* words (a copy, split in place) into argv; their count. */
static int
split_words(char *words, char **argv, int max)
{
	int argc = 0;

	for (char *w = strtok(words, " "); w != NULL && argc < max; w = strtok(NULL, " "))
		argv[argc++] = w;
	return argc;
}

static void
test_each_example_gives_the_params_of_its_flags(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(example_flags) / sizeof(example_flags[0]); i++) {
		const struct example *x = &example_flags[i];
		char                  path[512], out1[256], out2[256], words[1024];
		char                 *argv[64];
		chaos_why             why = {{0}};
		int                   argc;
		json_t               *a, *b;

		snprintf(words, sizeof(words), "%s", x->flags);
		argc = split_words(words, argv, 64);
		snprintf(path, sizeof(path), "%s/%s", examples, x->file);
		a = run_file(path, NULL, 0, out1, sizeof(out1));
		b = run_flags(argv, argc, out2, sizeof(out2));
		assert_same_params(a, b);
		assert_string_equal(out1, out2);
		/* and chaosctl would send it: its flags go together */
		if (cli_finish(scenario_find(argv[0]), a, &why) != CHAOS_OK)
			fail_msg("%s: %s", x->file, why.text);
		json_decref(a);
		json_decref(b);
	}
}

static void
test_a_flag_on_the_command_line_wins_over_the_file(void **state)
{
	char    path[512], out[256];
	char   *extra[] = {"--partition-duration", "3", "--output", "/tmp/elsewhere"};
	json_t *p;

	(void)state;
	snprintf(path, sizeof(path), "%s/network-partition.yaml", examples);
	p = run_file(path, extra, 4, out, sizeof(out));
	assert_true(json_number_value(json_object_get(p, "partition_duration_s")) == 3.0);
	/* the rest of the file still holds */
	assert_true(json_number_value(json_object_get(p, "partition_ratio")) == 0.34);
	assert_string_equal(out, "/tmp/elsewhere");
	json_decref(p);
}

static void
test_a_yaml_list_of_guards_gives_one_flag_each(void **state)
{
	static const char yaml[] = "scenario: network\nparams:\n  guard:\n"
	                           "    - http://a:1/health\n    - https://b/ready\n";
	char              path[512], out[256];
	char             *extra[] = {"--guard", "http://c/x"};
	json_t           *p, *g;

	(void)state;
	write_file(path, sizeof(path), yaml, sizeof(yaml) - 1);
	p = run_file(path, extra, 2, out, sizeof(out));
	g = json_object_get(p, "guards");
	/* the file's, in order, then the command line's: a list flag adds */
	assert_int_equal(json_array_size(g), 3);
	assert_string_equal(json_string_value(json_array_get(g, 1)), "https://b/ready");
	assert_string_equal(json_string_value(json_array_get(g, 2)), "http://c/x");
	json_decref(p);
	unlink(path);
}

static void
test_the_scenario_word_must_agree_with_the_file(void **state)
{
	char                   path[512];
	char                  *same[]  = {"run", "network", "-f", path};
	char                  *other[] = {"run", "database", "-f", path};
	struct exp            *file    = NULL;
	const struct scenario *sc      = NULL;
	struct cli_common      c;
	json_t                *params = NULL;
	chaos_why              why;

	(void)state;
	snprintf(path, sizeof(path), "%s/network-partition.yaml", examples);
	assert_int_equal(exp_run_cli(4, same, &file, &sc, &params, &c, &why), CLI_OK);
	assert_ptr_equal(sc, scenario_find("network"));
	json_decref(params);
	exp_free(file);
	assert_int_equal(exp_run_cli(4, other, &file, &sc, &params, &c, &why), CLI_USAGE);
	assert_non_null(strstr(why.text, "names the scenario network"));
	exp_free(file);
}

/* ---- every example parses ---- */

static void
test_every_example_parses(void **state)
{
	DIR           *d = opendir(examples);
	struct dirent *ent;
	int            n = 0;

	(void)state;
	assert_non_null(d);
	while ((ent = readdir(d)) != NULL) {
		size_t      len = strlen(ent->d_name);
		char        path[512];
		struct exp *e = NULL;
		chaos_why   why;
		bool        plan = strncmp(ent->d_name, "orchestration", 13) == 0;

		if (len < 6 || strcmp(ent->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", examples, ent->d_name);
		if (exp_load(path, plan ? EXP_PLAN : EXP_RUN, &e, &why) != CHAOS_OK)
			fail_msg("%s", why.text);
		assert_true(e->n_sc >= 1);
		exp_free(e);
		n++;
	}
	closedir(d);
	assert_true(n >= 5); /* one per scenario, the plan, /rpc/head */
}

/* ---- refusals name the place ---- */

static void
test_an_unknown_key_is_refused_with_its_line_and_column(void **state)
{
	(void)state;
	refused_with(EXP_RUN,
	             "scenario: network\n"
	             "params:\n"
	             "  partition-ratio: 0.5\n"
	             "  partition-duratoin: 10\n",
	             "t.yaml:4:3: unknown key 'partition-duratoin' in the params of "
	             "network; allowed: namespace, selector, partition-duration, ");
	refused_with(
	    EXP_RUN, "scenario: network\nretries: 3\n",
	    "t.yaml:2:1: unknown key 'retries'; allowed: scenario, output, params");
	/* a JSON key is not a flag name, and the message says which is */
	refused_with(EXP_RUN, "scenario: network\nparams:\n  partition_duration_s: 1\n",
	             "t.yaml:3:3: unknown key 'partition_duration_s' in the params of "
	             "network (keys are flag names: partition-duration)");
	/* a row without a flag (the DSN itself) is not a key either */
	refused_with(EXP_RUN, "scenario: database\nparams:\n  dsn: host=x\n",
	             "t.yaml:3:3: unknown key 'dsn' in the params of database");
	refused_with(EXP_PLAN, "scenarios:\n  - scenario: network\n    retries: 1\n",
	             "t.yaml:3:5: unknown key 'retries' in a scenarios entry");
	refused_with(EXP_PLAN, "params:\n  no-such-flag: 1\n",
	             "t.yaml:2:3: unknown key 'no-such-flag' in params: no scenario has "
	             "the flag --no-such-flag");
	refused(EXP_RUN, "scenario: chaos\n",
	        "t.yaml:1:11: unknown scenario 'chaos'; allowed: coordinator network "
	        "database");
}

/* Bad texts by type, for the types whose range is not a number or a length. */
static const char *const bad_text[] = {
    [PARAM_BOOL] = "maybe",   [PARAM_CHOICE] = "nope",  [PARAM_NAME] = "bad*name",
    [PARAM_URL] = "ftp://x",  [PARAM_PATH] = "nopath",  [PARAM_GROUPS] = "a",
    [PARAM_SELECTOR] = "a b", [PARAM_URLS] = "ftp://x",
};

/* A bad value for row p as text. */
static const char *
bad_value(const struct param *p, char *buf, size_t len)
{
	if (p->type == PARAM_DOUBLE || p->type == PARAM_UINT)
		snprintf(buf, len, "%.0f", p->max + 1);
	else if (p->type == PARAM_STRING) { /* one character too many */
		memset(buf, 'x', (size_t)p->max + 1);
		buf[(size_t)p->max + 1] = '\0';
	} else
		return type_text(bad_text, N_TEXTS(bad_text), p);
	return buf;
}

static void
test_a_bad_value_gets_the_validators_message_with_its_place(void **state)
{
	(void)state;
	for (size_t s = 0; scenario_list[s] != NULL; s++)
		for (const struct param *p = scenario_list[s]->params; p->key != NULL;
		     p++) {
			char        buf[2048], yaml[4096], want[CHAOS_WHY_LEN + 64];
			const char *v;
			json_t     *j = NULL;
			chaos_why   inner, why;

			if (p->flags & PARAM_NO_FLAG)
				continue;
			v = bad_value(p, buf, sizeof(buf));
			/* what the flag parser says of it */
			assert_int_equal(param_from_text(p, v, &j, &inner), CHAOS_EINVAL);
			snprintf(yaml, sizeof(yaml), "scenario: %s\nparams:\n  %s: %s\n",
			         scenario_list[s]->cli, p->flag + 2, v);
			snprintf(want, sizeof(want), "t.yaml:3:%zu: %s",
			         strlen(p->flag) + 3, inner.text);
			assert_int_equal(parse(EXP_RUN, yaml, &why), CHAOS_EINVAL);
			want[sizeof(why.text) - 1] = '\0';
			assert_string_equal(why.text, want);
		}
}

static void
test_a_duplicate_key_is_refused_where_it_is_said_again(void **state)
{
	(void)state;
	refused(EXP_RUN,
	        "scenario: network\n"
	        "params:\n"
	        "  partition-duration: 10\n"
	        "  partition-duration: 20\n",
	        "t.yaml:4:3: duplicate key 'partition-duration' (first at 3:3)");
	refused(EXP_RUN, "scenario: network\nscenario: database\n",
	        "t.yaml:2:1: duplicate key 'scenario' (first at 1:1)");
	refused(EXP_PLAN, "scenarios:\n  - network\n  - scenario: network\n",
	        "t.yaml:3:15: network is listed twice (first at 2:5)");
}

static void
test_a_wrong_shape_is_refused_with_what_was_expected(void **state)
{
	(void)state;
	refused(
	    EXP_RUN, "- scenario: network\n",
	    "t.yaml:1:1: expected a mapping (scenario, output, params), found a list");
	refused(EXP_RUN, "scenario: network\nparams:\n  - partition-duration: 10\n",
	        "t.yaml:3:3: params: expected a mapping of network's flags (without --) "
	        "to values, found a list");
	refused(EXP_RUN, "scenario: network\nparams:\n  partition-duration: {s: 10}\n",
	        "t.yaml:3:23: partition-duration: expected a value (a number or text), "
	        "found a mapping");
	refused(
	    EXP_RUN, "scenario: [network]\n",
	    "t.yaml:1:11: scenario: expected a value (a number or text), found a list");
	refused(EXP_RUN, "params:\n  partition-duration: 10\n",
	        "t.yaml:1:1: no scenario: given (one of coordinator network database)");
	refused(EXP_RUN, "scenario: network\noutput: ''\n",
	        "t.yaml:2:9: output: empty; give a directory or leave the key out");
	refused(EXP_PLAN, "scenarios: network\n",
	        "t.yaml:1:12: scenarios: expected a list, found a value");
	refused(EXP_PLAN, "scenarios: []\n",
	        "t.yaml:1:12: scenarios: an empty list; leave the key out to run every "
	        "scenario");
	refused(EXP_PLAN, "mode: sometimes\n",
	        "t.yaml:1:7: mode 'sometimes': allowed once or continuous");
	/* a plain text file is one YAML value */
	refused(
	    EXP_RUN, "This is not an experiment.\n",
	    "t.yaml:1:1: expected a mapping (scenario, output, params), found a value");
}

static void
test_an_empty_file_is_refused(void **state)
{
	(void)state;
	refused(EXP_RUN, "",
	        "t.yaml:1:1: the file is empty; expected scenario, output, params");
	refused(EXP_RUN, "# nothing but a comment\n",
	        "t.yaml:1:1: the file is empty; expected scenario, output, params");
	refused(EXP_RUN, "---\n",
	        "t.yaml:1:1: the file is empty; expected scenario, output, params");
	refused_with(EXP_PLAN, "", "t.yaml:1:1: the file is empty; expected mode, ");
}

static void
test_a_file_that_is_not_yaml_is_refused_with_its_place(void **state)
{
	static const char elf[] = "\x7f"
	                          "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0";
	chaos_why         why;
	struct exp       *e = NULL;

	(void)state;
	assert_int_equal(exp_parse("t.yaml", elf, sizeof(elf) - 1, EXP_RUN, &e, &why),
	                 CHAOS_EINVAL);
	assert_null(e);
	assert_non_null(strstr(why.text, "t.yaml:1:"));
	assert_non_null(strstr(why.text, "not YAML"));
	refused(EXP_RUN, "scenario: network\nparams: {partition-duration: 10\n",
	        "t.yaml:3:1: not YAML: did not find expected ',' or '}' (while parsing a "
	        "flow mapping at 2:9)");
	refused(EXP_RUN, "scenario: network\n---\nscenario: network\n",
	        "t.yaml:2:1: a second document ('---'); a file holds one");
	refused(EXP_RUN, "scenario: &s network\noutput: *s\n",
	        "t.yaml:2:9: alias *s: aliases are not supported; write the value out");
	refused(EXP_RUN, "scenario: \"net\\0work\"\n",
	        "t.yaml:1:11: a NUL character in a value");
}

static void
test_an_oversized_or_overgrown_file_is_refused(void **state)
{
	size_t      big = 1024 * 1024, n = 0;
	char       *text = malloc(big + 1), path[64];
	chaos_why   why;
	struct exp *e = NULL;

	(void)state;
	assert_non_null(text);
	/* 1 MiB on disk: refused before it is parsed */
	memset(text, '#', big);
	write_file(path, sizeof(path), text, big);
	assert_int_equal(exp_load(path, EXP_RUN, &e, &why), CHAOS_EINVAL);
	assert_null(e);
	assert_non_null(strstr(why.text, "over 65536 bytes"));
	unlink(path);
	/* within the size, too many values or too deep */
	for (int i = 0; i < 5000; i++)
		n += (size_t)sprintf(text + n, "- a\n");
	assert_int_equal(exp_parse("t.yaml", text, n, EXP_PLAN, &e, &why), CHAOS_EINVAL);
	assert_string_equal(why.text, "t.yaml:4096:3: more than 4096 values");
	n = 0;
	for (int i = 0; i < 100; i++)
		text[n++] = '[';
	for (int i = 0; i < 100; i++)
		text[n++] = ']';
	assert_int_equal(exp_parse("t.yaml", text, n, EXP_PLAN, &e, &why), CHAOS_EINVAL);
	assert_string_equal(why.text, "t.yaml:1:9: nested deeper than 8 levels");
	free(text);
}

/* ---- orchestrate -f ---- */

static void
orch_init(struct orch_opts *o)
{
	*o = (struct orch_opts) {.duration_h = 24, .interval_min = 60, .output = "."};
	orch_slo_defaults(&o->slo);
}

static void
orch_parse_ok(struct orch_opts *o, char **argv, int argc)
{
	bool help;

	orch_init(o);
	assert_int_equal(orch_cli(o, argc, argv, &help), CHAOS_EXIT_OK);
	assert_false(help);
}

static void
assert_same_orchestration(const struct orch_opts *a, const struct orch_opts *b)
{
	assert_int_equal(a->continuous, b->continuous);
	assert_true(a->duration_h == b->duration_h && a->interval_min == b->interval_min);
	assert_int_equal(a->random, b->random);
	assert_int_equal(a->seed, b->seed);
	assert_true(a->slo.mttr_avg_s == b->slo.mttr_avg_s &&
	            a->slo.mttr_max_s == b->slo.mttr_max_s &&
	            a->slo.success_rate_pct == b->slo.success_rate_pct);
	assert_string_equal(a->output, b->output);
	assert_string_equal(a->namespace_, b->namespace_);
	assert_int_equal(a->n_sc, b->n_sc);
	for (size_t i = 0; i < a->n_sc; i++) {
		assert_string_equal(a->sc[i].name, b->sc[i].name);
		assert_same_params(a->sc[i].params, b->sc[i].params);
		assert_same_params(a->sc[i].shortened, b->sc[i].shortened);
	}
}

static void
test_the_plan_example_gives_the_orchestration_of_its_flags(void **state)
{
	char path[512],
	    words[1024]         = "orchestrate --scenarios coordinator network "
	                          "database --slo-mttr-avg 120 --slo-mttr-max 300 "
	                          "--slo-success-rate 99.9 --output results "
	                          "--namespace chaos-sandbox --stability-window 3 "
	                          "--method kill --load-duration 10 --rate 100 "
	                          "--partition-duration 10 --partition-ratio 0.34 "
	                          "--failure-type connection --failure-duration 10";
	char            *file[] = {"orchestrate", "-f", path}, *flags[64];
	struct orch_opts a, b;

	(void)state;
	snprintf(path, sizeof(path), "%s/orchestration.yaml", examples);
	orch_parse_ok(&a, file, 3);
	orch_parse_ok(&b, flags, split_words(words, flags, 64));
	assert_same_orchestration(&a, &b);
	orch_opts_fini(&a);
	orch_opts_fini(&b);
}

static void
test_flags_win_over_the_plan_and_scenarios_replaces_its_list(void **state)
{
	char  path[512];
	char *argv[] = {"orchestrate", "-f",          path,      "--partition-duration",
	                "3",           "--scenarios", "network", "--slo-success-rate",
	                "50"};
	struct orch_opts o;
	json_t          *p;

	(void)state;
	snprintf(path, sizeof(path), "%s/orchestration.yaml", examples);
	orch_parse_ok(&o, argv, sizeof(argv) / sizeof(argv[0]));
	assert_int_equal(o.n_sc, 1);
	assert_string_equal(o.sc[0].name, "network");
	p = o.sc[0].params;
	assert_true(json_number_value(json_object_get(p, "partition_duration_s")) == 3.0);
	assert_true(json_number_value(json_object_get(p, "partition_ratio")) == 0.34);
	assert_string_equal(json_string_value(json_object_get(p, "namespace")),
	                    "chaos-sandbox");
	assert_true(o.slo.success_rate_pct == 50);
	assert_true(o.slo.mttr_avg_s == 120);
	orch_opts_fini(&o);
}

static void
test_continuous_mode_shortens_only_what_the_plan_does_not_give(void **state)
{
	static const char plan[] = "mode: continuous\n"
	                           "duration: 2\n"
	                           "interval: 5\n"
	                           "seed: 7\n"
	                           "scenarios:\n"
	                           "  - scenario: coordinator\n"
	                           "    params: {load-duration: 6, method: blackhole}\n";
	char              path[64];
	char             *argv[] = {"orchestrate", "--file", path};
	struct orch_opts  o;
	json_t           *p;

	(void)state;
	write_file(path, sizeof(path), plan, sizeof(plan) - 1);
	orch_parse_ok(&o, argv, 3);
	assert_true(o.continuous && o.random && o.seed == 7);
	assert_true(o.duration_h == 2 && o.interval_min == 5);
	p = o.sc[0].params;
	assert_true(json_number_value(json_object_get(p, "load_duration_s")) == 6.0);
	assert_true(json_number_value(json_object_get(p, "outage_duration_s")) == 20.0);
	assert_null(json_object_get(o.sc[0].shortened, "load_duration_s"));
	orch_opts_fini(&o);
	unlink(path);
}

/* A kill heals by itself: continuous mode does not give it an outage
 * duration, which the controller would refuse; the load is shortened. */
static void
test_continuous_mode_shortens_only_what_the_mode_uses(void **state)
{
	char            *argv[] = {"orchestrate", "--continuous", "--scenarios",
	                           "coordinator", "--method",     "kill"};
	struct orch_opts o;

	(void)state;
	orch_parse_ok(&o, argv, sizeof(argv) / sizeof(argv[0]));
	assert_null(json_object_get(o.sc[0].params, "outage_duration_s"));
	assert_null(json_object_get(o.sc[0].run_params, "outage_duration_s"));
	assert_null(json_object_get(o.sc[0].shortened, "outage_duration_s"));
	assert_true(json_number_value(
	                json_object_get(o.sc[0].run_params, "load_duration_s")) == 20.0);
	assert_non_null(json_object_get(o.sc[0].shortened, "load_duration_s"));
	orch_opts_fini(&o);
}

/* orch_cli on argv into *o (the caller finishes it): its exit status, and
 * what it printed on stderr. */
static int
orch_capture(struct orch_opts *o, char **argv, int argc, char *err, size_t len)
{
	struct stderr_cap cap;
	bool              help;
	int               rv;

	orch_init(o);
	assert_int_equal(stderr_cap_begin(&cap), 0);
	rv = orch_cli(o, argc, argv, &help);
	stderr_cap_end(&cap, err, len);
	return rv;
}

/* orch_cli on a plan: its exit status, and what it printed on stderr. */
static int
orch_with_plan(const char *plan, char *err, size_t len)
{
	char             path[64];
	char            *argv[] = {"orchestrate", "-f", path};
	struct orch_opts o;
	int              rv;

	write_file(path, sizeof(path), plan, strlen(plan));
	rv = orch_capture(&o, argv, 3, err, len);
	orch_opts_fini(&o);
	unlink(path);
	return rv;
}

/* The plan's stderr says this after its (temporary) path. */
static void
plan_refused(const char *plan, const char *want)
{
	char err[1024];

	assert_int_equal(orch_with_plan(plan, err, sizeof(err)), CHAOS_EXIT_USAGE);
	if (strstr(err, want) == NULL)
		fail_msg("got \"%s\", wanted \"%s\"", err, want);
}

static void
test_a_scenario_named_twice_on_the_command_line_is_refused(void **state)
{
	char            *argv[] = {"orchestrate", "--scenarios", "network", "network"};
	struct orch_opts o;
	bool             help;
	FILE            *null  = fopen("/dev/null", "w");
	int              saved = dup(2);

	(void)state;
	orch_init(&o);
	fflush(stderr);
	dup2(fileno(null), 2);
	assert_int_equal(orch_cli(&o, 4, argv, &help), CHAOS_EXIT_USAGE);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fclose(null);
	orch_opts_fini(&o);
}

static void
test_a_bad_plan_option_gets_the_flags_message_with_its_place(void **state)
{
	(void)state;
	plan_refused("mode: continuous\nduration: 0\n",
	             ".yaml:2:11: orchestrate: --duration '0': allowed is a number in "
	             "0.0001..8760\n");
	plan_refused("seed: x\n",
	             ".yaml:1:7: orchestrate: --seed 'x': allowed is a whole "
	             "number in 0..4294967295\n");
	plan_refused("params:\n  lease-ms: 1\n",
	             ".yaml:2:13: --lease-ms (lease_ms) 1: allowed a whole number in "
	             "500..60000\n");
}

/* A scenario flag reaches every scenario that has it; one the scenario's
 * mode does not use is left out for that scenario, with a warning, so
 * that `orchestrate --outage-duration 5` still runs a kill (demo.sh). */
static void
test_a_flag_the_mode_does_not_use_is_left_out_with_a_warning(void **state)
{
	char            *argv[] = {"orchestrate",
	                           "--scenarios",
	                           "coordinator",
	                           "network",
	                           "--method",
	                           "kill",
	                           "--outage-duration",
	                           "5",
	                           "--partition-duration",
	                           "5"};
	struct orch_opts o;
	char             err[1024];

	(void)state;
	assert_int_equal(orch_capture(&o, argv, 10, err, sizeof(err)), CHAOS_EXIT_OK);
	assert_non_null(strstr(err,
	                       "chaosctl: orchestrate: not passed to coordinator: "
	                       "--outage-duration applies only with --method "
	                       "blackhole\n"));
	assert_null(json_object_get(o.sc[0].params, "outage_duration_s"));
	assert_null(json_object_get(o.sc[0].run_params, "outage_duration_s"));
	assert_true(json_number_value(json_object_get(o.sc[1].run_params,
	                                              "partition_duration_s")) == 5.0);
	orch_opts_fini(&o);
}

/* What the plan gives one scenario is that scenario's alone, and a pair
 * that contradicts itself is refused wherever it comes from. */
static void
test_a_flag_that_does_not_fit_its_own_scenario_is_refused(void **state)
{
	char *argv[] = {"orchestrate", "--scenarios",       "network", "--groups",
	                "a/b",         "--partition-ratio", "0.3"};
	struct orch_opts o;
	char             err[1024];

	(void)state;
	plan_refused("scenarios:\n  - scenario: coordinator\n"
	             "    params: {method: kill, outage-duration: 5}\n",
	             "--outage-duration applies only with --method blackhole\n");
	assert_int_equal(orch_capture(&o, argv, 7, err, sizeof(err)), CHAOS_EXIT_USAGE);
	assert_string_equal(err,
	                    "chaosctl: orchestrate: network: --groups and "
	                    "--partition-ratio cannot be combined; give one of them\n");
	orch_opts_fini(&o);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_every_parameter_of_every_scenario_gives_the_params_of_its_flag),
	    cmocka_unit_test(test_each_example_gives_the_params_of_its_flags),
	    cmocka_unit_test(test_a_flag_on_the_command_line_wins_over_the_file),
	    cmocka_unit_test(test_a_yaml_list_of_guards_gives_one_flag_each),
	    cmocka_unit_test(test_the_scenario_word_must_agree_with_the_file),
	    cmocka_unit_test(test_every_example_parses),
	    cmocka_unit_test(test_an_unknown_key_is_refused_with_its_line_and_column),
	    cmocka_unit_test(test_a_bad_value_gets_the_validators_message_with_its_place),
	    cmocka_unit_test(test_a_duplicate_key_is_refused_where_it_is_said_again),
	    cmocka_unit_test(test_a_wrong_shape_is_refused_with_what_was_expected),
	    cmocka_unit_test(test_an_empty_file_is_refused),
	    cmocka_unit_test(test_a_file_that_is_not_yaml_is_refused_with_its_place),
	    cmocka_unit_test(test_an_oversized_or_overgrown_file_is_refused),
	    cmocka_unit_test(test_the_plan_example_gives_the_orchestration_of_its_flags),
	    cmocka_unit_test(
	        test_flags_win_over_the_plan_and_scenarios_replaces_its_list),
	    cmocka_unit_test(
	        test_continuous_mode_shortens_only_what_the_plan_does_not_give),
	    cmocka_unit_test(
	        test_a_bad_plan_option_gets_the_flags_message_with_its_place),
	    cmocka_unit_test(test_a_scenario_named_twice_on_the_command_line_is_refused),
	    cmocka_unit_test(test_continuous_mode_shortens_only_what_the_mode_uses),
	    cmocka_unit_test(
	        test_a_flag_the_mode_does_not_use_is_left_out_with_a_warning),
	    cmocka_unit_test(test_a_flag_that_does_not_fit_its_own_scenario_is_refused),
	};
	int fd, rv;

	if (argc < 2) {
		fprintf(stderr, "usage: %s EXAMPLES_DIR\n", argv[0]);
		return 2;
	}
	examples = argv[1];
	/* the database scenario's finish step reads a DSN file */
	fd = mkstemp(dsn_file);
	if (fd < 0 || write(fd, "host=127.0.0.1 dbname=x\n", 24) != 24)
		return 1;
	close(fd);
	setenv("CHAOS_PG_DSN_FILE", dsn_file, 1);
	rv = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(dsn_file);
	return rv;
}
