// SPDX-License-Identifier: MIT
/*
 * Kubernetes driver: REST over one curl easy handle (the TLS session and
 * connection are reused across polls), JSON with jansson.
 *
 * Every failed request ends as one line that says what to do about it: the
 * API's Status object is parsed, and a 403 is turned into the Role rule that
 * is missing, since that is the fix an SRE needs, not the raw message.
 */
#include "controller/k8s.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/url.h"
#include "controller/k8s_http.h"
#include "controller/k8s_parse.h"

#define K8S_BODY_MAX (64u * 1024u * 1024u) /* one list page of big pods fits */
#define K8S_TOKEN_MAX (64u * 1024u)
#define K8S_BACKOFF_CAP_MS 5000
#define K8S_WAIT_MIN_REQ_MS 50 /* a request near the deadline still gets this */
#define K8S_CURL_TEXT_MAX 200  /* curl's reason, cut so what to check still fits */

static pthread_once_t k8s_once    = PTHREAD_ONCE_INIT;
static CURLcode       k8s_init_rc = CURLE_FAILED_INIT;

static void
k8s_global_init(void)
{
	k8s_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- small helpers ---- */

chaos_err
k8s_vec_push(void **v, size_t *n, size_t *cap, size_t elem, const void *item, size_t max)
{
	void  *nv;
	size_t ncap;

	if (*n >= max)
		return CHAOS_ETOOBIG;
	if (*n == *cap) {
		ncap = *cap == 0 ? 16 : *cap * 2;
		if ((nv = realloc(*v, ncap * elem)) == NULL)
			return CHAOS_ENOMEM;
		*v   = nv;
		*cap = ncap;
	}
	memcpy((char *)*v + *n * elem, item, elem);
	(*n)++;
	return CHAOS_OK;
}

void
k8s_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Copies text the API sent into a message, dropping control characters so
 * a hostile or broken server cannot forge log lines. */
static void
k8s_clean_copy(char *dst, size_t len, const char *src, size_t srclen)
{
	size_t j = 0;

	for (size_t i = 0; i < srclen && src[i] != '\0' && j + 1 < len; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[j++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	while (j > 0 && dst[j - 1] == ' ')
		j--;
	if (len > 0)
		dst[j] = '\0';
}

bool
k8s_copy(char *dst, size_t len, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= len)
		return false;
	memcpy(dst, src != NULL ? src : "", n);
	dst[n] = '\0';
	return true;
}

/* DNS-1123 label (namespaces) or subdomain (pod names): the only names the
 * API accepts, and nothing that could change the URL's path. */
bool
k8s_valid_name(const char *s, size_t max, bool dots)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > max || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' ||
	    s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || (dots && s[i] == '.')))
			return false;
	return true;
}

