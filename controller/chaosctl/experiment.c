// SPDX-License-Identifier: MIT
#include "controller/chaosctl/experiment.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/scenarios/param.h"

/* The top-level keys of each kind of file. A key with a flag is that
 * option of the command, with a value; the others have structure and are
 * read by their own step. */
#define EXP_IN_RUN (1u << EXP_RUN)
#define EXP_IN_PLAN (1u << EXP_PLAN)

static const struct exp_key {
	const char *key;
	const char *flag;  /* the option it stands for; NULL: read by its own step */
	unsigned    in;    /* EXP_IN_* */
	bool        value; /* a scalar (else a mapping or a list) */
} exp_keys[] = {
    {"scenario", NULL, EXP_IN_RUN, true},
    {"mode", NULL, EXP_IN_PLAN, true},
    {"duration", "--duration", EXP_IN_PLAN, true},
    {"interval", "--interval", EXP_IN_PLAN, true},
    {"seed", "--seed", EXP_IN_PLAN, true},
    {"slo-mttr-avg", "--slo-mttr-avg", EXP_IN_PLAN, true},
    {"slo-mttr-max", "--slo-mttr-max", EXP_IN_PLAN, true},
    {"slo-success-rate", "--slo-success-rate", EXP_IN_PLAN, true},
    {"output", "--output", EXP_IN_RUN | EXP_IN_PLAN, true},
    {"params", NULL, EXP_IN_RUN | EXP_IN_PLAN, false},
    {"scenarios", NULL, EXP_IN_PLAN, false},
};

#define EXP_N_KEYS (sizeof(exp_keys) / sizeof(exp_keys[0]))

struct exp_ctx {
	struct exp        *e;
	enum exp_kind      kind;
	const struct ydoc *d;
	chaos_why         *why;
};

/* Control characters of a message as '?': a refusal is one line, whatever
 * a key or a value held. */
static void
exp_one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static chaos_err __attribute__((format(printf, 3, 4)))
exp_at(const struct exp_ctx *c, const struct ydoc_node *n, const char *fmt, ...)
{
	char    what[CHAOS_WHY_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	exp_one_line(what);
	return chaos_fail(c->why, CHAOS_EINVAL, "%s:%u:%u: %s", c->e->name, n->line,
	                  n->col, what);
}

chaos_err
exp_fail_at(const struct exp *e, const struct exp_value *v, chaos_err code,
            chaos_why *why)
{
	chaos_fail_prefix(why, code, "%s:%u:%u", e->name, v->line, v->col);
	if (why != NULL)
		exp_one_line(why->text);
	return code;
}

/* flag with text (NULL: a flag alone), from the value at v, into set. */
static chaos_err
exp_add(const struct exp_ctx *c, struct exp_set *set, const char *flag, const char *text,
        const struct ydoc_node *v)
{
	if (set->n == EXP_MAX_VALUES)
		return exp_at(c, v, "more than %d values in one place", EXP_MAX_VALUES);
	set->v[set->n++] = (struct exp_value) {
	    .flag = flag, .text = text, .line = v->line, .col = v->col};
	return CHAOS_OK;
}

/* A key must be a word, said once in its mapping. */
static chaos_err
exp_key_ok(const struct exp_ctx *c, const struct ydoc_node *map,
           const struct ydoc_node *k)
{
	const struct ydoc_node *o = ydoc_first(c->d, map);

	if (k->kind != YDOC_SCALAR)
		return exp_at(c, k, "a key must be a word, found %s",
		              ydoc_kind_name(k->kind));
	/* the keys before k: every other child */
	for (; o != k; o = ydoc_next(c->d, ydoc_next(c->d, o)))
		if (strcmp(o->text, k->text) == 0)
			return exp_at(c, k, "duplicate key '%.60s' (first at %u:%u)",
			              k->text, o->line, o->col);
	return CHAOS_OK;
}

static chaos_err
exp_scalar_ok(const struct exp_ctx *c, const struct ydoc_node *k,
              const struct ydoc_node *v)
{
	if (v->kind == YDOC_SCALAR)
		return CHAOS_OK;
	return exp_at(c, v, "%.60s: expected a value (a number or text), found %s",
	              k->text, ydoc_kind_name(v->kind));
}

/* "namespace, partition-duration, ...": a table's flags without dashes. */
static const char *
exp_flag_list(const struct param *table, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (const struct param *p = table; p->key != NULL && n < len; p++)
		if (p->flag != NULL && param_by_flag(table, p->flag) == p)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
			                      p->flag + 2);
	return buf;
}

