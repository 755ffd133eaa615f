// SPDX-License-Identifier: MIT
/* The one list of scenarios. Adding a scenario: its file, and a line here. */
#include <stdio.h>
#include <string.h>

#include "controller/scenarios/scenario.h"

extern const struct scenario scenario_network;
extern const struct scenario scenario_database;
extern const struct scenario scenario_coordinator;
extern const struct scenario scenario_noop;

/* In the orchestrator's default order. */
const struct scenario *const scenario_list[] = {
    &scenario_coordinator,
    &scenario_network,
    &scenario_database,
    NULL,
};

/* Run only when named: the swarm benchmark's fault. */
const struct scenario *const scenario_unlisted[] = {&scenario_noop, NULL};

static const struct scenario *
scenario_find_in(const struct scenario *const *list, const char *name)
{
	for (size_t i = 0; name != NULL && list[i] != NULL; i++)
		if (strcmp(name, list[i]->cli) == 0 || strcmp(name, list[i]->name) == 0)
			return list[i];
	return NULL;
}

const struct scenario *
scenario_find(const char *name)
{
	const struct scenario *sc = scenario_find_in(scenario_list, name);

	return sc != NULL ? sc : scenario_find_in(scenario_unlisted, name);
}

static const char *
scenario_join(char *buf, size_t len, bool words)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; scenario_list[i] != NULL && n < len; i++)
		n += (size_t)snprintf(
		    buf + n, len - n, "%s%s", i ? (words ? " " : ", ") : "",
		    words ? scenario_list[i]->cli : scenario_list[i]->name);
	return buf;
}

const char *
scenario_words(char *buf, size_t len)
{
	return scenario_join(buf, len, true);
}

const char *
scenario_names(char *buf, size_t len)
{
	return scenario_join(buf, len, false);
}
