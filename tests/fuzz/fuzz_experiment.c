// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for experiment files (controller/chaosctl/experiment.c
 * and the YAML reader under it), which read whatever a user points -f at.
 * The first input byte picks the kind (even: run -f, odd: orchestrate -f);
 * the rest is the file. A refusal must say where, starting with the file's
 * name, on one line; a file that is taken must give flags that chaosctl's flag parser
 * takes too (each value was judged by the same rows), for every scenario
 * it names. Any other outcome aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/chaosctl/experiment.h"
#include "controller/chaosctl/flags.h"

#define FUZZ_ARGV_MAX (1 + 4 * EXP_MAX_VALUES)

/* The file's values for one scenario through cli_parse, as run -f does. */
static void
fuzz_flags(const struct exp *e, const struct exp_scenario *s, bool run)
{
	char             *argv[FUZZ_ARGV_MAX] = {(char *)s->sc->cli};
	int               argc                = 1;
	json_t           *params              = NULL;
	struct cli_common c;
	chaos_why         why;

	/* a run's options are --output; a plan's are orchestrate's own */
	if ((run && exp_flags(&e->opts, NULL, argv, &argc, FUZZ_ARGV_MAX) != CHAOS_OK) ||
	    exp_flags(&e->shared, s->sc, argv, &argc, FUZZ_ARGV_MAX) != CHAOS_OK ||
	    exp_flags(&s->params, NULL, argv, &argc, FUZZ_ARGV_MAX) != CHAOS_OK)
		abort();
	if (cli_parse(s->sc, argc, argv, &params, &c, &why) != CLI_OK)
		abort();
	json_decref(params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum exp_kind kind;
	struct exp   *e = NULL;
	chaos_why     why;
	chaos_err     rv;

	if (size < 1)
		return 0;
	kind        = data[0] & 1 ? EXP_PLAN : EXP_RUN;
	why.text[0] = '\0';
	rv = exp_parse("f.yaml", (const char *)data + 1, size - 1, kind, &e, &why);
	if (rv != CHAOS_OK) {
		if (e != NULL || strncmp(why.text, "f.yaml", 6) != 0)
			abort();
		for (const char *c = why.text; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20)
				abort(); /* a refusal is one line */
		return 0;
	}
	if (kind == EXP_RUN && e->n_sc != 1)
		abort();
	for (size_t i = 0; i < e->n_sc; i++)
		fuzz_flags(e, &e->sc[i], kind == EXP_RUN);
	exp_free(e);
	return 0;
}
