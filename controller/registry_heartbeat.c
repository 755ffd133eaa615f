// SPDX-License-Identifier: MIT
/* The registry's heartbeat: grown with the connected agents within
 * --max-heartbeats-per-s, how long a poll may be held, and when an agent
 * that stopped polling is lost (see struct registry in registry_int.h). */
#include "controller/registry.h"

#include <stdatomic.h>

#include <nng/supplemental/util/platform.h>

#include "common/log.h"
#include "controller/registry_int.h"

void
registry_set_max_heartbeats(struct registry *r, uint32_t per_s)
{
	nng_mtx_lock(r->mtx);
	r->max_hb_per_s = per_s;
	nng_mtx_unlock(r->mtx);
}

uint32_t
registry_heartbeat_ms(const struct registry *r)
{
	return atomic_load(&r->hb_ms);
}

uint32_t
reg_park_ms(const struct registry *r, const struct reg_agent *a)
{
	uint32_t ms = atomic_load(&r->hb_ms);

	for (size_t i = 0; a != NULL && i < a->live.n; i++)
		if (a->lease[i].lease_ms > 0 && a->lease[i].lease_ms / 3 < ms)
			ms = a->lease[i].lease_ms / 3;
	return ms;
}

uint32_t
registry_park_ms(struct registry *r, const char *agent_id)
{
	uint32_t ms;

	nng_mtx_lock(r->mtx);
	ms = reg_park_ms(r, reg_find(r, agent_id));
	nng_mtx_unlock(r->mtx);
	return ms;
}

int64_t
reg_lost_after_us(const struct registry *r, int64_t now_mono_us)
{
	uint32_t hb = atomic_load(&r->hb_ms);

	if (r->hb_prev_ms > hb &&
	    now_mono_us - r->hb_changed_mono_us <
	        (int64_t)r->hb_prev_ms * REG_LOST_AFTER_HB * 1000)
		hb = r->hb_prev_ms;
	return (int64_t)hb * REG_LOST_AFTER_HB * 1000;
}

/* The heartbeat that keeps n agents within max_hb_per_s polls a second,
 * rounded up to 100 ms, within base..60 s (what the wire allows). */
static uint32_t
reg_heartbeat_for(const struct registry *r, size_t n)
{
	uint64_t ms;

	if (r->max_hb_per_s == 0)
		return r->hb_base_ms;
	ms = ((uint64_t)n * 1000 + r->max_hb_per_s - 1) / r->max_hb_per_s;
	ms = (ms + 99) / 100 * 100;
	if (ms > 60000)
		ms = 60000;
	return ms > r->hb_base_ms ? (uint32_t)ms : r->hb_base_ms;
}

void
reg_adapt_heartbeat(struct registry *r, size_t n, int64_t now_mono_us)
{
	uint32_t cur = atomic_load(&r->hb_ms), want = reg_heartbeat_for(r, n), next;

	if (want == cur || now_mono_us - r->hb_changed_mono_us < (int64_t)cur * 1000)
		return;
	next                  = want > cur ? (want < cur * 2 ? want : cur * 2)
	                                   : (want > cur / 2 ? want : cur / 2);
	r->hb_prev_ms         = cur;
	r->hb_changed_mono_us = now_mono_us;
	atomic_store(&r->hb_ms, next);
	log_info("heartbeat %u ms (was %u): %zu agents connected, at most %u polls a "
	         "second (--max-heartbeats-per-s)",
	         next, cur, n, r->max_hb_per_s);
}
