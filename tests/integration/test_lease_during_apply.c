// SPDX-License-Identifier: MIT
/*
 * A fault whose lease runs out is reverted on time even while the agent is
 * busy applying another one (agent audit F6). The agent applies a reply's
 * commands one after another, and some take seconds: pg_terminate (and
 * latency with terminate_existing) give PostgreSQL 3 s to answer. Here
 * fault A (a partition, lease LEASE_MS) is applied, then fault B, a
 * pg_terminate against a listener that takes connections and never
 * answers, so B's apply runs for seconds; A's rules must be gone from the
 * kernel within LEASE_MS + BOUND_MS while B is still being applied. And a
 * slow apply of its own gives up at the end of its fault's lease, and a
 * probe stops at the end of its lease while slow applies run.
 *
 * The agent is driven in-process through its session handler, the way its
 * session thread drives it (commands, then a tick, then the next poll),
 * in sidecar mode (both faults in the agent's own namespace) and in node
 * mode (A in one target namespace, B in another: the commands run on
 * nsexec threads). Everything happens in network namespaces this test
 * makes (unshare), so the host's is never touched. A node agent's
 * discovery reads the node's namespaces, as test_node_discovery.sh does.
 * Needs root; exits 77 otherwise.
 */
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/fault.h"
#include "agent/pgconn.h"
#include "agent/session.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/wire.h"
#include "tests/support/event_sink.h"
#include "tests/support/loopback.h"
#include "tests/support/shell.h"

#define LEASE_MS 500
/* past the lease: the agent's own share is milliseconds; the rest is this
 * test's looking (an nsenter and an nft per look, slower on a busy machine) */
#define BOUND_MS 300
#define WATCH_MS 8000 /* how long A's rules are watched at most */
#define PEER "10.233.9.1"
#define PROBE_LEASE_MS 3000 /* a probe's lease with no heartbeat (agent/lease.h) */

/* A network namespace of a child of ours (node mode's targets). */
struct netns_child {
	pid_t    pid;
	char     key[24]; /* its inode, as discovery names it */
	uint16_t port;    /* a listener that never answers, or 0 */
};

/* B's apply, on a thread of its own as the session thread would run it. */
struct slow_apply {
	struct session_handler *h;
	Chaos__V1__Command     *cmd;
	Chaos__V1__Ack          ack;
	atomic_bool             done;
	int64_t                 done_us;
};

static void
lo_up(void)
{
	struct ifreq ifr = {0};
	int          fd  = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		abort();
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		abort();
	close(fd);
}

/* A child in a new network namespace, with loopback up and, if asked, a
 * listener there that takes connections (the kernel's backlog) and never
 * says a word. */
static void
netns_child_start(struct netns_child *c, bool listener)
{
	int         pfd[2];
	uint16_t    port = 0;
	char        path[64];
	struct stat st;

	assert_int_equal(pipe(pfd), 0);
	if ((c->pid = fork()) == 0) {
		int fd;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) != 0)
			_exit(1);
		lo_up();
		if (listener && (fd = loopback_listen(16, &port)) < 0)
			_exit(1);
		(void)!write(pfd[1], &port, sizeof(port));
		for (;;)
			pause();
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &port, sizeof(port)), (ssize_t)sizeof(port));
	close(pfd[0]);
	c->port = port;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)c->pid);
	assert_int_equal(stat(path, &st), 0);
	snprintf(c->key, sizeof(c->key), "%llu", (unsigned long long)st.st_ino);
}

static void
netns_child_stop(struct netns_child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
}

/* A command applying spec (its kind set; copied: the agent takes it) as
 * fault_id with lease_ms in target (NULL: the agent's own namespace). */
static Chaos__V1__Command *
apply_command(uint64_t id, const char *target, const char *fault_id, uint32_t lease_ms,
              Chaos__V1__FaultSpec *spec)
{
	Chaos__V1__Command *cmd = calloc(1, sizeof(*cmd));

	assert_non_null(cmd);
	spec->fault_id        = (char *)fault_id;
	spec->target          = (char *)target;
	spec->lease_ms        = lease_ms;
	spec->hard_end_ctl_us = clk_now_us() + 60 * 1000000LL;
	chaos__v1__command__init(cmd);
	cmd->command_id  = id;
	cmd->target      = (char *)target;
	cmd->body_case   = CHAOS__V1__COMMAND__BODY_APPLY_FAULT;
	cmd->apply_fault = wire_copy(&spec->base);
	assert_non_null(cmd->apply_fault);
	return cmd;
}

