// SPDX-License-Identifier: MIT
#include "agent/tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#define TLSC_SAN_IP (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) /* GeneralName iPAddress */

struct tlsc_config {
	mbedtls_ssl_config       conf;
	mbedtls_x509_crt         ca;
	mbedtls_entropy_context  entropy;
	mbedtls_ctr_drbg_context drbg;
	int                      refs; /* under tlsc_lock */
};

struct tlsc {
	mbedtls_ssl_context ssl;
	int                 fd;
	int                 errnum;   /* the socket's errno when it failed */
	int                 tls_err;  /* mbedTLS's code for the failure */
	size_t              addr_len; /* 4 or 16: the host is this address */
	unsigned char       addr[16];
};

static pthread_mutex_t     tlsc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tlsc_config *tlsc_shared;

/* ---- the shared configuration ---- */

static chaos_err
tlsc_load_cas(mbedtls_x509_crt *ca, chaos_why *why)
{
	const char *file = getenv("SSL_CERT_FILE");

	/* parse_* return how many certificates failed (>= 0) when any was
	 * read; version != 0 says the chain holds at least one. */
	if (file != NULL && file[0] != '\0') {
		if (mbedtls_x509_crt_parse_file(ca, file) < 0 || ca->version == 0)
			return chaos_fail(why, CHAOS_ENOENT,
			                  "no CA certificate could be read from %s "
			                  "($SSL_CERT_FILE)",
			                  file);
		return CHAOS_OK;
	}
	if (mbedtls_x509_crt_parse_file(ca, TLSC_CA_FILE) >= 0 && ca->version != 0)
		return CHAOS_OK;
	if (mbedtls_x509_crt_parse_path(ca, TLSC_CA_DIR) >= 0 && ca->version != 0)
		return CHAOS_OK;
	return chaos_fail(why, CHAOS_ENOENT,
	                  "no CA certificates in %s or %s to verify https servers with: "
	                  "install ca-certificates, or name a PEM file in $SSL_CERT_FILE",
	                  TLSC_CA_FILE, TLSC_CA_DIR);
}

static void
tlsc_config_free(struct tlsc_config *c)
{
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	free(c);
}

static chaos_err
tlsc_config_new(struct tlsc_config **out, chaos_why *why)
{
	static const unsigned char pers[] = "chaos-agent-tls";
	struct tlsc_config        *c      = calloc(1, sizeof(*c));
	chaos_err                  rv;
	int                        rc;

	if (c == NULL)
		return CHAOS_ENOMEM;
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
	if ((rv = tlsc_load_cas(&c->ca, why)) != CHAOS_OK)
		goto fail;
	rv = CHAOS_ESYS;
	if ((rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy, pers,
	                                sizeof(pers) - 1)) != 0 ||
	    (rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
	                                      MBEDTLS_SSL_TRANSPORT_STREAM,
	                                      MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
		char text[128];
		mbedtls_strerror(rc, text, sizeof(text));
		chaos_fail(why, rv, "TLS setup: %s", text);
		goto fail;
	}
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	*out = c;
	return CHAOS_OK;
fail:
	tlsc_config_free(c);
	return rv;
}

chaos_err
tlsc_config_get(struct tlsc_config **out, chaos_why *why)
{
	chaos_err rv = CHAOS_OK;

	pthread_mutex_lock(&tlsc_lock);
	if (tlsc_shared == NULL)
		rv = tlsc_config_new(&tlsc_shared, why);
	if (rv == CHAOS_OK) {
		tlsc_shared->refs++;
		*out = tlsc_shared;
	}
	pthread_mutex_unlock(&tlsc_lock);
	return rv;
}

void
tlsc_config_put(struct tlsc_config *cfg)
{
	if (cfg == NULL)
		return;
	pthread_mutex_lock(&tlsc_lock);
	if (--cfg->refs == 0) {
		tlsc_config_free(cfg);
		tlsc_shared = NULL;
	}
	pthread_mutex_unlock(&tlsc_lock);
}

/* ---- sessions ---- */

