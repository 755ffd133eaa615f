// SPDX-License-Identifier: MIT
/*
 * Command lines and their value parsers: chaos-agent's and chaos-controller's
 * options (agent/cli.c, controller/controller_cli.c), the agent identity from
 * flags and environment (agent/identity.c), common/flags.c, and the URL
 * checks of those options (common/url.c itself: test_url.c).
 * A usage error must name the flag and say what is allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli.h"
#include "agent/identity.h"
#include "common/err.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/url.h"
#include "common/wire.h"
#include "controller/controller_cli.h"

#define ERRLEN 256

static const char *const chaos_env[] = {"CHAOS_CONTROLLER", "CHAOS_POD_NAME",
                                        "CHAOS_NAMESPACE", "CHAOS_NODE_NAME",
                                        "CHAOS_ROLE"};

/* Every test starts from an environment without the CHAOS_* variables. */
static int
clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(chaos_env) / sizeof(chaos_env[0]); i++)
		unsetenv(chaos_env[i]);
	return 0;
}

static int
count_args(char **argv)
{
	int n = 0;

	while (argv[n] != NULL)
		n++;
	return n;
}

static char err[ERRLEN];

static enum flags_result
agent_parse_v(struct agent_opts *o, char **argv)
{
	chaos_why         why = {{0}};
	enum flags_result r   = agent_cli_parse(count_args(argv), argv, o, &why);

	snprintf(err, sizeof(err), "%.*s", (int)sizeof(err) - 1, why.text);
	return r;
}

static enum flags_result
ctl_parse_v(struct controller_opts *o, char **argv)
{
	chaos_why         why = {{0}};
	enum flags_result r   = controller_cli_parse(count_args(argv), argv, o, &why);

	snprintf(err, sizeof(err), "%.*s", (int)sizeof(err) - 1, why.text);
	return r;
}

#define AGENT_PARSE(o, ...)                                                              \
	agent_parse_v((o), (char *[]) {"chaos-agent", __VA_ARGS__, NULL})
#define CTL_PARSE(o, ...)                                                                \
	ctl_parse_v((o), (char *[]) {"chaos-controller", __VA_ARGS__, NULL})

/* The error text must contain each of the NULL-terminated fragments. */
static void
assert_err_mentions(const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
		if (strstr(err, s) == NULL)
			fail_msg("error text '%s' does not mention '%s'", err, s);
	va_end(ap);
	assert_null(strchr(err, '\n')); /* one line */
}

/* ------------------------------------------------------------------------ */
/* chaos-agent */

static void
test_agent_accepts_a_full_tls_command_line(void **state)
{
	struct agent_opts o;

	(void)state;
	assert_int_equal(
	    AGENT_PARSE(&o, "--controller", "tls+tcp://chaos-controller:7600", "--tls-ca",
	                "/etc/chaos/ca.pem", "--tls-cert", "/etc/chaos/agent.pem",
	                "--role", "database", "--pod", "db-0", "--namespace", "ledger",
	                "--node", "worker-1", "--id", "ledger/db-0", "--label",
	                "team=ledger", "--label", "tier=db", "--log-level", "debug"),
	    FLAGS_RUN);
	assert_string_equal(o.controller, "tls+tcp://chaos-controller:7600");
	assert_false(o.plaintext);
	assert_string_equal(o.tls.ca_file, "/etc/chaos/ca.pem");
	assert_string_equal(o.tls.cert_key_file, "/etc/chaos/agent.pem");
	assert_string_equal(o.id.role, "database");
	assert_string_equal(o.id.pod, "db-0");
	assert_string_equal(o.id.namespace_, "ledger");
	assert_string_equal(o.id.node, "worker-1");
	assert_string_equal(o.id.id, "ledger/db-0");
	assert_int_equal(o.id.n_labels, 2);
	assert_string_equal(o.id.labels[1], "tier=db");
	assert_int_equal(o.log_level, LOG_LEVEL_DEBUG);
}

static void
test_agent_accepts_plaintext_tcp_and_ipc_with_defaults(void **state)
{
	struct agent_opts o;

	(void)state;
	assert_int_equal(AGENT_PARSE(&o, "--plaintext", "-c", "tcp://10.77.0.2:7600"),
	                 FLAGS_RUN);
	assert_string_equal(o.controller, "tcp://10.77.0.2:7600");
	assert_true(o.plaintext);
	assert_int_equal(o.log_level, LOG_LEVEL_INFO);
	assert_null(o.id.role);
	assert_int_equal(o.id.n_labels, 0);
	assert_int_equal(AGENT_PARSE(&o, "--controller", "ipc:///run/chaos/session.sock"),
	                 FLAGS_RUN);
	assert_string_equal(o.controller, "ipc:///run/chaos/session.sock");
}

