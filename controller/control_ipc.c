// SPDX-License-Identifier: MIT
#include "controller/control_ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/spframe.h"

#define CIP_MAX_CONNS 64
#define CIP_HELLO_US (5 * 1000000LL)  /* SP header exchange */
#define CIP_FRAME_US (10 * 1000000LL) /* a started request must arrive by then */
#define CIP_IDLE_US (120 * 1000000LL) /* an idle connection is closed */
#define CIP_MAX_HOPS 8                /* as NNG's REP: a backtrace longer is refused */

/* Where a connection is in its life. */
enum cip_phase { CIP_HELLO, CIP_HEAD, CIP_BODY };

struct cip_conn {
	int            fd;
	enum cip_phase phase;
	int64_t        deadline_us; /* monotonic */
	uint8_t        head[SPFRAME_HEAD_LEN];
	size_t         head_got;
	uint8_t       *body;
	size_t         body_len, body_got;
	uint8_t       *out; /* bytes still to send */
	size_t         out_len, out_sent;
};

struct ctl_ipc {
	char            path[108];
	int             lfd, wake;
	size_t          max_msg;
	struct epstats *stats;
	ctl_ipc_handler handler;
	void           *arg;
	pthread_t       thread;
	bool            running;
	struct cip_conn conns[CIP_MAX_CONNS];
	size_t          n_conns;
};

static void
cip_close(struct ctl_ipc *s, size_t i, const char *why)
{
	struct cip_conn *c = &s->conns[i];

	if (why != NULL)
		epstats_dropped(s->stats, why);
	epstats_pipe_closed(s->stats);
	close(c->fd);
	free(c->body);
	free(c->out);
	s->conns[i] = s->conns[--s->n_conns];
}

/* Queues bytes to send; false when out of memory. */
static bool
cip_queue(struct cip_conn *c, const uint8_t *buf, size_t len)
{
	uint8_t *grown = realloc(c->out, c->out_len + len);

	if (grown == NULL)
		return false;
	memcpy(grown + c->out_len, buf, len);
	c->out     = grown;
	c->out_len = c->out_len + len;
	return true;
}

static void
cip_accept(struct ctl_ipc *s)
{
	uint8_t          hello[SPFRAME_HELLO_LEN];
	struct cip_conn *c;
	int              fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (s->n_conns == CIP_MAX_CONNS) {
		close(fd);
		epstats_dropped(s->stats, "too many control connections at once");
		return;
	}
	c = &s->conns[s->n_conns++];
	memset(c, 0, sizeof(*c));
	c->fd          = fd;
	c->phase       = CIP_HELLO;
	c->deadline_us = clk_mono_us() + CIP_HELLO_US;
	spframe_hello(hello, SPFRAME_PROTO_REP);
	if (!cip_queue(c, hello, sizeof(hello)))
		cip_close(s, s->n_conns - 1, "out of memory");
}

/* The REP side of a request: the backtrace (4-byte words up to the one with
 * the top bit set, the request id) goes back in front of the answer. */
static const char *
cip_answer(struct ctl_ipc *s, struct cip_conn *c)
{
	uint8_t  frame[SPFRAME_HEAD_LEN];
	uint8_t *resp = NULL;
	size_t   hops = 0, resp_len = 0;

	while (true) {
		if ((hops + 1) * 4 > c->body_len || hops == CIP_MAX_HOPS)
			return "control: no request id in the SP header";
		if (c->body[hops++ * 4] & 0x80)
			break;
	}
	s->handler(s->arg, c->body + hops * 4, c->body_len - hops * 4, &resp, &resp_len);
	if (resp == NULL)
		return NULL;
	spframe_head(frame, hops * 4 + resp_len);
	if (!cip_queue(c, frame, sizeof(frame)) || !cip_queue(c, c->body, hops * 4) ||
	    !cip_queue(c, resp, resp_len)) {
		free(resp);
		return "out of memory";
	}
	free(resp);
	return NULL;
}

/* The next state after the bytes of the current one all arrived; a reason
 * when the peer broke the protocol. */
static const char *
cip_advance(struct ctl_ipc *s, struct cip_conn *c)
{
	uint64_t len = 0;

	switch (c->phase) {
	case CIP_HELLO:
		if (!spframe_hello_is(c->head, SPFRAME_PROTO_REQ, NULL))
			return "control: not an SP REQ peer";
		break;
	case CIP_HEAD:
		if (!spframe_head_len(c->head, &len))
			return "control: bad SP message type";
		if (len > s->max_msg)
			return "message over the size limit";
		if ((c->body = malloc(len ? len : 1)) == NULL)
			return "out of memory";
		c->body_len = (size_t)len, c->body_got = 0;
		c->phase       = CIP_BODY;
		c->deadline_us = clk_mono_us() + CIP_FRAME_US;
		return c->body_len > 0 ? NULL : "control: empty SP message";
	case CIP_BODY: {
		const char *why = cip_answer(s, c);
		free(c->body);
		c->body = NULL;
		if (why != NULL)
			return why;
		break;
	}
	}
	c->phase       = CIP_HEAD;
	c->head_got    = 0;
	c->deadline_us = clk_mono_us() + CIP_IDLE_US;
	return NULL;
}

