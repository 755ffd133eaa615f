/* SPDX-License-Identifier: MIT */
/*
 * Node mode's view of the node: a thread that scans for the pods' network
 * namespaces five times a second (agent/discover.h; addresses of known
 * namespaces once a second, of new ones at once) and keeps the table
 * of targets that commands name by key. It sends the whole list as a
 * TargetList event whenever the set changes (a netns appeared or vanished,
 * an address or a pod UID changed), when asked to (a new connection to the
 * controller), and every NODE_RESEND_MS in case one was lost.
 *
 * Thread-safe: the scanning thread writes the table, the agent's threads
 * read it.
 */
#ifndef CHAOS_AGENT_NODE_H
#define CHAOS_AGENT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/discover.h"
#include "agent/events.h"
#include "common/err.h"

#define NODE_SCAN_MS 200
#define NODE_IPS_EVERY 5 /* scans between reading every namespace's addresses */
#define NODE_RESEND_MS 5000
#define NODE_HOLD_POLL_MS 5   /* while held, how often to look again */
#define NODE_HOLD_MAX_MS 1000 /* a hold never delays a scan longer */

struct node;

/* Scans once (so the first list is complete before the agent connects),
 * then starts the scanning thread. ev must outlive the node; roots NULL is
 * the real /proc and /run/netns. Returns CHAOS_OK, CHAOS_ENOMEM, CHAOS_ESYS
 * with why. */
chaos_err node_new(struct events *ev, const struct discover_roots *roots,
                   struct node **out, chaos_why *why);

/* Stops the thread and frees n; NULL ok. */
void node_free(struct node *n);

/* What to enter for target key now: its path ("/run/netns/<name>" or
 * "/proc/<pid>/ns/net") and name ("" when unnamed). False when no such
 * target is on the node (any more). */
bool node_target(struct node *n, const char *key, char *path, size_t path_len, char *name,
                 size_t name_len);

/* While held, the scans wait (up to NODE_HOLD_MAX_MS after the last one),
 * and a scan under way waits between two entries (up to NODE_HOLD_MAX_MS
 * in all): a scan stats every process's namespace, milliseconds of CPU on
 * a busy node, which the threads applying a reply's commands need. The
 * session thread holds the node while it places and runs a reply's
 * commands; holds nest, each released once. */
void node_hold(struct node *n);
void node_release(struct node *n);

/* Sends the whole list again at the next scan (a new connection). */
void node_resend(struct node *n);

/* Targets now, and scans done so far (for logs and tests). */
size_t   node_count(struct node *n);
uint64_t node_scans(struct node *n);

#endif