static void
command_free(Chaos__V1__Command *cmd)
{
	if (cmd->apply_fault != NULL) /* not taken */
		chaos__v1__fault_spec__free_unpacked(cmd->apply_fault, NULL);
	free(cmd);
}

/* Runs one command as the session does and returns its ack status. */
static int
run_command(struct session_handler *h, Chaos__V1__Command *cmd, Chaos__V1__Ack *ack)
{
	Chaos__V1__Ack *acks[1] = {ack};

	chaos__v1__ack__init(ack);
	ack->command_id = cmd->command_id;
	h->commands(h->arg, &cmd, 1, acks);
	return ack->status;
}

/* Fault A: a partition from PEER, lease LEASE_MS. */
static Chaos__V1__Command *
partition_command(uint64_t id, const char *target)
{
	Chaos__V1__FaultSpec      spec     = CHAOS__V1__FAULT_SPEC__INIT;
	Chaos__V1__PartitionFault part     = CHAOS__V1__PARTITION_FAULT__INIT;
	char                      cidr[]   = PEER "/32";
	char                     *peers[1] = {cidr};

	part.peers     = peers;
	part.n_peers   = 1;
	spec.kind_case = CHAOS__V1__FAULT_SPEC__KIND_PARTITION;
	spec.partition = &part;
	return apply_command(id, target, "lease-a", LEASE_MS, &spec);
}

/* Fault B: pg_terminate against 127.0.0.1:port, which never answers. */
static Chaos__V1__Command *
pgterm_command(uint64_t id, const char *target, uint16_t port, uint32_t lease_ms)
{
	Chaos__V1__FaultSpec        spec = CHAOS__V1__FAULT_SPEC__INIT;
	Chaos__V1__PgTerminateFault pt   = CHAOS__V1__PG_TERMINATE_FAULT__INIT;
	char                        dsn[128];

	snprintf(dsn, sizeof(dsn),
	         "host=127.0.0.1 port=%u dbname=none user=none sslmode=disable", port);
	pt.dsn            = dsn;
	spec.kind_case    = CHAOS__V1__FAULT_SPEC__KIND_PG_TERMINATE;
	spec.pg_terminate = &pt;
	return apply_command(id, target, "slow-b", lease_ms, &spec);
}

/* What the session thread does with a reply: its commands, then a tick. */
static void *
slow_apply_main(void *arg)
{
	struct slow_apply *s = arg;

	run_command(s->h, s->cmd, &s->ack);
	s->done_us = clk_mono_us();
	atomic_store(&s->done, true);
	s->h->tick(s->h->arg, clk_mono_us());
	return NULL;
}

/* Whether the nftables table of the namespace (ours when pid is 0) still
 * holds A's rule. */
static bool
rules_of_a_present(pid_t pid)
{
	const char *out = pid == 0
	    ? shell_out("nft list table inet " FAULT_TABLE_NAME " 2>&1")
	    : shell_out(
	          "nsenter --net=/proc/%d/ns/net nft list table inet " FAULT_TABLE_NAME
	          " 2>&1",
	          (int)pid);

	return strstr(out, PEER) != NULL;
}

/*
 * Applies A (in a_target, whose namespace is a_pid's: 0 for ours), starts
 * B on its thread, and checks A's rules leave the kernel within
 * LEASE_MS + BOUND_MS of A's apply while B is still being applied.
 */