/* Reads what is there; a reason to close (NULL + *closed for a clean EOF). */
static const char *
cip_read(struct ctl_ipc *s, struct cip_conn *c, bool *closed)
{
	for (;;) {
		size_t   want = c->phase == CIP_BODY ? c->body_len - c->body_got
		      : c->phase == CIP_HELLO        ? SPFRAME_HELLO_LEN - c->head_got
		                                     : SPFRAME_HEAD_LEN - c->head_got;
		uint8_t *at =
		    c->phase == CIP_BODY ? c->body + c->body_got : c->head + c->head_got;
		ssize_t     n = read(c->fd, at, want);
		const char *why;
		if (n == 0) {
			*closed = true;
			return c->phase == CIP_HEAD && c->head_got == 0
			    ? NULL
			    : "control: peer left mid-message";
		}
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? NULL
			                                         : "control: read error";
		if (c->phase == CIP_BODY)
			c->body_got += (size_t)n;
		else
			c->head_got += (size_t)n;
		if ((size_t)n == want && (why = cip_advance(s, c)) != NULL)
			return why;
		if (c->phase == CIP_HEAD && c->head_got == 0 && c->out_len > c->out_sent)
			return NULL; /* answer first; REQ sends one request at a time */
	}
}

/* Sends what is queued; false when the peer is gone. */
static bool
cip_write(struct cip_conn *c)
{
	while (c->out_sent < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
		                 MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_sent += (size_t)n;
	}
	free(c->out);
	c->out     = NULL;
	c->out_len = c->out_sent = 0;
	return true;
}

static void
cip_serve(struct ctl_ipc *s, size_t i, short revents)
{
	struct cip_conn *c      = &s->conns[i];
	bool             closed = false;
	const char      *why    = NULL;

	const char *gone = c->phase == CIP_HELLO
	    ? "control: peer left during the SP handshake"
	    : "control: peer gone while answering";

	if ((revents & POLLOUT) && !cip_write(c))
		why = gone;
	if (why == NULL && (revents & (POLLIN | POLLHUP | POLLERR)))
		why = cip_read(s, c, &closed);
	if (why == NULL && !closed && !cip_write(c))
		why = gone;
	if (why == NULL && !closed && clk_mono_us() > c->deadline_us)
		why = c->phase == CIP_HEAD && c->head_got == 0 ? NULL
		                                               : "control: peer too slow";
	if (why != NULL || closed || (clk_mono_us() > c->deadline_us))
		cip_close(s, i, why);
}

static void *
cip_loop(void *arg)
{
	struct ctl_ipc *s = arg;
	struct pollfd   pfd[CIP_MAX_CONNS + 2];

	while (true) {
		size_t n = s->n_conns;
		pfd[0]   = (struct pollfd) {.fd = s->wake, .events = POLLIN};
		pfd[1]   = (struct pollfd) {.fd = s->lfd, .events = POLLIN};
		for (size_t i = 0; i < n; i++)
			pfd[2 + i] = (struct pollfd) {
			    .fd = s->conns[i].fd,
			    .events =
			        (short)(POLLIN | (s->conns[i].out_len ? POLLOUT : 0))};
		if (poll(pfd, n + 2, 500) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			break;
		/* from the end, so that closing one moves only served ones */
		for (size_t i = n; i-- > 0;)
			cip_serve(s, i, pfd[2 + i].revents);
		if (pfd[1].revents & POLLIN)
			cip_accept(s);
	}
	return NULL;
}

/* Binds path unless a live server answers there; a dead one's file goes. */
static chaos_err
cip_bind(struct ctl_ipc *s, chaos_why *why)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int                probe;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		return chaos_fail(why, CHAOS_EBUSY, "%s: another controller serves it",
		                  s->path);
	}
	if (probe >= 0)
		close(probe);
	unlink(s->path);
	if ((s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) <
	        0 ||
	    bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(s->path, 0600) != 0 || listen(s->lfd, 128) != 0)
		return chaos_fail(why, chaos_err_from_errno(errno), "%s: %s", s->path,
		                  strerror(errno));
	return CHAOS_OK;
}

chaos_err
ctl_ipc_start(const char *path, size_t max_msg, struct epstats *stats,
              ctl_ipc_handler handler, void *arg, struct ctl_ipc **out, chaos_why *why)
{
	struct ctl_ipc *s = calloc(1, sizeof(*s));
	chaos_err       rv;

	if (s == NULL)
		return CHAOS_ENOMEM;
	s->lfd = s->wake = -1;
	s->max_msg = max_msg, s->stats = stats, s->handler = handler, s->arg = arg;
	if (strlen(path) >= sizeof(s->path)) {
		rv = chaos_fail(why, CHAOS_EINVAL, "ipc path longer than %zu characters",
		                sizeof(s->path) - 1);
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	if ((rv = cip_bind(s, why)) != CHAOS_OK)
		goto fail;
	if ((s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    pthread_create(&s->thread, NULL, cip_loop, s) != 0) {
		rv = chaos_fail(why, CHAOS_ESYS, "cannot start the control thread");
		goto fail;
	}
	s->running = true;
	*out       = s;
	return CHAOS_OK;
fail:
	ctl_ipc_stop(s);
	return rv;
}

void
ctl_ipc_stop(struct ctl_ipc *s)
{
	uint64_t one = 1;

	if (s == NULL)
		return;
	if (s->running && write(s->wake, &one, sizeof(one)) == sizeof(one))
		pthread_join(s->thread, NULL);
	while (s->n_conns > 0)
		cip_close(s, s->n_conns - 1, NULL);
	if (s->lfd >= 0) {
		close(s->lfd);
		unlink(s->path);
	}
	if (s->wake >= 0)
		close(s->wake);
	free(s);
}