static void
test_agent_takes_the_controller_from_the_environment_unless_given(void **state)
{
	struct agent_opts o;

	(void)state;
	setenv("CHAOS_CONTROLLER", "ipc:///tmp/from-env", 1);
	assert_int_equal(agent_parse_v(&o, (char *[]) {"chaos-agent", NULL}), FLAGS_RUN);
	assert_string_equal(o.controller, "ipc:///tmp/from-env");
	assert_int_equal(AGENT_PARSE(&o, "--controller", "ipc:///tmp/from-flag"),
	                 FLAGS_RUN);
	assert_string_equal(o.controller, "ipc:///tmp/from-flag");
	setenv("CHAOS_CONTROLLER", "tcp://ctl:7600",
	       1); /* the env value is checked too */
	assert_int_equal(agent_parse_v(&o, (char *[]) {"chaos-agent", NULL}),
	                 FLAGS_USAGE);
	assert_err_mentions("--plaintext", NULL);
}

static void
test_agent_without_controller_is_a_usage_error(void **state)
{
	struct agent_opts o;

	(void)state;
	assert_int_equal(agent_parse_v(&o, (char *[]) {"chaos-agent", NULL}),
	                 FLAGS_USAGE);
	assert_err_mentions("--controller", "required", "CHAOS_CONTROLLER", NULL);
	assert_int_equal(AGENT_PARSE(&o, "--role", "database"), FLAGS_USAGE);
	assert_err_mentions("--controller", "required", NULL);
}

static void
test_agent_refuses_plain_tcp_without_plaintext_flag(void **state)
{
	struct agent_opts o;

	(void)state;
	assert_int_equal(AGENT_PARSE(&o, "--controller", "tcp://10.77.0.2:7600"),
	                 FLAGS_USAGE);
	assert_err_mentions("--controller", "tcp://10.77.0.2:7600", "--plaintext",
	                    "tls+tcp://", NULL);
}

static void
test_agent_refuses_tls_without_ca_and_cert(void **state)
{
	struct agent_opts o;

	(void)state;
	assert_int_equal(AGENT_PARSE(&o, "--controller", "tls+tcp://ctl:7600"),
	                 FLAGS_USAGE);
	assert_err_mentions("tls+tcp://", "--tls-ca", "--tls-cert", NULL);
	assert_int_equal(
	    AGENT_PARSE(&o, "--controller", "tls+tcp://ctl:7600", "--tls-ca", "ca"),
	    FLAGS_USAGE);
	assert_err_mentions("--tls-cert", NULL);
	assert_int_equal(AGENT_PARSE(&o, "--controller", "tls+tcp://ctl:7600",
	                             "--tls-cert", "cert.pem"),
	                 FLAGS_USAGE);
	assert_err_mentions("--tls-ca", NULL);
}

static void
test_agent_refuses_bad_schemes_and_ports(void **state)
{
	static const struct {
		const char *url;
		const char *why;
	} bad[] = {
	    {"http://ctl:7600", "ipc://, tcp:// or tls+tcp://"},
	    {"ctl:7600", "ipc://, tcp:// or tls+tcp://"},
	    {"", "empty"},
	    {"tcp://ctl:0", "1..65535"},
	    {"tcp://ctl:99999", "1..65535"},
	    {"tcp://ctl:76x", "1..65535"},
	    {"tcp://ctl:", "1..65535"},
	    {"tcp://ctl", "host:port"},
	    {"tcp://:7600", "host:port"},
	    {"ipc://", "path"},
	};
	struct agent_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum flags_result r =
		    AGENT_PARSE(&o, "--plaintext", "--controller", (char *)bad[i].url);
		if (r != FLAGS_USAGE)
			fail_msg("'%s' accepted", bad[i].url);
		assert_err_mentions("--controller", bad[i].why, NULL);
	}
}

static void
test_agent_unknown_option_is_named_in_the_error(void **state)
{
	struct agent_opts o;

	(void)state;
	assert_int_equal(AGENT_PARSE(&o, "--controller", "ipc:///x", "--bogus"),
	                 FLAGS_USAGE);
	assert_err_mentions("--bogus", "--help", NULL);
	assert_int_equal(AGENT_PARSE(&o, "--controller", "ipc:///x", "-z"), FLAGS_USAGE);
	assert_err_mentions("-z", NULL);
	/* An option missing its value is named the same way. */
	assert_int_equal(AGENT_PARSE(&o, "--plaintext", "--controller"), FLAGS_USAGE);
	assert_err_mentions("--controller", NULL);
}

static void
test_agent_stray_argument_is_a_usage_error(void **state)
{
	struct agent_opts o;

	(void)state;
	assert_int_equal(AGENT_PARSE(&o, "--controller", "ipc:///x", "extra"),
	                 FLAGS_USAGE);
	assert_err_mentions("'extra'", "only options", NULL);
}

