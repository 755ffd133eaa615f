// SPDX-License-Identifier: MIT
#include "loopback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* A TCP socket bound to 127.0.0.1, ephemeral port; -1 on failure. */
static int
loopback_bind(uint16_t *port)
{
	struct sockaddr_in sa  = {.sin_family      = AF_INET,
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
	int fd = loopback_bind(port);

	if (fd >= 0 && listen(fd, backlog) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

uint16_t
loopback_closed_port(void)
{
	uint16_t port = 0;
	int      fd   = loopback_bind(&port);

	if (fd < 0)
		return 0;
	close(fd);
	return port;
}
