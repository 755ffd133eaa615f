// SPDX-License-Identifier: MIT
#include "controller/run_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"

struct run_store {
	nng_mtx *mtx;
	int      lock_fd; /* flock: one controller per directory */
	char     dir[4096];
	char     runs[4200];
	uint64_t next;  /* the counter on disk is ahead of or at this */
	json_t  *index; /* id text -> summary (run_store_list), the newest KEEP */
};

static void
store_path(const struct run_store *s, uint64_t id, char *out, size_t len)
{
	snprintf(out, len, "%s/%" PRIu64 ".json", s->runs, id);
}

static chaos_err
store_write_json(const char *path, const json_t *doc)
{
	char     *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
	chaos_err rv   = text ? fs_write_atomic(path, text, strlen(text)) : CHAOS_ENOMEM;

	free(text);
	return rv;
}

/* The record in path: a JSON object, or NULL with a warning that says what
 * is wrong (a crash can leave no torn record, since every write is atomic,
 * but a disk or a person can). */
static json_t *
store_read(const char *path)
{
	json_error_t err;
	json_t      *rec = json_load_file(path, 0, &err);

	if (rec == NULL && err.line < 0)
		log_warn("run record %s: cannot read it: %s; skipped", path, err.text);
	else if (rec == NULL)
		log_warn("run record %s: not JSON at line %d, column %d: %s; skipped",
		         path, err.line, err.column, err.text);
	else if (!json_is_object(rec)) {
		log_warn("run record %s: not a JSON object; skipped", path);
		json_decref(rec);
		rec = NULL;
	}
	return rec;
}

/* Every record id on disk (caller frees *ids); sorted newest first. */
static int
store_cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y) - (x > y);
}

static size_t
store_scan(const struct run_store *s, uint64_t **ids)
{
	DIR           *d = opendir(s->runs);
	struct dirent *de;
	size_t         n = 0, cap = 0;

	*ids = NULL;
	while (d != NULL && (de = readdir(d)) != NULL) {
		char    *end;
		uint64_t id = strtoull(de->d_name, &end, 10);
		if (id == 0 || strcmp(end, ".json") != 0)
			continue;
		if (n == cap) {
			uint64_t *grown =
			    realloc(*ids, (cap = cap ? 2 * cap : 64) * sizeof(**ids));
			if (grown == NULL)
				break;
			*ids = grown;
		}
		(*ids)[n++] = id;
	}
	if (d != NULL)
		closedir(d);
	if (n > 1) /* *ids is NULL when the directory is empty */
		qsort(*ids, n, sizeof(**ids), store_cmp_desc);
	return n;
}

/* A record left "running" or "planning" by a controller that died: it is
 * interrupted, with what its last checkpoint measured. */
static bool
store_interrupt(json_t *rec)
{
	const char *state = json_string_value(json_object_get(rec, "state"));
	const char *at    = json_string_value(json_object_get(rec, "checkpoint"));
	json_t     *res   = json_object_get(rec, "result");
	char        why[256];

	if (state == NULL ||
	    (strcmp(state, "running") != 0 && strcmp(state, "planning") != 0))
		return false;
	snprintf(why, sizeof(why),
	         "interrupted: the controller stopped during the run; the figures are "
	         "those measured until %s",
	         at != NULL ? at : "the run started (no measurement was saved)");
	json_object_set_new(rec, "state", json_string("interrupted"));
	json_object_set_new(rec, "error", json_string(why));
	json_object_set(rec, "ended", json_object_get(rec, "checkpoint") ?: json_null());
	if (!json_is_object(res)) {
		/* stopped before the first checkpoint: a result that says so,
		 * every figure unknown */
		res = json_pack("{s:O?,s:O?,s:n,s:n,s:s,s:n,s:s}", "scenario",
		                json_object_get(rec, "scenario"), "test_start",
		                json_object_get(rec, "started"), "test_end", "mttr",
		                "mttr_reason",
		                "not measured: the controller stopped before it saved "
		                "any measurement",
		                "recovery_time", "recovery_time_reason",
		                "not measured: the controller stopped before it saved "
		                "any measurement");
		if (res == NULL)
			return true;
		json_object_set_new(rec, "result", res);
	}
	json_object_set_new(res, "failure", json_string(why));
	json_object_set_new(res, "interrupted", json_true());
	return true;
}