static chaos_err
exp_unknown_param(const struct exp_ctx *c, const struct scenario *sc,
                  const struct ydoc_node *k)
{
	const struct param *p = param_by_key(sc->params, k->text);
	char                list[400], hint[128] = "";

	if (p != NULL && p->flag != NULL && param_by_flag(sc->params, p->flag) == p)
		snprintf(hint, sizeof(hint), " (keys are flag names: %s)", p->flag + 2);
	return exp_at(c, k, "unknown key '%.60s' in the params of %s%s; allowed: %s",
	              k->text, sc->cli, hint,
	              exp_flag_list(sc->params, list, sizeof(list)));
}

/* One params value: the scenario's row judges the text as it judges a flag. */
static chaos_err
exp_param(const struct exp_ctx *c, const struct param *p, const struct ydoc_node *v)
{
	json_t   *j = NULL;
	chaos_why inner;

	if (param_from_text(p, v->text, &j, &inner) != CHAOS_OK)
		return exp_at(c, v, "%s", inner.text);
	json_decref(j);
	return CHAOS_OK;
}

static bool
exp_has_flag(const struct scenario *const *list, const char *flag)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (param_by_flag(list[i]->params, flag) != NULL)
			return true;
	return false;
}

static chaos_err
exp_unknown_shared(const struct exp_ctx *c, const struct ydoc_node *k)
{
	return exp_at(c, k,
	              "unknown key '%.60s' in params: no scenario has the flag --%.60s "
	              "(see chaosctl run NAME --help)",
	              k->text, k->text);
}

/* The value v of flag, judged by the row of every scenario in list that
 * has the flag; the first such row in *row, NULL when none has it. */
static chaos_err
exp_param_rows(const struct exp_ctx *c, const struct scenario *const *list,
               const char *flag, const struct ydoc_node *v, const struct param **row)
{
	const struct param *p;
	chaos_err           rv;

	*row = NULL;
	for (size_t i = 0; list[i] != NULL; i++) {
		if ((p = param_by_flag(list[i]->params, flag)) == NULL)
			continue;
		if ((rv = exp_param(c, p, v)) != CHAOS_OK)
			return rv;
		*row = *row != NULL ? *row : p;
	}
	return CHAOS_OK;
}

/* Whether flag takes a list (it repeats on the command line: --guard). */
static bool
exp_is_list(const struct scenario *const *list, const char *flag)
{
	for (size_t i = 0; list[i] != NULL; i++) {
		const struct param *p = param_by_flag(list[i]->params, flag);
		if (p != NULL)
			return p->type == PARAM_URLS;
	}
	return false;
}

/* A YAML list for a list flag: one flag per item, in order. */
static chaos_err
exp_list_flag(const struct exp_ctx *c, const struct scenario *const *list,
              const char *flag, const struct ydoc_node *k, const struct ydoc_node *seq,
              struct exp_set *set)
{
	const struct ydoc_node *item;
	const struct param     *row;
	chaos_err               rv;

	for (item = ydoc_first(c->d, seq); item != NULL; item = ydoc_next(c->d, item))
		if ((rv = exp_scalar_ok(c, k, item)) != CHAOS_OK ||
		    (rv = exp_param_rows(c, list, flag, item, &row)) != CHAOS_OK ||
		    (rv = exp_add(c, set, row->flag, item->text, item)) != CHAOS_OK)
			return rv;
	return CHAOS_OK;
}

