/* SPDX-License-Identifier: MIT */
/*
 * Endpoint set-up shared by agent, controller and chaosctl: receive caps,
 * reconnect backoff, and mutual TLS for tls+tcp:// URLs.
 */
#ifndef CHAOS_COMMON_TRANSPORT_H
#define CHAOS_COMMON_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>

#include "common/err.h"

/* TLS material; all NULL for ipc:// and plaintext tcp://. cert_key_file
 * holds the certificate, and its key too unless key_file names the key's
 * own file (as a Kubernetes tls.crt/tls.key secret has them). */
struct transport_tls {
	const char *ca_file;
	const char *cert_key_file;
	const char *key_file;
};

/* getopt_long values of the TLS options in TRANSPORT_LONGOPTS; a program's
 * own option values start at TRANSPORT_OPT_END. */
enum transport_opt {
	TRANSPORT_OPT_PLAIN = 256,
	TRANSPORT_OPT_CA,
	TRANSPORT_OPT_CERT,
	TRANSPORT_OPT_KEY,
	TRANSPORT_OPT_END
};

/* --plaintext, --tls-ca F, --tls-cert F and --tls-key F as rows of a
 * struct option table (<getopt.h>), for every program that dials or listens. */
/* clang-format off */
#define TRANSPORT_LONGOPTS                                          \
	{"plaintext", no_argument, NULL, TRANSPORT_OPT_PLAIN},      \
	{"tls-ca", required_argument, NULL, TRANSPORT_OPT_CA},      \
	{"tls-cert", required_argument, NULL, TRANSPORT_OPT_CERT},  \
	{"tls-key", required_argument, NULL, TRANSPORT_OPT_KEY}
/* clang-format on */

/* Takes option c of TRANSPORT_LONGOPTS with its value arg (borrowed, kept
 * as a pointer) into *plaintext or tls. False, writing nothing, when c is
 * not one of them. */
bool transport_option(int c, const char *arg, bool *plaintext, struct transport_tls *tls);

/* Checks an endpoint URL given as the value of option flag ("--listen"):
 * ipc://, tcp:// (only when allow_plain) or tls+tcp:// with a host and port,
 * and for tls+tcp:// that both TLS files are given. CHAOS_EINVAL with why
 * as "<flag> '<url>': " and what is wrong and what is allowed. */
chaos_err transport_check_url(const char *flag, const char *url, bool allow_plain,
                              const struct transport_tls *tls, chaos_why *why);

/* For tls+tcp:// url, reads and parses the TLS files as a listener on it
 * would, so that a program can refuse them before it creates anything;
 * CHAOS_OK for any other URL. Errors name the flag and the file:
 * "--tls-ca /x/ca.pem: cannot read: No such file or directory". */
chaos_err transport_tls_check(const char *url, const struct transport_tls *tls,
                              chaos_why *why);

/* Creates and starts a listener on sock for url. For tls+tcp:// the peer
 * must present a certificate signed by tls->ca_file. Sets NNG_OPT_RECVMAXSZ
 * to max_msg first. Returns CHAOS_OK or a CHAOS_E* with why naming the URL
 * ("cannot listen on URL: Address in use") or the TLS flag and file. */
chaos_err transport_listen(nng_socket sock, const char *url, size_t max_msg,
                           const struct transport_tls *tls, chaos_why *why);

/* Creates and starts a dialer that keeps reconnecting in the background
 * (100 ms doubling to 2 s) instead of failing once. */
chaos_err transport_dial(nng_socket sock, const char *url, size_t max_msg,
                         const struct transport_tls *tls, chaos_why *why);

/* transport_dial() that also gives the dialer, so that the caller can close
 * it and dial again at once (NNG 1.5.2 has no way to cut a dialer's
 * back-off short). */
chaos_err transport_dial_keep(nng_socket sock, const char *url, size_t max_msg,
                              const struct transport_tls *tls, nng_dialer *d,
                              chaos_why *why);

#endif