/* A missing file is CHAOS_ENOENT, one we may not read CHAOS_EPERM. */
static chaos_err
k8s_read_file(const char *path, size_t max, char **out, chaos_why *why)
{
	FILE     *f   = fopen(path, "re");
	char     *buf = NULL;
	size_t    n;
	chaos_err rc = CHAOS_OK;

	if (f == NULL) {
		int e = errno;

		return chaos_fail(why, chaos_err_from_errno(e), "cannot read %s: %s",
		                  path, strerror(e));
	}
	if ((buf = malloc(max + 1)) == NULL) {
		rc = chaos_fail(why, CHAOS_ENOMEM, "out of memory");
		goto out;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		rc = chaos_fail(why, n > max ? CHAOS_EINVAL : CHAOS_ESYS,
		                "cannot read %s: %s", path,
		                n > max ? "file too big" : "read error");
		goto out;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	*out   = buf;
	buf    = NULL;
out:
	free(buf);
	fclose(f);
	return rc;
}

/* ---- the bearer token: re-read when the file changes, since kubelet
 * rotates projected service account tokens in place ---- */

/* A bearer token is one header value: no spaces or control bytes. */
static chaos_err
k8s_token_check(const char *file, const char *tok, chaos_why *why)
{
	for (const char *p = tok; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
			return chaos_fail(
			    why, CHAOS_EINVAL,
			    "token file %s holds spaces or control characters; "
			    "it must hold the bearer token alone",
			    file);
	if (tok[0] == '\0')
		return chaos_fail(why, CHAOS_EINVAL, "token file %s is empty", file);
	return CHAOS_OK;
}

static chaos_err
k8s_token_load(struct k8s_client *c, bool force, chaos_why *why)
{
	struct stat st;
	char       *tok = NULL;
	chaos_err   rc;

	if (c->token_file == NULL)
		return CHAOS_OK;
	if (stat(c->token_file, &st) != 0) {
		int e = errno;

		return chaos_fail(why, chaos_err_from_errno(e),
		                  "token file %s: %s (in a pod: is the service "
		                  "account token mounted?)",
		                  c->token_file, strerror(e));
	}
	if (!force && c->token != NULL && st.st_dev == c->token_dev &&
	    st.st_ino == c->token_ino && st.st_mtim.tv_sec == c->token_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == c->token_mtime.tv_nsec)
		return CHAOS_OK;
	if ((rc = k8s_read_file(c->token_file, K8S_TOKEN_MAX, &tok, why)) != CHAOS_OK)
		return rc;
	if ((rc = k8s_token_check(c->token_file, tok, why)) != CHAOS_OK) {
		explicit_bzero(tok, strlen(tok));
		free(tok);
		return rc;
	}
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	c->token       = tok;
	c->token_dev   = st.st_dev;
	c->token_ino   = st.st_ino;
	c->token_mtime = st.st_mtim;
	return CHAOS_OK;
}

/* ---- configuration ---- */

/* The API's URL from the environment kubelet gives every pod. */
static chaos_err
k8s_incluster_url(char **url, chaos_why *why)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	bool        v6;

	if (host == NULL || host[0] == '\0' || port == NULL || port[0] == '\0')
		return chaos_fail(
		    why, CHAOS_ENOENT,
		    "not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST/"
		    "PORT unset): pass --kube-api URL with a token file and a "
		    "CA file");
	v6 = strchr(host, ':') != NULL;
	if (asprintf(url, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port) <
	    0) {
		*url = NULL;
		return chaos_fail(why, CHAOS_ENOMEM, "out of memory");
	}
	return CHAOS_OK;
}

/* The project's URL parser decides what a URL is; the API adds that plain
 * http would send the token in clear, and that request paths are appended
 * to the URL, so it cannot carry a query or fragment. */
chaos_err
k8s_url_check(const char *url, bool allow_http, chaos_why *why)
{
	struct url_parts p;

	if (!allow_http && url_parse(url, URL_HTTP, &p, NULL) == CHAOS_OK)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "Kubernetes API URL %s is plain http: the bearer token "
		                  "would travel unencrypted; use https:// (http is for "
		                  "tests only)",
		                  url);
	if (url_parse(url, allow_http ? URL_WEB : URL_HTTPS, &p, why) != CHAOS_OK)
		return chaos_fail_prefix(why, CHAOS_EINVAL, "Kubernetes API URL '%s'",
		                         url);
	if (strpbrk(p.path, "?#") != NULL)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "Kubernetes API URL '%s' has a query or fragment; give "
		                  "the API server's base URL (https://host:port)",
		                  url);
	return CHAOS_OK;
}

static chaos_err
k8s_config_url(struct k8s_client *c, const struct k8s_config *cfg, chaos_why *why)
{
	size_t    n;
	chaos_err rc;

	if (cfg->api_url != NULL) {
		if ((rc = k8s_url_check(cfg->api_url, cfg->allow_http, why)) != CHAOS_OK)
			return rc;
		if ((c->api_url = strdup(cfg->api_url)) == NULL)
			return chaos_fail(why, CHAOS_ENOMEM, "out of memory");
	} else {
		if ((rc = k8s_incluster_url(&c->api_url, why)) != CHAOS_OK)
			return rc;
		/* The pod's environment is wrong, not the user's command line. */
		if (k8s_url_check(c->api_url, false, why) != CHAOS_OK)
			return chaos_fail_prefix(
			    why, CHAOS_ENOENT,
			    "KUBERNETES_SERVICE_HOST/PORT do not make "
			    "a usable URL");
	}
	/* Request paths are appended with their own '/'. */
	n = strlen(c->api_url);
	while (n > 0 && c->api_url[n - 1] == '/')
		c->api_url[--n] = '\0';
	return CHAOS_OK;
}

