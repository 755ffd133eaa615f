/* SPDX-License-Identifier: MIT */
/*
 * A scenario is one descriptor in one file (controller/scenarios/<name>.c):
 * its names, its parameter table, the shape of its result, its
 * recommendation rules, and its plan and execute steps. chaosctl and the
 * controller both read the descriptors in scenario_list[]
 * (scenarios.c); adding a scenario is one new file and one line there.
 *
 * Which thread runs what:
 * - finish, recommend: chaosctl's main thread (no controller state).
 * - plan, execute, plan_free: the controller, on the run's own thread
 *   (never the control server's): plan may block (the Kubernetes API, with
 *   retries) without delaying `chaosctl agents`, status or abort.
 */
#ifndef CHAOS_CONTROLLER_SCENARIOS_SCENARIO_H
#define CHAOS_CONTROLLER_SCENARIOS_SCENARIO_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "controller/scenarios/param.h"

struct run;

/* The shape of a scenario's result, which the reports read instead of
 * guessing. */
struct scenario_shape {
	/* The fault window: "<window>_start" and "<window>_end" in the result. */
	const char *window;
	/* Result keys whose value is an object {lane name: [samples]}, each
	 * sample {t, ok, ms, err, detail}: one timeline lane per member. */
	const char *const *lanes;
	/* Result keys that an orchestrator entry's details leave out (too big
	 * or per node), besides the ones every result has. */
	const char *const *bulky;
	/* Adds a condensed form of what bulky left out to an entry's details;
	 * NULL when there is none. */
	void (*digest)(const json_t *result, json_t *details);
};

struct scenario {
	const char *cli;  /* chaosctl's word: "network" */
	const char *name; /* the result's "scenario" and file tag: "network_partition" */
	const char *summary; /* one line for usage texts */

	const struct param *params;      /* ends with PARAM_ROW_END */
	size_t              params_size; /* sizeof the struct the rows point into */
	/* Which given parameters go together (param.h), ending with
	 * PARAM_RULE_END; NULL when any combination is fine. */
	const struct param_rule *rules;

	struct scenario_shape shape;

	/* chaosctl, after the flags were read and before anything is sent:
	 * e.g. reads a file named by a PARAM_CLI_ONLY row into a sent key.
	 * NULL when there is nothing to do. CHAOS_EINVAL: bad usage. */
	chaos_err (*finish)(json_t *params, chaos_why *why);

	/* Appends recommendations (orch_rec, controller/report/rules.h) drawn
	 * from the orchestrator's entries of this scenario. */
	void (*recommend)(const json_t *entries, json_t *recs);

	/* Controller: targets and the plan from the checked parameters (the
	 * struct param_read filled; the plan copies what it keeps). Changes
	 * nothing. *plan_json describes it (--dry-run prints it). CHAOS_EINVAL:
	 * refused (bad parameters or targets); CHAOS_ENOENT: the environment is
	 * not usable (no agents); why says which. */
	chaos_err (*plan)(struct run *r, const void *params, void **plan,
	                  json_t **plan_json, chaos_why *why);

	/* Controller: runs the plan and reverts every fault on every path,
	 * including abort. Returns the final Chaos__V1__RunState and the
	 * result (owned by the caller). */
	int (*execute)(struct run *r, void *plan, json_t **result);

	/* Frees a plan; NULL is fine. free() for a plan that is one block. */
	void (*plan_free)(void *plan);
};

/* Every scenario this build runs, ending with NULL. */
extern const struct scenario *const scenario_list[];

/* Scenarios that run only when named, ending with NULL: no usage text
 * offers them and orchestrate never picks them (noop, the benchmark's). */
extern const struct scenario *const scenario_unlisted[];

/* By chaosctl's word ("network") or the result name
 * ("network_partition"), listed or unlisted; NULL when unknown. */
const struct scenario *scenario_find(const char *name);

/* "network database coordinator" for messages. */
const char *scenario_words(char *buf, size_t len);

/* "network_partition, database_failure, coordinator_outage". */
const char *scenario_names(char *buf, size_t len);

#endif
