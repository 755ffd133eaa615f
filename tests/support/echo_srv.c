// SPDX-License-Identifier: MIT
#include "tests/support/echo_srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define ECHO_BUF (64 * 1024)

struct echo_conn {
	int    fd;
	bool   eof;
	size_t len, off;
	char  *buf;
};

static void
echo_close(struct echo_conn *c, atomic_uint *open_count)
{
	close(c->fd);
	free(c->buf);
	c->fd  = -1;
	c->buf = NULL;
	atomic_fetch_sub(open_count, 1);
}

/* One poll round for c; false once it is closed. */
static bool
echo_step(struct echo_conn *c, short revents)
{
	ssize_t n;

	if ((revents & (POLLIN | POLLHUP | POLLERR)) && !c->eof && c->len < ECHO_BUF) {
		n = recv(c->fd, c->buf + c->len, ECHO_BUF - c->len, MSG_DONTWAIT);
		if (n == 0)
			c->eof = true;
		else if (n > 0)
			c->len += (size_t)n;
		else if (errno != EAGAIN && errno != EINTR)
			return false;
	}
	if (c->off < c->len) {
		n = send(c->fd, c->buf + c->off, c->len - c->off,
		         MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			c->off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (c->off == c->len)
			c->off = c->len = 0;
	}
	if (c->eof && c->len == 0) {
		shutdown(c->fd, SHUT_WR);
		return false;
	}
	return true;
}

static void *
echo_main(void *arg)
{
	struct echo_srv  *s     = arg;
	struct echo_conn *conns = calloc(ECHO_MAX_CONNS, sizeof(*conns));
	struct pollfd    *pfd   = calloc(ECHO_MAX_CONNS + 2, sizeof(*pfd));
	size_t            n     = 0;

	for (;;) {
		pfd[0] = (struct pollfd) {.fd = s->stop_fd, .events = POLLIN};
		pfd[1] = (struct pollfd) {.fd     = n < ECHO_MAX_CONNS ? s->lfd : -1,
		                          .events = POLLIN};
		for (size_t i = 0; i < n; i++) {
			short ev = 0;
			if (!conns[i].eof && conns[i].len < ECHO_BUF)
				ev |= POLLIN;
			if (conns[i].off < conns[i].len)
				ev |= POLLOUT;
			pfd[i + 2] = (struct pollfd) {.fd = conns[i].fd, .events = ev};
		}
		if (poll(pfd, n + 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		for (size_t i = 0; i < n;) {
			if (pfd[i + 2].revents &&
			    !echo_step(&conns[i], pfd[i + 2].revents)) {
				echo_close(&conns[i], &s->open);
				conns[i]   = conns[n - 1];
				pfd[i + 2] = pfd[n + 1];
				n--;
				continue;
			}
			i++;
		}
		if (pfd[1].revents & POLLIN) {
			int fd =
			    accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd >= 0) {
				conns[n++] = (struct echo_conn) {.fd  = fd,
				                                 .buf = malloc(ECHO_BUF)};
				atomic_fetch_add(&s->accepted, 1);
				atomic_fetch_add(&s->open, 1);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		echo_close(&conns[i], &s->open);
	free(conns);
	free(pfd);
	return NULL;
}

int
echo_srv_start(struct echo_srv *s, uint32_t addr_be)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_addr.s_addr =
	                              addr_be ? addr_be : htonl(INADDR_LOOPBACK)};
	socklen_t          len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->lfd     = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->lfd < 0 || s->stop_fd < 0 ||
	    bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(s->lfd, 1024) < 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&sin, &len) < 0 ||
	    pthread_create(&s->thread, NULL, echo_main, s) != 0) {
		if (s->lfd >= 0)
			close(s->lfd);
		if (s->stop_fd >= 0)
			close(s->stop_fd);
		return -1;
	}
	s->port = ntohs(sin.sin_port);
	return 0;
}

void
echo_srv_stop(struct echo_srv *s)
{
	uint64_t one = 1;

	(void)!write(s->stop_fd, &one, sizeof(one));
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->stop_fd);
}
