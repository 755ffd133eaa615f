// SPDX-License-Identifier: MIT
#include "loopback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A TCP socket bound to 127.0.0.1:want (0: an ephemeral port), its port in
 * *port; -1 on failure (want taken, or no socket). */
static int
loopback_bind(uint16_t want, uint16_t *port)
{
	struct sockaddr_in sa  = {.sin_family      = AF_INET,
	                          .sin_port        = htons(want),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t          len = sizeof(sa);
	int                fd  = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

int
loopback_listen(int backlog, uint16_t *port)
{
	int fd = loopback_bind(0, port);

	if (fd >= 0 && listen(fd, backlog) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The low end of the kernel's ephemeral ports (32768 by default). */
static unsigned
loopback_ephemeral_low(void)
{
	FILE    *f  = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	unsigned lo = 32768;

	if (f != NULL) {
		if (fscanf(f, "%u", &lo) != 1 || lo < 2048 || lo > 65535)
			lo = 32768;
		fclose(f);
	}
	return lo;
}

/* Below the ephemeral range: a port from bind(0) may become the local port
 * of an outgoing connection before the test listens on it (or, dialled in a
 * loop, the port of a TCP self-connect), and the listen then fails. */
uint16_t
loopback_closed_port(void)
{
	unsigned lo   = loopback_ephemeral_low();
	unsigned base = lo > 10000 + 1024 ? lo - 10000 : 1024;
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);

	for (int i = 0; i < 1000; i++) {
		uint16_t port = (uint16_t)(base + (unsigned)rand_r(&seed) % (lo - base));
		int      fd   = loopback_bind(port, &port);

		if (fd >= 0) {
			close(fd);
			return port;
		}
	}
	return 0;
}
