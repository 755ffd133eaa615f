/* SPDX-License-Identifier: MIT */
/*
 * NNG's wire format over a byte stream (SP over IPC), as both ends of the
 * local control socket speak it without NNG: the controller's server
 * (controller/control_ipc.c) and chaosctl's client (chaosctl/ipc_req.c).
 *
 * A connection opens with an 8-byte hello from each side:
 *   0x00 'S' 'P' 0x00, then the sender's protocol as 16 bits big-endian,
 *   then two zero bytes.
 * Each message then is a frame: a type byte (1) and the length of what
 * follows as 64 bits big-endian. For REQ/REP, what follows starts with the
 * backtrace: 4-byte words up to and including the request id, the one word
 * with its top bit set.
 */
#ifndef CHAOS_COMMON_SPFRAME_H
#define CHAOS_COMMON_SPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPFRAME_HELLO_LEN 8
#define SPFRAME_HEAD_LEN 9 /* type byte + 64-bit length */
#define SPFRAME_PROTO_REQ 0x30
#define SPFRAME_PROTO_REP 0x31

/* The hello that announces protocol proto. */
void spframe_hello(uint8_t out[SPFRAME_HELLO_LEN], uint16_t proto);

/* True when in is a well-formed hello announcing protocol proto; otherwise
 * *got (when not NULL) is what it announced, or -1 when it is no SP hello. */
bool spframe_hello_is(const uint8_t in[SPFRAME_HELLO_LEN], uint16_t proto, int *got);

/* The head of a message frame whose payload is len bytes. */
void spframe_head(uint8_t out[SPFRAME_HEAD_LEN], uint64_t len);

/* The payload length in a frame head; false when its type byte is not 1. */
bool spframe_head_len(const uint8_t in[SPFRAME_HEAD_LEN], uint64_t *len);

#endif
