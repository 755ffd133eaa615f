/* SPDX-License-Identifier: MIT */
/*
 * NNG's wire format over a byte stream (SP over IPC and over TCP), as
 * the control socket's ends speak it without NNG: the controller's ipc://
 * server (controller/control_ipc.c) and chaosctl's client
 * (chaosctl/sp_req.c).
 *
 * A connection opens with an 8-byte hello from each side:
 *   0x00 'S' 'P' 0x00, then the sender's protocol as 16 bits big-endian,
 *   then two zero bytes.
 * Each message then is a frame: over IPC a type byte (1) and the length of
 * what follows as 64 bits big-endian; over TCP the length alone. For REQ/REP, what
 * follows starts with the backtrace: 4-byte words up to and including the request id, the
 * one word with its top bit set.
 */
#ifndef CHAOS_COMMON_SPFRAME_H
#define CHAOS_COMMON_SPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPFRAME_HELLO_LEN 8
#define SPFRAME_HEAD_LEN 9     /* IPC: type byte + 64-bit length */
#define SPFRAME_TCP_HEAD_LEN 8 /* TCP: 64-bit length */
#define SPFRAME_PROTO_REQ 0x30
#define SPFRAME_PROTO_REP 0x31

/* The hello that announces protocol proto. */
void spframe_hello(uint8_t out[SPFRAME_HELLO_LEN], uint16_t proto);

/* True when in is a well-formed hello announcing protocol proto; otherwise
 * *got (when not NULL) is what it announced, or -1 when it is no SP hello. */
bool spframe_hello_is(const uint8_t in[SPFRAME_HELLO_LEN], uint16_t proto, int *got);

/* The head of a TCP frame whose payload is len bytes, and back. */
void     spframe_tcp_head(uint8_t out[SPFRAME_TCP_HEAD_LEN], uint64_t len);
uint64_t spframe_tcp_head_len(const uint8_t in[SPFRAME_TCP_HEAD_LEN]);

/* The head of an IPC frame whose payload is len bytes. */
void spframe_head(uint8_t out[SPFRAME_HEAD_LEN], uint64_t len);

/* The payload length in an IPC frame head; false when its type byte is not 1. */
bool spframe_head_len(const uint8_t in[SPFRAME_HEAD_LEN], uint64_t *len);

#endif