static void
test_agent_bad_log_level_lists_the_allowed_levels(void **state)
{
	struct agent_opts o;

	(void)state;
	assert_int_equal(
	    AGENT_PARSE(&o, "--controller", "ipc:///x", "--log-level", "bogus"),
	    FLAGS_USAGE);
	assert_err_mentions("--log-level", "'bogus'", "error", "warn", "info", "debug",
	                    NULL);
	assert_int_equal(
	    AGENT_PARSE(&o, "--controller", "ipc:///x", "--log-level", "warn"),
	    FLAGS_RUN);
	assert_int_equal(o.log_level, LOG_LEVEL_WARN);
}

static void
test_agent_refuses_more_labels_than_fit(void **state)
{
	char             *argv[3 + 2 * (IDENTITY_MAX_LABELS + 1) + 1];
	char              labels[IDENTITY_MAX_LABELS][16];
	struct agent_opts o;
	int               n = 0;

	(void)state;
	argv[n++] = "chaos-agent";
	argv[n++] = "--controller";
	argv[n++] = "ipc:///x";
	for (int i = 0; i < IDENTITY_MAX_LABELS; i++) {
		snprintf(labels[i], sizeof(labels[i]), "k%d=v", i);
		argv[n++] = "--label";
		argv[n++] = labels[i];
	}
	argv[n] = NULL;
	assert_int_equal(agent_parse_v(&o, argv), FLAGS_RUN);
	assert_int_equal(o.id.n_labels, IDENTITY_MAX_LABELS);
	argv[n++] = "--label";
	argv[n++] = "one=toomany";
	argv[n]   = NULL;
	assert_int_equal(agent_parse_v(&o, argv), FLAGS_USAGE);
	assert_err_mentions("--label", "16", NULL);
}

static void
test_agent_refuses_a_label_key_given_twice(void **state)
{
	struct agent_opts o;

	(void)state;
	assert_int_equal(AGENT_PARSE(&o, "--controller", "ipc:///x", "--label", "a=1",
	                             "--label", "ab=2", "--label", "a=2"),
	                 FLAGS_USAGE);
	assert_err_mentions("--label", "key 'a' given twice", NULL);
	/* a key that only starts like another is another key */
	assert_int_equal(AGENT_PARSE(&o, "--controller", "ipc:///x", "--label", "a=1",
	                             "--label", "ab=1", "--label", "b=a"),
	                 FLAGS_RUN);
	assert_int_equal(o.id.n_labels, 3);
}

static void
test_agent_help_and_version_exit_successfully(void **state)
{
	struct agent_opts o;

	(void)state;
	assert_int_equal(AGENT_PARSE(&o, "--version"), FLAGS_EXIT_OK);
	assert_int_equal(AGENT_PARSE(&o, "--help"), FLAGS_EXIT_OK);
}

/* ------------------------------------------------------------------------ */
/* chaos-controller */

static void
test_controller_defaults_need_only_tls_files(void **state)
{
	struct controller_opts o;

	(void)state;
	assert_int_equal(CTL_PARSE(&o, "--tls-ca", "ca.pem", "--tls-cert", "ctl.pem"),
	                 FLAGS_RUN);
	assert_string_equal(o.listen, CONTROLLER_DEFAULT_LISTEN);
	assert_string_equal(o.control, CONTROLLER_DEFAULT_CONTROL);
	assert_int_equal(o.heartbeat_ms, 500);
	assert_int_equal(o.max_agents, 1024);
	assert_int_equal(o.log_level, LOG_LEVEL_INFO);
	assert_int_equal(ctl_parse_v(&o, (char *[]) {"chaos-controller", NULL}),
	                 FLAGS_USAGE);
	assert_err_mentions("--listen", "--tls-ca", "--tls-cert", NULL);
}

static void
test_controller_accepts_a_full_plaintext_command_line(void **state)
{
	struct controller_opts o;

	(void)state;
	assert_int_equal(CTL_PARSE(&o, "--listen", "tcp://0.0.0.0:7700", "--plaintext",
	                           "--control", "ipc:///tmp/ctl.sock", "--heartbeat-ms",
	                           "250", "--max-agents", "65536", "--log-level",
	                           "error"),
	                 FLAGS_RUN);
	assert_string_equal(o.listen, "tcp://0.0.0.0:7700");
	assert_string_equal(o.control, "ipc:///tmp/ctl.sock");
	assert_true(o.plaintext);
	assert_int_equal(o.heartbeat_ms, 250);
	assert_int_equal(o.max_agents, 65536);
	assert_int_equal(o.log_level, LOG_LEVEL_ERROR);
}

static void
test_controller_heartbeat_outside_100_to_1000_ms_is_refused(void **state)
{
	static char *const     bad[] = {"50",   "99",    "1001", "2000", "abc",       "",
	                                "-100", "500ms", " 500", "+500", "4294967796"};
	struct controller_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (CTL_PARSE(&o, "-l", "tcp://0.0.0.0:7600", "--plaintext",
		              "--heartbeat-ms", bad[i]) != FLAGS_USAGE)
			fail_msg("--heartbeat-ms '%s' accepted", bad[i]);
		assert_err_mentions("--heartbeat-ms", "100..1000", NULL);
	}
	assert_int_equal(
	    CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext", "--heartbeat-ms", "100"),
	    FLAGS_RUN);
	assert_int_equal(o.heartbeat_ms, 100);
	assert_int_equal(
	    CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext", "--heartbeat-ms", "1000"),
	    FLAGS_RUN);
	assert_int_equal(o.heartbeat_ms, 1000);
}

