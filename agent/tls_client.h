/* SPDX-License-Identifier: MIT */
/*
 * TLS for the agent's HTTP client (https:// probes), with mbedTLS: the
 * library NNG already brings into the agent for its own TLS, so https costs
 * no extra shared object. Client side only, TLS 1.2, the server verified
 * against the system's CA certificates ($SSL_CERT_FILE, else Debian's
 * /etc/ssl/certs/ca-certificates.crt, else the directory /etc/ssl/certs)
 * and its name: a DNS name against the certificate's names (mbedTLS), an IP
 * address against its iPAddress entries (here, as mbedTLS 2.28 does not).
 *
 * A session runs over a non-blocking socket the caller owns and polls:
 * each call either progresses or says which readiness it waits for.
 */
#ifndef CHAOS_AGENT_TLS_CLIENT_H
#define CHAOS_AGENT_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define TLSC_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#define TLSC_CA_DIR "/etc/ssl/certs"

/* The CA certificates and settings every session shares: loaded by the
 * first tlsc_config_get(), freed by the last tlsc_config_put() (about
 * 400 KiB for Debian's 140 CAs, so held only while https is in use). */
struct tlsc_config;

/* One TLS session over one socket. */
struct tlsc;

/* Takes a reference on the shared configuration, loading the CAs if no one
 * holds it. Returns CHAOS_OK, CHAOS_ENOENT (no CA certificates where
 * looked, why says where and what to install) or CHAOS_ESYS/CHAOS_ENOMEM. */
chaos_err tlsc_config_get(struct tlsc_config **out, chaos_why *why);

/* Drops a reference; the last one frees the configuration. NULL is fine. */
void tlsc_config_put(struct tlsc_config *cfg);

/* A session to host (a name or an address literal, as in the URL) over
 * fd, which stays the caller's. Returns CHAOS_OK or CHAOS_ENOMEM. */
chaos_err tlsc_new(struct tlsc_config *cfg, const char *host, int fd, struct tlsc **out);

/* Frees t (without a close_notify: the caller closes the socket). NULL is
 * fine. */
void tlsc_free(struct tlsc *t);

/* Outcome of a step that could not complete. */
enum {
	TLSC_WANT_READ  = -1, /* call again when the socket is readable */
	TLSC_WANT_WRITE = -2, /* call again when the socket is writable */
	TLSC_FAILED     = -3, /* the session is dead: tlsc_error() says why */
};

/* Advances the handshake: 0 once done (server verified), or TLSC_*. */
int tlsc_handshake(struct tlsc *t);

/* Sends up to len bytes: the count (> 0), or TLSC_*. After TLSC_WANT_*,
 * call again with the same bytes. */
ssize_t tlsc_send(struct tlsc *t, const void *buf, size_t len);

/* Receives up to len bytes: the count, 0 at the end of the stream (close
 * notify or EOF), or TLSC_*. */
ssize_t tlsc_recv(struct tlsc *t, void *buf, size_t len);

/* Whether decrypted bytes wait inside t: the socket may not poll readable
 * for them, so read again before waiting. */
bool tlsc_pending(const struct tlsc *t);

/* Why t failed (after TLSC_FAILED): *errnum the socket's errno when the
 * socket itself failed (else 0), *tls_err TLS's error code and *verify
 * the certificate problems (0 when none), for tlsc_describe(). */
void tlsc_failure(const struct tlsc *t, int *errnum, int *tls_err, uint32_t *verify);

/* One line for a sample's detail from tlsc_failure()'s codes, e.g. "the
 * certificate is not signed by a trusted CA". */
void tlsc_describe(int tls_err, uint32_t verify, char *buf, size_t len);

#endif
