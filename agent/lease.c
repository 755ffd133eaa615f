// SPDX-License-Identifier: MIT
#include "agent/lease.h"

#include <stdio.h>

#include "common/limits.h"

enum lease_verdict
lease_reply(struct lease *l, int64_t now_mono_us, uint64_t instance, bool held,
            uint32_t ms)
{
	/* granted by this very reply's commands (or one before it) */
	if (l->instance == 0)
		l->instance = instance;
	if (instance != l->instance)
		return LEASE_OTHER_INSTANCE;
	/* a reply naming no instance cannot be told from another
	 * controller's: it renews nothing */
	if (instance == 0 || !held)
		return LEASE_NOT_HELD;
	l->end_mono = now_mono_us + (int64_t)ms * 1000;
	l->ms       = ms;
	return LEASE_RENEWED;
}

bool
lease_ended(const struct lease *l, int64_t now_mono_us)
{
	return l->end_mono != 0 && now_mono_us >= l->end_mono;
}

const char *
lease_verdict_why(enum lease_verdict v)
{
	switch (v) {
	case LEASE_OTHER_INSTANCE:
		return "the controller that granted it is gone (a reply came from "
		       "another controller instance)";
	case LEASE_NOT_HELD:
		return "the controller no longer holds it";
	case LEASE_EXPIRED:
		return "lease expired: no word from the controller";
	default:
		return "renewed";
	}
}

const char *
lease_describe(const struct lease *l, enum lease_verdict v, char *buf, size_t len)
{
	if (v == LEASE_EXPIRED)
		snprintf(buf, len, "no word from the controller for %u ms (its lease)",
		         l->ms);
	else
		snprintf(buf, len, "%s", lease_verdict_why(v));
	return buf;
}

uint32_t
lease_worker_ms(uint32_t heartbeat_ms)
{
	uint64_t three = (uint64_t)heartbeat_ms * 3;

	return three > LIMIT_LEASE_DEFAULT_MS ? (uint32_t)three : LIMIT_LEASE_DEFAULT_MS;
}
