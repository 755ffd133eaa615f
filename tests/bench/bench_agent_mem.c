// SPDX-License-Identifier: MIT
/*
 * The memory of an idle sidecar agent. A real chaos-agent (role blockchain,
 * as in a chain pod) connects to a real chaos-controller over ipc://; once
 * the controller lists it as connected and it has sat idle for IDLE_S
 * seconds, its figures are read from /proc: RSS, PSS and private memory
 * (smaps_rollup), anonymous memory, threads and mapped shared objects.
 * The bar: idle RSS at most BAR_RSS_KIB; exit 1 above it.
 *
 * Side by side, in the same run: a second agent (role coordinator) with a
 * PostgreSQL probe and an HTTP probe running, each every PROBE_INTERVAL_MS,
 * measured after PROBE_SAMPLES samples of each: what an agent costs while
 * it works, and that libpq (loaded when a PostgreSQL probe or fault first
 * needs it) is paid for only then. The real controller starts probes only
 * inside a scenario (targets, faults, a run), so a controller stand-in of
 * this process (standin.h) sends that agent the two probes over the real
 * wire protocol. The PostgreSQL probe's target is a closed loopback port:
 * libpq is loaded and connects, no server is needed.
 *
 * As root, everything runs in a network namespace of the bench's own, so
 * the agents' startup nftables check and the probes' traffic stay off the
 * host's; otherwise the agents lack CAP_NET_ADMIN and touch no nftables.
 * Prints a table and one JSON line.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/wire.h"
#include "controller/chaosctl/client.h"
#include "tests/bench/standin.h"
#include "tests/support/http_srv.h"
#include "tests/support/loopback.h"
#include "tests/support/procmem.h"
#include "tests/support/shell.h"
#include "tests/support/wire_fix.h"

#define BAR_RSS_KIB 5120 /* 5 MiB */
#define IDLE_S 3
#define CONNECT_TIMEOUT_S 10
#define PROBE_INTERVAL_MS 200
#define PROBE_SAMPLES 5
#define PROBE_WAIT_S 15
#define STOP_WAIT_MS 3000

enum { CHILD_CONTROLLER, CHILD_IDLE, CHILD_PROBING, N_CHILDREN };

static char  dir[64];
static pid_t children[N_CHILDREN];

/* ---- processes ---- */

/* Starts argv[0] with env as its whole environment, output to dir/log. */
static pid_t
bench_spawn(const char *log, char *const argv[], char *const env[])
{
	char  path[128];
	int   fd;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", dir, log);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execve(argv[0], argv, env);
		_exit(127);
	}
	close(fd);
	return pid;
}

/* SIGTERM (the agent reverts and exits), SIGKILL if it takes too long. */
static void
bench_kill(pid_t *pid)
{
	int64_t until = clk_mono_us() + (int64_t)STOP_WAIT_MS * 1000;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	while (waitpid(*pid, NULL, WNOHANG) == 0) {
		if (clk_mono_us() > until) {
			kill(*pid, SIGKILL);
			waitpid(*pid, NULL, 0);
			break;
		}
		usleep(20000);
	}
	*pid = 0;
}

