/* SPDX-License-Identifier: MIT */
/* Loopback sockets for tests: a listener on 127.0.0.1 and a closed port. */
#ifndef CHAOS_TESTS_LOOPBACK_H
#define CHAOS_TESTS_LOOPBACK_H

#include <stdint.h>

/* A blocking TCP listener on 127.0.0.1, ephemeral port (*port, host order).
 * Returns the fd, or -1. */
int loopback_listen(int backlog, uint16_t *port);

/* A 127.0.0.1 port nobody listens on, below the ephemeral range (so no
 * outgoing connection takes it before a test listens there): bound, then
 * released. 0 on failure. */
uint16_t loopback_closed_port(void);

#endif
