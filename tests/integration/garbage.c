// SPDX-License-Identifier: MIT
/*
 * garbage: feeds malformed bytes to a controller endpoint, as a hostile or
 * broken peer would: random bytes, a truncated protobuf, a message over the
 * size cap, and raw non-SP bytes on the TCP port.
 *
 *   garbage session|events|control URL COUNT
 *
 * Prints how many messages it sent; exits 0 when every send went out (what
 * the controller did with them is for the caller to check with chaosctl
 * stats), 1 otherwise.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/wire.h"

/* A valid Poll, packed, then cut short: protobuf-c must reject it. */
static size_t
garbage_truncated(uint8_t *buf, size_t cap)
{
	Chaos__V1__Poll p = CHAOS__V1__POLL__INIT;
	size_t          n;

	p.protocol_version = WIRE_VERSION;
	p.agent_id         = "garbage/test-agent";
	p.poll_seq         = 7;
	p.t1_agent_us      = clk_now_us();
	n                  = chaos__v1__poll__get_packed_size(&p);
	if (n > cap)
		return 0;
	chaos__v1__poll__pack(&p, buf);
	return n / 2;
}

static int
garbage_send(nng_socket s, const void *data, size_t len, bool req)
{
	nng_msg *m = NULL;
	int      rv;

	if (nng_msg_alloc(&m, len) != 0)
		return -1;
	memcpy(nng_msg_body(m), data, len);
	if ((rv = nng_sendmsg(s, m, 0)) != 0) {
		nng_msg_free(m);
		return -1;
	}
	if (req) {
		/* The controller drops these without an answer (session) or answers
		 * with an error (control); either way do not wait long. */
		nng_msg *reply = NULL;
		if (nng_recvmsg(s, &reply, 0) == 0)
			nng_msg_free(reply);
	}
	return 0;
}

/* Raw bytes straight to the TCP port: not even the SP handshake. */
static void
garbage_raw_tcp(const char *url)
{
	char               host[64];
	const char        *hp = strstr(url, "://"), *colon;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int                fd;

	if (hp == NULL || strncmp(url, "tcp", 3) != 0 ||
	    (colon = strrchr(hp + 3, ':')) == NULL)
		return;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hp - 3), hp + 3);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, "GET / HTTP/1.1\r\n\r\n\x00\x53\x50\xff\xff", 23) < 0)
		perror("write");
	close(fd);
}

int
main(int argc, char **argv)
{
	static uint8_t big[WIRE_MAX_CONTROL + 2 * WIRE_SOCKET_SLACK];
	uint8_t        buf[512];
	nng_socket     s;
	bool           req;
	int            count, sent = 0, failed = 0;
	size_t         n;

	if (argc != 4 || (count = atoi(argv[3])) <= 0 || count > 10000) {
		fprintf(stderr,
		        "usage: garbage session|events|control URL COUNT(1..10000)\n");
		return 2;
	}
	req = strcmp(argv[1], "events") != 0;
	if ((req ? nng_req0_open(&s) : nng_push0_open(&s)) != 0 ||
	    nng_dial(s, argv[2], NULL, 0) != 0) {
		fprintf(stderr, "garbage: cannot reach %s\n", argv[2]);
		return 1;
	}
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 300);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 1000);
	srand(42);
	for (int i = 0; i < count; i++) {
		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)rand();
		failed +=
		    garbage_send(s, buf, 1 + (size_t)rand() % sizeof(buf), req) != 0;
		n = garbage_truncated(buf, sizeof(buf));
		failed += garbage_send(s, buf, n, req) != 0;
		sent += 2;
	}
	/* Over the per-kind cap but within the socket cap: counted as dropped. */
	n = strcmp(argv[1], "control") == 0  ? WIRE_MAX_CONTROL + 1
	    : strcmp(argv[1], "events") == 0 ? WIRE_MAX_EVENT + 1
	                                     : WIRE_MAX_SESSION + 1;
	memset(big, 0x0a, n);
	failed += garbage_send(s, big, n, req) != 0;
	sent++;
	/* Over the socket cap: NNG closes the connection; the controller lives. */
	garbage_send(s, big, sizeof(big), false);
	nng_msleep(200);
	garbage_raw_tcp(argv[2]);
	/* No nng_close: with a request still in flight on a pipe the peer cut,
	 * NNG 1.5.2's close can wait forever; the process exit cleans up. */
	printf("sent %d malformed messages to %s (%d failed to send)\n", sent, argv[2],
	       failed);
	return failed == 0 ? 0 : 1;
}
