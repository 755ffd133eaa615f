/* SPDX-License-Identifier: MIT */
/*
 * An HTTP/1.1 server for tests on 127.0.0.1: one detached thread per
 * connection, reading request heads ("GET <path>") and handing each path to
 * the test's route function, which answers with http_srv_reply() and says
 * whether the connection carries on (keep-alive) or is closed. Stopping
 * wakes every connection thread, also one held in http_srv_hold().
 */
#ifndef CHAOS_TESTS_HTTP_SRV_H
#define CHAOS_TESTS_HTTP_SRV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct http_srv;

/* Answers one request on fd; returns false to close the connection. */
typedef bool (*http_srv_route_fn)(struct http_srv *s, int fd, const char *path);

struct http_srv {
	int               lfd, stop_fd;
	uint16_t          port;
	pthread_t         thread;
	atomic_int        conns; /* connection threads alive */
	http_srv_route_fn route;
	void             *arg; /* the test's own state, for route */
};

/* Listens on 127.0.0.1 (ephemeral port) and starts the accept thread.
 * Returns 0 or -1. */
int http_srv_start(struct http_srv *s, http_srv_route_fn route, void *arg);

/* Stops accepting, wakes the connections and waits for their threads
 * (WAIT_GENEROUS_MS at most), then closes the listener. */
void http_srv_stop(struct http_srv *s);

/* Sends a response: status, Content-Length, extra_headers (each ending in
 * "\r\n", "" for none) and body. A client that hung up is not an error. */
void http_srv_reply(int fd, int status, const char *extra_headers, const char *body);

/* Sends raw bytes (for responses http_srv_reply cannot make). */
void http_srv_send(int fd, const char *bytes);

/* Waits up to ms for fd to become readable (the client closed, or sent
 * more) or for the server to stop. */
void http_srv_hold(struct http_srv *s, int fd, int ms);

#endif
