// SPDX-License-Identifier: MIT
#include "httpd_min.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTPD_EVENTS 256
#define HTTPD_BUF 16384

static const char httpd_reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                  "Content-Length: 2\r\n\r\nok";

/* Per connection: the tail of the last read, so a "\r\n\r\n" split across
 * two reads is still seen. */
struct httpd_conn {
	int  fd;
	char tail[3];
	int  n_tail;
};

int
httpd_min_listen(uint16_t *port)
{
	struct sockaddr_in sa  = {.sin_family      = AF_INET,
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                          .sin_port        = htons(*port)};
	socklen_t          len = sizeof(sa);
	int                one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Counts request heads ("\r\n\r\n") in what was read, including ones split
 * between reads. */
static size_t
httpd_count_heads(struct httpd_conn *c, const char *buf, size_t n)
{
	char   joined[3 + HTTPD_BUF];
	size_t len = (size_t)c->n_tail + n, heads = 0;

	memcpy(joined, c->tail, (size_t)c->n_tail);
	memcpy(joined + c->n_tail, buf, n);
	for (size_t i = 3; i < len; i++)
		if (joined[i] == '\n' && joined[i - 1] == '\r' && joined[i - 2] == '\n' &&
		    joined[i - 3] == '\r')
			heads++;
	c->n_tail = len < 3 ? (int)len : 3;
	memcpy(c->tail, joined + len - (size_t)c->n_tail, (size_t)c->n_tail);
	return heads;
}

/* Reads what is there and answers each complete request. Returns -1 when
 * the connection is done. */
static int
httpd_serve_conn(struct httpd_conn *c)
{
	static char out[64 * (sizeof(httpd_reply) - 1)];
	char        buf[HTTPD_BUF];

	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		size_t  heads;

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		heads = httpd_count_heads(c, buf, (size_t)n);
		while (heads > 0) {
			size_t k   = heads > 64 ? 64 : heads,
			       len = k * (sizeof(httpd_reply) - 1);
			for (size_t i = 0; i < k; i++)
				memcpy(out + i * (sizeof(httpd_reply) - 1), httpd_reply,
				       sizeof(httpd_reply) - 1);
			/* Replies are tiny: a full send buffer means the client
			 * stopped reading, so it is dropped rather than queued. */
			if (send(c->fd, out, len, MSG_NOSIGNAL) != (ssize_t)len)
				return -1;
			heads -= k;
		}
	}
}

static void
httpd_accept(int ep, int lfd)
{
	for (;;) {
		int one = 1;
		int fd  = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct httpd_conn *c;
		struct epoll_event ev = {.events = EPOLLIN};

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd       = fd;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
		}
	}
}

int
httpd_min_serve(int lfd, int stop_fd)
{
	struct epoll_event evs[HTTPD_EVENTS], ev = {.events = EPOLLIN};
	int                ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	ev.data.ptr = &lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.ptr = &stop_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, HTTPD_EVENTS, -1);

		for (int i = 0; i < n; i++) {
			struct httpd_conn *c = evs[i].data.ptr;
			if (evs[i].data.ptr == &stop_fd) {
				close(ep);
				return 0;
			}
			if (evs[i].data.ptr == &lfd) {
				httpd_accept(ep, lfd);
			} else if (httpd_serve_conn(c) != 0) {
				close(c->fd); /* also leaves the epoll set */
				free(c);
			}
		}
		if (n < 0 && errno != EINTR) {
			close(ep);
			return -1;
		}
	}
}
