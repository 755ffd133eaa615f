/* SPDX-License-Identifier: MIT */
/*
 * An orchestration session's history file: chaos_orchestration_<stamp>.jsonl
 * in the output directory, one JSON line per record, each appended and
 * fsync'd: a "session" header (every setting --resume needs), a "start"
 * line when the controller accepts a run (its run id: a resumed session
 * follows a run that was in flight), one "cycle" line per run once it ended,
 * an "end" line. A crash can tear only the very last line.
 */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_ORCH_HISTORY_H
#define CHAOS_CONTROLLER_CHAOSCTL_ORCH_HISTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/chaosctl/orch.h"

#define ORCH_HISTORY_PREFIX "chaos_orchestration_"
#define ORCH_HISTORY_SUFFIX ".jsonl"

/* One session: its files, its header line and the runs done so far. */
struct orch_session {
	char    history[4096];
	char    report[4096];
	char    stamp[32];
	int64_t start_us;
	int64_t deadline_us; /* 0: run the list once */
	json_t *header;
	json_t *entries;
	int     next_cycle;
	int64_t last_started_us;
	json_t *inflight; /* the "start" record of a run with no "cycle" record
	                   * yet: chaosctl stopped while it ran */
	bool finished;
};

/* An ISO time as JSON, null for us <= 0. */
json_t *orch_iso(int64_t us);

/* Microseconds of an ISO time in JSON; 0 when it is not one. */
int64_t orch_iso_us(const json_t *v);

/* "in turn" or "random". */
const char *orch_selection(const struct orch_opts *o);

/* Whether an entry took a slot in the schedule (a scenario missing from the
 * build does not). */
bool orch_is_attempt(const json_t *e);

/* Takes entry e's start as the session's last (s->last_started_us, which
 * the continuous interval counts from) when e took a slot in the schedule
 * and its start is known. */
void orch_note_start(struct orch_session *s, const json_t *e);

/* The history and report paths of the session's stamp in dir. */
void orch_paths(struct orch_session *s, const char *dir);

/* Appends one record (fsync'd); prints why on failure. */
chaos_err orch_append(const struct orch_session *s, const json_t *line);

/* A new session: its stamp, files and header record. Returns an exit
 * status (CHAOS_EXIT_ENV when the directory or file cannot be written). */
int orch_session_new(const struct orch_opts *o, struct orch_session *s);

/* Newest history file in dir: its stamp; false when there is none. */
bool orch_find_history(const char *dir, char *stamp, size_t len);

/* Reads s->history into s (header, entries, next cycle). Returns an exit
 * status. */
int orch_load_history(struct orch_session *s);

/* The settings saved in a session header into o; CHAOS_EPROTO when the
 * header is not valid, CHAOS_EINVAL when a scenario's settings no longer
 * pass its finish step. */
chaos_err orch_opts_from_header(struct orch_opts *o, const json_t *h);

/* When the finished session ended: the time in its end record. 0 when the
 * history has none (chaosctl stopped before writing it), with why (len
 * bytes) saying so and when the last recorded run ended: never a time that
 * was not recorded. */
int64_t orch_end_time(const struct orch_session *s, char *why, size_t len);

/* The entry of a result file found on --resume that the history lacks
 * (chaosctl stopped between writing the file and recording the run): its
 * state is the file's run_state, or ORCH_STATE_UNKNOWN with the reason in a
 * file written before chaosctl kept it (never guessed from "failure");
 * started is the orchestrator's, from inflight (the history's "start"
 * record, may be NULL) when it names the same run id, else null with
 * started_reason; ended is null with ended_reason. New object. */
json_t *orch_adopted_entry(const json_t *result, const json_t *inflight, int cycle,
                           const char *name, const char *scenario, const char *file);

#endif