/* params: a mapping of flags (without dashes) to values, for the scenario
 * only, or (only NULL: a plan's shared params) for every scenario that has
 * the flag, each judging the value. Empty (params: alone) is no params. */
static chaos_err
exp_params(const struct exp_ctx *c, const struct scenario *only,
           const struct ydoc_node *map, struct exp_set *set)
{
	const struct scenario *const  one[2] = {only, NULL};
	const struct scenario *const *list   = only != NULL ? one : scenario_list;
	const struct ydoc_node       *k, *v;
	const struct param           *row;
	char                          flag[80];
	chaos_err                     rv;

	if (map->kind == YDOC_SCALAR && map->null)
		return CHAOS_OK;
	if (map->kind != YDOC_MAP)
		return exp_at(c, map,
		              "params: expected a mapping of %s%s flags (without --) to "
		              "values, found %s",
		              only != NULL ? only->cli : "scenario",
		              only != NULL ? "'s" : "", ydoc_kind_name(map->kind));
	for (k = ydoc_first(c->d, map); k != NULL; k = ydoc_next(c->d, v)) {
		v = ydoc_next(c->d, k);
		if ((rv = exp_key_ok(c, map, k)) != CHAOS_OK)
			return rv;
		/* a key too long for flag is no flag of any table */
		if ((size_t)snprintf(flag, sizeof(flag), "--%s", k->text) >=
		        sizeof(flag) ||
		    !exp_has_flag(list, flag))
			return only != NULL ? exp_unknown_param(c, only, k)
			                    : exp_unknown_shared(c, k);
		if (v->kind == YDOC_SEQ && exp_is_list(list, flag)) {
			if ((rv = exp_list_flag(c, list, flag, k, v, set)) != CHAOS_OK)
				return rv;
			continue;
		}
		if ((rv = exp_scalar_ok(c, k, v)) != CHAOS_OK ||
		    (rv = exp_param_rows(c, list, flag, v, &row)) != CHAOS_OK ||
		    (rv = exp_add(c, set, row->flag, v->text, v)) != CHAOS_OK)
			return rv;
	}
	return CHAOS_OK;
}

/* A scenario named at n: one this build has, not named before. */
static chaos_err
exp_scenario_named(const struct exp_ctx *c, const struct ydoc_node *n,
                   struct exp_scenario **out)
{
	const struct scenario *k = n->kind == YDOC_SCALAR ? scenario_find(n->text) : NULL;
	struct exp_scenario   *s;
	char                   words[128];

	if (n->kind != YDOC_SCALAR)
		return exp_at(c, n, "scenario: expected a name, found %s",
		              ydoc_kind_name(n->kind));
	if (k == NULL)
		return exp_at(c, n, "unknown scenario '%.60s'; allowed: %s", n->text,
		              scenario_words(words, sizeof(words)));
	for (size_t i = 0; i < c->e->n_sc; i++)
		if (c->e->sc[i].sc == k)
			return exp_at(c, n, "%s is listed twice (first at %u:%u)", k->cli,
			              c->e->sc[i].line, c->e->sc[i].col);
	if (c->e->n_sc == EXP_MAX_SCENARIOS)
		return exp_at(c, n, "more than %d scenarios", EXP_MAX_SCENARIOS);
	s       = &c->e->sc[c->e->n_sc++];
	s->sc   = k;
	s->line = n->line;
	s->col  = n->col;
	*out    = s;
	return CHAOS_OK;
}

