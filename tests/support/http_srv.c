// SPDX-License-Identifier: MIT
#include "http_srv.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loopback.h"
#include "wait.h"

#define HTTP_SRV_HEAD_MAX 4096

struct http_srv_conn {
	struct http_srv *srv;
	int              fd;
};

void
http_srv_send(int fd, const char *bytes)
{
	/* The client may have hung up already (timeouts, stops). */
	(void)!send(fd, bytes, strlen(bytes), MSG_NOSIGNAL);
}

void
http_srv_reply(int fd, int status, const char *extra_headers, const char *body)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
	         "HTTP/1.1 %d Canned\r\nContent-Length: %zu\r\n%s\r\n%s", status,
	         strlen(body), extra_headers, body);
	http_srv_send(fd, buf);
}

void
http_srv_hold(struct http_srv *s, int fd, int ms)
{
	struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
	                        {.fd = s->stop_fd, .events = POLLIN}};

	poll(pfd, 2, ms);
}

/* Reads one request head into path; false at EOF, on error or on stop. */
static bool
http_srv_read(struct http_srv *s, int fd, char path[256])
{
	char   req[HTTP_SRV_HEAD_MAX];
	size_t got = 0;

	while (got < sizeof(req) - 1) {
		struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
		                        {.fd = s->stop_fd, .events = POLLIN}};
		ssize_t       n;

		if (poll(pfd, 2, -1) <= 0 || pfd[1].revents != 0 ||
		    (n = read(fd, req + got, sizeof(req) - 1 - got)) <= 0)
			return false;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			return sscanf(req, "GET %255s", path) == 1;
	}
	return false;
}

static void *
http_srv_conn_main(void *arg)
{
	struct http_srv_conn *c = arg;
	char                  path[256];

	while (http_srv_read(c->srv, c->fd, path) && c->srv->route(c->srv, c->fd, path))
		;
	close(c->fd);
	atomic_fetch_sub(&c->srv->conns, 1);
	free(c);
	return NULL;
}

static void
http_srv_spawn(struct http_srv *s, int fd)
{
	struct http_srv_conn *c = malloc(sizeof(*c));
	pthread_attr_t        attr;
	pthread_t             t;

	if (c == NULL) {
		close(fd);
		return;
	}
	c->srv = s;
	c->fd  = fd;
	atomic_fetch_add(&s->conns, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, http_srv_conn_main, c) != 0) {
		atomic_fetch_sub(&s->conns, 1);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

static void *
http_srv_main(void *arg)
{
	struct http_srv *s = arg;

	for (;;) {
		struct pollfd pfd[2] = {{.fd = s->lfd, .events = POLLIN},
		                        {.fd = s->stop_fd, .events = POLLIN}};
		int           fd;

		if (poll(pfd, 2, -1) < 0 || pfd[1].revents != 0)
			break;
		if ((fd = accept(s->lfd, NULL, NULL)) >= 0)
			http_srv_spawn(s, fd);
	}
	return NULL;
}

int
http_srv_start(struct http_srv *s, http_srv_route_fn route, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->route   = route;
	s->arg     = arg;
	s->lfd     = loopback_listen(512, &s->port);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->lfd < 0 || s->stop_fd < 0 ||
	    pthread_create(&s->thread, NULL, http_srv_main, s) != 0) {
		if (s->lfd >= 0)
			close(s->lfd);
		if (s->stop_fd >= 0)
			close(s->stop_fd);
		return -1;
	}
	return 0;
}

static bool
http_srv_no_conns(void *arg)
{
	return atomic_load(&((struct http_srv *)arg)->conns) == 0;
}

void
http_srv_stop(struct http_srv *s)
{
	uint64_t one = 1;

	(void)!write(s->stop_fd, &one, sizeof(one));
	pthread_join(s->thread, NULL);
	/* The connection threads poll stop_fd: it stays open until they are
	 * gone, however long a loaded machine takes to run them. */
	if (!wait_until(http_srv_no_conns, s, WAIT_GENEROUS_MS))
		fprintf(stderr, "http_srv: %d connection threads did not end\n",
		        atomic_load(&s->conns));
	close(s->lfd);
	close(s->stop_fd);
}
