/* SPDX-License-Identifier: MIT */
/*
 * A TCP echo server for tests and benches: one thread, non-blocking, up to
 * ECHO_MAX_CONNS connections, each echoed through a 64 KiB buffer (a
 * client that does not read stalls only its own connection). An end of
 * stream from the client is echoed as one (shutdown) once its data is out.
 */
#ifndef CHAOS_TESTS_ECHO_SRV_H
#define CHAOS_TESTS_ECHO_SRV_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define ECHO_MAX_CONNS 512

struct echo_srv {
	int         lfd, stop_fd;
	uint16_t    port;
	pthread_t   thread;
	atomic_uint accepted;
	atomic_uint open; /* connections open now */
};

/* Listens on addr (network order; INADDR_LOOPBACK if 0) port 0 and starts
 * the thread in the calling thread's network namespace. Returns 0 or -1. */
int echo_srv_start(struct echo_srv *s, uint32_t addr_be);

/* Stops the thread and closes everything. */
void echo_srv_stop(struct echo_srv *s);

#endif
