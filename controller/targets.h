/* SPDX-License-Identifier: MIT */
/*
 * The resolver: says who each node agent's target is. A thread that wakes
 * whenever the target table changes (and every TARGETS_REFRESH_MS, for
 * pods relabelled or an edited inventory) and answers every target:
 *
 *   1. the Kubernetes API, when configured: the pods on the target's node
 *      (one list per node and round), matched by pod UID, else by pod IP
 *      (never a hostNetwork pod's); role from the label chaos.io/role;
 *   2. the inventory file, when given: by netns name, else by IP;
 *   3. else unresolved, saying what was tried.
 *
 * Pods the inventory names that no target matched are listed as missing.
 * Problems are logged once when they appear, not at every round.
 */
#ifndef CHAOS_CONTROLLER_TARGETS_H
#define CHAOS_CONTROLLER_TARGETS_H

#include "common/err.h"
#include "controller/k8s.h"
#include "controller/target_table.h"

#define TARGETS_REFRESH_MS 2000
#define TARGETS_ROLE_LABEL "chaos.io/role"

struct targets_config {
	const char              *inventory; /* file, or NULL */
	const struct k8s_config *kube;      /* NULL: no Kubernetes API */
};

struct targets;

/* Checks the configuration (the inventory must parse; the API client is
 * made, nothing sent yet) and starts the thread. t must outlive it. With
 * neither source the resolver still runs, and says targets cannot be
 * resolved. Returns CHAOS_OK or the error of the inventory or the client
 * with why. */
chaos_err targets_start(struct ttab *t, const struct targets_config *cfg,
                        struct targets **out, chaos_why *why);

/* Stops and joins the thread; NULL ok. */
void targets_stop(struct targets *r);

#endif