/* One entry of a plan's scenarios: a name, or {scenario: NAME, params: ...}. */
static chaos_err
exp_item(const struct exp_ctx *c, const struct ydoc_node *it)
{
	const struct ydoc_node *k, *v, *name = NULL, *params = NULL;
	struct exp_scenario    *s;
	chaos_err               rv;

	if (it->kind == YDOC_SCALAR)
		return exp_scenario_named(c, it, &s);
	if (it->kind != YDOC_MAP)
		return exp_at(
		    c, it,
		    "scenarios: expected a scenario name or a mapping (scenario:, "
		    "params:), found a list");
	for (k = ydoc_first(c->d, it); k != NULL; k = ydoc_next(c->d, v)) {
		v = ydoc_next(c->d, k);
		if ((rv = exp_key_ok(c, it, k)) != CHAOS_OK)
			return rv;
		if (strcmp(k->text, "scenario") == 0)
			name = v;
		else if (strcmp(k->text, "params") == 0)
			params = v;
		else
			return exp_at(
			    c, k,
			    "unknown key '%.60s' in a scenarios entry; allowed: "
			    "scenario, params",
			    k->text);
	}
	if (name == NULL)
		return exp_at(c, it, "a scenarios entry without scenario:");
	if ((rv = exp_scenario_named(c, name, &s)) != CHAOS_OK)
		return rv;
	return params != NULL ? exp_params(c, s->sc, params, &s->params) : CHAOS_OK;
}

static chaos_err
exp_list(const struct exp_ctx *c, const struct ydoc_node *seq)
{
	const struct ydoc_node *it;
	chaos_err               rv = CHAOS_OK;

	if (seq->kind != YDOC_SEQ)
		return exp_at(c, seq, "scenarios: expected a list, found %s",
		              ydoc_kind_name(seq->kind));
	if (seq->n == 0)
		return exp_at(c, seq,
		              "scenarios: an empty list; leave the key out to run every "
		              "scenario");
	for (it = ydoc_first(c->d, seq); it != NULL && rv == CHAOS_OK;
	     it = ydoc_next(c->d, it))
		rv = exp_item(c, it);
	return rv;
}

static const struct exp_key *
exp_key_find(enum exp_kind kind, const char *key)
{
	for (size_t i = 0; i < EXP_N_KEYS; i++)
		if ((exp_keys[i].in & (1u << kind)) && strcmp(exp_keys[i].key, key) == 0)
			return &exp_keys[i];
	return NULL;
}

static const char *
exp_key_list(enum exp_kind kind, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < EXP_N_KEYS && n < len; i++)
		if (exp_keys[i].in & (1u << kind))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
			                      exp_keys[i].key);
	return buf;
}

/* The top level's keys with structure, read once the others are known. */
struct exp_top {
	const struct ydoc_node *scenario, *params, *scenarios;
};

static chaos_err
exp_top_key(const struct exp_ctx *c, const struct ydoc_node *k, const struct ydoc_node *v,
            struct exp_top *t)
{
	const struct exp_key *key = exp_key_find(c->kind, k->text);
	char                  list[256];
	chaos_err             rv;

	if (key == NULL)
		return exp_at(c, k, "unknown key '%.60s'; allowed: %s", k->text,
		              exp_key_list(c->kind, list, sizeof(list)));
	if (key->value && (rv = exp_scalar_ok(c, k, v)) != CHAOS_OK)
		return rv;
	if (strcmp(key->key, "output") == 0 && v->text[0] == '\0')
		return exp_at(c, v,
		              "output: empty; give a directory or leave the key out");
	if (key->flag != NULL)
		return exp_add(c, &c->e->opts, key->flag, v->text, v);
	if (strcmp(key->key, "mode") == 0) {
		if (strcmp(v->text, "continuous") == 0)
			return exp_add(c, &c->e->opts, "--continuous", NULL, v);
		return strcmp(v->text, "once") == 0
		    ? CHAOS_OK
		    : exp_at(c, v, "mode '%.60s': allowed once or continuous", v->text);
	}
	*(strcmp(key->key, "scenario") == 0     ? &t->scenario
	      : strcmp(key->key, "params") == 0 ? &t->params
	                                        : &t->scenarios) = v;
	return CHAOS_OK;
}

