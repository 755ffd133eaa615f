// SPDX-License-Identifier: MIT
#include "controller/chaosctl/sp_req.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/spframe.h"

#define SPQ_BUSY_RETRY_MS 5 /* a full listen backlog: try connect() again */

/* Waits until fd is ready for events or the deadline passes. */
static chaos_err
spq_wait(int fd, short events, int64_t deadline_us, const char *what, chaos_why *why)
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

/* Writes all of buf. awaited: what the peer still owed us, for a reason
 * when it hung up first (a peer that closes at once may be seen gone while
 * we write, or only when we read: the same reason either way). */
static chaos_err
spq_send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline_us,
             const char *awaited, chaos_why *why)
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
		if (errno == EPIPE || errno == ECONNRESET)
			return chaos_fail(why, CHAOS_ECONN,
			                  "the peer closed the connection before %s",
			                  awaited);
		if (errno != EAGAIN)
			return chaos_fail(why, CHAOS_ECONN, "sending the request: %s",
			                  strerror(errno));
		if ((rv = spq_wait(fd, POLLOUT, deadline_us, "sending the request",
		                   why)) != CHAOS_OK)
			return rv;
	}
	return CHAOS_OK;
}

/* Reads exactly len bytes; what names them in a reason. */
static chaos_err
spq_recv_all(int fd, uint8_t *buf, size_t len, int64_t deadline_us, const char *what,
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
		if ((rv = spq_wait(fd, POLLIN, deadline_us, what, why)) != CHAOS_OK)
			return rv;
	}
	return CHAOS_OK;
}

/* connect() on a non-blocking Unix socket never waits: it succeeds, fails,
 * or says EAGAIN when the listener's backlog is full (then it is retried). */
static chaos_err
spq_connect(int fd, const char *path, int64_t deadline_us, chaos_why *why)
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
		if (clk_mono_us() + SPQ_BUSY_RETRY_MS * 1000 > deadline_us)
			return chaos_fail(why, CHAOS_ETIMEDOUT,
			                  "%s: its listen backlog stayed full", path);
		poll(NULL, 0, SPQ_BUSY_RETRY_MS);
	}
	return CHAOS_OK;
}

/* Finishes a non-blocking connect() that said EINPROGRESS. */
static chaos_err
spq_connect_wait(int fd, const char *name, int timeout_ms, int64_t deadline_us,
                 chaos_why *why)
{
	int       err = 0;
	socklen_t len = sizeof(err);

	if (spq_wait(fd, POLLOUT, deadline_us, name, NULL) != CHAOS_OK)
		return chaos_fail(
		    why, CHAOS_ETIMEDOUT,
		    "%s did not accept a connection within %d ms (a wrong "
		    "address, or a firewall or network policy dropping it?)",
		    name, timeout_ms);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == 0)
		return CHAOS_OK;
	errno = err;
	return CHAOS_ESYS;
}

/* HOST:PORT as a reason names it, an IPv6 literal in brackets. */
static void
spq_name(const char *host, uint16_t port, char *out, size_t len)
{
	snprintf(out, len, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

/* One address of the host: the socket connected, or a reason. */
static chaos_err
spq_connect_tcp(const struct addrinfo *ai, const char *name, int timeout_ms,
                int64_t deadline_us, int *fd, chaos_why *why)
{
	int s   = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                 ai->ai_protocol);
	int one = 1;
	chaos_err rv = CHAOS_OK;

	if (s < 0)
		return chaos_fail(why, CHAOS_ESYS, "socket: %s", strerror(errno));
	/* the request goes out as two writes: no Nagle wait for the second */
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0 &&
	    (errno != EINPROGRESS ||
	     (rv = spq_connect_wait(s, name, timeout_ms, deadline_us, why)) !=
	         CHAOS_OK)) {
		if (rv == CHAOS_ETIMEDOUT)
			goto fail;
		rv = errno == ECONNREFUSED
		    ? chaos_fail(why, CHAOS_ECONN, "nothing listens at %s (%s)", name,
		                 strerror(errno))
		    : chaos_fail(why, CHAOS_ECONN,
		                 "cannot connect to %s: %s (check the address and the "
		                 "route to it)",
		                 name, strerror(errno));
		goto fail;
	}
	*fd = s;
	return CHAOS_OK;
fail:
	close(s);
	return rv;
}

