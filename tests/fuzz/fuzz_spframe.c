// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the readers of NNG's SP framing (common/spframe.c)
 * on both ends of the control socket: the controller's ipc:// server
 * (controller/control_ipc.c, its cip_read state machine), which any local
 * process can connect to, and chaosctl's client (controller/chaosctl/
 * sp_req.c, spreq_recv_answer), which reads whatever listens at
 * --controller. Both read from sockets, so the input goes through a real
 * socket: a socketpair for the client, a connection to a real server
 * (started once, echoing "re: " and the request) for the server.
 *
 * Input: byte 0 picks the reader (byte % 3) and, for the client, IPC or
 * TCP framing (byte / 3 odd: TCP); the rest is what the peer sends: for
 * the client the answer (the request id it waits for is FUZZ_ID), for the
 * server the client's hello and requests.
 * Beyond "no crash, no leak, no hang": the client takes exactly the body
 * of a well-formed answer to its request and refuses anything else with a
 * reason, never a timeout (the peer has said all it will); the server says
 * its REP hello, answers each well-formed request with the request's
 * backtrace and the handler's answer in a well-formed frame, and closes the
 * connection when the client has finished or broke the protocol; the
 * spframe helpers read back what they write.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/spframe.h"
#include "controller/chaosctl/sp_req.h"
#include "controller/control_ipc.h"
#include "controller/epstats.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ID 0x80000001u
#define FUZZ_MAX_MSG 4096
#define FUZZ_MAX_INPUT (64 * 1024) /* well inside a Unix socket's buffers */
#define FUZZ_MAX_OUT (256 * 1024)
#define FUZZ_WAIT_MS 10000 /* the server closes at once on EOF; a hang is a finding */

/* ---- the client's reader ---- */

/* The body a well-formed answer to FUZZ_ID holds, or false. */
static bool
fuzz_expected_answer(const uint8_t *in, size_t len, bool tcp, const uint8_t **body,
                     size_t *body_len)
{
	size_t   hl = tcp ? SPFRAME_TCP_HEAD_LEN : SPFRAME_HEAD_LEN;
	uint64_t n  = 0;

	if (len < hl + 4)
		return false;
	if (tcp)
		n = spframe_tcp_head_len(in);
	else if (!spframe_head_len(in, &n))
		return false;
	if (n < 4 || n - 4 > FUZZ_MAX_MSG || len - hl < n)
		return false;
	if (((uint32_t)in[hl] << 24 | (uint32_t)in[hl + 1] << 16 |
	     (uint32_t)in[hl + 2] << 8 | in[hl + 3]) != FUZZ_ID)
		return false;
	*body     = in + hl + 4;
	*body_len = (size_t)n - 4;
	return true;
}

static void
fuzz_client(const uint8_t *in, size_t len, bool tcp)
{
	int               sv[2];
	struct spreq_conn c;
	uint8_t          *resp     = NULL;
	size_t            resp_len = 0, want_len = 0;
	const uint8_t    *want = NULL;
	chaos_why         why  = {{0}};
	chaos_err         rv;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	fuzz_require(len == 0 || send(sv[1], in, len, MSG_NOSIGNAL) == (ssize_t)len);
	shutdown(sv[1], SHUT_WR);
	c  = (struct spreq_conn) {.fd = sv[0], .tcp = tcp};
	rv = spreq_recv_answer(&c, FUZZ_ID, FUZZ_WAIT_MS, FUZZ_MAX_MSG, &resp, &resp_len,
	                       &why);
	if (fuzz_expected_answer(in, len, tcp, &want, &want_len)) {
		fuzz_require(rv == CHAOS_OK && resp_len == want_len);
		fuzz_require(want_len == 0 || memcmp(resp, want, want_len) == 0);
		free(resp);
	} else {
		fuzz_require(rv == CHAOS_ECONN || rv == CHAOS_EPROTO ||
		             rv == CHAOS_ETOOBIG);
		fuzz_require(why.text[0] != '\0');
	}
	spreq_close(&c);
	close(sv[1]);
}

/* ---- the server's reader ---- */

static void
fuzz_echo(void *arg, const void *req, size_t len, uint8_t **resp, size_t *resp_len)
{
	(void)arg;
	if ((*resp = malloc(len + 4)) == NULL)
		return;
	memcpy(*resp, "re: ", 4);
	memcpy(*resp + 4, req, len);
	*resp_len = len + 4;
}