static chaos_err
exp_doc(const struct exp_ctx *c, const struct ydoc_node *root)
{
	const struct ydoc_node *k, *v;
	struct exp_top          t = {0};
	struct exp_scenario    *s = NULL;
	char                    list[256];
	chaos_err               rv;

	exp_key_list(c->kind, list, sizeof(list));
	if (root == NULL || (root->kind == YDOC_SCALAR && root->null))
		return chaos_fail(c->why, CHAOS_EINVAL,
		                  "%s:1:1: the file is empty; expected %s", c->e->name,
		                  list);
	if (root->kind != YDOC_MAP)
		return exp_at(c, root, "expected a mapping (%s), found %s", list,
		              ydoc_kind_name(root->kind));
	for (k = ydoc_first(c->d, root); k != NULL; k = ydoc_next(c->d, v)) {
		v = ydoc_next(c->d, k);
		if ((rv = exp_key_ok(c, root, k)) != CHAOS_OK ||
		    (rv = exp_top_key(c, k, v, &t)) != CHAOS_OK)
			return rv;
	}
	if (c->kind == EXP_RUN && t.scenario == NULL)
		return exp_at(c, root, "no scenario: given (one of %s)",
		              scenario_words(list, sizeof(list)));
	if (t.scenario != NULL &&
	    (rv = exp_scenario_named(c, t.scenario, &s)) != CHAOS_OK)
		return rv;
	if (t.params != NULL &&
	    (rv = exp_params(c, s != NULL ? s->sc : NULL, t.params,
	                     s != NULL ? &s->params : &c->e->shared)) != CHAOS_OK)
		return rv;
	return t.scenarios != NULL ? exp_list(c, t.scenarios) : CHAOS_OK;
}

void
exp_free(struct exp *e)
{
	if (e == NULL)
		return;
	ydoc_free(e->doc);
	free(e->name);
	free(e);
}

chaos_err
exp_parse(const char *name, const char *buf, size_t len, enum exp_kind kind,
          struct exp **out, chaos_why *why)
{
	struct exp    *e = calloc(1, sizeof(*e));
	struct exp_ctx c = {.e = e, .kind = kind, .why = why};
	chaos_err      rv;

	if (e == NULL || (e->name = strdup(name)) == NULL) {
		exp_free(e);
		return chaos_fail(why, CHAOS_ENOMEM, "%s: out of memory", name);
	}
	if (len > EXP_MAX_BYTES)
		rv = chaos_fail(why, CHAOS_EINVAL,
		                "%s: %zu bytes; an experiment file is at most %d", name,
		                len, EXP_MAX_BYTES);
	else if ((rv = ydoc_parse(name, buf, len, &e->doc, why)) == CHAOS_OK) {
		c.d = e->doc;
		rv  = exp_doc(&c, ydoc_root(e->doc));
	}
	if (rv != CHAOS_OK) {
		exp_free(e);
		return rv;
	}
	*out = e;
	return CHAOS_OK;
}

chaos_err
exp_load(const char *path, enum exp_kind kind, struct exp **out, chaos_why *why)
{
	FILE     *f   = fopen(path, "re");
	char     *buf = NULL;
	size_t    n   = 0;
	chaos_err rv;

	if (f == NULL)
		return chaos_fail(why, CHAOS_EINVAL, "%s: cannot read it: %s", path,
		                  strerror(errno));
	/* one byte more than allowed tells a file that is too big */
	if ((buf = malloc(EXP_MAX_BYTES + 1)) == NULL) {
		rv = chaos_fail(why, CHAOS_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, EXP_MAX_BYTES + 1, f);
	if (ferror(f))
		rv = chaos_fail(why, CHAOS_EINVAL, "%s: cannot read it: %s", path,
		                strerror(errno));
	else if (n > EXP_MAX_BYTES)
		rv = chaos_fail(why, CHAOS_EINVAL,
		                "%s: over %d bytes; an experiment file is at most that",
		                path, EXP_MAX_BYTES);
	else
		rv = exp_parse(path, buf, n, kind, out, why);
out:
	free(buf);
	fclose(f);
	return rv;
}

const struct exp_value *
exp_set_find(const struct exp_set *set, const char *flag)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].flag, flag) == 0)
			return &set->v[i];
	return NULL;
}

