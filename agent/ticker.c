// SPDX-License-Identifier: MIT
#include "agent/ticker.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"

struct ticker {
	pthread_mutex_t mtx;
	pthread_cond_t  cv; /* CLOCK_MONOTONIC: a wall-clock step changes nothing */
	bool            stop, kicked;
	ticker_fn       fn;
	void           *arg;
	pthread_t       thread;
};

/* The sooner of the deadline fn gave (0: none) and the idle wake-up. */
static int64_t
ticker_wake_at(int64_t next)
{
	int64_t idle = clk_mono_us() + (int64_t)TICKER_IDLE_MS * 1000;

	return next != 0 && next < idle ? next : idle;
}

/* Sleeps until wake, a kick or stop; called and returns with mtx held. */
static void
ticker_sleep(struct ticker *t, int64_t wake)
{
	struct timespec ts = {.tv_sec  = (time_t)(wake / 1000000),
	                      .tv_nsec = (long)(wake % 1000000) * 1000};

	while (!t->stop && !t->kicked && clk_mono_us() < wake)
		pthread_cond_timedwait(&t->cv, &t->mtx, &ts);
}

static void *
ticker_main(void *arg)
{
	struct ticker *t    = arg;
	int64_t        wake = 0; /* the first run is at once */

	pthread_setname_np(pthread_self(), "chaos-ticker"); /* for top -H and perf */
	pthread_mutex_lock(&t->mtx);
	for (;;) {
		int64_t next;
		ticker_sleep(t, wake);
		if (t->stop)
			break;
		t->kicked = false; /* a kick from here on runs fn once more */
		pthread_mutex_unlock(&t->mtx);
		next = t->fn(t->arg, clk_mono_us());
		pthread_mutex_lock(&t->mtx);
		wake = ticker_wake_at(next);
	}
	pthread_mutex_unlock(&t->mtx);
	return NULL;
}

chaos_err
ticker_new(ticker_fn fn, void *arg, struct ticker **out, chaos_why *why)
{
	struct ticker     *t = calloc(1, sizeof(*t));
	pthread_condattr_t ca;
	int                rc;

	if (t == NULL)
		return CHAOS_ENOMEM;
	t->fn  = fn;
	t->arg = arg;
	pthread_mutex_init(&t->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&t->thread, NULL, ticker_main, t)) != 0) {
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mtx);
		free(t);
		return chaos_fail(why, CHAOS_ESYS, "ticker: thread: %s", strerror(rc));
	}
	*out = t;
	return CHAOS_OK;
}

void
ticker_kick(struct ticker *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mtx);
	t->kicked = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mtx);
}

void
ticker_free(struct ticker *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mtx);
	t->stop = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mtx);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mtx);
	free(t);
}
