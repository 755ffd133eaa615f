/* SPDX-License-Identifier: MIT */
/*
 * One lease rule for everything the agent runs for a controller: faults
 * (agent/fault.c), probes and loads (agent/worker.c). A lease belongs to
 * the controller instance that granted it, which is the instance of the
 * first reply after the grant (the reply that carried the command). Only a
 * reply from that instance that still holds the thing renews it; a reply
 * from another instance (the controller restarted or was replaced), one
 * that no longer holds it, or one naming no instance ends it at once; and
 * without a renewing reply it ends when its time runs out. The caller
 * stops or reverts what the lease covered, and says why with
 * lease_verdict_why().
 *
 * Faults carry their lease length (FaultSpec.lease_ms). Probes and loads
 * carry none on the wire, and the controller lists only faults in
 * Reply.live_faults, so a probe or load is held by every reply of its
 * instance and its length is lease_worker_ms(): the controller's default
 * fault lease, or three heartbeats when the controller grew its heartbeat
 * past a third of that (a big fleet), so that replies renew it about three
 * times before it would end, as registry_park_ms() does for faults (the
 * controller at most doubles its heartbeat per heartbeat, so the next
 * reply still comes within three of the last announced).
 *
 * Plain data; the owner serialises access.
 */
#ifndef CHAOS_AGENT_LEASE_H
#define CHAOS_AGENT_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lease {
	uint64_t instance; /* the grantor; 0: no reply since the grant yet */
	int64_t  end_mono; /* us, clk_mono_us() time; 0: not running yet */
	uint32_t ms;       /* its length at the last renewal, for messages */
};

enum lease_verdict {
	LEASE_RENEWED,        /* (or still running) */
	LEASE_OTHER_INSTANCE, /* the reply came from another controller instance */
	LEASE_NOT_HELD,       /* the grantor no longer holds it, or named no instance */
	LEASE_EXPIRED,        /* no renewing reply within its length */
};

/* A reply from controller instance `instance` (0: it named none) came at
 * now_mono_us; held tells whether it still holds what l covers. A lease
 * with no grantor yet takes this instance. On LEASE_RENEWED the lease now
 * ends ms after now; otherwise the caller ends what it covers. */
enum lease_verdict lease_reply(struct lease *l, int64_t now_mono_us, uint64_t instance,
                               bool held, uint32_t ms);

/* Whether l, once running, has run out at now_mono_us. */
bool lease_ended(const struct lease *l, int64_t now_mono_us);

/* Why a lease ended, for logs and reports (static text). */
const char *lease_verdict_why(enum lease_verdict v);

/* The same with the length for LEASE_EXPIRED ("no word from the controller
 * for 3000 ms (its lease)"), into buf; returns buf. */
const char *lease_describe(const struct lease *l, enum lease_verdict v, char *buf,
                           size_t len);

/* The lease of a probe or load, in ms, for the heartbeat (ms) the
 * controller announced last (0: none yet): LIMIT_LEASE_DEFAULT_MS, or
 * three heartbeats when that is longer. */
uint32_t lease_worker_ms(uint32_t heartbeat_ms);

#endif
