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
#include "controller/k8s_http.h"

#define K8S_BODY_MAX (64u * 1024u * 1024u) /* one list page of big pods fits */
#define K8S_TOKEN_MAX (64u * 1024u)
#define K8S_MSG_MAX 400 /* API text quoted in our messages */
#define K8S_BACKOFF_CAP_MS 5000
#define K8S_WAIT_MIN_REQ_MS 50 /* a request near the deadline still gets this */

struct k8s_status {
	char reason[64];
	char message[K8S_MSG_MAX];
};

static pthread_once_t k8s_once    = PTHREAD_ONCE_INIT;
static CURLcode       k8s_init_rc = CURLE_FAILED_INIT;

static void
k8s_global_init(void)
{
	k8s_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- small helpers ---- */

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

static int
k8s_read_file(const char *path, size_t max, char **out, char *err, size_t errlen)
{
	FILE  *f   = fopen(path, "re");
	char  *buf = NULL;
	size_t n;
	int    rc = CHAOS_OK;

	if (f == NULL) {
		int e = errno;

		snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
		return chaos_err_from_errno(e);
	}
	if ((buf = malloc(max + 1)) == NULL) {
		rc = CHAOS_ENOMEM;
		goto out;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		         n > max ? "file too big" : "read error");
		rc = CHAOS_EINVAL;
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

static int
k8s_token_load(struct k8s_client *c, bool force, char *err, size_t errlen)
{
	struct stat st;
	char       *tok = NULL;
	int         rc;

	if (c->token_file == NULL)
		return CHAOS_OK;
	if (stat(c->token_file, &st) != 0) {
		int e = errno;

		snprintf(err, errlen,
		         "token file %s: %s (in a pod: is the service "
		         "account token mounted?)",
		         c->token_file, strerror(e));
		return chaos_err_from_errno(e);
	}
	if (!force && c->token != NULL && st.st_dev == c->token_dev &&
	    st.st_ino == c->token_ino && st.st_mtim.tv_sec == c->token_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == c->token_mtime.tv_nsec)
		return CHAOS_OK;
	if ((rc = k8s_read_file(c->token_file, K8S_TOKEN_MAX, &tok, err, errlen)) !=
	    CHAOS_OK)
		return rc;
	for (const char *p = tok; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) {
			snprintf(err, errlen,
			         "token file %s holds spaces or control characters; "
			         "it must hold the bearer token alone",
			         c->token_file);
			free(tok);
			return CHAOS_EINVAL;
		}
	if (tok[0] == '\0') {
		snprintf(err, errlen, "token file %s is empty", c->token_file);
		free(tok);
		return CHAOS_EINVAL;
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

static int
k8s_incluster_url(struct k8s_client *c, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	bool        v6;
	int         n;

	if (host == NULL || host[0] == '\0' || port == NULL || port[0] == '\0') {
		snprintf(err, errlen,
		         "not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST/PORT "
		         "unset): pass --kube-api URL with a token file and a CA file");
		return CHAOS_EINVAL;
	}
	v6 = strchr(host, ':') != NULL;
	n = asprintf(&c->api_url, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
	             port);
	if (n < 0) {
		c->api_url = NULL;
		return CHAOS_ENOMEM;
	}
	return CHAOS_OK;
}

static int
k8s_path(const char *dir, const char *file, char **out)
{
	if (asprintf(out, "%s/%s", dir, file) < 0) {
		*out = NULL;
		return CHAOS_ENOMEM;
	}
	return CHAOS_OK;
}

/* In the cluster the token, CA and namespace come from the service account
 * volume; an explicit URL takes only what it is given. */
static int
k8s_config_files(struct k8s_client *c, const struct k8s_config *cfg, char *err,
                 size_t errlen)
{
	const char *dir       = cfg->sa_dir != NULL ? cfg->sa_dir : K8S_SA_DIR;
	bool        incluster = cfg->api_url == NULL;
	char       *ns_path = NULL, *ns = NULL;
	int         rc = CHAOS_OK;

	if (cfg->token_file != NULL) {
		if (cfg->token_file[0] != '\0' &&
		    (c->token_file = strdup(cfg->token_file)) == NULL)
			return CHAOS_ENOMEM;
	} else if (incluster && (rc = k8s_path(dir, "token", &c->token_file)) != CHAOS_OK)
		return rc;
	if (cfg->ca_file != NULL) {
		if (cfg->ca_file[0] != '\0' &&
		    (c->ca_file = strdup(cfg->ca_file)) == NULL)
			return CHAOS_ENOMEM;
	} else if (incluster && (rc = k8s_path(dir, "ca.crt", &c->ca_file)) != CHAOS_OK)
		return rc;
	if (c->ca_file != NULL && access(c->ca_file, R_OK) != 0) {
		int e = errno;

		snprintf(err, errlen, "CA file %s: %s", c->ca_file, strerror(e));
		return chaos_err_from_errno(e);
	}
	if (!incluster)
		return CHAOS_OK;
	if ((rc = k8s_path(dir, "namespace", &ns_path)) != CHAOS_OK)
		return rc;
	/* Optional: without it the caller must name the namespace. */
	if (k8s_read_file(ns_path, 256, &ns, err, errlen) == CHAOS_OK &&
	    k8s_valid_name(ns, 63, false))
		k8s_copy(c->ns, sizeof(c->ns), ns);
	err[0] = '\0';
	free(ns);
	free(ns_path);
	return CHAOS_OK;
}

static int
k8s_config_url(struct k8s_client *c, const struct k8s_config *cfg, char *err,
               size_t errlen)
{
	size_t n;
	int    rc;

	if (cfg->api_url == NULL) {
		if ((rc = k8s_incluster_url(c, err, errlen)) != CHAOS_OK)
			return rc;
	} else if ((c->api_url = strdup(cfg->api_url)) == NULL)
		return CHAOS_ENOMEM;
	n = strlen(c->api_url);
	while (n > 0 && c->api_url[n - 1] == '/')
		c->api_url[--n] = '\0';
	if (strncmp(c->api_url, "https://", 8) == 0 && n > 8)
		return CHAOS_OK;
	if (strncmp(c->api_url, "http://", 7) == 0 && n > 7) {
		if (cfg->allow_http)
			return CHAOS_OK;
		snprintf(err, errlen,
		         "Kubernetes API URL %s is plain http: the bearer token would "
		         "travel unencrypted; use https:// (http is for tests only)",
		         c->api_url);
		return CHAOS_EINVAL;
	}
	snprintf(err, errlen, "Kubernetes API URL '%s' must start with https://",
	         c->api_url);
	return CHAOS_EINVAL;
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

int
k8s_client_new(const struct k8s_config *cfg, struct k8s_client **out, char *err,
               size_t errlen)
{
	struct k8s_client *c  = NULL;
	int                rc = CHAOS_OK;

	err[0] = '\0';
	pthread_once(&k8s_once, k8s_global_init);
	if (k8s_init_rc != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init: %s",
		         curl_easy_strerror(k8s_init_rc));
		return CHAOS_ESYS;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CHAOS_ENOMEM;
	k8s_config_numbers(c, cfg);
	if ((rc = k8s_config_url(c, cfg, err, errlen)) != CHAOS_OK ||
	    (rc = k8s_config_files(c, cfg, err, errlen)) != CHAOS_OK ||
	    (rc = k8s_token_load(c, true, err, errlen)) != CHAOS_OK)
		goto out;
	if ((c->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		rc = CHAOS_ENOMEM;
		goto out;
	}
	*out = c;
	c    = NULL;
out:
	if (rc == CHAOS_ENOMEM && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
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
static int
k8s_transport_error(const struct k8s_client *c, CURLcode cc, const char *errbuf,
                    char *err, size_t errlen)
{
	const char *text     = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);
	long        os_errno = 0;
	char        why[CURL_ERROR_SIZE + 64];

	/* curl says "Couldn't connect"; the errno says refused or unreachable. */
	curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
	if (os_errno != 0)
		snprintf(why, sizeof(why), "%s (%s)", text, strerror((int)os_errno));
	else
		snprintf(why, sizeof(why), "%s", text);

	if (k8s_curl_is_tls(cc)) {
		snprintf(err, errlen,
		         "TLS with the Kubernetes API at %s failed: %s; check that the "
		         "CA file (%s) is the cluster's CA and that the URL's host is "
		         "one of the API server certificate's names",
		         c->api_url, why, c->ca_file != NULL ? c->ca_file : "system CAs");
		return CHAOS_ECONN;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errlen,
		         "Kubernetes API at %s did not answer in time (%s); check the "
		         "API URL and the network path to it",
		         c->api_url, why);
		return CHAOS_ETIMEDOUT;
	}
	if (cc == CURLE_UNSUPPORTED_PROTOCOL) {
		snprintf(err, errlen, "Kubernetes API URL %s: %s", c->api_url, why);
		return CHAOS_EINVAL;
	}
	snprintf(err, errlen,
	         "cannot reach the Kubernetes API at %s: %s; check the API URL "
	         "(--kube-api, or KUBERNETES_SERVICE_HOST/PORT in a pod) and that "
	         "the API server is up",
	         c->api_url, why);
	return CHAOS_ECONN;
}

/* One transfer. CHAOS_OK when an HTTP answer arrived, whatever its status. */
static int
k8s_exchange(struct k8s_client *c, const struct k8s_req *q, struct k8s_resp *r,
             CURLcode *ccp, char *err, size_t errlen)
{
	char               errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs;
	curl_off_t         retry_after = 0;
	CURLcode           cc;
	int                rc;

	k8s_resp_reset(r);
	if ((rc = k8s_token_load(c, false, err, errlen)) != CHAOS_OK)
		return rc;
	if ((hdrs = k8s_headers(c, q)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return CHAOS_ENOMEM;
	}
	k8s_setup(c, q, hdrs, r, errbuf);
	cc   = curl_easy_perform(c->curl);
	*ccp = cc;
	curl_slist_free_all(hdrs);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	if (cc == CURLE_WRITE_ERROR && r->overflow) {
		snprintf(err, errlen, "%s %s: answer larger than %u bytes", q->method,
		         q->url, K8S_BODY_MAX);
		return CHAOS_ETOOBIG;
	}
	if (cc != CURLE_OK)
		return k8s_transport_error(c, cc, errbuf, err, errlen);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK)
		r->retry_after_s = (long)retry_after;
	return CHAOS_OK;
}

/* ---- the API's Status object ---- */

static void
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
	if (q->name != NULL)
		snprintf(buf, len, "%s pod \"%s/%s\"", q->verb, q->ns, q->name);
	else
		snprintf(buf, len, "%s pods in namespace \"%s\"", q->verb, q->ns);
}

static int
k8s_forbidden(const struct k8s_req *q, const struct k8s_status *st, char *err,
              size_t errlen)
{
	char user[256], who[300];

	k8s_forbidden_user(st->message, user, sizeof(user));
	if (user[0] != '\0')
		snprintf(who, sizeof(who), "the service account (%s)", user);
	else
		snprintf(who, sizeof(who), "the service account");
	snprintf(err, errlen,
	         "forbidden: %s cannot \"%s\" \"pods\" in namespace \"%s\"; "
	         "add to its Role: {apiGroups: [\"\"], resources: [\"pods\"], "
	         "verbs: [\"%s\"]} and bind it in \"%s\" (API: %s)",
	         who, q->verb, q->ns, q->verb, q->ns, st->message);
	return CHAOS_EPERM;
}

/* Turns a non-2xx answer into one line and an error code. */
static int
k8s_http_error(const struct k8s_client *c, const struct k8s_req *q,
               const struct k8s_resp *r, int attempts, char *err, size_t errlen)
{
	struct k8s_status st;
	char              what[300];

	k8s_status_parse(r, &st);
	k8s_what(q, what, sizeof(what));
	switch (r->status) {
	case 401:
		snprintf(err, errlen,
		         "unauthorized (401) to %s: the API server rejected the "
		         "bearer token%s%s as invalid or expired; in a pod check that "
		         "the service account exists and its token is mounted, else "
		         "renew the token file (API: %s)",
		         what, c->token_file != NULL ? " from " : " (none sent)",
		         c->token_file != NULL ? c->token_file : "", st.message);
		return CHAOS_EPERM;
	case 403:
		return k8s_forbidden(q, &st, err, errlen);
	case 404:
		snprintf(err, errlen,
		         "not found (404) to %s at %s: is this a Kubernetes API server? "
		         "(API: %s)",
		         what, c->api_url, st.message);
		return CHAOS_ENOENT;
	case 409:
		snprintf(err, errlen, "conflict (409) to %s: %s", what, st.message);
		return CHAOS_EEXIST;
	case 429:
		snprintf(err, errlen,
		         "Kubernetes API throttled the request to %s: 429 %s "
		         "(%d attempts): %s",
		         what, st.reason, attempts, st.message);
		return CHAOS_EBUSY;
	}
	if (r->status >= 500) {
		snprintf(err, errlen,
		         "Kubernetes API server error on the request to %s: %ld %s "
		         "(%d attempt%s): %s",
		         what, r->status, st.reason, attempts, attempts == 1 ? "" : "s",
		         st.message);
		return CHAOS_ESYS;
	}
	snprintf(err, errlen, "the API refused to %s: %ld %s: %s", what, r->status,
	         st.reason, st.message);
	return r->status == 400 || r->status == 422 ? CHAOS_EINVAL : CHAOS_EPROTO;
}

/* ---- retries ---- */

static bool
k8s_retryable(const struct k8s_req *q, int rc, CURLcode cc, long status)
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

/* Runs a request with its retries. CHAOS_OK when a 2xx arrived (r holds
 * it); on a non-2xx answer returns the mapped error with err written, and r
 * still holds the answer so callers can special-case 404/409/410. */
int
k8s_do(struct k8s_client *c, const struct k8s_req *q, struct k8s_resp *r, char *err,
       size_t errlen)
{
	int      rc, attempt = 0;
	CURLcode cc;
	long     delay;

	for (;;) {
		attempt++;
		cc = CURLE_OK;
		rc = k8s_exchange(c, q, r, &cc, err, errlen);
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
			log_warn("k8s: %s: %s, retry %d of %d in %ld ms", q->method, err,
			         attempt, c->max_retries, delay);
		k8s_sleep_ms(delay);
	}
	if (rc != CHAOS_OK)
		return rc;
	return k8s_http_error(c, q, r, attempt, err, errlen);
}
