/* SPDX-License-Identifier: MIT */
/*
 * The checks the unit tests of common/wire.c share: a message packed with
 * wire_pack() and decoded by the decoder of its kind (wire_fix.h) must be
 * accepted, or refused with the right CHAOS_E*, a reason that says why,
 * and *out left alone. Failures are cmocka failures, named by the case
 * being checked (wire_expect_case).
 */
#ifndef CHAOS_TESTS_WIRE_EXPECT_H
#define CHAOS_TESTS_WIRE_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/wire.h"
#include "tests/support/wire_fix.h"

/* Names the table entry being checked, for failure messages. */
void wire_expect_case(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cmocka setup: no case named yet ("-"). */
int wire_expect_reset(void **state);

/* A test whose failures say which case they were checking. */
#define WIRE_TEST(fn) cmocka_unit_test_setup(fn, wire_expect_reset)

/* Where *out points before a decode: a decoder that fails leaves it so. */
void *wire_expect_sentinel(void);

/* Runs the decoder of kind with *out preset to the sentinel; its result. */
int wire_expect_decode(enum wire_fix_kind kind, const void *buf, size_t len, void **out,
                       chaos_why *reason);

/* Packs m, decodes it as kind and expects success; returns the message
 * (wire_free() it). */
void *wire_expect_accepted(const ProtobufCMessage *m, enum wire_fix_kind kind);

/* Packs m, decodes it as kind and expects error want with a reason that
 * contains why, *out untouched. */
void wire_expect_rejected(const ProtobufCMessage *m, enum wire_fix_kind kind, int want,
                          const char *why);

/* wire_expect_rejected() of a poll (an event) refused as malformed
 * (CHAOS_EPROTO) for why. */
void wire_expect_poll_rejected(const struct wire_fix_poll *f, const char *why);
void wire_expect_event_rejected(const struct wire_fix_event *f, const char *why);

/* The same for raw bytes. */
void wire_expect_bytes_rejected(const void *buf, size_t len, enum wire_fix_kind kind,
                                int want, const char *why);

/* Packs m into a malloc'd buffer (for byte surgery; one spare byte at the
 * end); *len gets the size. The caller frees it. */
uint8_t *wire_expect_pack_bytes(const ProtobufCMessage *m, size_t *len);

/* A reply whose one command applies a fault of this kind. */
void wire_expect_fault_reply(struct wire_fix_reply         *f,
                             Chaos__V1__FaultSpec__KindCase kind);

/* A poll from "ledger/db-0" carrying its identity, for a test to spoil. */
void wire_expect_identity_poll(struct wire_fix_poll *f);

/* A hello event from "ledger/db-0" (with the same identity), likewise. */
void wire_expect_hello(struct wire_fix_event *f);

/* An event whose fault-state detail is text must be refused for why. */
void wire_expect_detail_rejected(const char *text, const char *why);

/* Every field of a decoded identity equals the one it was built from. */
void wire_expect_identity_equal(const Chaos__V1__Identity *got,
                                const Chaos__V1__Identity *want);

#endif