static void
test_controller_max_agents_outside_1_to_65536_is_refused(void **state)
{
	static char *const     bad[] = {"0", "65537", "-1", "many"};
	struct controller_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext", "--max-agents",
		              bad[i]) != FLAGS_USAGE)
			fail_msg("--max-agents '%s' accepted", bad[i]);
		assert_err_mentions("--max-agents", "1..65536", NULL);
	}
	assert_int_equal(
	    CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext", "--max-agents", "1"),
	    FLAGS_RUN);
	assert_int_equal(o.max_agents, 1);
}

static void
test_controller_max_heartbeats_is_0_or_100_to_100000(void **state)
{
	static char *const     bad[]  = {"1", "99", "100001", "-1", "fast"};
	static char *const     good[] = {"0", "100", "100000"};
	struct controller_opts o;

	(void)state;
	assert_int_equal(CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext"), FLAGS_RUN);
	assert_int_equal(o.max_hb_per_s, 500);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext",
		              "--max-heartbeats-per-s", bad[i]) != FLAGS_USAGE)
			fail_msg("--max-heartbeats-per-s '%s' accepted", bad[i]);
		assert_err_mentions("--max-heartbeats-per-s", "0 (a fixed heartbeat)",
		                    "100..100000", NULL);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext",
		                           "--max-heartbeats-per-s", good[i]),
		                 FLAGS_RUN);
		assert_int_equal(o.max_hb_per_s, strtoul(good[i], NULL, 10));
	}
}

static void
test_controller_refuses_bad_urls_naming_the_flag(void **state)
{
	struct controller_opts o;

	(void)state;
	assert_int_equal(CTL_PARSE(&o, "--listen", "tcp://0.0.0.0:7600"), FLAGS_USAGE);
	assert_err_mentions("--listen", "--plaintext", NULL);
	assert_int_equal(CTL_PARSE(&o, "--listen", "udp://0.0.0.0:7600", "--plaintext"),
	                 FLAGS_USAGE);
	assert_err_mentions("--listen", "ipc://, tcp:// or tls+tcp://", NULL);
	assert_int_equal(CTL_PARSE(&o, "--listen", "tcp://0.0.0.0:99999", "--plaintext"),
	                 FLAGS_USAGE);
	assert_err_mentions("--listen", "1..65535", NULL);
	assert_int_equal(CTL_PARSE(&o, "--listen", "tcp://0.0.0.0:0", "--plaintext"),
	                 FLAGS_USAGE);
	assert_err_mentions("--listen", "1..65535", NULL);
	assert_int_equal(
	    CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext", "--control", "http://x"),
	    FLAGS_USAGE);
	assert_err_mentions("--control", "'http://x'", NULL);
	assert_int_equal(
	    CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext", "--control", "tls+tcp://h:2"),
	    FLAGS_USAGE);
	assert_err_mentions("--control", "--tls-ca", NULL);
}

static void
test_controller_unknown_option_stray_argument_and_log_level(void **state)
{
	struct controller_opts o;

	(void)state;
	assert_int_equal(
	    CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext", "--max-agentz", "5"),
	    FLAGS_USAGE);
	assert_err_mentions("--max-agentz", "--help", NULL);
	assert_int_equal(
	    CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext", "--heartbeat-ms"),
	    FLAGS_USAGE);
	assert_err_mentions("--heartbeat-ms", NULL);
	assert_int_equal(CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext", "now"),
	                 FLAGS_USAGE);
	assert_err_mentions("'now'", "only options", NULL);
	assert_int_equal(
	    CTL_PARSE(&o, "-l", "tcp://h:1", "--plaintext", "--log-level", "bogus"),
	    FLAGS_USAGE);
	assert_err_mentions("--log-level", "'bogus'", "error", "warn", "info", "debug",
	                    NULL);
}

/* ------------------------------------------------------------------------ */
/* identity_resolve */

static void
set_identity_env(void)
{
	setenv("CHAOS_POD_NAME", "env-pod", 1);
	setenv("CHAOS_NAMESPACE", "env-ns", 1);
	setenv("CHAOS_NODE_NAME", "env-node", 1);
	setenv("CHAOS_ROLE", "coordinator", 1);
}

static void
test_identity_flags_win_over_the_environment(void **state)
{
	struct identity_args args = {.pod        = "flag-pod",
	                             .namespace_ = "flag-ns",
	                             .node       = "flag-node",
	                             .role       = "database"};
	struct identity      id;
	chaos_why            why = {{0}};

	(void)state;
	set_identity_env();
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_OK);
	assert_string_equal(id.pod, "flag-pod");
	assert_string_equal(id.namespace_, "flag-ns");
	assert_string_equal(id.node, "flag-node");
	assert_int_equal(id.role, CHAOS__V1__ROLE__ROLE_DATABASE);
	assert_string_equal(id.agent_id, "flag-ns/flag-pod");
}

