// SPDX-License-Identifier: MIT
#include "controller/events_srv.h"

#include <stdlib.h>

#include <nng/protocol/pipeline0/pull.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"

struct events_srv {
	nng_socket       sock;
	nng_aio         *aio; /* one receive at a time: events stay in order */
	struct registry *reg;
	struct epstats  *stats;
	struct idcheck  *idc;
	events_sink_fn   sink;
	void            *sink_arg;
};

static void
esrv_take(struct events_srv *s, nng_msg *msg)
{
	Chaos__V1__Event *e = NULL;
	chaos_why         why;
	int64_t           now = clk_now_us();

	if (wire_decode_event(nng_msg_body(msg), nng_msg_len(msg), &e, &why) !=
	    CHAOS_OK) {
		epstats_dropped(s->stats, why.text);
		return;
	}
	if (s->idc != NULL && e->body_case == CHAOS__V1__EVENT__BODY_HELLO &&
	    !idcheck_hello_backed(s->idc, e->hello->identity)) {
		epstats_dropped(s->stats,
		                "hello of an identity no session connection "
		                "has proven");
	} else if (registry_on_event(s->reg, e, now) != CHAOS_OK) {
		epstats_dropped(s->stats, "event from an agent that has not said hello");
	} else {
		epstats_received(s->stats);
		if (s->sink != NULL)
			s->sink(s->sink_arg, e, now);
	}
	wire_free(e);
}

/* One event received (on an NNG thread): taken, and the next one asked
 * for. A callback instead of a thread blocked in nng_recvmsg: no hand-over
 * from NNG's thread to ours and no aio made for every event. */
static void
esrv_received(void *arg)
{
	struct events_srv *s  = arg;
	int                rv = nng_aio_result(s->aio);
	nng_msg           *msg;

	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (rv == 0 && (msg = nng_aio_get_msg(s->aio)) != NULL) {
		esrv_take(s, msg);
		nng_msg_free(msg);
	}
	nng_recv_aio(s->sock, s->aio);
}

chaos_err
events_srv_start(const char *url, const struct transport_tls *tls, struct registry *reg,
                 struct epstats *stats, struct idcheck *idc, events_sink_fn sink,
                 void *sink_arg, struct events_srv **out, chaos_why *why)
{
	struct events_srv *s = calloc(1, sizeof(*s));
	int                rv;

	if (s == NULL)
		return CHAOS_ENOMEM;
	s->reg      = reg;
	s->stats    = stats;
	s->idc      = idc;
	s->sink     = sink;
	s->sink_arg = sink_arg;
	if ((rv = nng_aio_alloc(&s->aio, esrv_received, s)) != 0 ||
	    (rv = nng_pull0_open(&s->sock)) != 0) {
		nng_aio_free(s->aio);
		free(s);
		return chaos_fail(why, chaos_err_from_nng(rv), "%s", nng_strerror(rv));
	}
	epstats_watch_pipes(stats, s->sock);
	if ((rv = transport_listen(s->sock, url, WIRE_MAX_EVENT + WIRE_SOCKET_SLACK, tls,
	                           why)) != CHAOS_OK) {
		nng_close(s->sock);
		nng_aio_free(s->aio);
		free(s);
		return rv;
	}
	nng_recv_aio(s->sock, s->aio);
	*out = s;
	return CHAOS_OK;
}

void
events_srv_stop(struct events_srv *s)
{
	if (s == NULL)
		return;
	nng_close(s->sock);
	nng_aio_stop(s->aio); /* waits for a callback under way */
	nng_aio_free(s->aio);
	free(s);
}