static chaos_err
k8s_path(const char *dir, const char *file, char **out, chaos_why *why)
{
	if (asprintf(out, "%s/%s", dir, file) < 0) {
		*out = NULL;
		return chaos_fail(why, CHAOS_ENOMEM, "out of memory");
	}
	return CHAOS_OK;
}

/* The path the configuration names ("": none), else the service account's
 * file in the cluster, else none (*out stays NULL). */
static chaos_err
k8s_config_path(const char *given, bool incluster, const char *dir, const char *file,
                char **out, chaos_why *why)
{
	if (given != NULL) {
		if (given[0] != '\0' && (*out = strdup(given)) == NULL)
			return chaos_fail(why, CHAOS_ENOMEM, "out of memory");
		return CHAOS_OK;
	}
	return incluster ? k8s_path(dir, file, out, why) : CHAOS_OK;
}

/* The service account's namespace. Optional: without it the caller must
 * name the namespace, so a missing or odd file is not an error. */
static chaos_err
k8s_config_namespace(struct k8s_client *c, const char *dir, chaos_why *why)
{
	char     *path = NULL, *ns = NULL;
	chaos_err rc;

	if ((rc = k8s_path(dir, "namespace", &path, why)) != CHAOS_OK)
		return rc;
	if (k8s_read_file(path, 256, &ns, NULL) == CHAOS_OK &&
	    k8s_valid_name(ns, 63, false))
		k8s_copy(c->ns, sizeof(c->ns), ns);
	free(ns);
	free(path);
	return CHAOS_OK;
}

/* In the cluster the token, CA and namespace come from the service account
 * volume; an explicit URL takes only what it is given. */
static chaos_err
k8s_config_files(struct k8s_client *c, const struct k8s_config *cfg, chaos_why *why)
{
	const char *dir       = cfg->sa_dir != NULL ? cfg->sa_dir : K8S_SA_DIR;
	bool        incluster = cfg->api_url == NULL;
	chaos_err   rc;

	if ((rc = k8s_config_path(cfg->token_file, incluster, dir, "token",
	                          &c->token_file, why)) != CHAOS_OK ||
	    (rc = k8s_config_path(cfg->ca_file, incluster, dir, "ca.crt", &c->ca_file,
	                          why)) != CHAOS_OK)
		return rc;
	if (c->ca_file != NULL && access(c->ca_file, R_OK) != 0) {
		int e = errno;

		return chaos_fail(why, chaos_err_from_errno(e), "CA file %s: %s",
		                  c->ca_file, strerror(e));
	}
	return incluster ? k8s_config_namespace(c, dir, why) : CHAOS_OK;
}

static void
k8s_config_numbers(struct k8s_client *c, const struct k8s_config *cfg)
{
	c->allow_http = cfg->allow_http;
	c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	c->connect_timeout_ms =
	    cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 3000;
	c->max_retries = cfg->max_retries;
	if (cfg->max_retries == 0)
		c->max_retries = 3;
	else if (cfg->max_retries < 0)
		c->max_retries = 0;
	c->backoff_ms = cfg->backoff_ms > 0 ? cfg->backoff_ms : 200;
	c->page_limit = cfg->page_limit > 0 ? cfg->page_limit : 500;
	c->rng        = (uint64_t)clk_mono_us() | 1;
}