static void
test_identity_falls_back_to_the_environment(void **state)
{
	struct identity_args args = {0};
	struct identity      id;
	chaos_why            why = {{0}};

	(void)state;
	set_identity_env();
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_OK);
	assert_string_equal(id.pod, "env-pod");
	assert_string_equal(id.namespace_, "env-ns");
	assert_string_equal(id.node, "env-node");
	assert_int_equal(id.role, CHAOS__V1__ROLE__ROLE_COORDINATOR);
	assert_string_equal(id.agent_id, "env-ns/env-pod");
	assert_true(id.incarnation > 0);
}

static void
test_identity_defaults_to_hostname_and_default_namespace(void **state)
{
	struct identity_args args = {.role = "node"};
	struct identity      id;
	chaos_why            why = {{0}};
	char                 host[256];

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	if (wire_check_id(host) != CHAOS_OK)
		skip(); /* this machine's hostname is not a valid pod name */
	setenv("CHAOS_POD_NAME", "", 1); /* empty counts as unset */
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_OK);
	assert_string_equal(id.pod, host);
	assert_string_equal(id.node, host);
	assert_string_equal(id.namespace_, "default");
	assert_int_equal(id.role, CHAOS__V1__ROLE__ROLE_NODE);
}

static void
test_identity_explicit_id_replaces_namespace_slash_pod(void **state)
{
	struct identity_args args = {
	    .id = "ledger/db-0.boot-7", .pod = "db-0", .role = "database"};
	struct identity id;
	chaos_why       why = {{0}};

	(void)state;
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_OK);
	assert_string_equal(id.agent_id, "ledger/db-0.boot-7");
	args.id = "has space";
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "--id"));
}

static void
test_identity_refuses_a_bad_or_missing_role(void **state)
{
	struct identity_args args = {.pod = "db-0", .role = "dba"};
	struct identity      id;
	chaos_why            why = {{0}};

	(void)state;
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "role"));
	assert_non_null(strstr(why.text, "blockchain, coordinator, database, node"));
	args.role   = NULL;
	why.text[0] = '\0';
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "CHAOS_ROLE"));
	setenv("CHAOS_ROLE", "Database", 1); /* names are case-sensitive */
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_EINVAL);
}

static void
test_identity_refuses_bad_pod_namespace_and_node_names(void **state)
{
	struct identity_args args = {.pod = "db 0", .role = "database"};
	struct identity      id;
	chaos_why            why = {{0}};
	char                 long_ns[200], long_pod[200];

	(void)state;
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "pod name"));
	args.pod = NULL;
	setenv("CHAOS_POD_NAME", "db\n0", 1);
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "CHAOS_POD_NAME"));
	args.pod        = "db-0";
	args.namespace_ = "led ger";
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "namespace"));
	args.namespace_ = "ledger";
	args.node       = "";
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "node name"));
	/* Each name fits, "namespace/pod" does not: ask for --id. */
	memset(long_ns, 'n', sizeof(long_ns) - 1);
	long_ns[sizeof(long_ns) - 1] = '\0';
	memset(long_pod, 'p', sizeof(long_pod) - 1);
	long_pod[sizeof(long_pod) - 1] = '\0';
	args.node                      = "worker-1";
	args.namespace_                = long_ns;
	args.pod                       = long_pod;
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_EINVAL);
	assert_non_null(strstr(why.text, "--id"));
}

static void
test_identity_parses_labels_and_refuses_bad_ones(void **state)
{
	static const char *const bad[] = {
	    "=value",
	    "novalue",
	    "k=v v",
	    "k@=v",
	    "k=v\n",
	    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=1234", /* 65 */
	};
	struct identity_args args = {.pod = "db-0", .role = "database"};
	struct identity      id;
	chaos_why            why = {{0}};

	(void)state;
	args.labels[0] = "team=ledger";
	args.labels[1] = "app.kubernetes.io/name=postgres";
	args.labels[2] = "empty=";
	args.n_labels  = 3;
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_OK);
	assert_int_equal(id.n_labels, 3);
	assert_string_equal(id.label_key[0], "team");
	assert_string_equal(id.label_value[0], "ledger");
	assert_string_equal(id.label_key[1], "app.kubernetes.io/name");
	assert_string_equal(id.label_value[1], "postgres");
	assert_string_equal(id.label_key[2], "empty");
	assert_string_equal(id.label_value[2], "");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		args.labels[1] = bad[i];
		why.text[0]    = '\0';
		if (identity_resolve(&args, &id, &why) != CHAOS_EINVAL)
			fail_msg("label '%s' accepted", bad[i]);
		assert_non_null(strstr(why.text, "--label"));
	}
}