json_t *
run_store_brief(const json_t *result)
{
	static const char *const keys[] = {"mttr", "mttr_reason", "failure"};
	json_t                  *brief;

	if (!json_is_object(result))
		return NULL;
	brief = json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(result, keys[i]) != NULL)
			json_object_set_new(
			    brief, keys[i],
			    json_deep_copy(json_object_get(result, keys[i])));
	return brief;
}

/* A record as a listing keeps it: its last progress line, its result's
 * brief. */
static json_t *
store_summary(const json_t *rec)
{
	json_t     *sum   = json_object();
	json_t     *lines = json_object_get(rec, "progress");
	size_t      n     = json_array_size(lines);
	const char *key;
	json_t     *v;

	json_object_foreach((json_t *)rec, key, v)
	{
		if (strcmp(key, "progress") != 0 && strcmp(key, "result") != 0)
			json_object_set_new(sum, key, json_deep_copy(v));
	}
	json_object_set_new(sum, "progress",
	                    n > 0 ? json_pack("[O]", json_array_get(lines, n - 1))
	                          : json_array());
	json_object_set_new(sum, "result",
	                    run_store_brief(json_object_get(rec, "result"))
	                        ?: json_null());
	return sum;
}

/* Files rec's summary under id, dropping the oldest beyond KEEP (mtx held,
 * or during open). */
static void
store_index(struct run_store *s, uint64_t id, const json_t *rec)
{
	char        key[24], oldest[24] = "";
	const char *k;
	json_t     *v;

	json_t *sum = store_summary(rec);

	/* the file's name is its id, whatever the record says */
	json_object_set_new(sum, "id", json_integer((json_int_t)id));
	snprintf(key, sizeof(key), "%" PRIu64, id);
	json_object_set_new(s->index, key, sum);
	if (json_object_size(s->index) <= RUN_STORE_KEEP)
		return;
	json_object_foreach(s->index, k, v)
	{
		if (oldest[0] == '\0' ||
		    strtoull(k, NULL, 10) < strtoull(oldest, NULL, 10))
			snprintf(oldest, sizeof(oldest), "%s", k);
	}
	json_object_del(s->index, oldest);
}

/* Keeps the newest records; marks what a dead controller left running. */
static size_t
store_tidy(struct run_store *s)
{
	uint64_t *ids;
	size_t    n = store_scan(s, &ids), marked = 0;
	char      path[4300];

	for (size_t i = 0; i < n; i++) {
		json_t *rec;
		store_path(s, ids[i], path, sizeof(path));
		if (i >= RUN_STORE_KEEP) {
			unlink(path);
			continue;
		}
		if (ids[i] >= s->next)
			s->next = ids[i] + 1;
		if ((rec = store_read(path)) == NULL)
			continue;
		if (store_interrupt(rec) && store_write_json(path, rec) == CHAOS_OK) {
			log_warn("run %" PRIu64
			         " was interrupted by a controller restart; its "
			         "result holds what was measured before",
			         ids[i]);
			marked++;
		}
		store_index(s, ids[i], rec);
		json_decref(rec);
	}
	free(ids);
	return marked;
}

static uint64_t
store_read_counter(const struct run_store *s)
{
	char     path[4200], buf[32] = "";
	FILE    *f;
	uint64_t v = 0;

	snprintf(path, sizeof(path), "%s/next-run-id", s->dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL)
			v = strtoull(buf, NULL, 10);
		fclose(f);
	}
	return v;
}

/* Two controllers on one directory would each call the other's running runs
 * interrupted: the second one is refused. */
