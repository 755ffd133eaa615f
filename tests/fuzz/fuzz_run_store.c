// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the run records a restarted controller reads back
 * (controller/run_store.c): the input is <state-dir>/runs/1.json, and the
 * target goes the restart's way, run_store_open (which reads every record,
 * marks one left running as interrupted and rewrites it, and builds the
 * listing), then run_store_list and run_store_load as a client's
 * `chaosctl results` does. The state directory is the process's own, in
 * /dev/shm when there is one (the store fsyncs every write).
 *
 * Beyond "no crash, no leak": the store opens whatever the record holds;
 * a record that is a JSON object is listed (as run 1) and loaded, one that
 * is not is neither; one left running or planning comes back interrupted,
 * once: a second restart finds nothing to mark.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "controller/run_store.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[256], fuzz_record[300];

static void
fuzz_dir_gone(void)
{
	char path[400];

	unlink(fuzz_record);
	snprintf(path, sizeof(path), "%s/lock", fuzz_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/runs", fuzz_dir);
	rmdir(path);
	rmdir(fuzz_dir);
}

static void
fuzz_dir_once(void)
{
	if (fuzz_dir[0] != '\0')
		return;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz-run-store-%d",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	snprintf(fuzz_record, sizeof(fuzz_record), "%s/runs/1.json", fuzz_dir);
	fuzz_require(fs_mkdirs(fuzz_dir) == CHAOS_OK);
	atexit(fuzz_dir_gone);
	log_init("fuzz", LOG_LEVEL_ERROR); /* a warning per input is noise */
}

/* What the input is to the store: a JSON object, and one left running. */
static bool
fuzz_is_record(const uint8_t *data, size_t size, bool *running)
{
	json_t     *j     = json_loadb((const char *)data, size, 0, NULL);
	const char *state = json_string_value(json_object_get(j, "state"));
	bool        obj   = json_is_object(j);

	*running = state != NULL &&
	    (strcmp(state, "running") == 0 || strcmp(state, "planning") == 0);
	json_decref(j);
	return obj;
}

static void
fuzz_restart(bool record, bool running, size_t want_marked)
{
	struct run_store *s      = NULL;
	size_t            marked = 99;
	json_t           *list, *rec;

	fuzz_require(run_store_open(fuzz_dir, &s, &marked, NULL) == CHAOS_OK);
	fuzz_require(marked == want_marked);
	list = run_store_list(s);
	rec  = run_store_load(s, 1);
	fuzz_require(json_array_size(list) == (record ? 1u : 0u));
	fuzz_require((rec != NULL) == record);
	if (record) {
		json_t *sum = json_array_get(list, 0);
		fuzz_require(json_integer_value(json_object_get(sum, "id")) == 1);
		fuzz_require(json_is_array(json_object_get(sum, "progress")));
		fuzz_require(json_array_size(json_object_get(sum, "progress")) <= 1);
		if (running)
			fuzz_require(
			    strcmp(json_string_value(json_object_get(rec, "state")),
			           "interrupted") == 0 &&
			    json_is_object(json_object_get(rec, "result")));
	}
	json_decref(rec);
	json_decref(list);
	run_store_close(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *runs;
	FILE *f;
	bool  running, record;

	fuzz_dir_once();
	if ((runs = strrchr(fuzz_record, '/')) != NULL) {
		*runs = '\0';
		fuzz_require(fs_mkdirs(fuzz_record) == CHAOS_OK);
		*runs = '/';
	}
	fuzz_require((f = fopen(fuzz_record, "wb")) != NULL);
	fuzz_require(fwrite(data, 1, size, f) == size || size == 0);
	fclose(f);
	record = fuzz_is_record(data, size, &running);
	fuzz_restart(record, running, record && running ? 1 : 0);
	fuzz_restart(record, running, 0); /* marked once, never again */
	unlink(fuzz_record);
	return 0;
}