/* What the agent will send must pass the controller's checks. */
static void
test_resolved_identity_passes_wire_validation(void **state)
{
	struct identity_args args = {
	    .pod = "db-0", .namespace_ = "ledger", .role = "database"};
	struct identity    id;
	struct identity_pb pb;
	chaos_why          why = {{0}}, reason = {{0}};
	unsigned char      addr[16];

	(void)state;
	args.labels[0] = "team=ledger";
	args.n_labels  = 1;
	assert_int_equal(identity_resolve(&args, &id, &why), CHAOS_OK);
	assert_true(id.n_ips <= IDENTITY_MAX_IPS);
	for (size_t i = 0; i < id.n_ips; i++) {
		assert_true(inet_pton(AF_INET, id.ips[i], addr) == 1 ||
		            inet_pton(AF_INET6, id.ips[i], addr) == 1);
		assert_string_not_equal(id.ips[i], "127.0.0.1");
		assert_string_not_equal(id.ips[i], "::1");
	}
	identity_to_pb(&id, &pb);
	assert_string_equal(pb.msg.agent_id, "ledger/db-0");
	assert_int_equal(pb.msg.n_labels, 1);
	assert_string_equal(pb.msg.labels[0]->key, "team");
	if (wire_check_identity(&pb.msg, &reason) != CHAOS_OK)
		fail_msg("resolved identity refused by the wire check: %s", reason.text);
}

/* ------------------------------------------------------------------------ */
/* flags and url */

static void
test_flags_parse_u32_accepts_only_plain_decimals_in_range(void **state)
{
	static const char *const bad[] = {
	    "",    "-1",   "+1",         " 1",  "1 ",
	    "1x",  "0x10", "4294967296", "1e3", "99999999999999999999999",
	    "1.0", "abc"};
	uint32_t v = 77;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (flags_parse_u32(bad[i], 0, UINT32_MAX, &v) != CHAOS_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(v, 77); /* untouched */
	}
	assert_int_equal(flags_parse_u32(NULL, 0, 1, &v), CHAOS_EINVAL);
	assert_int_equal(flags_parse_u32("4294967295", 0, UINT32_MAX, &v), CHAOS_OK);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(flags_parse_u32("0", 0, 10, &v), CHAOS_OK);
	assert_int_equal(v, 0);
	assert_int_equal(flags_parse_u32("007", 0, 10, &v), CHAOS_OK);
	assert_int_equal(v, 7);
	assert_int_equal(flags_parse_u32("10", 0, 10, &v), CHAOS_OK);
	assert_int_equal(flags_parse_u32("11", 0, 10, &v), CHAOS_EINVAL);
	assert_int_equal(flags_parse_u32("4", 5, 10, &v), CHAOS_EINVAL);
	assert_int_equal(v, 10);
}

static void
test_flags_parse_double_accepts_only_finite_decimals_in_range(void **state)
{
	static const char *const bad[] = {
	    "",     "inf",   "-inf", "nan",   "NaN",  "infinity", "1e400", "1.5x", "1.5 ",
	    " 1.5", "\t1.5", "0x10", "0x1p3", "-0.5", "101",      "abc",   "1,5"};
	double v = 77.0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (flags_parse_double(bad[i], 0.0, 100.0, &v) != CHAOS_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(v == 77.0); /* untouched */
	}
	assert_int_equal(flags_parse_double(NULL, 0.0, 1.0, &v), CHAOS_EINVAL);
	assert_int_equal(flags_parse_double("0.5", 0.0, 100.0, &v), CHAOS_OK);
	assert_true(v == 0.5);
	assert_int_equal(flags_parse_double("1e2", 0.0, 100.0, &v), CHAOS_OK);
	assert_true(v == 100.0);
	assert_int_equal(flags_parse_double(".25", 0.0, 100.0, &v), CHAOS_OK);
	assert_true(v == 0.25);
	assert_int_equal(flags_parse_double("-2.5", -10.0, 10.0, &v), CHAOS_OK);
	assert_true(v == -2.5);
	assert_int_equal(flags_parse_double("0", 0.0, 100.0, &v), CHAOS_OK);
	assert_true(v == 0.0);
}

static void
test_flags_parse_label_splits_key_and_value(void **state)
{
	char        buf[64];
	const char *k = NULL, *v = NULL;

	(void)state;
	assert_int_equal(flags_parse_label("a.b/c_d-e=f.g", buf, &k, &v), CHAOS_OK);
	assert_string_equal(k, "a.b/c_d-e");
	assert_string_equal(v, "f.g");
	assert_int_equal(flags_parse_label("k=", buf, &k, &v), CHAOS_OK);
	assert_string_equal(v, "");
	assert_int_equal(flags_parse_label("k=a=b", buf, &k, &v), CHAOS_EINVAL);
	assert_int_equal(flags_parse_label("=v", buf, &k, &v), CHAOS_EINVAL);
	assert_int_equal(flags_parse_label("kv", buf, &k, &v), CHAOS_EINVAL);
	assert_int_equal(flags_parse_label(NULL, buf, &k, &v), CHAOS_EINVAL);
}

