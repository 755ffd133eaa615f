// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for what `chaosctl orchestrate --resume` reads back: the
 * session's history, chaos_orchestration_<stamp>.jsonl, one JSON record a
 * line (orch_load_history and orch_opts_from_header in
 * controller/chaosctl/orch_history.c), then the report built over the runs
 * it recorded (orch_report_build, orch_report_exit, the JUnit and HTML
 * renderings of controller/report/), as a resumed session rewrites them.
 * The input is the file, written to the process's own path (in /dev/shm
 * when there is one).
 *
 * Beyond "no crash, no leak": a file without a session record is refused
 * with the usage status, never taken; one with it gives every recorded
 * cycle as an entry, a next cycle after each of theirs, and a report with
 * an exit status of the orchestrator's (0..3).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/flags.h"
#include "controller/chaosctl/orch.h"
#include "controller/chaosctl/orch_history.h"
#include "controller/report/orch_report.h"
#include "controller/report/render.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[128];

static void
fuzz_file_gone(void)
{
	unlink(fuzz_path);
}

/* The report over the entries, as a resumed session writes it. */
static void
fuzz_report(const struct orch_session *s, const struct orch_opts *o)
{
	json_t *orch   = json_object();
	json_t *report = orch_report_build(s->entries, o->namespace_, 1, orch, &o->slo);
	int exit = orch_report_exit(s->entries, json_object_get(report, "slo"), &o->slo);

	fuzz_require(json_is_object(report) && exit >= 0 && exit <= 3);
	free(report_junit_render(report, &o->slo));
	free(report_html_render(report, NULL, 0, &o->slo));
	json_decref(report);
	json_decref(orch);
}

static void
fuzz_check_session(const struct orch_session *s)
{
	size_t  i;
	json_t *e;

	fuzz_require(json_is_object(s->header));
	json_array_foreach(s->entries, i, e)
	{
		fuzz_require(json_object_get(e, "type") == NULL);
		fuzz_require((int)json_integer_value(json_object_get(e, "cycle")) <
		             s->next_cycle);
	}
}

/* orch_load_history with its line per torn record thrown away: at
 * thousands of inputs a second it would drown the fuzzer's output. Only
 * the stdio stream is swapped, not fd 2, so that a sanitizer's report
 * (written to fd 2) of a crash in there still shows. */
static int
fuzz_load_quietly(struct orch_session *s)
{
	static FILE *null;
	FILE        *saved = stderr;
	int          rv;

	if (null == NULL)
		fuzz_require((null = fopen("/dev/null", "w")) != NULL);
	stderr = null;
	rv     = orch_load_history(s);
	stderr = saved;
	return rv;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct orch_session s = {0};
	struct orch_opts    o = {0};
	FILE               *f;
	int                 rv;

	if (fuzz_path[0] == '\0') {
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz-orch-history-%d.jsonl",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
		         (int)getpid());
		atexit(fuzz_file_gone);
	}
	snprintf(s.history, sizeof(s.history), "%s", fuzz_path);
	fuzz_require((f = fopen(fuzz_path, "wb")) != NULL);
	fuzz_require(fwrite(data, 1, size, f) == size || size == 0);
	fclose(f);
	rv = fuzz_load_quietly(&s);
	fuzz_require(rv == CHAOS_EXIT_OK || rv == CHAOS_EXIT_USAGE);
	fuzz_require((rv == CHAOS_EXIT_OK) == (s.header != NULL));
	if (rv == CHAOS_EXIT_OK) {
		fuzz_check_session(&s);
		if (orch_opts_from_header(&o, s.header) == CHAOS_OK)
			fuzz_report(&s, &o);
		orch_opts_fini(&o);
	}
	json_decref(s.header);
	json_decref(s.entries);
	json_decref(s.inflight);
	return 0;
}
