// SPDX-License-Identifier: MIT
/*
 * chaos-agent: dials the controller, announces its identity, keeps its
 * session polling and applies the faults it is told to, reverting them when
 * their leases run out. Exits 0 on SIGINT/SIGTERM after reverting.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/cli.h"
#include "agent/events.h"
#include "agent/exempt.h"
#include "agent/identity.h"
#include "agent/session.h"
#include "common/err.h"
#include "common/exitguard.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/memtune.h"
#include "common/url.h"
#include "common/wire.h"

/* After a signal the agent reverts in milliseconds and exits; past this it
 * is stuck (common/exitguard.h). Below Kubernetes' default 30 s grace. */
#define AGENT_EXIT_GRACE_S 10

/* Signals are taken synchronously on one thread so that stopping is an
 * ordinary call, not async-signal code. */
static void *
agent_signal_thread(void *arg)
{
	sigset_t set;
	int      sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigwait(&set, &sig) == 0) {
		log_info("signal %d: reverting and exiting", sig);
		/* armed first: stopping closes sockets, where it could stick */
		exitguard_arm(AGENT_EXIT_GRACE_S,
		              "the kernel removes this agent's rules with it");
		session_stop(arg);
	}
	return NULL;
}

static void
agent_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int
agent_start(const struct agent_opts *o, const struct identity *id)
{
	char                   events_url[512], host[256] = "", role[32];
	struct exempt         *ex = NULL;
	struct events         *ev = NULL;
	struct agent          *a  = NULL;
	struct session        *s  = NULL;
	struct session_handler h;
	pthread_t              sig_thread;
	chaos_why              why = {{0}};
	chaos_err              rv;

	url_events_from_session(o->controller, events_url, sizeof(events_url));
	url_host(o->controller, host, sizeof(host)); /* ipc:// has none: nothing exempt */
	if ((rv = exempt_new(host, NULL, NULL, &ex)) != CHAOS_OK ||
	    (rv = events_open(events_url, id->agent_id, &o->tls, ex, &ev, &why)) !=
	        CHAOS_OK ||
	    (rv = agent_new(ev, ex, o->node_mode, &a, &why)) != CHAOS_OK)
		goto out;
	agent_session_handler(a, &h);
	if ((rv = session_open(o->controller, &o->tls, id, ev, ex, &h, &s, &why)) !=
	    CHAOS_OK)
		goto out;
	agent_set_session(a, s);
	pthread_create(&sig_thread, NULL, agent_signal_thread, s);
	pthread_detach(sig_thread);
	log_info(
	    "agent %s (%s mode, role %s, %zu ips) polling %s", id->agent_id,
	    o->node_mode ? "node" : "sidecar",
	    wire_enum_name(&chaos__v1__role__descriptor, id->role, role, sizeof(role)),
	    id->n_ips, o->controller);
	rv = session_run(s);
out:
	if (rv != CHAOS_OK)
		log_error("cannot start: %s: %s (check the controller URL and TLS files)",
		          chaos_strerror(rv), why.text);
	agent_free(a); /* reverts whatever is still in force */
	session_close(s);
	events_close(ev);
	exempt_free(ex); /* after the sockets whose pipes it notes */
	return rv == CHAOS_OK ? CHAOS_EXIT_OK : CHAOS_EXIT_ENV;
}

int
main(int argc, char **argv)
{
	struct agent_opts o;
	struct identity   id;
	chaos_why         why = {{0}};
	int               rv;

	if ((rv = flags_exit_status(agent_cli_parse(argc, argv, &o, &why), "chaos-agent",
	                            &why)) >= 0)
		return rv;
	log_init("agent", o.log_level);
	if (identity_resolve(&o.id, &id, &why) != CHAOS_OK) {
		fprintf(stderr, "chaos-agent: %s\n", why.text);
		return CHAOS_EXIT_USAGE;
	}
	memtune_limit_arenas();
	id.mode = o.node_mode ? CHAOS__V1__AGENT_MODE__AGENT_MODE_NODE
	                      : CHAOS__V1__AGENT_MODE__AGENT_MODE_SIDECAR;
	agent_block_signals();
	return agent_start(&o, &id);
}
