/* SPDX-License-Identifier: MIT */
/*
 * Runs on disk, so that nothing in flight is lost with the controller: one
 * record per run, <dir>/runs/<id>.json, written atomically (temporary file,
 * fsync, rename, fsync of the directory) when the run starts, at
 * checkpoints while it executes (with what was measured so far), and when it
 * ends; run ids come from a counter in <dir>/next-run-id, saved before an id
 * is used, so they never repeat across restarts. A record that a restart
 * finds still running becomes "interrupted", keeping the measurements of its
 * last checkpoint. The newest RUN_STORE_KEEP records are kept.
 *
 * A record: {id, scenario, state (the RunState name), started, ended,
 * error, progress: [lines], result (object or null), checkpoint}.
 * Thread safety: one mutex; every call may come from any thread.
 */
#ifndef CHAOS_CONTROLLER_RUN_STORE_H
#define CHAOS_CONTROLLER_RUN_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define RUN_STORE_KEEP 64

struct run_store;

/* Opens (creating) dir, marks runs a previous controller left running as
 * interrupted, and reads the id counter. *interrupted (may be NULL) gets
 * how many; a record that is not a JSON object is skipped with a warning
 * naming the file and, for bad JSON, the line and column. CHAOS_EPERM/
 * CHAOS_ESYS with why when dir cannot be used. */
chaos_err run_store_open(const char *dir, struct run_store **out, size_t *interrupted,
                         chaos_why *why);
void      run_store_close(struct run_store *s);

/* The next run id, saved (fsync'd) before it is returned: never 0, never
 * one that a previous controller gave out. */
uint64_t run_store_next_id(struct run_store *s);

/* Writes the record of run id atomically (a copy of record is not kept). */
chaos_err run_store_save(struct run_store *s, uint64_t id, const json_t *record);

/* The record of run id (new reference), or NULL when there is none or it
 * is not a JSON object (said in a warning, as at open). */
json_t *run_store_load(struct run_store *s, uint64_t id);

/* The ids of the records kept, newest first, into ids[0..cap); returns the
 * count. */
size_t run_store_ids(struct run_store *s, uint64_t *ids, size_t cap);

/* The summaries of the newest RUN_STORE_KEEP records, newest first (a new
 * array), kept in memory (read at open, updated at every save) so that a
 * listing reads no file: each is its record with the progress cut to the
 * last line and the result to its brief (run_store_brief). */
json_t *run_store_list(struct run_store *s);

/* What a listing keeps of a result (a new object): mttr, mttr_reason and
 * failure, those it has; NULL when result is not an object. */
json_t *run_store_brief(const json_t *result);

#endif
