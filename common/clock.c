// SPDX-License-Identifier: MIT
#include "common/clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t
clk_read(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clk_now_us(void)
{
	return clk_read(CLOCK_REALTIME);
}

int64_t
clk_mono_us(void)
{
	return clk_read(CLOCK_MONOTONIC);
}

void
clk_iso8601(int64_t us, char *buf, size_t len)
{
	time_t    secs = (time_t)(us / 1000000);
	int64_t   ms   = (us % 1000000) / 1000;
	struct tm tm;

	if (us < 0 && us % 1000000 != 0) {
		secs -= 1;
		ms = (1000000 + us % 1000000) / 1000;
	}
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
}

bool
clk_offset(const struct clk_exchange *x, int64_t *offset_us, int64_t *error_us)
{
	int64_t rtt, hold, up, down, sum, delay;

	if (x->t4 < x->t1 || x->t3 < x->t2)
		return false;
	/* The times come off the wire: refuse those whose differences do not
	 * fit in 64 bits instead of overflowing (undefined behaviour). */
	if (__builtin_sub_overflow(x->t4, x->t1, &rtt) ||
	    __builtin_sub_overflow(x->t3, x->t2, &hold) ||
	    __builtin_sub_overflow(x->t1, x->t2, &up) ||
	    __builtin_sub_overflow(x->t4, x->t3, &down) ||
	    __builtin_add_overflow(up, down, &sum))
		return false;
	delay = rtt - hold;
	if (delay < 0)
		return false;
	/* offset is agent minus controller: a positive value means the agent's
	 * clock is ahead, so controller time = agent time - offset. */
	*offset_us = sum / 2;
	*error_us  = delay / 2 + delay % 2;
	return true;
}

void
clk_filter_init(struct clk_filter *f)
{
	memset(f, 0, sizeof(*f));
}

bool
clk_filter_add(struct clk_filter *f, const struct clk_exchange *x)
{
	int64_t off, err;

	if (!clk_offset(x, &off, &err))
		return false;
	f->offset[f->next] = off;
	f->error[f->next]  = err;
	f->next            = (f->next + 1) % CLK_FILTER_SIZE;
	if (f->count < CLK_FILTER_SIZE)
		f->count++;
	return true;
}

bool
clk_filter_best(const struct clk_filter *f, int64_t *offset_us, int64_t *error_us)
{
	int best = -1;

	for (int i = 0; i < f->count; i++)
		if (best < 0 || f->error[i] < f->error[best])
			best = i;
	if (best < 0)
		return false;
	*offset_us = f->offset[best];
	*error_us  = f->error[best];
	return true;
}

static bool
clk_parse_zone(const char *s, int64_t *off_s)
{
	int hh, mm, used = 0;

	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*off_s = 0;
		return true;
	}
	if ((s[0] != '+' && s[0] != '-') ||
	    sscanf(s + 1, "%2d:%2d%n", &hh, &mm, &used) != 2 || used != 5 ||
	    s[6] != '\0' || hh > 23 || mm > 59)
		return false;
	*off_s = (int64_t)(hh * 3600 + mm * 60) * (s[0] == '-' ? -1 : 1);
	return true;
}

/* n decimal digits at s, nothing else. */
static bool
clk_digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool
clk_parse_iso8601(const char *s, int64_t *us)
{
	struct tm tm   = {0};
	int64_t   frac = 0, scale = 100000, off_s;
	time_t    t;

	if (s == NULL || strlen(s) < 20 || !clk_digits(s, 4, &tm.tm_year) ||
	    s[4] != '-' || !clk_digits(s + 5, 2, &tm.tm_mon) || s[7] != '-' ||
	    !clk_digits(s + 8, 2, &tm.tm_mday) || (s[10] != 'T' && s[10] != 't') ||
	    !clk_digits(s + 11, 2, &tm.tm_hour) || s[13] != ':' ||
	    !clk_digits(s + 14, 2, &tm.tm_min) || s[16] != ':' ||
	    !clk_digits(s + 17, 2, &tm.tm_sec))
		return false;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
		return false;
	s += 19;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return false;
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac += (*s - '0') * scale;
	}
	if (!clk_parse_zone(s, &off_s))
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return false;
	*us = ((int64_t)t - off_s) * 1000000 + frac;
	return true;
}
