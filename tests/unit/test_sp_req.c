// SPDX-License-Identifier: MIT
/*
 * chaosctl's control client (controller/chaosctl/sp_req.c): a request and
 * its answer through the controller's real control server (ipc://) and
 * through NNG's own REP socket (tcp://), and every way a peer can fail it,
 * each ending within its deadline with a reason: nothing listens, a listener
 * that never accepts, one that hangs up, one that is no SP server, an answer
 * for another request, one too big, one cut short, one that never comes. The
 * first case CI met was chaosctl's NNG dial that never returned; ctl_call
 * over a listener that never answers is the test of that. Over tcp:// NNG's
 * dial waited 10 s for such a listener, whatever the timeout: ctl_call over
 * tcp:// and tls+tcp:// is tested for it too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "common/clock.h"
#include "common/spframe.h"
#include "controller/chaosctl/client.h"
#include "controller/chaosctl/sp_req.h"
#include "controller/control_ipc.h"
#include "controller/epstats.h"
#include "tests/support/loopback.h"

#define TIMEOUT_MS 300
#define SLACK_MS 700 /* what a loaded 2-CPU machine may add to a deadline */
#define PEER_WAIT_MS 5000
#define LATE_TIMEOUT_MS 2000
/* of LATE_TIMEOUT_MS; what is left is room for a slow peer thread */
#define LATE_HELLO_MS 1200

/* What the scripted peer does once it has accepted a connection. */
enum peer_mode {
	PEER_NEVER_ACCEPT, /* listens; the backlog takes the connection */
	PEER_HANG_UP,      /* accepts and closes */
	PEER_HTTP,         /* answers as an HTTP server would */
	PEER_REQ,          /* an SP peer, but REQ, not REP */
	PEER_MUTE,         /* REP hello, reads the request, never answers */
	PEER_LATE_MUTE,    /* PEER_MUTE, its hello LATE_HELLO_MS late */
	PEER_WRONG_ID,     /* answers with another request's id */
	PEER_HUGE,         /* announces an answer over the limit */
	PEER_CUT_SHORT,    /* announces 100 bytes, sends 10, closes */
};

struct peer {
	char           path[108];
	enum peer_mode mode;
	int            lfd, stop[2];
	pthread_t      thread;
};

/* To the client: it may have hung up already, having seen enough (a wrong
 * id, an answer over the limit), so a write that fails is no error here,
 * and never a SIGPIPE (CI saw one kill the test). What the client did is
 * what the cases check. */
static void
peer_send(int fd, const void *buf, size_t len)
{
	(void)send(fd, buf, len, MSG_NOSIGNAL);
}

/* Reads the hello and one request frame; the request id back in id. */
static void
peer_read_request(int fd, uint8_t id[4])
{
	uint8_t  buf[256];
	uint64_t len = 0;
	size_t   got = 0;
	ssize_t  n;

	while (got < SPFRAME_HELLO_LEN + SPFRAME_HEAD_LEN &&
	       (n = read(fd, buf + got, SPFRAME_HELLO_LEN + SPFRAME_HEAD_LEN - got)) > 0)
		got += (size_t)n;
	assert_true(spframe_hello_is(buf, SPFRAME_PROTO_REQ, NULL));
	assert_true(spframe_head_len(buf + SPFRAME_HELLO_LEN, &len));
	assert_true(len >= 4 && len <= sizeof(buf));
	for (got = 0; got < len && (n = read(fd, buf + got, len - got)) > 0;)
		got += (size_t)n;
	memcpy(id, buf, 4);
}

