// SPDX-License-Identifier: MIT
#include "controller/chaosctl/ipc_req.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/spframe.h"

#define IPQ_BUSY_RETRY_MS 5 /* a full listen backlog: try connect() again */

/* Waits until fd is ready for events or the deadline passes. */
static chaos_err
ipq_wait(int fd, short events, int64_t deadline_us, const char *what, chaos_why *why)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	for (;;) {
		int64_t left_us = deadline_us - clk_mono_us();
		int     n;
		if (left_us <= 0)
			return chaos_fail(why, CHAOS_ETIMEDOUT, "%s: deadline passed",
			                  what);
		n = poll(&pfd, 1, (int)((left_us + 999) / 1000));
		if (n > 0)
			return CHAOS_OK;
		if (n < 0 && errno != EINTR)
			return chaos_fail(why, CHAOS_ESYS, "%s: poll: %s", what,
			                  strerror(errno));
	}
}

static chaos_err
ipq_send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline_us, chaos_why *why)
{
	chaos_err rv;

	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n, len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return chaos_fail(why, CHAOS_ECONN, "sending the request: %s",
			                  strerror(errno));
		if ((rv = ipq_wait(fd, POLLOUT, deadline_us, "sending the request",
		                   why)) != CHAOS_OK)
			return rv;
	}
	return CHAOS_OK;
}

/* Reads exactly len bytes; what names them in a reason. */
static chaos_err
ipq_recv_all(int fd, uint8_t *buf, size_t len, int64_t deadline_us, const char *what,
             chaos_why *why)
{
	chaos_err rv;

	while (len > 0) {
		ssize_t n = recv(fd, buf, len, 0);
		if (n > 0) {
			buf += n, len -= (size_t)n;
			continue;
		}
		if (n == 0 ||
		    errno == ECONNRESET) /* a reset: it left with our bytes unread */
			return chaos_fail(why, CHAOS_ECONN,
			                  "the peer closed the connection before %s",
			                  what);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return chaos_fail(why, CHAOS_ECONN, "reading %s: %s", what,
			                  strerror(errno));
		if ((rv = ipq_wait(fd, POLLIN, deadline_us, what, why)) != CHAOS_OK)
			return rv;
	}
	return CHAOS_OK;
}

/* connect() on a non-blocking Unix socket never waits: it succeeds, fails,
 * or says EAGAIN when the listener's backlog is full (then it is retried). */
static chaos_err
ipq_connect(int fd, const char *path, int64_t deadline_us, chaos_why *why)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sa.sun_path))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "ipc path longer than %zu characters",
		                  sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			return chaos_fail(why, CHAOS_ECONN, "nothing listens at %s (%s)",
			                  path, strerror(errno));
		if (errno == EACCES || errno == EPERM)
			return chaos_fail(why, CHAOS_EPERM,
			                  "%s: %s (the socket is its owner's only; run "
			                  "as the controller's user)",
			                  path, strerror(errno));
		if (errno != EAGAIN && errno != EINTR)
			return chaos_fail(why, CHAOS_ECONN, "%s: %s", path,
			                  strerror(errno));
		if (clk_mono_us() + IPQ_BUSY_RETRY_MS * 1000 > deadline_us)
			return chaos_fail(why, CHAOS_ETIMEDOUT,
			                  "%s: its listen backlog stayed full", path);
		poll(NULL, 0, IPQ_BUSY_RETRY_MS);
	}
	return CHAOS_OK;
}

chaos_err
ipcreq_open(const char *path, int timeout_ms, int *fd, chaos_why *why)
{
	int64_t   deadline_us = clk_mono_us() + (int64_t)timeout_ms * 1000;
	uint8_t   ours[SPFRAME_HELLO_LEN], theirs[SPFRAME_HELLO_LEN];
	int       s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int       proto;
	chaos_err rv;

	if (s < 0)
		return chaos_fail(why, CHAOS_ESYS, "socket: %s", strerror(errno));
	spframe_hello(ours, SPFRAME_PROTO_REQ);
	if ((rv = ipq_connect(s, path, deadline_us, why)) != CHAOS_OK ||
	    (rv = ipq_send_all(s, ours, sizeof(ours), deadline_us, why)) != CHAOS_OK ||
	    (rv = ipq_recv_all(s, theirs, sizeof(theirs), deadline_us,
	                       "its SP hello (the handshake)", why)) != CHAOS_OK)
		goto fail;
	if (!spframe_hello_is(theirs, SPFRAME_PROTO_REP, &proto)) {
		rv = proto < 0 ? chaos_fail(why, CHAOS_EPROTO,
		                            "%s does not speak SP (no SP hello)", path)
		               : chaos_fail(why, CHAOS_EPROTO,
		                            "%s speaks SP protocol 0x%x, not REP (0x%x)",
		                            path, proto, SPFRAME_PROTO_REP);
		goto fail;
	}
	*fd = s;
	return CHAOS_OK;
fail:
	close(s);
	return rv;
}

chaos_err
ipcreq_roundtrip(int fd, const void *req, size_t len, int timeout_ms, size_t max_resp,
                 uint8_t **resp, size_t *resp_len, chaos_why *why)
{
	int64_t   deadline_us = clk_mono_us() + (int64_t)timeout_ms * 1000;
	uint32_t  id = 0x80000000u | (uint32_t)(clk_mono_us() ^ (uint64_t)getpid());
	uint8_t   head[SPFRAME_HEAD_LEN + 4], back[4];
	uint8_t  *body = NULL;
	uint64_t  n;
	chaos_err rv;

	spframe_head(head, 4 + (uint64_t)len);
	for (int i = 0; i < 4; i++)
		head[SPFRAME_HEAD_LEN + i] = (uint8_t)(id >> (24 - 8 * i));
	if ((rv = ipq_send_all(fd, head, sizeof(head), deadline_us, why)) != CHAOS_OK ||
	    (rv = ipq_send_all(fd, req, len, deadline_us, why)) != CHAOS_OK ||
	    (rv = ipq_recv_all(fd, head, SPFRAME_HEAD_LEN, deadline_us, "the answer",
	                       why)) != CHAOS_OK)
		return rv;
	if (!spframe_head_len(head, &n) || n < 4)
		return chaos_fail(why, CHAOS_EPROTO, "the answer's frame is malformed");
	if (n - 4 > max_resp)
		return chaos_fail(why, CHAOS_ETOOBIG,
		                  "the answer has %llu bytes, over the %zu allowed",
		                  (unsigned long long)(n - 4), max_resp);
	if ((rv = ipq_recv_all(fd, back, 4, deadline_us, "the answer", why)) != CHAOS_OK)
		return rv;
	if (((uint32_t)back[0] << 24 | (uint32_t)back[1] << 16 | (uint32_t)back[2] << 8 |
	     back[3]) != id)
		return chaos_fail(why, CHAOS_EPROTO, "the answer is for another request");
	if ((body = malloc(n - 4 ? n - 4 : 1)) == NULL)
		return chaos_fail(why, CHAOS_ENOMEM, "out of memory for the answer");
	if ((rv = ipq_recv_all(fd, body, n - 4, deadline_us, "the answer", why)) !=
	    CHAOS_OK) {
		free(body);
		return rv;
	}
	*resp     = body;
	*resp_len = (size_t)(n - 4);
	return CHAOS_OK;
}