static void
check_lease_during_slow_apply(struct session_handler *h, const char *a_target,
                              pid_t a_pid, const char *b_target, uint16_t b_port)
{
	Chaos__V1__Command *a = partition_command(1, a_target);
	struct slow_apply s = {.h = h, .cmd = pgterm_command(2, b_target, b_port, 20000)};
	Chaos__V1__Ack    ack;
	pthread_t         th;
	int64_t           t0 = clk_mono_us(), gone_us = 0;
	bool              b_running_then = false;

	if (run_command(h, a, &ack) != CHAOS__V1__STATUS__STATUS_OK)
		fail_msg("apply A: %s", ack.error ? ack.error : "(no reason)");
	assert_true(rules_of_a_present(a_pid));
	assert_int_equal(pthread_create(&th, NULL, slow_apply_main, &s), 0);
	while (clk_mono_us() - t0 < (int64_t)WATCH_MS * 1000) {
		bool running = !atomic_load(&s.done);
		if (!rules_of_a_present(a_pid)) {
			gone_us        = clk_mono_us() - t0;
			b_running_then = running;
			break;
		}
		usleep(10000);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	print_message(
	    "A's rules gone %lld ms after its apply (lease %d ms); B's apply "
	    "took %lld ms and %s\n",
	    (long long)(gone_us / 1000), LEASE_MS, (long long)((s.done_us - t0) / 1000),
	    s.ack.status == CHAOS__V1__STATUS__STATUS_OK ? "succeeded" : "failed");
	assert_true(gone_us > 0);
	assert_true(gone_us >= (int64_t)LEASE_MS * 1000);
	assert_true(gone_us <= (int64_t)(LEASE_MS + BOUND_MS) * 1000);
	assert_true(b_running_then); /* not a tick after B's apply */
	assert_int_equal(s.ack.status, CHAOS__V1__STATUS__STATUS_FAILED);
	command_free(a);
	command_free(s.cmd);
}

/* An agent driven as its session thread would, its events to a sink. */
struct driven {
	struct event_sink      sink;
	struct agent          *a;
	struct session_handler h;
};

static void
driven_start(struct driven *d, const char *name, bool node_mode)
{
	chaos_why why = {{0}};

	assert_int_equal(event_sink_open(&d->sink, name, &why), CHAOS_OK);
	if (agent_new(d->sink.ev, NULL, node_mode, &d->a, &why) != CHAOS_OK)
		fail_msg("agent: %s", why.text);
	agent_session_handler(d->a, &d->h);
}

static void
driven_stop(struct driven *d)
{
	agent_free(d->a);
	event_sink_close(&d->sink);
}

static void
test_sidecar_lease_ends_on_time_during_a_slow_apply(void **state)
{
	struct driven d;
	uint16_t      port;
	int           lfd = loopback_listen(16, &port);

	(void)state;
	assert_true(lfd >= 0);
	driven_start(&d, "lease_apply_sc", false);
	check_lease_during_slow_apply(&d.h, NULL, 0, NULL, port);
	driven_stop(&d);
	assert_false(rules_of_a_present(0));
	close(lfd);
}

static void
test_node_lease_ends_on_time_during_a_slow_apply(void **state)
{
	struct driven      d;
	struct netns_child x = {0}, y = {0};

	(void)state;
	netns_child_start(&x, false);
	netns_child_start(&y, true);
	/* discovery's first scan, at the start, finds x and y */
	driven_start(&d, "lease_apply_node", true);
	check_lease_during_slow_apply(&d.h, x.key, x.pid, y.key, y.port);
	driven_stop(&d);
	assert_false(rules_of_a_present(x.pid));
	netns_child_stop(&x);
	netns_child_stop(&y);
}

/* A slow step of an apply gives up when the fault's own lease ends: the
 * fault would be reverted then anyway, and the tick leaves a fault alone
 * while its apply runs. */
static void
test_a_slow_apply_gives_up_at_its_own_lease_end(void **state)
{
	struct driven       d;
	Chaos__V1__Ack      ack;
	Chaos__V1__Command *cmd;
	uint16_t            port;
	int                 lfd = loopback_listen(16, &port);
	int64_t             t0, took;

	(void)state;
	assert_true(lfd >= 0);
	driven_start(&d, "lease_apply_own", false);
	cmd = pgterm_command(3, NULL, port, LEASE_MS);
	t0  = clk_mono_us();
	assert_int_equal(run_command(&d.h, cmd, &ack), CHAOS__V1__STATUS__STATUS_FAILED);
	took = clk_mono_us() - t0;
	print_message("the apply gave up after %lld ms (lease %d ms): %s\n",
	              (long long)(took / 1000), LEASE_MS, ack.error ? ack.error : "");
	assert_true(took <= (int64_t)(LEASE_MS + BOUND_MS) * 1000);
	command_free(cmd);
	driven_stop(&d);
	close(lfd);
}

/* Counts the connections made to a listener, and when the last came. */
struct accept_watch {
	int         fd;
	atomic_bool stop;
	atomic_long n;
	int64_t     last_us; /* clk_mono_us() */
	pthread_t   th;
};

static void *
accept_watch_main(void *arg)
{
	struct accept_watch *w = arg;

	for (int i = 0; i < 2000 && !atomic_load(&w->stop); i++) { /* 20 s at most */
		struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
		int           c;
		if (poll(&pfd, 1, 10) != 1 || (c = accept(w->fd, NULL, NULL)) < 0)
			continue;
		close(c);
		w->last_us = clk_mono_us();
		atomic_fetch_add(&w->n, 1);
	}
	return NULL;
}

/* A TCP probe of 127.0.0.1:port every 50 ms, as command id. */
static Chaos__V1__Command *
probe_command(uint64_t id, uint16_t port)
{
	Chaos__V1__Command   *cmd = calloc(1, sizeof(*cmd));
	Chaos__V1__ProbeSpec *ps  = calloc(1, sizeof(*ps));
	char                  target[32];

	assert_true(cmd != NULL && ps != NULL);
	chaos__v1__probe_spec__init(ps);
	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	ps->probe_id    = "lease-probe";
	ps->kind        = CHAOS__V1__PROBE_KIND__PROBE_KIND_TCP;
	ps->target      = target;
	ps->interval_ms = 50;
	ps->timeout_ms  = 40;
	chaos__v1__command__init(cmd);
	cmd->command_id  = id;
	cmd->body_case   = CHAOS__V1__COMMAND__BODY_START_PROBE;
	cmd->start_probe = wire_copy(&ps->base);
	assert_non_null(cmd->start_probe);
	free(ps);
	return cmd;
}

/* A probe whose lease runs out (no reply renews it) stops on time even
 * while the agent is busy applying: here two slow pg_terminates in one
 * reply, about twice a probe's lease. The probe's connections stop coming
 * within PROBE_LEASE_MS + BOUND_MS of its start. */
static void
test_a_probe_stops_at_its_lease_end_during_a_slow_apply(void **state)
{
	struct driven       d;
	struct accept_watch w = {.fd = -1};
	Chaos__V1__Command *probe, *slow[2];
	Chaos__V1__Ack      ack, acks_v[2], *acks[2] = {&acks_v[0], &acks_v[1]};
	uint16_t            pport, sport;
	int                 lfd = loopback_listen(16, &sport);
	int64_t             t0, last;

	(void)state;
	assert_true(lfd >= 0);
	assert_true((w.fd = loopback_listen(64, &pport)) >= 0);
	assert_int_equal(pthread_create(&w.th, NULL, accept_watch_main, &w), 0);
	driven_start(&d, "lease_apply_probe", false);
	probe = probe_command(10, pport);
	t0    = clk_mono_us();
	assert_int_equal(run_command(&d.h, probe, &ack), CHAOS__V1__STATUS__STATUS_OK);
	/* the poll's reply, from controller instance 42, that grants its lease */
	d.h.leases(d.h.arg, t0, 42, NULL, 0);
	/* the same fault id twice: the first fails, so the second applies anew */
	slow[0] = pgterm_command(11, NULL, sport, 20000);
	slow[1] = pgterm_command(12, NULL, sport, 20000);
	for (int i = 0; i < 2; i++) {
		chaos__v1__ack__init(acks[i]);
		acks[i]->command_id = slow[i]->command_id;
	}
	d.h.commands(d.h.arg, slow, 2, acks);
	last = w.last_us;
	print_message("probe: %ld connections, the last %lld ms after its start "
	              "(lease %d ms); the slow reply took %lld ms\n",
	              atomic_load(&w.n), (long long)((last - t0) / 1000), PROBE_LEASE_MS,
	              (long long)((clk_mono_us() - t0) / 1000));
	atomic_store(&w.stop, true);
	pthread_join(w.th, NULL);
	assert_true(atomic_load(&w.n) > 10);
	assert_true(clk_mono_us() - t0 > (int64_t)(PROBE_LEASE_MS + BOUND_MS) * 1000);
	assert_true(last - t0 <= (int64_t)(PROBE_LEASE_MS + BOUND_MS) * 1000);
	for (int i = 0; i < 2; i++)
		command_free(slow[i]);
	chaos__v1__probe_spec__free_unpacked(probe->start_probe, NULL);
	free(probe);
	driven_stop(&d);
	close(w.fd);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sidecar_lease_ends_on_time_during_a_slow_apply),
	    cmocka_unit_test(test_node_lease_ends_on_time_during_a_slow_apply),
	    cmocka_unit_test(test_a_slow_apply_gives_up_at_its_own_lease_end),
	    cmocka_unit_test(test_a_probe_stops_at_its_lease_end_during_a_slow_apply),
	};
	chaos_why why = {{0}};

	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root (network namespaces of its own)\n");
		return 77;
	}
	if (pgconn_available(&why) != CHAOS_OK) {
		fprintf(stderr, "skip: %s\n", why.text);
		return 77;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	lo_up();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