chaos_err
spreq_connect_tcp(const char *host, uint16_t port, int timeout_ms, int *fd,
                  chaos_why *why)
{
	int64_t          deadline_us = clk_mono_us() + (int64_t)timeout_ms * 1000;
	struct addrinfo  hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res   = NULL;
	char             serv[8], name[300];
	chaos_err        rv = CHAOS_ECONN;
	int              gai;

	snprintf(serv, sizeof(serv), "%u", port);
	spq_name(host, port, name, sizeof(name));
	if ((gai = getaddrinfo(host, serv, &hints, &res)) != 0)
		return chaos_fail(why, CHAOS_ECONN, "cannot resolve %s: %s", host,
		                  gai_strerror(gai));
	/* every address in turn, as a resolver's answer lists them; the reason
	 * is the last one's */
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
		if ((rv = spq_connect_tcp(ai, name, timeout_ms, deadline_us, fd, why)) ==
		        CHAOS_OK ||
		    rv == CHAOS_ETIMEDOUT)
			break;
	freeaddrinfo(res);
	return rv;
}

/* Sends our SP hello and checks the peer's: a REP server. name: the peer in
 * a reason. */
static chaos_err
spq_hello(int s, const char *name, int64_t deadline_us, chaos_why *why)
{
	uint8_t   ours[SPFRAME_HELLO_LEN], theirs[SPFRAME_HELLO_LEN];
	int       proto;
	chaos_err rv;

	spframe_hello(ours, SPFRAME_PROTO_REQ);
	if ((rv = spq_send_all(s, ours, sizeof(ours), deadline_us,
	                       "its SP hello (the handshake)", why)) != CHAOS_OK ||
	    (rv = spq_recv_all(s, theirs, sizeof(theirs), deadline_us,
	                       "its SP hello (the handshake)", why)) != CHAOS_OK)
		return rv;
	if (spframe_hello_is(theirs, SPFRAME_PROTO_REP, &proto))
		return CHAOS_OK;
	if (proto < 0)
		return chaos_fail(why, CHAOS_EPROTO, "%s does not speak SP (no SP hello)",
		                  name);
	return chaos_fail(why, CHAOS_EPROTO, "%s speaks SP protocol 0x%x, not REP (0x%x)",
	                  name, proto, SPFRAME_PROTO_REP);
}

/* The hello on connected socket s: on success *c holds it, else s is closed. */
static chaos_err
spq_open(int s, bool tcp, const char *name, int64_t deadline_us, struct spreq_conn *c,
         chaos_why *why)
{
	chaos_err rv = spq_hello(s, name, deadline_us, why);

	if (rv == CHAOS_OK)
		*c = (struct spreq_conn) {.fd = s, .tcp = tcp};
	else
		close(s);
	return rv;
}

chaos_err
spreq_open_ipc(const char *path, int timeout_ms, struct spreq_conn *c, chaos_why *why)
{
	int64_t   deadline_us = clk_mono_us() + (int64_t)timeout_ms * 1000;
	int       s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	chaos_err rv;

	if (s < 0)
		return chaos_fail(why, CHAOS_ESYS, "socket: %s", strerror(errno));
	if ((rv = spq_connect(s, path, deadline_us, why)) != CHAOS_OK) {
		close(s);
		return rv;
	}
	return spq_open(s, false, path, deadline_us, c, why);
}

chaos_err
spreq_open_tcp(const char *host, uint16_t port, int timeout_ms, struct spreq_conn *c,
               chaos_why *why)
{
	int64_t   deadline_us = clk_mono_us() + (int64_t)timeout_ms * 1000;
	char      name[300];
	int       s;
	chaos_err rv;

	if ((rv = spreq_connect_tcp(host, port, timeout_ms, &s, why)) != CHAOS_OK)
		return rv;
	spq_name(host, port, name, sizeof(name));
	return spq_open(s, true, name, deadline_us, c, why);
}