chaos_err
exp_flags(const struct exp_set *set, const struct scenario *sc, char **argv, int *argc,
          int max)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct exp_value *v = &set->v[i];

		if (sc != NULL && param_by_flag(sc->params, v->flag) == NULL)
			continue;
		if (*argc + 1 + (v->text != NULL) > max)
			return CHAOS_ETOOBIG;
		argv[(*argc)++] = (char *)v->flag;
		if (v->text != NULL)
			argv[(*argc)++] = (char *)v->text;
	}
	return CHAOS_OK;
}

chaos_err
exp_file_arg(int argc, char **argv, int *at, chaos_why *why)
{
	int found = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") != 0 && strcmp(argv[i], "--file") != 0)
			continue;
		if (found != 0)
			return chaos_fail(why, CHAOS_EINVAL,
			                  "%s given twice; one file at a time", argv[i]);
		if (i + 1 >= argc)
			return chaos_fail(why, CHAOS_EINVAL, "%s needs a file", argv[i]);
		found = i++;
	}
	*at = found;
	return CHAOS_OK;
}

/* The file's flags, then the command line's but for WORD and -f FILE. */
static char **
exp_run_argv(const struct exp *e, int argc, char **argv, int first, int at, int *n)
{
	int    max  = argc + 4 * EXP_MAX_VALUES + 1;
	char **args = calloc((size_t)max, sizeof(*args));

	if (args == NULL)
		return NULL;
	args[0] = (char *)e->sc[0].sc->cli;
	*n      = 1;
	/* within max by construction: each set holds at most EXP_MAX_VALUES */
	exp_flags(&e->opts, NULL, args, n, max);
	exp_flags(&e->sc[0].params, NULL, args, n, max);
	for (int i = first; i < argc; i++)
		if (i == at)
			i++;
		else
			args[(*n)++] = argv[i];
	return args;
}

enum cli_result
exp_run_cli(int argc, char **argv, struct exp **file, const struct scenario **sc,
            json_t **params, struct cli_common *common, chaos_why *why)
{
	const struct scenario *word = NULL;
	char                 **args;
	int                    at, n, first = 1;
	enum cli_result        rv;

	*file = NULL;
	if (exp_file_arg(argc, argv, &at, why) != CHAOS_OK)
		return CLI_USAGE;
	if (at == 0) {
		chaos_fail(why, CHAOS_EINVAL, "run: -f FILE missing");
		return CLI_USAGE;
	}
	if (exp_load(argv[at + 1], EXP_RUN, file, why) != CHAOS_OK)
		return CLI_USAGE;
	if (argc > 1 && argv[1][0] != '-') {
		word  = scenario_find(argv[1]);
		first = 2;
	}
	if (first == 2 && word != (*file)->sc[0].sc) {
		chaos_fail(why, CHAOS_EINVAL,
		           "run %.60s: %s:%u:%u names the scenario %s; give one of them",
		           argv[1], (*file)->name, (*file)->sc[0].line,
		           (*file)->sc[0].col, (*file)->sc[0].sc->cli);
		return CLI_USAGE;
	}
	if ((args = exp_run_argv(*file, argc, argv, first, at, &n)) == NULL) {
		chaos_fail(why, CHAOS_ENOMEM, "out of memory");
		return CLI_USAGE;
	}
	*sc = (*file)->sc[0].sc;
	rv  = cli_parse(*sc, n, args, params, common, why);
	free(args);
	return rv;
}
