// SPDX-License-Identifier: MIT
/*
 * The HTTP probe over https (agent/tls_client.h): a server whose
 * certificate a trusted CA signed is healthy, with its JSON field read; a
 * server signed by another CA, a name the certificate does not carry, an
 * address literal the certificate does not carry (checked by us, not by
 * mbedTLS 2.28) each fail the check with the reason in the detail; no CA
 * certificates at all refuses the probe at start, saying where it looked.
 * The servers are NNG's HTTP server with TLS on 127.0.0.1; the CAs are made
 * with openssl (skipped without it) and trusted through $SSL_CERT_FILE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>

#include "agent/probe.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/wire.h"
#include "tests/support/event_sink.h"
#include "tests/support/loopback.h"
#include "tests/support/shell.h"
#include "tests/support/wire_fix.h"

/* One https server: its certificate and where it listens. */
struct server {
	const char      *name; /* dir/<name>.pem, signed by dir/ca.crt */
	const char      *san;
	nng_http_server *srv;
	uint16_t         port;
};

static struct {
	char              dir[64];
	struct event_sink sink;
	struct probe_set *ps;
	struct server     ip, dns; /* SAN IP:127.0.0.1; SAN DNS:localhost only */
} fx = {.ip  = {.name = "ip", .san = "IP:127.0.0.1"},
        .dns = {.name = "dns", .san = "DNS:localhost"}};

static atomic_long height = 100;