/* The frame head and the request id, then the request. */
static chaos_err
spq_send_request(const struct spreq_conn *c, uint32_t id, const void *req, size_t len,
                 int64_t deadline_us, chaos_why *why)
{
	uint8_t head[SPFRAME_HEAD_LEN + 4];
	size_t  hl = c->tcp ? SPFRAME_TCP_HEAD_LEN : SPFRAME_HEAD_LEN;

	if (c->tcp)
		spframe_tcp_head(head, 4 + (uint64_t)len);
	else
		spframe_head(head, 4 + (uint64_t)len);
	for (int i = 0; i < 4; i++)
		head[hl + i] = (uint8_t)(id >> (24 - 8 * i));
	chaos_err rv = spq_send_all(c->fd, head, hl + 4, deadline_us, "the answer", why);

	return rv == CHAOS_OK
	    ? spq_send_all(c->fd, req, len, deadline_us, "the answer", why)
	    : rv;
}

/* The answer's frame head: its payload length, at least the request id. */
static chaos_err
spq_recv_head(const struct spreq_conn *c, uint64_t *n, int64_t deadline_us,
              chaos_why *why)
{
	uint8_t   head[SPFRAME_HEAD_LEN];
	bool      ok = true;
	chaos_err rv;

	if ((rv = spq_recv_all(c->fd, head,
	                       c->tcp ? SPFRAME_TCP_HEAD_LEN : SPFRAME_HEAD_LEN,
	                       deadline_us, "the answer", why)) != CHAOS_OK)
		return rv;
	if (c->tcp)
		*n = spframe_tcp_head_len(head);
	else
		ok = spframe_head_len(head, n);
	if (!ok || *n < 4)
		return chaos_fail(why, CHAOS_EPROTO, "the answer's frame is malformed");
	return CHAOS_OK;
}

/* The answer to request id: its frame head, the id back, then the body. */
static chaos_err
spq_recv_answer(const struct spreq_conn *c, uint32_t id, int64_t deadline_us,
                size_t max_resp, uint8_t **resp, size_t *resp_len, chaos_why *why)
{
	uint8_t   back[4];
	uint8_t  *body = NULL;
	uint64_t  n;
	chaos_err rv;

	if ((rv = spq_recv_head(c, &n, deadline_us, why)) != CHAOS_OK)
		return rv;
	if (n - 4 > max_resp)
		return chaos_fail(why, CHAOS_ETOOBIG,
		                  "the answer has %llu bytes, over the %zu allowed",
		                  (unsigned long long)(n - 4), max_resp);
	if ((rv = spq_recv_all(c->fd, back, 4, deadline_us, "the answer", why)) !=
	    CHAOS_OK)
		return rv;
	if (((uint32_t)back[0] << 24 | (uint32_t)back[1] << 16 | (uint32_t)back[2] << 8 |
	     back[3]) != id)
		return chaos_fail(why, CHAOS_EPROTO, "the answer is for another request");
	if ((body = malloc(n - 4 ? n - 4 : 1)) == NULL)
		return chaos_fail(why, CHAOS_ENOMEM, "out of memory for the answer");
	if ((rv = spq_recv_all(c->fd, body, n - 4, deadline_us, "the answer", why)) !=
	    CHAOS_OK) {
		free(body);
		return rv;
	}
	*resp     = body;
	*resp_len = (size_t)(n - 4);
	return CHAOS_OK;
}

chaos_err
spreq_recv_answer(const struct spreq_conn *c, uint32_t id, int timeout_ms,
                  size_t max_resp, uint8_t **resp, size_t *resp_len, chaos_why *why)
{
	return spq_recv_answer(c, id, clk_mono_us() + (int64_t)timeout_ms * 1000,
	                       max_resp, resp, resp_len, why);
}

chaos_err
spreq_roundtrip(const struct spreq_conn *c, const void *req, size_t len, int timeout_ms,
                size_t max_resp, uint8_t **resp, size_t *resp_len, chaos_why *why)
{
	int64_t   deadline_us = clk_mono_us() + (int64_t)timeout_ms * 1000;
	uint32_t  id = 0x80000000u | (uint32_t)(clk_mono_us() ^ (uint64_t)getpid());
	chaos_err rv;

	if ((rv = spq_send_request(c, id, req, len, deadline_us, why)) != CHAOS_OK)
		return rv;
	return spq_recv_answer(c, id, deadline_us, max_resp, resp, resp_len, why);
}

void
spreq_close(struct spreq_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
