// SPDX-License-Identifier: MIT
#include "controller/chaosctl/flags.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

chaos_err
cli_finish(const struct scenario *sc, json_t *params, chaos_why *why)
{
	if (sc->finish != NULL && sc->finish(params, why) != CHAOS_OK)
		return CHAOS_EINVAL;
	return param_rules_check(sc->params, sc->rules, params, why);
}

void
cli_usage(const struct scenario *sc, FILE *f)
{
	char allowed[160], flag[64], note[160];

	fprintf(f, "usage: chaosctl run %s [options]\n%s\n", sc->cli, sc->summary);
	for (const struct param *p = sc->params; p->key != NULL; p++) {
		if (p->flags & PARAM_NO_FLAG)
			continue;
		snprintf(flag, sizeof(flag), "%s %s", p->flag,
		         p->type == PARAM_BOOL ? "true|false" : "V");
		param_rule_note(sc->params, sc->rules, p->key, note, sizeof(note));
		fprintf(f, "  %-24s %s\n  %-24s (%s%s%s%s%s)\n", flag, p->help, "",
		        param_allowed(p, allowed, sizeof(allowed)),
		        p->dflt && p->dflt[0] ? "; default " : "", p->dflt ? p->dflt : "",
		        note[0] ? "; " : "", note);
	}
	fprintf(f, "  %-26s %s\n", "--dry-run",
	        "print the plan (agents, targets, rules); change nothing");
	fprintf(f, "  %-26s %s\n", "--output DIR",
	        "where the result file goes (default .)");
}

/* One scenario flag and its value into params. */
static enum cli_result
cli_flag(const struct scenario *sc, const char *flag, const char *val, json_t *params,
         chaos_why *why)
{
	const struct param *p = param_by_flag(sc->params, flag);
	json_t             *v = NULL;

	if (p == NULL) {
		chaos_fail(why, CHAOS_EINVAL,
		           "run %s: unknown option '%s'; see chaosctl run %s --help",
		           sc->cli, flag, sc->cli);
		return CLI_USAGE;
	}
	if (val == NULL) {
		chaos_fail(why, CHAOS_EINVAL,
		           "run %s: %s needs a value; see chaosctl run %s "
		           "--help",
		           sc->cli, flag, sc->cli);
		return CLI_USAGE;
	}
	if (param_from_text(p, val, &v, why) != CHAOS_OK)
		return CLI_USAGE;
	if (p->type == PARAM_URLS && json_is_array(json_object_get(params, p->key))) {
		/* a list flag repeats: each one adds a value */
		json_t *all = json_object_get(params, p->key);
		json_array_extend(all, v);
		json_decref(v);
		return param_check(p, all, why) == CHAOS_OK ? CLI_OK : CLI_USAGE;
	}
	json_object_set_new(params, p->key, v);
	return CLI_OK;
}

enum cli_result
cli_parse(const struct scenario *sc, int argc, char **argv, json_t **params,
          struct cli_common *common, chaos_why *why)
{
	json_t         *p = json_object();
	enum cli_result rv;

	common->dry_run = false;
	common->output  = ".";
	for (int i = 1; i < argc; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--help") == 0) {
			cli_usage(sc, stdout);
			json_decref(p);
			return CLI_HELP;
		}
		if (strcmp(argv[i], "--dry-run") == 0) {
			common->dry_run = true;
			continue;
		}
		if (strcmp(argv[i], "--output") == 0) {
			if (val == NULL) {
				chaos_fail(why, CHAOS_EINVAL,
				           "run %s: --output needs a directory", sc->cli);
				json_decref(p);
				return CLI_USAGE;
			}
			common->output = argv[++i];
			continue;
		}
		if ((rv = cli_flag(sc, argv[i], val, p, why)) != CLI_OK) {
			json_decref(p);
			return rv;
		}
		i++;
	}
	*params = p;
	return CLI_OK;
}

/* dir does not exist: its deepest existing ancestor must be a directory
 * this user may create in, so that the rest can be made when the result is
 * written (runclient.h). Nothing is created now. */
static chaos_err
cli_check_parent(const char *dir, chaos_why *why)
{
	char        path[4096];
	char       *slash;
	struct stat st;

	snprintf(path, sizeof(path), "%s", dir);
	do {
		if ((slash = strrchr(path, '/')) == NULL)
			snprintf(path, sizeof(path), ".");
		else
			slash[slash == path ? 1 : 0] = '\0';
		if (stat(path, &st) == 0)
			break;
		if (errno != ENOENT || strcmp(path, ".") == 0 || strcmp(path, "/") == 0)
			return chaos_fail(why, CHAOS_EINVAL,
			                  "--output %s: cannot create it: %s: %s", dir,
			                  path, strerror(errno));
	} while (true); /* path is shorter each time, down to "." or "/" */
	if (!S_ISDIR(st.st_mode))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "--output %s: cannot create it: %s: %s", dir, path,
		                  strerror(ENOTDIR));
	if (access(path, W_OK | X_OK) != 0)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "--output %s: cannot create it in %s: %s", dir, path,
		                  strerror(errno));
	return CHAOS_OK;
}

chaos_err
cli_check_output(const char *dir, chaos_why *why)
{
	char        path[4096];
	struct stat st;
	int         fd;

	if (dir[0] == '\0')
		return chaos_fail(why, CHAOS_EINVAL, "--output '': needs a directory");
	if (stat(dir, &st) != 0)
		return errno == ENOENT ? cli_check_parent(dir, why)
		                       : chaos_fail(why, CHAOS_EINVAL, "--output %s: %s",
		                                    dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return chaos_fail(why, CHAOS_EINVAL, "--output %s: %s", dir,
		                  strerror(ENOTDIR));
	snprintf(path, sizeof(path), "%s/.chaosctl-write-test.%d", dir, (int)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "--output %s: results cannot be written there: %s", dir,
		                  strerror(errno));
	close(fd);
	unlink(path);
	return CHAOS_OK;
}