static void
on_height(nng_aio *aio)
{
	nng_http_res *res = NULL;
	char          body[64];

	snprintf(body, sizeof(body), "{\"height\":%ld}", atomic_fetch_add(&height, 1));
	if (nng_http_res_alloc(&res) != 0 ||
	    nng_http_res_set_header(res, "Content-Type", "application/json") != 0 ||
	    nng_http_res_copy_data(res, body, strlen(body)) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

/* ---- certificates (openssl) ---- */

static int
make_ca(const char *name)
{
	return shell_run(
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-nodes -days 1 -subj /CN=%s -keyout %s/%s.key -out %s/%s.crt "
	    "2>/dev/null",
	    name, fx.dir, name, fx.dir, name);
}

/* dir/<name>.pem: a certificate for san signed by dir/ca, and its key. */
static int
make_leaf(const char *name, const char *san)
{
	const char *d = fx.dir;

	return shell_run(
	    "cd %s && echo 'subjectAltName=%s' > %s.ext && "
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-nodes -subj /CN=%s-server -keyout %s.key -out %s.csr 2>/dev/null && "
	    "openssl x509 -req -in %s.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	    "-days 1 -extfile %s.ext -out %s.crt 2>/dev/null && "
	    "cat %s.crt %s.key > %s.pem",
	    d, san, name, name, name, name, name, name, name, name, name, name);
}

/* ---- servers ---- */

static int
server_start(struct server *s)
{
	char              url[64], pem[128];
	nng_url          *u   = NULL;
	nng_tls_config   *tls = NULL;
	nng_http_handler *h   = NULL;
	int               rv;

	s->port = loopback_closed_port();
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", s->port);
	snprintf(pem, sizeof(pem), "%s/%s.pem", fx.dir, s->name);
	if ((rv = nng_url_parse(&u, url)) != 0 ||
	    (rv = nng_http_server_hold(&s->srv, u)) != 0 ||
	    (rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_SERVER)) != 0 ||
	    (rv = nng_tls_config_cert_key_file(tls, pem, NULL)) != 0 ||
	    (rv = nng_http_server_set_tls(s->srv, tls)) != 0 ||
	    (rv = nng_http_handler_alloc(&h, "/height", on_height)) != 0 ||
	    (rv = nng_http_server_add_handler(s->srv, h)) != 0 ||
	    (rv = nng_http_server_start(s->srv)) != 0)
		fprintf(stderr, "https server %s: %s\n", url, nng_strerror(rv));
	nng_tls_config_free(tls);
	nng_url_free(u);
	return rv == 0 ? 0 : -1;
}

static void
server_stop(struct server *s)
{
	if (s->srv == NULL)
		return;
	nng_http_server_stop(s->srv);
	nng_http_server_release(s->srv);
	s->srv = NULL;
}

static int
group_setup(void **state)
{
	chaos_why why = {{0}};

	(void)state;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_probe_https.XXXXXX");
	if (shell_run("openssl version >/dev/null 2>&1") != 0 ||
	    mkdtemp(fx.dir) == NULL) {
		fx.dir[0] = '\0';
		return 0; /* each test skips */
	}
	if (make_ca("ca") != 0 || make_ca("rogue") != 0 ||
	    make_leaf(fx.ip.name, fx.ip.san) != 0 ||
	    make_leaf(fx.dns.name, fx.dns.san) != 0 || server_start(&fx.ip) != 0 ||
	    server_start(&fx.dns) != 0 ||
	    event_sink_open(&fx.sink, "test_probe_https", &why) != CHAOS_OK ||
	    probe_set_new(fx.sink.ev, &fx.ps) != CHAOS_OK) {
		fprintf(stderr, "setup: %s\n", why.text);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	probe_set_free(fx.ps);
	if (fx.sink.ev != NULL)
		event_sink_close(&fx.sink);
	server_stop(&fx.ip);
	server_stop(&fx.dns);
	if (fx.dir[0] != '\0')
		shell_run("rm -rf %s", fx.dir);
	return 0;
}

/* ---- probes ---- */

/* Trusts dir/<ca>.crt for the probes started from now on. */
static void
trust(const char *ca)
{
	char path[128];

	if (fx.dir[0] == '\0')
		skip();
	snprintf(path, sizeof(path), "%s/%s.crt", fx.dir, ca);
	setenv("SSL_CERT_FILE", path, 1);
}

/* The first sample of an https probe to host:port/height, stopped after. */
static Chaos__V1__ProbeSample *
first_sample(const char *host, uint16_t port, const char *field, Chaos__V1__Event **hold)
{
	Chaos__V1__ProbeSpec s   = CHAOS__V1__PROBE_SPEC__INIT;
	chaos_why            why = {{0}};
	char                 target[96];
	int64_t              until = clk_mono_us() + 3000000;

	snprintf(target, sizeof(target), "https://%s:%u/height", host, port);
	s = wire_fix_probe_spec("https", CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP, target,
	                        100, 2000);
	s.json_field = (char *)field;
	if (probe_start(fx.ps, &s, &why) != CHAOS_OK)
		fail_msg("probe_start: %s", why.text);
	*hold = NULL;
	while (*hold == NULL && clk_mono_us() < until) {
		if (event_sink_recv(&fx.sink, 500, hold, &why) != CHAOS_OK)
			continue;
		if ((*hold)->body_case != CHAOS__V1__EVENT__BODY_SAMPLE) {
			wire_free(*hold);
			*hold = NULL;
		}
	}
	probe_stop(fx.ps, "https");
	if (*hold == NULL)
		fail_msg("no sample from %s within 3 s", target);
	return (*hold)->sample;
}

static void
test_server_signed_by_the_trusted_ca_is_healthy(void **state)
{
	Chaos__V1__Event       *e;
	Chaos__V1__ProbeSample *p;

	(void)state;
	trust("ca");
	p = first_sample("127.0.0.1", fx.ip.port, "height", &e);
	assert_true(p->healthy);
	assert_int_equal(p->http_status, 200);
	assert_true(p->has_value);
	assert_true(p->value >= 100);
	wire_free(e);
}

/* What an unhealthy check must say. */
static void
assert_refused(const Chaos__V1__ProbeSample *p, const char *detail_has)
{
	assert_false(p->healthy);
	assert_int_equal(p->error_class, CHAOS__V1__ERROR_CLASS__ERROR_CLASS_OTHER);
	assert_false(p->has_http_status);
	assert_non_null(p->detail);
	if (strstr(p->detail, detail_has) == NULL)
		fail_msg("detail '%s' lacks '%s'", p->detail, detail_has);
}

static void
test_server_of_another_ca_fails_verification(void **state)
{
	Chaos__V1__Event *e;

	(void)state;
	trust("rogue");
	assert_refused(first_sample("127.0.0.1", fx.ip.port, NULL, &e),
	               "not correctly signed");
	wire_free(e);
}

/* localhost may resolve to ::1 first, where nothing listens: the probe goes
 * on to 127.0.0.1, whose certificate names only the address. */
static void
test_name_not_in_the_certificate_fails_verification(void **state)
{
	Chaos__V1__Event *e;

	(void)state;
	trust("ca");
	assert_refused(first_sample("localhost", fx.ip.port, NULL, &e),
	               "tls: certificate:");
	wire_free(e);
}

static void
test_address_not_in_the_certificate_fails_verification(void **state)
{
	Chaos__V1__Event *e;

	(void)state;
	trust("ca");
	assert_refused(first_sample("127.0.0.1", fx.dns.port, NULL, &e),
	               "tls: certificate:");
	wire_free(e);
}

static void
test_no_ca_certificates_refuses_the_probe_at_start(void **state)
{
	Chaos__V1__ProbeSpec s   = CHAOS__V1__PROBE_SPEC__INIT;
	chaos_why            why = {{0}};
	char                 target[96];

	(void)state;
	trust("missing");
	snprintf(target, sizeof(target), "https://127.0.0.1:%u/height", fx.ip.port);
	s.probe_id    = "https";
	s.kind        = CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP;
	s.target      = target;
	s.interval_ms = 100;
	s.timeout_ms  = 1000;
	assert_int_equal(probe_start(fx.ps, &s, &why), CHAOS_ENOENT);
	assert_non_null(strstr(why.text, "missing.crt"));
	assert_non_null(strstr(why.text, "SSL_CERT_FILE"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_server_signed_by_the_trusted_ca_is_healthy),
	    cmocka_unit_test(test_server_of_another_ca_fails_verification),
	    cmocka_unit_test(test_name_not_in_the_certificate_fails_verification),
	    cmocka_unit_test(test_address_not_in_the_certificate_fails_verification),
	    cmocka_unit_test(test_no_ca_certificates_refuses_the_probe_at_start),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
