/* SPDX-License-Identifier: MIT */
/*
 * What a run observes, on the controller's clock: probe samples, fault state
 * changes, connectivity results and command acks. Fed from the events and
 * session threads; read and waited on by the run's thread.
 */
#ifndef CHAOS_CONTROLLER_OBS_H
#define CHAOS_CONTROLLER_OBS_H

#include "common/err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/chaos.pb-c.h"

struct obs_sample {
	int64_t  t_us; /* check start, controller clock */
	bool     healthy;
	uint32_t latency_us;
	int      error_class; /* Chaos__V1__ErrorClass */
	uint32_t http_status;
	bool     has_value;
	int64_t  value;
	char     detail[96];
};

struct obs_fault_event {
	char     agent_id[256];
	char     fault_id[128];
	int      phase; /* Chaos__V1__FaultPhase */
	char     detail[128];
	bool     has_packets;
	uint64_t packets;
	int64_t  t_us;
};

struct obs_ack {
	uint64_t command_id;
	int      status; /* Chaos__V1__Status */
	char     error[160];
	int64_t  applied_us; /* controller clock */
};

/* One interval of a load run (see LoadReport): the requests scheduled in
 * [t_us, t_us + interval_us). */
struct obs_load {
	char      load_id[128];
	int64_t   t_us; /* interval start, controller clock */
	int64_t   interval_us;
	uint64_t  scheduled, ok, late;
	uint64_t  errors[16]; /* by Chaos__V1__ErrorClass */
	uint64_t *hist;       /* bucket counts (owned by obs), n_hist of them */
	size_t    n_hist;
	bool      final;
};

struct obs;

chaos_err obs_new(struct obs **out);
void      obs_free(struct obs *o);

/* Feeds (any thread). offset_us converts agent times: ctl = agent - offset. */
void obs_add_event(struct obs *o, const Chaos__V1__Event *e, int64_t offset_us);
void obs_add_ack(struct obs *o, const Chaos__V1__Ack *a, int64_t offset_us,
                 int64_t t_poll_us);

/* Copies the samples of probe_id (sorted by time) into a new array *out
 * (caller frees); returns the count (0 and *out NULL when none). */
size_t obs_samples(struct obs *o, const char *probe_id, struct obs_sample **out);

/* Copies the fault events of fault_id into out[0..cap); returns the count. */
size_t obs_fault_events(struct obs *o, const char *fault_id, struct obs_fault_event *out,
                        size_t cap);

/* Copies the interval reports of load_id (final ones included) into a new
 * array (caller frees with obs_loads_free); returns the count. */
size_t obs_loads(struct obs *o, const char *load_id, struct obs_load **out);
void   obs_loads_free(struct obs_load *l, size_t n);

/* Waits until the final report of load_id arrived or the deadline passed. */
bool obs_wait_load_final(struct obs *o, const char *load_id, int64_t deadline_mono);

/* Waits until the ack of command_id arrives or deadline (monotonic us)
 * passes. Returns true with *ack filled when it arrived. */
bool obs_wait_ack(struct obs *o, uint64_t command_id, int64_t deadline_mono,
                  struct obs_ack *ack);

/* Waits until the acks of all ids[0..n) arrived or deadline (monotonic us)
 * passed: one wait for a whole fan-out. acks[i] is filled for each that
 * arrived (the first ack of a command counts) and zeroed (status 0) for the
 * others; an id 0 is skipped (nothing to wait for). Returns how many
 * arrived. Lookups are by a hash of the command id, and the waiter is woken
 * only when enough acks arrived to complete its set. One thread waits on
 * acks at a time (a run's own). */
size_t obs_wait_acks(struct obs *o, const uint64_t *ids, size_t n, int64_t deadline_mono,
                     struct obs_ack *acks);

/* Waits for the connectivity result of check_id from agent_id; returns a
 * copy (free with chaos__v1__conn_check_result__free_unpacked) or NULL. */
Chaos__V1__ConnCheckResult *obs_wait_conn(struct obs *o, const char *agent_id,
                                          const char *check_id, int64_t deadline_mono);

#endif
