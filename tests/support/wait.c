// SPDX-License-Identifier: MIT
#include "wait.h"

#include <stdint.h>
#include <time.h>

#include "common/clock.h"

#define WAIT_NAP_FIRST_US 1000
#define WAIT_NAP_MAX_US 20000

static void
wait_nap(int64_t us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

bool
wait_until(wait_cond_fn cond, void *arg, int timeout_ms)
{
	int64_t deadline = clk_mono_us() + (int64_t)timeout_ms * 1000;
	int64_t nap      = WAIT_NAP_FIRST_US;

	while (!cond(arg)) {
		if (clk_mono_us() >= deadline)
			return cond(arg);
		wait_nap(nap);
		nap = nap * 2 < WAIT_NAP_MAX_US ? nap * 2 : WAIT_NAP_MAX_US;
	}
	return true;
}