chaos_err
k8s_client_new(const struct k8s_config *cfg, struct k8s_client **out, chaos_why *why)
{
	struct k8s_client *c = NULL;
	chaos_err          rc;

	pthread_once(&k8s_once, k8s_global_init);
	if (k8s_init_rc != CURLE_OK)
		return chaos_fail(why, CHAOS_ESYS, "curl_global_init: %s",
		                  curl_easy_strerror(k8s_init_rc));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return chaos_fail(why, CHAOS_ENOMEM, "out of memory");
	k8s_config_numbers(c, cfg);
	if ((rc = k8s_config_url(c, cfg, why)) != CHAOS_OK ||
	    (rc = k8s_config_files(c, cfg, why)) != CHAOS_OK ||
	    (rc = k8s_token_load(c, true, why)) != CHAOS_OK)
		goto out;
	if ((c->curl = curl_easy_init()) == NULL) {
		rc = chaos_fail(why, CHAOS_ENOMEM, "curl_easy_init failed");
		goto out;
	}
	*out = c;
	c    = NULL;
out:
	k8s_client_free(c);
	return rc;
}

void
k8s_client_free(struct k8s_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->api_url);
	free(c->token_file);
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c->ca_file);
	free(c);
}

const char *
k8s_client_api_url(const struct k8s_client *c)
{
	return c->api_url;
}

const char *
k8s_client_namespace(const struct k8s_client *c)
{
	return c->ns;
}

/* ---- one HTTP exchange ---- */

