// SPDX-License-Identifier: MIT
#include "common/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/supplemental/tls/tls.h>

#include "common/err.h"
#include "common/url.h"

static bool
transport_is_tls(const char *url)
{
	return strncmp(url, "tls+tcp://", 10) == 0;
}

/* A PEM file into a new NUL-terminated buffer (caller frees); NULL when it
 * cannot be read or is over 64 KiB (no certificate chain is that long). */
static char *
transport_read_pem(const char *path)
{
	FILE  *f   = fopen(path, "r");
	char  *buf = f != NULL ? malloc(64 * 1024 + 1) : NULL;
	size_t n   = buf != NULL ? fread(buf, 1, 64 * 1024 + 1, f) : 0;

	if (f != NULL)
		fclose(f);
	if (buf == NULL || n == 0 || n > 64 * 1024) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Our own certificate and key: one file holding both, or two files. */
static int
transport_own_cert(nng_tls_config *cfg, const struct transport_tls *tls)
{
	char *cert, *key;
	int   rv;

	if (tls->key_file == NULL)
		return nng_tls_config_cert_key_file(cfg, tls->cert_key_file, NULL);
	cert = transport_read_pem(tls->cert_key_file);
	key  = transport_read_pem(tls->key_file);
	rv   = cert != NULL && key != NULL ? nng_tls_config_own_cert(cfg, cert, key, NULL)
	                                   : NNG_ENOENT;
	if (key != NULL)
		memset(key, 0, strlen(key)); /* no copy of the key lingers */
	free(cert);
	free(key);
	return rv;
}

/* Builds an immutable TLS config: NNG 1.5.2 never marks a config busy, so
 * one that is changed after it is attached silently changes later
 * connections; ours are never changed. */
static int
transport_tls_config(nng_tls_mode mode, const char *url, const struct transport_tls *tls,
                     nng_tls_config **out)
{
	nng_tls_config *cfg = NULL;
	char            host[256];
	int             rv;

	if (tls == NULL || tls->ca_file == NULL || tls->cert_key_file == NULL)
		return NNG_EINVAL;
	if ((rv = nng_tls_config_alloc(&cfg, mode)) != 0)
		return rv;
	if ((rv = nng_tls_config_ca_file(cfg, tls->ca_file)) != 0 ||
	    (rv = transport_own_cert(cfg, tls)) != 0 ||
	    (rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) != 0)
		goto fail;
	if (mode == NNG_TLS_MODE_CLIENT &&
	    url_host(url, host, sizeof(host)) == CHAOS_OK &&
	    (rv = nng_tls_config_server_name(cfg, host)) != 0)
		goto fail;
	*out = cfg;
	return 0;
fail:
	nng_tls_config_free(cfg);
	return rv;
}

bool
transport_option(int c, const char *arg, bool *plaintext, struct transport_tls *tls)
{
	switch (c) {
	case TRANSPORT_OPT_PLAIN:
		*plaintext = true;
		return true;
	case TRANSPORT_OPT_CA:
		tls->ca_file = arg;
		return true;
	case TRANSPORT_OPT_CERT:
		tls->cert_key_file = arg;
		return true;
	case TRANSPORT_OPT_KEY:
		tls->key_file = arg;
		return true;
	default:
		return false;
	}
}

static chaos_err
transport_check_endpoint(const char *url, bool allow_plain,
                         const struct transport_tls *tls, chaos_why *why)
{
	struct url_parts p;
	chaos_err        rv;

	if ((rv = url_parse(url, URL_ENDPOINT, &p, why)) != CHAOS_OK)
		return rv;
	if (p.scheme == URL_TCP && !allow_plain)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "plaintext tcp:// must be asked for with --plaintext "
		                  "(use tls+tcp:// with --tls-ca/--tls-cert otherwise)");
	if (p.scheme == URL_TLS_TCP &&
	    (tls == NULL || tls->ca_file == NULL || tls->cert_key_file == NULL))
		return chaos_fail(
		    why, CHAOS_EINVAL,
		    "tls+tcp:// needs --tls-ca FILE and --tls-cert FILE (one "
		    "PEM with the certificate and its key)");
	return CHAOS_OK;
}

chaos_err
transport_check_url(const char *flag, const char *url, bool allow_plain,
                    const struct transport_tls *tls, chaos_why *why)
{
	chaos_err rv;

	if ((rv = transport_check_endpoint(url, allow_plain, tls, why)) != CHAOS_OK)
		return chaos_fail_prefix(why, rv, "%s '%s'", flag, url);
	return CHAOS_OK;
}

/* A dialer that keeps reconnecting in the background (100 ms doubling to
 * 2 s) instead of failing once. */
static int
transport_dialer_create(nng_dialer *d, nng_socket sock, const char *url)
{
	int rv;

	if ((rv = nng_dialer_create(d, sock, url)) == 0 &&
	    (rv = nng_dialer_set_ms(*d, NNG_OPT_RECONNMINT, 100)) == 0)
		rv = nng_dialer_set_ms(*d, NNG_OPT_RECONNMAXT, 2000);
	return rv;
}

/* One sequence for both ends (NNG 1.5.2 has a function per end for each
 * step): receive cap, endpoint, TLS config when tls+tcp://, start. The
 * endpoint holds its own reference to the config, so ours is dropped. */
static chaos_err
transport_start(nng_socket sock, const char *url, size_t max_msg,
                const struct transport_tls *tls, bool listen, nng_dialer *dp,
                chaos_why *why)
{
	nng_listener    l   = NNG_LISTENER_INITIALIZER;
	nng_dialer      d   = NNG_DIALER_INITIALIZER;
	nng_tls_config *cfg = NULL;
	int             rv;

	if ((rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, max_msg)) != 0 ||
	    (rv = listen ? nng_listener_create(&l, sock, url)
	                 : transport_dialer_create(&d, sock, url)) != 0)
		goto out;
	if (transport_is_tls(url) &&
	    ((rv =
	          transport_tls_config(listen ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT,
	                               url, tls, &cfg)) != 0 ||
	     (rv = listen ? nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg)
	                  : nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg)) != 0))
		goto out;
	/* NONBLOCK: a blocking first dial that fails schedules no retry. */
	rv = listen ? nng_listener_start(l, 0) : nng_dialer_start(d, NNG_FLAG_NONBLOCK);
	if (rv == 0 && dp != NULL)
		*dp = d;
out:
	if (cfg != NULL)
		nng_tls_config_free(cfg);
	if (rv != 0)
		return chaos_fail(why, chaos_err_from_nng(rv), "%s", nng_strerror(rv));
	return CHAOS_OK;
}

chaos_err
transport_listen(nng_socket sock, const char *url, size_t max_msg,
                 const struct transport_tls *tls, chaos_why *why)
{
	return transport_start(sock, url, max_msg, tls, true, NULL, why);
}

chaos_err
transport_dial(nng_socket sock, const char *url, size_t max_msg,
               const struct transport_tls *tls, chaos_why *why)
{
	return transport_start(sock, url, max_msg, tls, false, NULL, why);
}

chaos_err
transport_dial_keep(nng_socket sock, const char *url, size_t max_msg,
                    const struct transport_tls *tls, nng_dialer *d, chaos_why *why)
{
	return transport_start(sock, url, max_msg, tls, false, d, why);
}