static int
tlsc_bio_send(void *arg, const unsigned char *buf, size_t len)
{
	struct tlsc *t = arg;
	ssize_t      n;

	do
		n = send(t->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	t->errnum = errno;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int
tlsc_bio_recv(void *arg, unsigned char *buf, size_t len)
{
	struct tlsc *t = arg;
	ssize_t      n;

	do
		n = recv(t->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (int)n; /* 0: EOF, which mbedTLS reports as CONN_EOF */
	if (errno == EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_READ;
	t->errnum = errno;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* mbedTLS 2.28 checks DNS names only: for an address literal the leaf
 * certificate must carry that address as an iPAddress name, as a browser
 * or curl requires. Marked as a name mismatch, so the handshake fails with
 * the usual verification error. */
static int
tlsc_verify_ip(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	const struct tlsc *t = arg;

	if (depth != 0)
		return 0;
	for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL;
	     s                              = s->next)
                if (s->buf.tag == TLSC_SAN_IP && s->buf.len == t->addr_len &&
                    memcmp(s->buf.p, t->addr, t->addr_len) == 0)
                        return 0;
	*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	return 0;
}

chaos_err
tlsc_new(struct tlsc_config *cfg, const char *host, int fd, struct tlsc **out)
{
	struct tlsc *t = calloc(1, sizeof(*t));
	int          rc;

	if (t == NULL)
		return CHAOS_ENOMEM;
	t->fd = fd;
	mbedtls_ssl_init(&t->ssl);
	if (inet_pton(AF_INET, host, t->addr) == 1)
		t->addr_len = 4;
	else if (inet_pton(AF_INET6, host, t->addr) == 1)
		t->addr_len = 16;
	/* A name is sent (SNI) and checked by mbedTLS; an address is neither. */
	if ((rc = mbedtls_ssl_setup(&t->ssl, &cfg->conf)) != 0 ||
	    (rc = mbedtls_ssl_set_hostname(&t->ssl, t->addr_len ? NULL : host)) != 0) {
		tlsc_free(t);
		return CHAOS_ENOMEM;
	}
	if (t->addr_len != 0)
		mbedtls_ssl_set_verify(&t->ssl, tlsc_verify_ip, t);
	mbedtls_ssl_set_bio(&t->ssl, t, tlsc_bio_send, tlsc_bio_recv, NULL);
	*out = t;
	return CHAOS_OK;
}

void
tlsc_free(struct tlsc *t)
{
	if (t == NULL)
		return;
	mbedtls_ssl_free(&t->ssl);
	free(t);
}

/* An mbedTLS result as a count or TLSC_*. */
static int
tlsc_result(struct tlsc *t, int rc)
{
	if (rc >= 0)
		return rc;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ)
		return TLSC_WANT_READ;
	if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLSC_WANT_WRITE;
	t->tls_err = rc;
	return TLSC_FAILED;
}

int
tlsc_handshake(struct tlsc *t)
{
	return tlsc_result(t, mbedtls_ssl_handshake(&t->ssl));
}

ssize_t
tlsc_send(struct tlsc *t, const void *buf, size_t len)
{
	return tlsc_result(t, mbedtls_ssl_write(&t->ssl, buf, len));
}

ssize_t
tlsc_recv(struct tlsc *t, void *buf, size_t len)
{
	int rc = mbedtls_ssl_read(&t->ssl, buf, len);

	if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	return tlsc_result(t, rc);
}

bool
tlsc_pending(const struct tlsc *t)
{
	return mbedtls_ssl_get_bytes_avail(&t->ssl) > 0;
}

void
tlsc_failure(const struct tlsc *t, int *errnum, int *tls_err, uint32_t *verify)
{
	*errnum  = t->errnum;
	*tls_err = t->tls_err;
	*verify  = t->tls_err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED
	     ? mbedtls_ssl_get_verify_result(&t->ssl)
	     : 0;
}

void
tlsc_describe(int tls_err, uint32_t verify, char *buf, size_t len)
{
	char info[256];

	if (verify != 0) {
		mbedtls_x509_crt_verify_info(info, sizeof(info), "", verify);
		info[strcspn(info, "\n")] = '\0'; /* the first problem is enough */
		snprintf(buf, len, "certificate: %s", info);
	} else if (tls_err == MBEDTLS_ERR_SSL_CONN_EOF) {
		snprintf(buf, len, "closed by the server during the handshake");
	} else {
		mbedtls_strerror(tls_err, info, sizeof(info));
		snprintf(buf, len, "%s", info);
	}
}