static char            fuzz_path[108];
static struct epstats  fuzz_stats;
static struct ctl_ipc *fuzz_srv;

static void
fuzz_server_down(void)
{
	ctl_ipc_stop(fuzz_srv);
	epstats_fini(&fuzz_stats);
}

static bool
fuzz_server_up(void)
{
	if (fuzz_srv != NULL)
		return true;
	snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/fuzz-spframe-%d.sock",
	         (int)getpid());
	log_init("fuzz", LOG_LEVEL_ERROR); /* each drop's warning is noise here */
	fuzz_require(epstats_init(&fuzz_stats, "control") == CHAOS_OK);
	fuzz_require(ctl_ipc_start(fuzz_path, FUZZ_MAX_MSG, &fuzz_stats, fuzz_echo, NULL,
	                           &fuzz_srv, NULL) == CHAOS_OK);
	atexit(fuzz_server_down);
	return true;
}

static int
fuzz_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	fuzz_require(fd >= 0);
	memcpy(sa.sun_path, fuzz_path, strlen(fuzz_path) + 1);
	fuzz_require(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

/* Everything the server sends until it closes; a hang is a finding. */
static size_t
fuzz_read_all(int fd, uint8_t *out, size_t cap)
{
	int64_t       end = clk_mono_us() + FUZZ_WAIT_MS * 1000LL;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t        got = 0;

	for (;;) {
		ssize_t n;
		fuzz_require(clk_mono_us() < end);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(fd, out + got, cap - got, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return got;
		fuzz_require(n > 0 || errno == EINTR);
		got += n > 0 ? (size_t)n : 0;
		fuzz_require(got < cap);
	}
}

/* The server's bytes: its hello, then well-formed answers, each holding a
 * backtrace that ends in a request id and then the echo. */
static void
fuzz_check_answers(const uint8_t *out, size_t len)
{
	size_t at = SPFRAME_HELLO_LEN;

	fuzz_require(len >= SPFRAME_HELLO_LEN &&
	             spframe_hello_is(out, SPFRAME_PROTO_REP, NULL));
	while (at < len) {
		uint64_t n    = 0;
		size_t   hops = 0;
		fuzz_require(len - at >= SPFRAME_HEAD_LEN &&
		             spframe_head_len(out + at, &n));
		at += SPFRAME_HEAD_LEN;
		fuzz_require(n <= len - at);
		while (true) {
			fuzz_require((hops + 1) * 4 <= n);
			if (out[at + hops++ * 4] & 0x80)
				break;
		}
		fuzz_require(n - hops * 4 >= 4 &&
		             memcmp(out + at + hops * 4, "re: ", 4) == 0);
		at += (size_t)n;
	}
}

static void
fuzz_server(const uint8_t *in, size_t len)
{
	static uint8_t out[FUZZ_MAX_OUT];
	int            fd;
	size_t         got;

	if (!fuzz_server_up())
		return;
	fd = fuzz_connect();
	/* the server may close before it took everything: EPIPE is no finding */
	(void)send(fd, in, len, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	got = fuzz_read_all(fd, out, sizeof(out));
	close(fd);
	fuzz_check_answers(out, got);
}

/* ---- the helpers themselves ---- */

static void
fuzz_helpers(const uint8_t *in, size_t len)
{
	uint8_t  buf[SPFRAME_HEAD_LEN];
	uint64_t n = 0, v = 0;
	int      got;

	if (len < SPFRAME_HEAD_LEN)
		return;
	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	spframe_tcp_head(buf, v);
	fuzz_require(spframe_tcp_head_len(buf) == v);
	spframe_head(buf, v);
	fuzz_require(spframe_head_len(buf, &n) && n == v);
	spframe_hello(buf, (uint16_t)v);
	fuzz_require(spframe_hello_is(buf, (uint16_t)v, &got) && got == (uint16_t)v);
	if (!spframe_hello_is(in, SPFRAME_PROTO_REQ, &got))
		fuzz_require(got != SPFRAME_PROTO_REQ && got >= -1 && got <= 0xffff);
	fuzz_require(spframe_head_len(in, &n) == (in[0] == 1));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > FUZZ_MAX_INPUT)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_client(data + 1, size - 1, (data[0] / 3) % 2 == 1);
		break;
	case 1:
		fuzz_server(data + 1, size - 1);
		break;
	default:
		fuzz_helpers(data + 1, size - 1);
		break;
	}
	return 0;
}