static size_t
k8s_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct k8s_resp *r = arg;
	size_t           n = size * nmemb, ncap;
	char            *nb;

	if (n > K8S_BODY_MAX - r->len) {
		r->overflow = true;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		/* Doubling: a list page arrives in many small chunks. */
		for (ncap = r->cap != 0 ? r->cap : 16384; ncap < r->len + n + 1;)
			ncap *= 2;
		if ((nb = realloc(r->body, ncap)) == NULL)
			return 0;
		r->body = nb;
		r->cap  = ncap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

void
k8s_resp_reset(struct k8s_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Request timeout: the client's, cut short so a wait never overruns its
 * deadline by more than K8S_WAIT_MIN_REQ_MS. */
static long
k8s_req_timeout_ms(const struct k8s_client *c)
{
	int64_t left;

	if (c->deadline_mono_us == 0)
		return c->timeout_ms;
	left = (c->deadline_mono_us - clk_mono_us()) / 1000;
	if (left < K8S_WAIT_MIN_REQ_MS)
		left = K8S_WAIT_MIN_REQ_MS;
	return left < c->timeout_ms ? (long)left : c->timeout_ms;
}

static struct curl_slist *
k8s_headers(const struct k8s_client *c, const struct k8s_req *q)
{
	struct curl_slist *h    = NULL, *t;
	char              *auth = NULL;

	if ((h = curl_slist_append(NULL, "Accept: application/json")) == NULL)
		return NULL;
	if ((t = curl_slist_append(h, "Expect:")) == NULL)
		goto fail;
	h = t;
	if (q->body != NULL) {
		if ((t = curl_slist_append(h, "Content-Type: application/json")) == NULL)
			goto fail;
		h = t;
	}
	if (c->token != NULL) {
		if (asprintf(&auth, "Authorization: Bearer %s", c->token) < 0)
			goto fail;
		t = curl_slist_append(h, auth);
		/* The token must not linger in freed heap. */
		explicit_bzero(auth, strlen(auth));
		free(auth);
		if (t == NULL)
			goto fail;
		h = t;
	}
	return h;
fail:
	curl_slist_free_all(h);
	return NULL;
}

static void
k8s_setup(struct k8s_client *c, const struct k8s_req *q, struct curl_slist *hdrs,
          struct k8s_resp *r, char *errbuf)
{
	CURL *h = c->curl;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, q->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
	                 c->allow_http ? "http,https" : "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, k8s_req_timeout_ms(c));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "chaos-controller/" CHAOS_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, k8s_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (strcmp(q->method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	if (q->body != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
}

static bool
k8s_curl_is_tls(CURLcode cc)
{
	return cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION ||
	    cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CERTPROBLEM ||
	    cc == CURLE_SSL_CIPHER || cc == CURLE_SSL_ISSUER_ERROR ||
	    cc == CURLE_SSL_CRL_BADFILE || cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

/* Says what to check when no HTTP answer came back at all. */
static chaos_err
k8s_transport_error(const struct k8s_client *c, CURLcode cc, const char *errbuf,
                    chaos_why *why)
{
	const char *text     = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);
	long        os_errno = 0;
	char        how[CURL_ERROR_SIZE + 64];

	/* curl says "Couldn't connect"; the errno says refused or unreachable. */
	curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
	if (os_errno != 0)
		snprintf(how, sizeof(how), "%.*s (%s)", K8S_CURL_TEXT_MAX, text,
		         strerror((int)os_errno));
	else
		snprintf(how, sizeof(how), "%.*s", K8S_CURL_TEXT_MAX, text);

	if (k8s_curl_is_tls(cc))
		return chaos_fail(
		    why, CHAOS_ECONN,
		    "TLS with the Kubernetes API at %s failed: %s; check that "
		    "the CA file (%s) is the cluster's CA and that the URL's "
		    "host is one of the API server certificate's names",
		    c->api_url, how, c->ca_file != NULL ? c->ca_file : "system CAs");
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return chaos_fail(
		    why, CHAOS_ETIMEDOUT,
		    "Kubernetes API at %s did not answer in time (%s); check "
		    "the API URL and the network path to it",
		    c->api_url, how);
	if (cc == CURLE_UNSUPPORTED_PROTOCOL)
		return chaos_fail(why, CHAOS_EINVAL, "Kubernetes API URL %s: %s",
		                  c->api_url, how);
	return chaos_fail(why, CHAOS_ECONN,
	                  "cannot reach the Kubernetes API at %s: %s; check the API URL "
	                  "(--kube-api, or KUBERNETES_SERVICE_HOST/PORT in a pod) and "
	                  "that the API server is up",
	                  c->api_url, how);
}

/* One transfer. CHAOS_OK when an HTTP answer arrived, whatever its status. */
static chaos_err
k8s_exchange(struct k8s_client *c, const struct k8s_req *q, struct k8s_resp *r,
             CURLcode *ccp, chaos_why *why)
{
	char               errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs;
	curl_off_t         retry_after = 0;
	CURLcode           cc;
	chaos_err          rc;

	k8s_resp_reset(r);
	if ((rc = k8s_token_load(c, false, why)) != CHAOS_OK)
		return rc;
	if ((hdrs = k8s_headers(c, q)) == NULL)
		return chaos_fail(why, CHAOS_ENOMEM, "out of memory");
	k8s_setup(c, q, hdrs, r, errbuf);
	cc   = curl_easy_perform(c->curl);
	*ccp = cc;
	curl_slist_free_all(hdrs);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	if (cc == CURLE_WRITE_ERROR && r->overflow)
		return chaos_fail(why, CHAOS_ETOOBIG,
		                  "%s %s: answer larger than %u bytes", q->method, q->url,
		                  K8S_BODY_MAX);
	if (cc != CURLE_OK)
		return k8s_transport_error(c, cc, errbuf, why);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK)
		r->retry_after_s = (long)retry_after;
	return CHAOS_OK;
}

/* ---- the API's Status object ---- */

void
k8s_status_parse(const struct k8s_resp *r, struct k8s_status *st)
{
	json_t     *root = NULL;
	const char *kind, *msg, *reason;

	memset(st, 0, sizeof(*st));
	if (r->body != NULL)
		root = json_loadb(r->body, r->len, 0, NULL);
	kind = json_string_value(json_object_get(root, "kind"));
	if (kind != NULL && strcmp(kind, "Status") == 0) {
		msg    = json_string_value(json_object_get(root, "message"));
		reason = json_string_value(json_object_get(root, "reason"));
		if (msg != NULL)
			k8s_clean_copy(st->message, sizeof(st->message), msg,
			               strlen(msg));
		if (reason != NULL)
			k8s_clean_copy(st->reason, sizeof(st->reason), reason,
			               strlen(reason));
	} else if (r->body != NULL && r->len > 0) {
		/* Not the API's JSON (a proxy, a load balancer): quote its start. */
		k8s_clean_copy(st->message, 121, r->body, r->len);
	}
	if (st->message[0] == '\0')
		snprintf(st->message, sizeof(st->message), "(no message)");
	json_decref(root);
}

/* "pods "x" is forbidden: User "system:serviceaccount:chaos:ctl" cannot ..."
 * -> the user name, or "" when the message has another shape. */
static void
k8s_forbidden_user(const char *msg, char *user, size_t len)
{
	const char *p = strstr(msg, "User \"");
	const char *e;

	user[0] = '\0';
	if (p == NULL)
		return;
	p += 6;
	if ((e = strchr(p, '"')) != NULL && (size_t)(e - p) < len) {
		memcpy(user, p, (size_t)(e - p));
		user[e - p] = '\0';
	}
}

static void
k8s_what(const struct k8s_req *q, char *buf, size_t len)
{
	if (q->ns == NULL)
		snprintf(buf, len, "%s pods in all namespaces", q->verb);
	else if (q->name != NULL)
		snprintf(buf, len, "%s pod \"%s/%s\"", q->verb, q->ns, q->name);
	else
		snprintf(buf, len, "%s pods in namespace \"%s\"", q->verb, q->ns);
}

static chaos_err
k8s_forbidden(const struct k8s_req *q, const struct k8s_status *st, chaos_why *why)
{
	char user[256], who[300];

	k8s_forbidden_user(st->message, user, sizeof(user));
	if (user[0] != '\0')
		snprintf(who, sizeof(who), "the service account (%s)", user);
	else
		snprintf(who, sizeof(who), "the service account");
	if (q->ns == NULL) /* a cluster-wide list: node agents' pods */
		return chaos_fail(
		    why, CHAOS_EPERM,
		    "forbidden: %s cannot \"%s\" \"pods\" in all namespaces; "
		    "add to a ClusterRole: {apiGroups: [\"\"], resources: "
		    "[\"pods\"], verbs: [\"%s\"]} and bind it with a "
		    "ClusterRoleBinding (API: %s)",
		    who, q->verb, q->verb, st->message);
	return chaos_fail(why, CHAOS_EPERM,
	                  "forbidden: %s cannot \"%s\" \"pods\" in namespace \"%s\"; "
	                  "add to its Role: {apiGroups: [\"\"], resources: "
	                  "[\"pods\"], verbs: [\"%s\"]} and bind it in \"%s\" (API: %s)",
	                  who, q->verb, q->ns, q->verb, q->ns, st->message);
}

/* Turns a non-2xx answer into one line and an error code. */
static chaos_err
k8s_http_error(const struct k8s_client *c, const struct k8s_req *q,
               const struct k8s_resp *r, int attempts, chaos_why *why)
{
	struct k8s_status st;
	char              what[300];

	k8s_status_parse(r, &st);
	k8s_what(q, what, sizeof(what));
	switch (r->status) {
	case 401:
		return chaos_fail(
		    why, CHAOS_EPERM,
		    "unauthorized (401) to %s: the API server rejected the bearer "
		    "token%s%s "
		    "as invalid or expired; in a pod check that the service account "
		    "exists and its token is mounted, else renew the token file (API: "
		    "%s)",
		    what, c->token_file != NULL ? " from " : " (none sent)",
		    c->token_file != NULL ? c->token_file : "", st.message);
	case 403:
		return k8s_forbidden(q, &st, why);
	case 404:
		return chaos_fail(why, CHAOS_ENOENT,
		                  "not found (404) to %s at %s: is this a Kubernetes API "
		                  "server? (API: %s)",
		                  what, c->api_url, st.message);
	case 409:
		return chaos_fail(why, CHAOS_EEXIST, "conflict (409) to %s: %s", what,
		                  st.message);
	case 429:
		return chaos_fail(
		    why, CHAOS_EBUSY,
		    "Kubernetes API throttled the request to %s: 429 %s (%d "
		    "attempts): %s",
		    what, st.reason, attempts, st.message);
	}
	if (r->status >= 500)
		return chaos_fail(
		    why, CHAOS_ESYS,
		    "Kubernetes API server error on the request to %s: %ld %s "
		    "(%d attempt%s): %s",
		    what, r->status, st.reason, attempts, attempts == 1 ? "" : "s",
		    st.message);
	return chaos_fail(
	    why, r->status == 400 || r->status == 422 ? CHAOS_EINVAL : CHAOS_EPROTO,
	    "the API refused to %s: %ld %s: %s", what, r->status, st.reason, st.message);
}

/* ---- retries ---- */

static bool
k8s_retryable(const struct k8s_req *q, chaos_err rc, CURLcode cc, long status)
{
	if (strcmp(q->method, "GET") != 0)
		return false;
	if (rc == CHAOS_OK)
		return status >= 500 || status == 429;
	/* A connection the server dropped mid-answer; a refused connect is
	 * reported at once, since waiting rarely fixes a wrong URL. */
	return cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR ||
	    cc == CURLE_SEND_ERROR || cc == CURLE_PARTIAL_FILE;
}

/* The delay before retry number `attempt` (1..): doubled each time, with
 * jitter so many controllers do not retry in step; Retry-After wins when
 * the server sent one. 0 when the wait deadline leaves no room. */
static long
k8s_backoff(struct k8s_client *c, int attempt, long retry_after_s)
{
	long    ms = c->backoff_ms;
	int64_t left;

	for (int i = 1; i < attempt && ms < K8S_BACKOFF_CAP_MS; i++)
		ms *= 2;
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	ms += (long)(c->rng % (uint64_t)(ms / 4 + 1));
	if (retry_after_s > 0)
		ms = retry_after_s * 1000;
	if (ms > K8S_BACKOFF_CAP_MS)
		ms = K8S_BACKOFF_CAP_MS;
	if (c->deadline_mono_us != 0) {
		left = (c->deadline_mono_us - clk_mono_us()) / 1000;
		if (left <= ms)
			return 0;
	}
	return ms;
}

/* Runs a request with its retries. Each attempt's reason goes to a local
 * why, so a retry that succeeds leaves the caller's untouched. */
chaos_err
k8s_do(struct k8s_client *c, const struct k8s_req *q, struct k8s_resp *r, chaos_why *why)
{
	chaos_why attempt_why = {""};
	chaos_err rc;
	int       attempt = 0;
	CURLcode  cc;
	long      delay;

	for (;;) {
		attempt++;
		cc = CURLE_OK;
		rc = k8s_exchange(c, q, r, &cc, &attempt_why);
		log_debug("k8s: %s %s -> %ld (%s)", q->method, q->url, r->status,
		          rc == CHAOS_OK ? "answered" : chaos_strerror(rc));
		if (rc == CHAOS_OK && r->status >= 200 && r->status < 300)
			return CHAOS_OK;
		if (attempt > c->max_retries || !k8s_retryable(q, rc, cc, r->status) ||
		    (delay = k8s_backoff(c, attempt, r->retry_after_s)) == 0)
			break;
		if (rc == CHAOS_OK)
			log_warn("k8s: %s %s: HTTP %ld, retry %d of %d in %ld ms",
			         q->method, q->url, r->status, attempt, c->max_retries,
			         delay);
		else
			log_warn("k8s: %s: %s, retry %d of %d in %ld ms", q->method,
			         attempt_why.text, attempt, c->max_retries, delay);
		k8s_sleep_ms(delay);
	}
	if (rc != CHAOS_OK)
		return chaos_fail(why, rc, "%s", attempt_why.text);
	return k8s_http_error(c, q, r, attempt, why);
}
