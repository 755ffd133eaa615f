// SPDX-License-Identifier: MIT
#include "common/transport.h"

#include <errno.h>
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

#define TRANSPORT_PEM_MAX (64 * 1024) /* no certificate chain is that long */

/* A PEM file into a new NUL-terminated buffer (caller frees): 0, or the
 * errno that says why not (EFBIG over 64 KiB, ENODATA when empty). */
static int
transport_read_pem(const char *path, char **out)
{
	FILE  *f   = fopen(path, "re");
	char  *buf = f != NULL ? malloc(TRANSPORT_PEM_MAX + 1) : NULL;
	size_t n   = buf != NULL ? fread(buf, 1, TRANSPORT_PEM_MAX + 1, f) : 0;
	int    err = f == NULL         ? errno
	       : buf == NULL           ? ENOMEM
	       : ferror(f)             ? (errno != 0 ? errno : EIO)
	       : n == 0                ? ENODATA
	       : n > TRANSPORT_PEM_MAX ? EFBIG
	                               : 0;

	if (f != NULL)
		fclose(f);
	if (err != 0) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*out   = buf;
	return 0;
}

/* Why the file of flag is of no use, NNG having refused it with nrv: one
 * line naming the flag and the file, and errno when it cannot be read
 * (NNG itself says "Entry not found" or "Cryptographic error"). */
static chaos_err
transport_file_error(const char *flag, const char *path, int nrv, chaos_why *why)
{
	char *pem = NULL;
	int   err = transport_read_pem(path, &pem);

	free(pem);
	if (err == ENODATA)
		return chaos_fail(why, CHAOS_EINVAL, "%s %s: the file is empty", flag,
		                  path);
	if (err == EFBIG)
		return chaos_fail(why, CHAOS_EINVAL, "%s %s: over %d KiB, not a PEM file",
		                  flag, path, TRANSPORT_PEM_MAX / 1024);
	if (err != 0)
		return chaos_fail(why, chaos_err_from_errno(err),
		                  "%s %s: cannot read: %s", flag, path, strerror(err));
	return chaos_fail(why, CHAOS_EINVAL, "%s %s: not usable as PEM (%s)", flag, path,
	                  nng_strerror(nrv));
}

