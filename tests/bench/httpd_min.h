/* SPDX-License-Identifier: MIT */
/*
 * A minimal HTTP/1.1 server for benchmarks: one thread, one epoll set,
 * keep-alive, pipelining; answers every request head with "200 ok" without
 * looking at it. Fast enough that a client on another core is the limit.
 */
#ifndef CHAOS_TESTS_HTTPD_MIN_H
#define CHAOS_TESTS_HTTPD_MIN_H

#include <stdint.h>

/* Listens on 127.0.0.1 (port 0: any); returns the fd and sets *port, or -1. */
int httpd_min_listen(uint16_t *port);

/* Serves lfd until stop_fd becomes readable. Returns 0, or -1 if epoll fails. */
int httpd_min_serve(int lfd, int stop_fd);

#endif