static void
bench_cleanup(void)
{
	char cmd[128];

	for (int i = N_CHILDREN; i-- > 0;)
		bench_kill(&children[i]);
	if (dir[0] != '\0' && getenv("KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
}

/* A network namespace of our own with lo up (root only). Returns 0 when
 * made or not needed (not root), -1 on failure. */
static int
bench_netns(void)
{
	struct ifreq ifr = {0};
	int          fd, rc;

	if (geteuid() != 0)
		return 0;
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	rc = rc == 0 ? ioctl(fd, SIOCSIFFLAGS, &ifr) : rc;
	close(fd);
	return rc == 0 ? 0 : -1;
}

/* ---- the controller and the agents ---- */

static pid_t
bench_controller(const char *bin)
{
	char  listen[96], control[96];
	char *argv[] = {(char *)bin, "--listen", listen, "--plaintext",
	                "--control", control,    NULL};
	char *env[]  = {"PATH=/usr/bin:/bin", NULL};

	snprintf(listen, sizeof(listen), "ipc://%s/session.sock", dir);
	snprintf(control, sizeof(control), "ipc://%s/control.sock", dir);
	return bench_spawn("controller.log", argv, env);
}

static pid_t
bench_agent(const char *bin, const char *pod, const char *role, const char *sock)
{
	char  url[96], pod_env[64], role_env[64];
	char *argv[] = {(char *)bin, "--controller", url, "--plaintext", NULL};
	char *env[]  = {"PATH=/usr/bin:/bin", pod_env, "CHAOS_NAMESPACE=bench", role_env,
	                NULL};
	char  log[64];

	snprintf(url, sizeof(url), "ipc://%s/%s", dir, sock);
	snprintf(pod_env, sizeof(pod_env), "CHAOS_POD_NAME=%s", pod);
	snprintf(role_env, sizeof(role_env), "CHAOS_ROLE=%s", role);
	snprintf(log, sizeof(log), "agent-%s.log", pod);
	return bench_spawn(log, argv, env);
}

/* Whether the controller lists pod as connected. */
static bool
bench_listed(const char *pod)
{
	char                         url[96];
	struct ctl_target            t   = {.url = url, .timeout_ms = 1000};
	Chaos__V1__ListAgentsRequest la  = CHAOS__V1__LIST_AGENTS_REQUEST__INIT;
	Chaos__V1__ControlRequest    req = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__ControlResponse  *resp;
	bool                         ok = false;

	snprintf(url, sizeof(url), "ipc://%s/control.sock", dir);
	req.protocol_version = WIRE_VERSION;
	req.body_case        = CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS;
	req.list_agents      = &la;
	if (ctl_call(&t, &req, &resp, NULL) != CHAOS_OK)
		return false;
	for (size_t i = 0; i < resp->n_agents; i++)
		ok |= strcmp(resp->agents[i]->identity->pod, pod) == 0 &&
		    resp->agents[i]->state ==
		        CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED;
	wire_free(resp);
	return ok;
}

/* The idle sidecar: connected, then IDLE_S seconds of nothing. */
static int
bench_idle(const char *agent_bin, const char *controller_bin, struct procmem *m)
{
	int64_t until = clk_mono_us() + (int64_t)CONNECT_TIMEOUT_S * 1000000;

	if ((children[CHILD_CONTROLLER] = bench_controller(controller_bin)) < 0 ||
	    (children[CHILD_IDLE] =
	         bench_agent(agent_bin, "idle-0", "blockchain", "session.sock")) < 0)
		return -1;
	while (!bench_listed("idle-0")) {
		if (clk_mono_us() > until) {
			fprintf(stderr,
			        "the agent was not connected within %d s (logs: %s)\n",
			        CONNECT_TIMEOUT_S, dir);
			return -1;
		}
		usleep(100000);
	}
	sleep(IDLE_S);
	if (procmem_read(children[CHILD_IDLE], m) != 0) {
		fprintf(stderr, "cannot read /proc/%d\n", (int)children[CHILD_IDLE]);
		return -1;
	}
	return 0;
}

/* ---- the agent with probes ---- */

static atomic_int height;

static bool
bench_route(struct http_srv *s, int fd, const char *path)
{
	char body[64];

	(void)s;
	(void)path;
	snprintf(body, sizeof(body), "{\"height\":%d}", atomic_fetch_add(&height, 1));
	http_srv_reply(fd, 200, "Content-Type: application/json\r\n", body);
	return true;
}

/* Waits for PROBE_SAMPLES of each probe. Returns 0, or -1 (said why). */
static int
bench_wait_samples(struct standin *si)
{
	int64_t until = clk_mono_us() + (int64_t)PROBE_WAIT_S * 1000000;

	while (standin_samples(si, 0) < PROBE_SAMPLES ||
	       standin_samples(si, 1) < PROBE_SAMPLES) {
		if (standin_acked_ok(si, 0) < 0 || standin_acked_ok(si, 1) < 0) {
			fprintf(stderr, "the agent refused a probe (logs: %s)\n", dir);
			return -1;
		}
		if (clk_mono_us() > until) {
			fprintf(
			    stderr, "only %d PostgreSQL and %d HTTP samples in %d s\n",
			    standin_samples(si, 0), standin_samples(si, 1), PROBE_WAIT_S);
			return -1;
		}
		usleep(100000);
	}
	return 0;
}

static int
bench_probing(const char *agent_bin, struct procmem *m, int samples[2])
{
	char                        url[96], dsn[128], http[96];
	struct http_srv             srv = {0};
	struct standin             *si  = NULL;
	chaos_why                   why = {{0}};
	Chaos__V1__ProbeSpec        pg, web;
	const Chaos__V1__ProbeSpec *specs[2] = {&pg, &web};
	int                         rv       = -1;

	if (http_srv_start(&srv, bench_route, NULL) != 0)
		return -1;
	snprintf(url, sizeof(url), "ipc://%s/standin.sock", dir);
	snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%u dbname=bench user=bench",
	         loopback_closed_port());
	snprintf(http, sizeof(http), "http://127.0.0.1:%u/height", srv.port);
	pg  = wire_fix_probe_spec("pg", CHAOS__V1__PROBE_KIND__PROBE_KIND_POSTGRES, dsn,
	                          PROBE_INTERVAL_MS, 1000);
	web = wire_fix_probe_spec("http", CHAOS__V1__PROBE_KIND__PROBE_KIND_HTTP, http,
	                          PROBE_INTERVAL_MS, 1000);
	if (standin_start(url, specs, 2, &si, &why) != CHAOS_OK) {
		fprintf(stderr, "%s\n", why.text);
		goto out;
	}
	if ((children[CHILD_PROBING] = bench_agent(agent_bin, "probing-0", "coordinator",
	                                           "standin.sock")) < 0 ||
	    bench_wait_samples(si) != 0)
		goto out;
	if (procmem_read(children[CHILD_PROBING], m) != 0)
		goto out;
	samples[0] = standin_samples(si, 0);
	samples[1] = standin_samples(si, 1);
	rv         = 0;
out:
	bench_kill(&children[CHILD_PROBING]);
	standin_stop(si);
	http_srv_stop(&srv);
	return rv;
}

/* ---- report ---- */

static void
bench_row(const char *what, const struct procmem *m)
{
	printf("  %-28s %7ld %7ld %8ld %7ld %8ld %8ld\n", what, m->rss_kib, m->pss_kib,
	       m->private_kib, m->anon_kib, m->threads, m->shared_objects);
}

static void
bench_json(const char *key, const struct procmem *m)
{
	printf("\"%s_rss_kib\":%ld,\"%s_pss_kib\":%ld,\"%s_private_kib\":%ld,"
	       "\"%s_anon_kib\":%ld,\"%s_threads\":%ld,\"%s_shared_objects\":%ld,",
	       key, m->rss_kib, key, m->pss_kib, key, m->private_kib, key, m->anon_kib,
	       key, m->threads, key, m->shared_objects);
}

static void
bench_report(const struct procmem *idle, const struct procmem *probing,
             const int samples[2], bool pass)
{
	printf("agent memory (KiB; %ld CPUs online)\n", sysconf(_SC_NPROCESSORS_ONLN));
	printf("  %-28s %7s %7s %8s %7s %8s %8s\n", "", "RSS", "PSS", "private", "anon",
	       "threads", "objects");
	bench_row("idle sidecar (the bar)", idle);
	bench_row("PostgreSQL + HTTP probes", probing);
	printf("bar: idle RSS <= %d KiB: %s\n", BAR_RSS_KIB, pass ? "met" : "MISSED");
	printf("{\"bench\":\"agent_mem\",\"cpus\":%ld,", sysconf(_SC_NPROCESSORS_ONLN));
	bench_json("idle", idle);
	bench_json("probing", probing);
	printf("\"probing_pg_samples\":%d,\"probing_http_samples\":%d,"
	       "\"bar_idle_rss_kib\":%d,\"pass\":%s}\n",
	       samples[0], samples[1], BAR_RSS_KIB, pass ? "true" : "false");
}

int
main(int argc, char **argv)
{
	struct procmem idle = {0}, probing = {0};
	int            samples[2] = {0, 0}, rv = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CHAOS-AGENT CHAOS-CONTROLLER\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "/tmp/bench_agent_mem.XXXXXX");
	if (mkdtemp(dir) == NULL || bench_netns() != 0) {
		fprintf(stderr, "cannot set up: %s\n", strerror(errno));
		return 1;
	}
	shell_cleanup_on_signals(bench_cleanup);
	signal(SIGPIPE, SIG_IGN);
	if (bench_idle(argv[1], argv[2], &idle) != 0 ||
	    bench_probing(argv[1], &probing, samples) != 0)
		goto out;
	bench_report(&idle, &probing, samples, idle.rss_kib <= BAR_RSS_KIB);
	rv = idle.rss_kib <= BAR_RSS_KIB ? 0 : 1;
out:
	bench_cleanup();
	return rv;
}