/* Our own certificate and key: one file holding both, or two files. */
static chaos_err
transport_own_cert(nng_tls_config *cfg, const struct transport_tls *tls, chaos_why *why)
{
	char     *cert = NULL, *key = NULL;
	chaos_err rv = CHAOS_OK;
	int       err, nrv;

	if (tls->key_file == NULL) {
		nrv = nng_tls_config_cert_key_file(cfg, tls->cert_key_file, NULL);
		return nrv == 0
		    ? CHAOS_OK
		    : transport_file_error("--tls-cert", tls->cert_key_file, nrv, why);
	}
	if ((err = transport_read_pem(tls->cert_key_file, &cert)) != 0)
		rv = transport_file_error("--tls-cert", tls->cert_key_file, 0, why);
	else if ((err = transport_read_pem(tls->key_file, &key)) != 0)
		rv = transport_file_error("--tls-key", tls->key_file, 0, why);
	else if ((nrv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0)
		rv = chaos_fail(
		    why, CHAOS_EINVAL,
		    "--tls-cert %s with --tls-key %s: not a usable certificate "
		    "and key (%s)",
		    tls->cert_key_file, tls->key_file, nng_strerror(nrv));
	if (key != NULL)
		memset(key, 0, strlen(key)); /* no copy of the key lingers */
	free(cert);
	free(key);
	return rv;
}

/* Builds an immutable TLS config: NNG 1.5.2 never marks a config busy, so
 * one that is changed after it is attached silently changes later
 * connections; ours are never changed. */
static chaos_err
transport_tls_config(nng_tls_mode mode, const char *url, const struct transport_tls *tls,
                     nng_tls_config **out, chaos_why *why)
{
	nng_tls_config *cfg = NULL;
	char            host[256];
	chaos_err       rv;
	int             nrv;

	if (tls == NULL || tls->ca_file == NULL || tls->cert_key_file == NULL)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "tls+tcp:// needs --tls-ca FILE and --tls-cert FILE");
	if ((nrv = nng_tls_config_alloc(&cfg, mode)) != 0)
		return chaos_fail(why, chaos_err_from_nng(nrv), "TLS: %s",
		                  nng_strerror(nrv));
	if ((nrv = nng_tls_config_ca_file(cfg, tls->ca_file)) != 0) {
		rv = transport_file_error("--tls-ca", tls->ca_file, nrv, why);
		goto fail;
	}
	if ((rv = transport_own_cert(cfg, tls, why)) != CHAOS_OK)
		goto fail;
	if ((nrv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
	    (mode == NNG_TLS_MODE_CLIENT &&
	     url_host(url, host, sizeof(host)) == CHAOS_OK &&
	     (nrv = nng_tls_config_server_name(cfg, host)) != 0)) {
		rv = chaos_fail(why, chaos_err_from_nng(nrv), "TLS: %s",
		                nng_strerror(nrv));
		goto fail;
	}
	*out = cfg;
	return CHAOS_OK;
fail:
	nng_tls_config_free(cfg);
	return rv;
}

chaos_err
transport_tls_check(const char *url, const struct transport_tls *tls, chaos_why *why)
{
	nng_tls_config *cfg = NULL;
	chaos_err       rv;

	if (!transport_is_tls(url))
		return CHAOS_OK;
	if ((rv = transport_tls_config(NNG_TLS_MODE_SERVER, url, tls, &cfg, why)) ==
	    CHAOS_OK)
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

/* --plaintext says no TLS; a TLS file given with it would be ignored, so
 * the command line says two different things. */
static chaos_err
transport_check_plain(bool plaintext, const struct transport_tls *tls, chaos_why *why)
{
	const char *flag = tls == NULL   ? NULL
	    : tls->ca_file != NULL       ? "--tls-ca"
	    : tls->cert_key_file != NULL ? "--tls-cert"
	    : tls->key_file != NULL      ? "--tls-key"
	                                 : NULL;

	if (plaintext && flag != NULL)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "--plaintext and %s cannot be combined; give "
		                  "--plaintext for tcp:// or the TLS files for "
		                  "tls+tcp://",
		                  flag);
	return CHAOS_OK;
}

chaos_err
transport_check_url(const char *flag, const char *url, bool allow_plain,
                    const struct transport_tls *tls, chaos_why *why)
{
	chaos_err rv;

	if ((rv = transport_check_plain(allow_plain, tls, why)) != CHAOS_OK)
		return rv;
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
	chaos_err       rv  = CHAOS_OK;
	int             nrv;

	if ((nrv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, max_msg)) != 0 ||
	    (nrv = listen ? nng_listener_create(&l, sock, url)
	                  : transport_dialer_create(&d, sock, url)) != 0)
		goto out;
	if (transport_is_tls(url) &&
	    (rv = transport_tls_config(listen ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT,
	                               url, tls, &cfg, why)) != CHAOS_OK)
		goto out;
	if (cfg != NULL &&
	    (nrv = listen ? nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg)
	                  : nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg)) != 0)
		goto out;
	/* NONBLOCK: a blocking first dial that fails schedules no retry. */
	nrv = listen ? nng_listener_start(l, 0) : nng_dialer_start(d, NNG_FLAG_NONBLOCK);
	if (nrv == 0 && dp != NULL)
		*dp = d;
out:
	if (cfg != NULL)
		nng_tls_config_free(cfg);
	if (rv == CHAOS_OK && nrv != 0)
		rv = chaos_fail(why, chaos_err_from_nng(nrv), "%s %s: %s",
		                listen ? "cannot listen on" : "cannot dial", url,
		                nng_strerror(nrv));
	return rv;
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