static void
peer_act(struct peer *p, int fd)
{
	uint8_t hello[SPFRAME_HELLO_LEN], head[SPFRAME_HEAD_LEN], id[4];

	spframe_hello(hello, p->mode == PEER_REQ ? SPFRAME_PROTO_REQ : SPFRAME_PROTO_REP);
	switch (p->mode) {
	case PEER_HTTP:
		peer_send(fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
		return;
	case PEER_REQ:
		peer_send(fd, hello, sizeof(hello));
		return;
	case PEER_LATE_MUTE:
		usleep(LATE_HELLO_MS * 1000);
		break;
	default:
		break;
	}
	peer_send(fd, hello, sizeof(hello));
	peer_read_request(fd, id);
	if (p->mode == PEER_WRONG_ID) {
		id[3] ^= 1;
		spframe_head(head, 4 + 2);
		peer_send(fd, head, sizeof(head));
		peer_send(fd, id, 4);
		peer_send(fd, "ok", 2);
	} else if (p->mode == PEER_HUGE) {
		spframe_head(head, 4 + (64u << 20));
		peer_send(fd, head, sizeof(head));
		peer_send(fd, id, 4);
	} else if (p->mode == PEER_CUT_SHORT) {
		spframe_head(head, 4 + 100);
		peer_send(fd, head, sizeof(head));
		peer_send(fd, id, 4);
		peer_send(fd, "0123456789", 10);
	}
}

static void *
peer_main(void *arg)
{
	struct peer  *p   = arg;
	struct pollfd pfd = {.fd = p->lfd, .events = POLLIN};
	int           fd  = -1;

	if (poll(&pfd, 1, PEER_WAIT_MS) == 1 && (fd = accept(p->lfd, NULL, NULL)) >= 0 &&
	    p->mode != PEER_HANG_UP)
		peer_act(p, fd);
	if (fd >= 0 && p->mode != PEER_HANG_UP && p->mode != PEER_CUT_SHORT) {
		pfd = (struct pollfd) {.fd = p->stop[0], .events = POLLIN};
		poll(&pfd, 1, PEER_WAIT_MS); /* keep the connection until the test ends */
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void
peer_start(struct peer *p, enum peer_mode mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(p, 0, sizeof(*p));
	p->mode = mode;
	snprintf(p->path, sizeof(p->path), "/tmp/spreq-test-%d.sock", (int)getpid());
	memcpy(sa.sun_path, p->path, sizeof(p->path));
	unlink(p->path);
	assert_int_equal(pipe(p->stop), 0);
	assert_true((p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->lfd, 4), 0);
	if (mode != PEER_NEVER_ACCEPT)
		assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static void
peer_stop(struct peer *p)
{
	if (p->mode != PEER_NEVER_ACCEPT) {
		assert_int_equal(write(p->stop[1], "x", 1), 1);
		pthread_join(p->thread, NULL);
	}
	close(p->stop[0]);
	close(p->stop[1]);
	close(p->lfd);
	unlink(p->path);
}

/* Opens, and when that works sends "hello?" and takes the answer. Returns
 * what failed and how long it all took. */
static chaos_err
call(const char *path, chaos_why *why, int64_t *ms)
{
	int64_t           t0   = clk_mono_us();
	uint8_t          *resp = NULL;
	size_t            len  = 0;
	struct spreq_conn c    = {.fd = -1};
	chaos_err         rv   = spreq_open_ipc(path, TIMEOUT_MS, &c, why);

	if (rv == CHAOS_OK) {
		rv = spreq_roundtrip(&c, "hello?", 6, TIMEOUT_MS, 1u << 20, &resp, &len,
		                     why);
		spreq_close(&c);
	}
	free(resp);
	*ms = (clk_mono_us() - t0) / 1000;
	return rv;
}

/* Runs one scripted peer; checks the error, its reason and the time. */
static void
expect_failure(enum peer_mode mode, chaos_err want, const char *text, int64_t min_ms)
{
	struct peer p;
	chaos_why   why = {{0}};
	int64_t     ms;

	peer_start(&p, mode);
	assert_int_equal(call(p.path, &why, &ms), want);
	peer_stop(&p);
	if (strstr(why.text, text) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", why.text, text);
	assert_in_range(ms, min_ms, TIMEOUT_MS + SLACK_MS);
}

/* ---- through the controller's control server ---- */

static void
echo(void *arg, const void *req, size_t len, uint8_t **resp, size_t *resp_len)
{
	(void)arg;
	*resp = malloc(len + 4);
	memcpy(*resp, "re: ", 4);
	memcpy(*resp + 4, req, len);
	*resp_len = len + 4;
}

static void
test_a_request_through_the_control_server_gets_its_answer(void **state)
{
	char              path[108];
	struct epstats    stats;
	struct ctl_ipc   *srv = NULL;
	uint8_t          *resp;
	size_t            len;
	struct spreq_conn c;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/spreq-srv-%d.sock", (int)getpid());
	assert_int_equal(epstats_init(&stats, "control"), CHAOS_OK);
	assert_int_equal(ctl_ipc_start(path, 1u << 20, &stats, echo, NULL, &srv, NULL),
	                 CHAOS_OK);
	assert_int_equal(spreq_open_ipc(path, TIMEOUT_MS, &c, NULL), CHAOS_OK);
	for (int i = 0; i < 3; i++) { /* one connection, several requests */
		assert_int_equal(spreq_roundtrip(&c, "hello?", 6, TIMEOUT_MS, 1u << 20,
		                                 &resp, &len, NULL),
		                 CHAOS_OK);
		assert_int_equal(len, 10);
		assert_memory_equal(resp, "re: hello?", 10);
		free(resp);
	}
	spreq_close(&c);
	ctl_ipc_stop(srv);
	epstats_fini(&stats);
}

/* A frame announcing more than the server takes: the connection is closed
 * at its head (nothing is allocated for it), the drop counted with its
 * reason, and the server serves the next client. */
static void
test_an_oversize_request_is_dropped_and_counted(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint8_t            out[SPFRAME_HELLO_LEN + SPFRAME_HEAD_LEN], in[64];
	struct epstats     stats;
	struct ctl_ipc    *srv = NULL;
	struct spreq_conn  c;
	int                fd;
	uint8_t           *resp;
	size_t             len;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/spreq-big-%d.sock",
	         (int)getpid());
	assert_int_equal(epstats_init(&stats, "control"), CHAOS_OK);
	assert_int_equal(ctl_ipc_start(sa.sun_path, 1024, &stats, echo, NULL, &srv, NULL),
	                 CHAOS_OK);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	spframe_hello(out, SPFRAME_PROTO_REQ);
	spframe_head(out + SPFRAME_HELLO_LEN, 1u << 30);
	assert_int_equal(send(fd, out, sizeof(out), MSG_NOSIGNAL), sizeof(out));
	for (int i = 0; i < 100 && recv(fd, in, sizeof(in), 0) > 0; i++)
		; /* the server's hello, then its close */
	close(fd);
	nng_mtx_lock(stats.mtx);
	assert_int_equal(stats.dropped, 1);
	assert_string_equal(stats.last_reason, "message over the size limit");
	nng_mtx_unlock(stats.mtx);
	assert_int_equal(spreq_open_ipc(sa.sun_path, TIMEOUT_MS, &c, NULL), CHAOS_OK);
	assert_int_equal(
	    spreq_roundtrip(&c, "ok?", 3, TIMEOUT_MS, 1024, &resp, &len, NULL), CHAOS_OK);
	assert_int_equal(len, 7);
	free(resp);
	spreq_close(&c);
	ctl_ipc_stop(srv);
	epstats_fini(&stats);
}

/* ---- every failure within its deadline ---- */

static void
test_nothing_listening_is_said_at_once(void **state)
{
	chaos_why why = {{0}};
	int64_t   ms;

	(void)state;
	assert_int_equal(call("/tmp/spreq-nobody-here.sock", &why, &ms), CHAOS_ECONN);
	assert_non_null(strstr(why.text, "nothing listens at /tmp/spreq-nobody-here"));
	assert_true(ms < 100);
}

static void
test_a_listener_that_never_accepts_times_out(void **state)
{
	(void)state;
	expect_failure(PEER_NEVER_ACCEPT, CHAOS_ETIMEDOUT, "its SP hello", TIMEOUT_MS);
}

static void
test_a_peer_that_hangs_up_is_a_lost_connection(void **state)
{
	(void)state;
	expect_failure(PEER_HANG_UP, CHAOS_ECONN,
	               "closed the connection before its SP hello", 0);
}

static void
test_a_peer_that_is_no_sp_server_is_named(void **state)
{
	(void)state;
	expect_failure(PEER_HTTP, CHAOS_EPROTO, "does not speak SP", 0);
	expect_failure(PEER_REQ, CHAOS_EPROTO, "SP protocol 0x30, not REP (0x31)", 0);
}

static void
test_bad_answers_are_refused(void **state)
{
	(void)state;
	expect_failure(PEER_WRONG_ID, CHAOS_EPROTO, "for another request", 0);
	expect_failure(PEER_HUGE, CHAOS_ETOOBIG, "67108864 bytes, over the 1048576", 0);
	expect_failure(PEER_CUT_SHORT, CHAOS_ECONN,
	               "closed the connection before the answer", 0);
}

static void
test_an_answer_that_never_comes_times_out(void **state)
{
	(void)state;
	expect_failure(PEER_MUTE, CHAOS_ETIMEDOUT, "the answer: deadline passed",
	               TIMEOUT_MS);
}

/* ctl_call to url with timeout_ms: it must fail (CHAOS_ECONN, no response)
 * in [min_ms, max_ms], with a reason holding text and text2 (unless NULL). */
static void
expect_ctl_fails(const char *url, int timeout_ms, int64_t min_ms, int64_t max_ms,
                 const char *text, const char *text2)
{
	struct ctl_target           t    = {.url = url, .timeout_ms = timeout_ms};
	Chaos__V1__ControlRequest   req  = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__ControlResponse *resp = NULL;
	chaos_why                   why  = {{0}};
	int64_t                     t0   = clk_mono_us();

	assert_int_equal(ctl_call(&t, &req, &resp, &why), CHAOS_ECONN);
	assert_in_range((clk_mono_us() - t0) / 1000, min_ms, max_ms);
	assert_null(resp);
	if (strstr(why.text, text) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", why.text, text);
	if (text2 != NULL && strstr(why.text, text2) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", why.text, text2);
}

/* expect_ctl_fails() to a scripted peer over ipc://, ending in
 * [timeout_ms, timeout_ms + SLACK_MS]. */
static void
expect_ipc_ctl_call(enum peer_mode mode, int timeout_ms, const char *text,
                    const char *text2)
{
	struct peer p;
	char        url[128];

	peer_start(&p, mode);
	snprintf(url, sizeof(url), "ipc://%s", p.path);
	expect_ctl_fails(url, timeout_ms, timeout_ms, timeout_ms + SLACK_MS, text, text2);
	peer_stop(&p);
}

/* chaosctl's call as a whole: what hung in CI now ends at its --timeout. */
static void
test_ctl_call_to_a_stuck_controller_ends_at_its_timeout(void **state)
{
	(void)state;
	expect_ipc_ctl_call(PEER_NEVER_ACCEPT, TIMEOUT_MS,
	                    "cannot reach the controller at ipc:///tmp/",
	                    "deadline passed");
}

/* Connecting spends from the call's one timeout: a hello that comes late
 * leaves the answer only the rest (two timeouts in a row took 3.2 s here). */
static void
test_ctl_call_connecting_and_answer_share_one_timeout(void **state)
{
	(void)state;
	expect_ipc_ctl_call(PEER_LATE_MUTE, LATE_TIMEOUT_MS,
	                    "no answer from the controller", NULL);
}

/* ---- over TCP ---- */

static void *
rep_answer_once(void *arg)
{
	nng_socket *sock = arg;
	nng_msg    *msg;

	if (nng_recvmsg(*sock, &msg, 0) == 0 && nng_msg_insert(msg, "re: ", 4) == 0 &&
	    nng_sendmsg(*sock, msg, 0) != 0)
		nng_msg_free(msg);
	return NULL;
}

static void
test_tcp_a_request_through_nngs_rep_gets_its_answer(void **state)
{
	nng_socket        sock;
	nng_listener      l;
	nng_sockaddr      sa;
	pthread_t         th;
	uint8_t          *resp;
	size_t            len;
	struct spreq_conn c;

	(void)state;
	assert_int_equal(nng_rep0_open(&sock), 0);
	nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, PEER_WAIT_MS);
	assert_int_equal(nng_listen(sock, "tcp://127.0.0.1:0", &l, 0), 0);
	assert_int_equal(nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa), 0);
	assert_int_equal(pthread_create(&th, NULL, rep_answer_once, &sock), 0);
	assert_int_equal(
	    spreq_open_tcp("127.0.0.1", ntohs(sa.s_in.sa_port), TIMEOUT_MS, &c, NULL),
	    CHAOS_OK);
	assert_int_equal(
	    spreq_roundtrip(&c, "hello?", 6, TIMEOUT_MS, 1u << 20, &resp, &len, NULL),
	    CHAOS_OK);
	assert_int_equal(len, 10);
	assert_memory_equal(resp, "re: hello?", 10);
	free(resp);
	spreq_close(&c);
	pthread_join(th, NULL);
	nng_close(sock);
}

/* expect_ctl_fails() to scheme://127.0.0.1:port with TIMEOUT_MS. */
static void
expect_ctl_call(const char *scheme, uint16_t port, const char *text, int64_t min_ms,
                int64_t max_ms)
{
	char url[128];

	snprintf(url, sizeof(url), "%s://127.0.0.1:%u", scheme, port);
	expect_ctl_fails(url, TIMEOUT_MS, min_ms, max_ms, text, NULL);
}

static void
test_tcp_nothing_listening_is_said_at_once(void **state)
{
	uint16_t port;
	char     text[64];

	(void)state;
	assert_int_not_equal(port = loopback_closed_port(), 0);
	snprintf(text, sizeof(text), "nothing listens at 127.0.0.1:%u", port);
	expect_ctl_call("tcp", port, text, 0, 100);
	/* tls+tcp:// connects once without TLS first, for this reason */
	expect_ctl_call("tls+tcp", port, text, 0, 100);
}

static void
test_tcp_a_listener_that_never_answers_ends_at_the_timeout(void **state)
{
	uint16_t port;
	int      fd = loopback_listen(4, &port); /* never accepts: the backlog does */

	(void)state;
	assert_true(fd >= 0);
	expect_ctl_call("tcp", port, "its SP hello (the handshake): deadline passed",
	                TIMEOUT_MS, TIMEOUT_MS + SLACK_MS);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_request_through_the_control_server_gets_its_answer),
	    cmocka_unit_test(test_an_oversize_request_is_dropped_and_counted),
	    cmocka_unit_test(test_nothing_listening_is_said_at_once),
	    cmocka_unit_test(test_a_listener_that_never_accepts_times_out),
	    cmocka_unit_test(test_a_peer_that_hangs_up_is_a_lost_connection),
	    cmocka_unit_test(test_a_peer_that_is_no_sp_server_is_named),
	    cmocka_unit_test(test_bad_answers_are_refused),
	    cmocka_unit_test(test_an_answer_that_never_comes_times_out),
	    cmocka_unit_test(test_ctl_call_to_a_stuck_controller_ends_at_its_timeout),
	    cmocka_unit_test(test_ctl_call_connecting_and_answer_share_one_timeout),
	    cmocka_unit_test(test_tcp_a_request_through_nngs_rep_gets_its_answer),
	    cmocka_unit_test(test_tcp_nothing_listening_is_said_at_once),
	    cmocka_unit_test(test_tcp_a_listener_that_never_answers_ends_at_the_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