static chaos_err
store_lock(struct run_store *s, chaos_why *why)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/lock", s->dir);
	if ((s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return chaos_fail(why, chaos_err_from_errno(errno), "--state-dir %s: %s",
		                  s->dir, strerror(errno));
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return chaos_fail(why, CHAOS_EBUSY,
		                  "--state-dir %s is in use by another controller",
		                  s->dir);
	return CHAOS_OK;
}

chaos_err
run_store_open(const char *dir, struct run_store **out, size_t *interrupted,
               chaos_why *why)
{
	struct run_store *s = calloc(1, sizeof(*s));
	chaos_err         rv;
	size_t            marked;
	uint64_t          counter;

	if (s == NULL || nng_mtx_alloc(&s->mtx) != 0) {
		free(s);
		return CHAOS_ENOMEM;
	}
	s->lock_fd = -1;
	s->index   = json_object();
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(s->runs, sizeof(s->runs), "%s/runs", dir);
	if ((rv = fs_mkdirs(s->runs)) != CHAOS_OK || access(s->runs, W_OK) != 0) {
		run_store_close(s);
		return chaos_fail(why, rv != CHAOS_OK ? rv : CHAOS_EPERM,
		                  "--state-dir %s: cannot write there (%s)", dir,
		                  strerror(errno));
	}
	if ((rv = store_lock(s, why)) != CHAOS_OK) {
		run_store_close(s);
		return rv;
	}
	s->next = 1;
	marked  = store_tidy(s);
	counter = store_read_counter(s);
	if (counter > s->next)
		s->next = counter;
	if (interrupted != NULL)
		*interrupted = marked;
	*out = s;
	return CHAOS_OK;
}

void
run_store_close(struct run_store *s)
{
	if (s == NULL)
		return;
	if (s->mtx != NULL)
		nng_mtx_free(s->mtx);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* releases the lock */
	json_decref(s->index);
	free(s);
}

uint64_t
run_store_next_id(struct run_store *s)
{
	char     path[4200], text[32];
	uint64_t id;

	nng_mtx_lock(s->mtx);
	id = s->next++;
	snprintf(path, sizeof(path), "%s/next-run-id", s->dir);
	snprintf(text, sizeof(text), "%" PRIu64 "\n", s->next);
	/* saved before it is used: a crash cannot hand the same id out twice */
	if (fs_write_atomic(path, text, strlen(text)) != CHAOS_OK)
		log_warn("cannot save the run id counter in %s", s->dir);
	nng_mtx_unlock(s->mtx);
	return id;
}

chaos_err
run_store_save(struct run_store *s, uint64_t id, const json_t *record)
{
	char      path[4300];
	chaos_err rv;

	store_path(s, id, path, sizeof(path));
	nng_mtx_lock(s->mtx);
	if ((rv = store_write_json(path, record)) == CHAOS_OK)
		store_index(s, id, record);
	nng_mtx_unlock(s->mtx);
	if (rv != CHAOS_OK)
		log_warn("run %" PRIu64 ": cannot save its record in %s: %s", id, s->runs,
		         chaos_strerror(rv));
	return rv;
}

json_t *
run_store_load(struct run_store *s, uint64_t id)
{
	char    path[4300];
	json_t *rec;

	store_path(s, id, path, sizeof(path));
	nng_mtx_lock(s->mtx);
	rec = access(path, F_OK) == 0 ? store_read(path) : NULL;
	nng_mtx_unlock(s->mtx);
	return rec;
}

size_t
run_store_ids(struct run_store *s, uint64_t *ids, size_t cap)
{
	uint64_t *all;
	size_t    n;

	nng_mtx_lock(s->mtx);
	n = store_scan(s, &all);
	nng_mtx_unlock(s->mtx);
	n = n < cap ? n : cap;
	if (n > 0)
		memcpy(ids, all, n * sizeof(*ids));
	free(all);
	return n;
}

static int
store_cmp_summaries(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));

	return (x < y) - (x > y);
}

json_t *
run_store_list(struct run_store *s)
{
	json_t     *all[RUN_STORE_KEEP], *out = json_array();
	size_t      n = 0;
	const char *key;
	json_t     *v;

	nng_mtx_lock(s->mtx);
	json_object_foreach(s->index, key, v)
	{
		if (n < RUN_STORE_KEEP)
			all[n++] = json_deep_copy(v);
	}
	nng_mtx_unlock(s->mtx);
	if (n > 1)
		qsort(all, n, sizeof(all[0]), store_cmp_summaries);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, all[i]);
	return out;
}