static void
test_flags_roles_map_both_ways(void **state)
{
	const ProtobufCEnumDescriptor *d    = &chaos__v1__role__descriptor;
	int                            role = -1;
	char                           buf[32];

	(void)state;
	assert_int_equal(wire_enum_parse(d, "blockchain", &role), CHAOS_OK);
	assert_int_equal(role, CHAOS__V1__ROLE__ROLE_BLOCKCHAIN);
	assert_int_equal(wire_enum_parse(d, "node", &role), CHAOS_OK);
	assert_int_equal(role, CHAOS__V1__ROLE__ROLE_NODE);
	assert_int_equal(wire_enum_parse(d, "BLOCKCHAIN", &role), CHAOS_EINVAL);
	assert_int_equal(wire_enum_parse(d, "", &role), CHAOS_EINVAL);
	assert_int_equal(wire_enum_parse(d, NULL, &role), CHAOS_EINVAL);
	assert_int_equal(role, CHAOS__V1__ROLE__ROLE_NODE);
	assert_string_equal(
	    wire_enum_name(d, CHAOS__V1__ROLE__ROLE_DATABASE, buf, sizeof(buf)),
	    "database");
	assert_string_equal(
	    wire_enum_name(d, CHAOS__V1__ROLE__ROLE_COORDINATOR, buf, sizeof(buf)),
	    "coordinator");
	assert_string_equal(wire_enum_name(d, 0, buf, sizeof(buf)), "unspecified");
	assert_string_equal(wire_enum_name(d, 99, buf, sizeof(buf)), "unknown");
	assert_string_equal(wire_enum_name(&chaos__v1__run_state__descriptor,
	                                   CHAOS__V1__RUN_STATE__RUN_STATE_SUCCEEDED, buf,
	                                   sizeof(buf)),
	                    "succeeded");
	assert_string_equal(wire_enum_name(&chaos__v1__error_class__descriptor,
	                                   CHAOS__V1__ERROR_CLASS__ERROR_CLASS_HTTP_5XX,
	                                   buf, sizeof(buf)),
	                    "http_5xx");
}

/* "ipc://" and a path of n bytes ("/tmp/aaa..."), in buf. */
static char *
ipc_url(char *buf, size_t n)
{
	memset(buf, 'a', 6 + n);
	memcpy(buf, "ipc:///tmp/", 11);
	buf[6 + n] = '\0';
	return buf;
}

static void
test_ipc_paths_longer_than_a_socket_address_holds_are_refused(void **state)
{
	struct agent_opts      a;
	struct controller_opts o;
	struct url_parts       p;
	char                   u[256], u2[256];
	chaos_why              why = {{0}};

	(void)state;
	assert_int_equal(url_parse(ipc_url(u, 107), URL_ENDPOINT, &p, &why), CHAOS_OK);
	assert_int_equal(strlen(p.path), 107);
	assert_int_equal(url_parse(ipc_url(u, 108), URL_ENDPOINT, &p, &why),
	                 CHAOS_EINVAL);
	assert_string_equal(why.text, "ipc path is 108 bytes; at most 107");
	assert_int_equal(AGENT_PARSE(&a, "--controller", ipc_url(u, 150)), FLAGS_USAGE);
	assert_err_mentions("--controller", "ipc path is 150 bytes; at most 107", NULL);
	assert_int_equal(
	    CTL_PARSE(&o, "--listen", "ipc:///tmp/l", "--control", ipc_url(u, 200)),
	    FLAGS_USAGE);
	assert_err_mentions("--control", "ipc path is 200 bytes; at most 107", NULL);
	/* the events endpoint's path is --listen's with ".events" */
	assert_int_equal(
	    CTL_PARSE(&o, "--listen", ipc_url(u, 101), "--control", ipc_url(u2, 20)),
	    FLAGS_USAGE);
	assert_err_mentions("--listen", "events", "ipc path is 108 bytes", NULL);
	assert_int_equal(
	    CTL_PARSE(&o, "--listen", ipc_url(u, 100), "--control", ipc_url(u2, 20)),
	    FLAGS_RUN);
}

static void
test_plaintext_with_tls_files_is_refused(void **state)
{
	struct agent_opts      a;
	struct controller_opts o;

	(void)state;
	assert_int_equal(AGENT_PARSE(&a, "--controller", "ipc:///tmp/x", "--plaintext",
	                             "--tls-ca", "/x/ca.pem"),
	                 FLAGS_USAGE);
	assert_err_mentions("--plaintext and --tls-ca cannot be combined", NULL);
	assert_int_equal(AGENT_PARSE(&a, "--controller", "tcp://h:1", "--tls-key", "/k",
	                             "--plaintext"),
	                 FLAGS_USAGE);
	assert_err_mentions("--plaintext and --tls-key cannot be combined", NULL);
	assert_int_equal(CTL_PARSE(&o, "--listen", "tcp://h:1", "--control",
	                           "ipc:///tmp/c", "--plaintext", "--tls-cert", "/c"),
	                 FLAGS_USAGE);
	assert_err_mentions("--plaintext and --tls-cert cannot be combined", NULL);
}

