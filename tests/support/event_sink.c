// SPDX-License-Identifier: MIT
#include "event_sink.h"

#include <stdio.h>
#include <unistd.h>

#include <nng/protocol/pipeline0/pull.h>

#include "common/clock.h"
#include "common/wire.h"
#include "tests/support/wait.h"

#define SINK_WARMUP_MS 50

chaos_err
event_sink_recv(struct event_sink *s, int timeout_ms, Chaos__V1__Event **out,
                chaos_why *why)
{
	nng_msg  *msg;
	chaos_err rv;

	nng_socket_set_ms(s->pull, NNG_OPT_RECVTIMEO, (nng_duration)timeout_ms);
	if (nng_recvmsg(s->pull, &msg, 0) != 0)
		return CHAOS_ETIMEDOUT;
	rv = wire_decode_event(nng_msg_body(msg), nng_msg_len(msg), out, why);
	nng_msg_free(msg);
	return rv == CHAOS_OK ? CHAOS_OK
	                      : chaos_fail_prefix(why, CHAOS_EPROTO, "event rejected");
}

/* Sends probe samples until one comes back (the PUSH side has connected),
 * for WAIT_GENEROUS_MS at most: a loaded machine connects late. */
static chaos_err
event_sink_warm_up(struct event_sink *s, chaos_why *why)
{
	int64_t deadline = clk_mono_us() + WAIT_GENEROUS_MS * 1000LL;

	while (clk_mono_us() < deadline) {
		Chaos__V1__Event       e = CHAOS__V1__EVENT__INIT, *got = NULL;
		Chaos__V1__ProbeSample p = CHAOS__V1__PROBE_SAMPLE__INIT;

		p.probe_id  = "warmup";
		e.body_case = CHAOS__V1__EVENT__BODY_SAMPLE;
		e.sample    = &p;
		events_send(s->ev, &e);
		if (event_sink_recv(s, SINK_WARMUP_MS, &got, why) == CHAOS_OK) {
			wire_free(got);
			return CHAOS_OK;
		}
	}
	return chaos_fail(why, CHAOS_ETIMEDOUT, "events never connected");
}

chaos_err
event_sink_open(struct event_sink *s, const char *name, chaos_why *why)
{
	char url[128];

	s->ev = NULL;
	snprintf(s->path, sizeof(s->path), "/tmp/%s_%d.sock", name, (int)getpid());
	snprintf(url, sizeof(url), "ipc://%s", s->path);
	if (nng_pull0_open(&s->pull) != 0)
		return chaos_fail(why, CHAOS_ESYS, "nng_pull0_open failed");
	nng_socket_set_size(s->pull, NNG_OPT_RECVMAXSZ,
	                    WIRE_MAX_EVENT + WIRE_SOCKET_SLACK);
	if (nng_listen(s->pull, url, NULL, 0) != 0) {
		nng_close(s->pull);
		return chaos_fail(why, CHAOS_ESYS, "cannot listen on %s", url);
	}
	if (events_open(url, "test/agent", NULL, NULL, &s->ev, why) != CHAOS_OK ||
	    event_sink_warm_up(s, why) != CHAOS_OK) {
		event_sink_close(s);
		return CHAOS_ECONN;
	}
	return CHAOS_OK;
}

void
event_sink_close(struct event_sink *s)
{
	nng_msg *msg = NULL;

	/* Reads what is still on its way first (a revert's report sent just
	 * before, at most 256 of them, until 50 ms of quiet): NNG 1.5.2 leaks
	 * a message still in its pipe when the sending socket closes. */
	nng_socket_set_ms(s->pull, NNG_OPT_RECVTIMEO, 50);
	for (int i = 0; i < 256 && nng_recvmsg(s->pull, &msg, 0) == 0; i++)
		nng_msg_free(msg);
	events_close(s->ev);
	s->ev = NULL;
	nng_close(s->pull);
	unlink(s->path);
}