static void
test_controller_kube_api_is_checked_while_parsing(void **state)
{
	static char *const     bad[] = {"", "notaurl", "http://", "ftp://h:1",
	                                "https://h:1/?x=1"};
	struct controller_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(CTL_PARSE(&o, "--listen", "ipc:///tmp/l", "--control",
		                           "ipc:///tmp/c", "--kube-api", bad[i]),
		                 FLAGS_USAGE);
		assert_err_mentions("--kube-api", NULL);
		assert_null(strstr(err, "another controller"));
	}
	assert_int_equal(CTL_PARSE(&o, "-l", "ipc:///tmp/l", "--control", "ipc:///tmp/c",
	                           "--kube-api", "http://127.0.0.1:1"),
	                 FLAGS_USAGE);
	assert_err_mentions("--kube-api", "https://", NULL);
	assert_int_equal(CTL_PARSE(&o, "-l", "ipc:///tmp/l", "--control", "ipc:///tmp/c",
	                           "--kube-api", "http://127.0.0.1:1",
	                           "--kube-allow-http"),
	                 FLAGS_RUN);
	assert_int_equal(CTL_PARSE(&o, "-l", "ipc:///tmp/l", "--control", "ipc:///tmp/c",
	                           "--kube-api", "https://10.0.0.1:6443"),
	                 FLAGS_RUN);
	assert_int_equal(CTL_PARSE(&o, "-l", "ipc:///tmp/l", "--control", "ipc:///tmp/c",
	                           "--inventory", ""),
	                 FLAGS_USAGE);
	assert_err_mentions("--inventory", NULL);
}

#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, clear_env, clear_env)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    ENV_TEST(test_agent_accepts_a_full_tls_command_line),
	    ENV_TEST(test_agent_accepts_plaintext_tcp_and_ipc_with_defaults),
	    ENV_TEST(test_agent_takes_the_controller_from_the_environment_unless_given),
	    ENV_TEST(test_agent_without_controller_is_a_usage_error),
	    ENV_TEST(test_agent_refuses_plain_tcp_without_plaintext_flag),
	    ENV_TEST(test_agent_refuses_tls_without_ca_and_cert),
	    ENV_TEST(test_agent_refuses_bad_schemes_and_ports),
	    ENV_TEST(test_agent_unknown_option_is_named_in_the_error),
	    ENV_TEST(test_agent_stray_argument_is_a_usage_error),
	    ENV_TEST(test_agent_bad_log_level_lists_the_allowed_levels),
	    ENV_TEST(test_agent_refuses_more_labels_than_fit),
	    ENV_TEST(test_agent_refuses_a_label_key_given_twice),
	    ENV_TEST(test_agent_help_and_version_exit_successfully),
	    ENV_TEST(test_controller_defaults_need_only_tls_files),
	    ENV_TEST(test_controller_accepts_a_full_plaintext_command_line),
	    ENV_TEST(test_controller_heartbeat_outside_100_to_1000_ms_is_refused),
	    ENV_TEST(test_controller_max_agents_outside_1_to_65536_is_refused),
	    ENV_TEST(test_controller_max_heartbeats_is_0_or_100_to_100000),
	    ENV_TEST(test_controller_refuses_bad_urls_naming_the_flag),
	    ENV_TEST(test_controller_unknown_option_stray_argument_and_log_level),
	    ENV_TEST(test_identity_flags_win_over_the_environment),
	    ENV_TEST(test_identity_falls_back_to_the_environment),
	    ENV_TEST(test_identity_defaults_to_hostname_and_default_namespace),
	    ENV_TEST(test_identity_explicit_id_replaces_namespace_slash_pod),
	    ENV_TEST(test_identity_refuses_a_bad_or_missing_role),
	    ENV_TEST(test_identity_refuses_bad_pod_namespace_and_node_names),
	    ENV_TEST(test_identity_parses_labels_and_refuses_bad_ones),
	    ENV_TEST(test_resolved_identity_passes_wire_validation),
	    cmocka_unit_test(test_flags_parse_u32_accepts_only_plain_decimals_in_range),
	    cmocka_unit_test(
	        test_flags_parse_double_accepts_only_finite_decimals_in_range),
	    cmocka_unit_test(test_flags_parse_label_splits_key_and_value),
	    cmocka_unit_test(test_flags_roles_map_both_ways),
	    ENV_TEST(test_ipc_paths_longer_than_a_socket_address_holds_are_refused),
	    ENV_TEST(test_plaintext_with_tls_files_is_refused),
	    ENV_TEST(test_controller_kube_api_is_checked_while_parsing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
