// SPDX-License-Identifier: MIT
#include "tests/bench/swarm_ctl.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "common/clock.h"
#include "common/wire.h"
#include "controller/chaosctl/client.h"
#include "tests/support/shell.h"

#define CTL_READY_MS 10000
#define CTL_STOP_MS 10000
#define CTL_STATUS_POLL_MS 5
#define CTL_RUN_MAX_MS 300000

/* A loopback TCP port that is free now, and whose successor is too (the
 * events channel takes session port + 1). 0 when none was found. */
static uint16_t
ctl_free_port_pair(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a   = {.sin_family      = AF_INET,
		                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t          len = sizeof(a);
		int                s1 = socket(AF_INET, SOCK_STREAM, 0), s2 = -1;
		uint16_t           port = 0;
		if (s1 >= 0 && bind(s1, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    getsockname(s1, (struct sockaddr *)&a, &len) == 0 &&
		    ntohs(a.sin_port) < 65535) {
			a.sin_port = htons(ntohs(a.sin_port) + 1);
			s2         = socket(AF_INET, SOCK_STREAM, 0);
			if (s2 >= 0 && bind(s2, (struct sockaddr *)&a, sizeof(a)) == 0)
				port = ntohs(a.sin_port) - 1;
		}
		if (s1 >= 0)
			close(s1);
		if (s2 >= 0)
			close(s2);
		if (port != 0)
			return port;
	}
	return 0;
}

/* The child, after fork in a process with threads: only async-signal-safe
 * calls until exec. */
static void
ctl_exec(const char *exe, const struct swarm_ctl *c, const char *max)
{
	int fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	/* a bench killed (ctest's timeout) takes its controller with it */
	if (fd < 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || dup2(fd, 1) < 0 ||
	    dup2(fd, 2) < 0)
		_exit(127);
	execl(exe, exe, "--listen", c->session_url, "--control", c->control_url,
	      "--plaintext", "--max-agents", max, (char *)NULL);
	_exit(127);
}

static chaos_err
ctl_wait_ready(const struct swarm_ctl *c, chaos_why *why)
{
	int64_t until = clk_mono_us() + CTL_READY_MS * 1000LL;
	size_t  listed, connected;
	int     status;

	while (clk_mono_us() < until) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid)
			return chaos_fail(why, CHAOS_ECONN,
			                  "chaos-controller exited at start; see %s",
			                  c->log);
		if (swarm_ctl_agents(c, &listed, &connected, NULL, NULL) == CHAOS_OK)
			return CHAOS_OK;
		nng_msleep(50);
	}
	return chaos_fail(why, CHAOS_ETIMEDOUT,
	                  "chaos-controller did not answer within %d ms; see %s",
	                  CTL_READY_MS, c->log);
}

/* Removes a controller's directory: its socket (the controller removes it
 * when it exits well), its log, the directory. */
static void
ctl_remove_dir(const char *dir)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/control.sock", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/controller.log", dir);
	unlink(path);
	rmdir(dir);
}

/* Removes what a killed bench left: /tmp/chaos-swarm.<pid>.* whose pid is
 * gone (a SIGKILL, a CI timeout, gives no chance to clean up). */
static void
ctl_sweep_stale(void)
{
	DIR           *d = opendir("/tmp");
	struct dirent *de;
	char           dir[300];
	long           pid;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "chaos-swarm.%ld.", &pid) != 1 || pid <= 0 ||
		    (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(dir, sizeof(dir), "/tmp/%s", de->d_name);
		ctl_remove_dir(dir);
	}
	closedir(d);
}

/* The controller running now, for a SIGINT/SIGTERM/SIGHUP of the bench:
 * kill(), unlink() and rmdir() are async-signal-safe, so the handler ends it
 * and removes its directory (the sweep above is for SIGKILL only). */
static const struct swarm_ctl *ctl_live;

static void
ctl_on_signal(void)
{
	if (ctl_live == NULL)
		return;
	if (ctl_live->pid > 0)
		kill(ctl_live->pid, SIGTERM);
	if (ctl_live->dir[0] != '\0')
		ctl_remove_dir(ctl_live->dir);
}

chaos_err
swarm_ctl_start(const char *exe, size_t max_agents, struct swarm_ctl *c, chaos_why *why)
{
	uint16_t port = ctl_free_port_pair();
	char     max[32];

	memset(c, 0, sizeof(*c));
	snprintf(max, sizeof(max), "%zu", max_agents);
	ctl_sweep_stale();
	snprintf(c->dir, sizeof(c->dir), "/tmp/chaos-swarm.%ld.XXXXXX", (long)getpid());
	if (port == 0 || mkdtemp(c->dir) == NULL) {
		c->dir[0] = '\0';
		return chaos_fail(why, CHAOS_ESYS, "no free loopback port or temp dir");
	}
	snprintf(c->control_url, sizeof(c->control_url), "ipc://%s/control.sock", c->dir);
	snprintf(c->session_url, sizeof(c->session_url), "tcp://127.0.0.1:%u", port);
	snprintf(c->events_url, sizeof(c->events_url), "tcp://127.0.0.1:%u", port + 1);
	snprintf(c->log, sizeof(c->log), "%s/controller.log", c->dir);
	ctl_live = c;
	shell_cleanup_on_signals(ctl_on_signal);
	if ((c->pid = fork()) < 0)
		return chaos_fail(why, CHAOS_ESYS, "fork failed");
	if (c->pid == 0)
		ctl_exec(exe, c, max);
	return ctl_wait_ready(c, why);
}

void
swarm_ctl_stop(struct swarm_ctl *c)
{
	int64_t until = clk_mono_us() + CTL_STOP_MS * 1000LL;
	int     status;

	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		while (waitpid(c->pid, &status, WNOHANG) == 0) {
			if (clk_mono_us() > until) {
				kill(c->pid, SIGKILL);
				waitpid(c->pid, &status, 0);
				break;
			}
			nng_msleep(20);
		}
		c->pid = 0;
	}
	if (c->dir[0] == '\0')
		return;
	ctl_remove_dir(c->dir);
	c->dir[0] = '\0';
	if (ctl_live == c)
		ctl_live = NULL;
}

static chaos_err
ctl_request(const struct swarm_ctl *c, Chaos__V1__ControlRequest *req,
            Chaos__V1__ControlResponse **resp, chaos_why *why)
{
	struct ctl_target t = {.url = c->control_url, .timeout_ms = 30000};
	chaos_err         rv;

	if ((rv = ctl_call(&t, req, resp, why)) != CHAOS_OK)
		return rv;
	if ((*resp)->error != NULL) {
		rv = chaos_fail(why, CHAOS_EINVAL, "controller: %s", (*resp)->error);
		wire_free(*resp);
		*resp = NULL;
	}
	return rv;
}

chaos_err
swarm_ctl_agents(const struct swarm_ctl *c, size_t *listed, size_t *connected,
                 uint32_t *heartbeat_ms, chaos_why *why)
{
	Chaos__V1__ControlRequest    req  = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__ListAgentsRequest list = CHAOS__V1__LIST_AGENTS_REQUEST__INIT;
	Chaos__V1__ControlResponse  *resp = NULL;
	chaos_err                    rv;

	req.body_case   = CHAOS__V1__CONTROL_REQUEST__BODY_LIST_AGENTS;
	req.list_agents = &list;
	if ((rv = ctl_request(c, &req, &resp, why)) != CHAOS_OK)
		return rv;
	*listed    = resp->n_agents;
	*connected = 0;
	if (heartbeat_ms != NULL)
		*heartbeat_ms = resp->heartbeat_ms;
	for (size_t i = 0; i < resp->n_agents; i++)
		*connected += resp->agents[i]->state ==
		    CHAOS__V1__AGENT_STATE__AGENT_STATE_CONNECTED;
	wire_free(resp);
	return CHAOS_OK;
}

static bool
ctl_in_progress(int state)
{
	return state == CHAOS__V1__RUN_STATE__RUN_STATE_PLANNING ||
	    state == CHAOS__V1__RUN_STATE__RUN_STATE_RUNNING;
}

/* Polls the run's status until it ends; *resp is the final answer. */
static chaos_err
ctl_follow(const struct swarm_ctl *c, uint64_t id, Chaos__V1__ControlResponse **resp,
           chaos_why *why)
{
	Chaos__V1__ControlRequest   req    = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__RunStatusRequest status = CHAOS__V1__RUN_STATUS_REQUEST__INIT;
	int64_t                     until  = clk_mono_us() + CTL_RUN_MAX_MS * 1000LL;
	chaos_err                   rv;

	req.body_case  = CHAOS__V1__CONTROL_REQUEST__BODY_RUN_STATUS;
	req.run_status = &status;
	status.run_id  = id;
	while (clk_mono_us() < until) {
		if ((rv = ctl_request(c, &req, resp, why)) != CHAOS_OK)
			return rv;
		if (!ctl_in_progress((*resp)->run_state))
			return CHAOS_OK;
		wire_free(*resp);
		*resp = NULL;
		nng_msleep(CTL_STATUS_POLL_MS);
	}
	return chaos_fail(why, CHAOS_ETIMEDOUT, "run %llu did not end in %d s",
	                  (unsigned long long)id, CTL_RUN_MAX_MS / 1000);
}

chaos_err
swarm_ctl_run(const struct swarm_ctl *c, const char *scenario, const char *params,
              int64_t *t_request_us, int *state, json_t **result, chaos_why *why)
{
	Chaos__V1__ControlRequest   req  = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__RunRequest       run  = CHAOS__V1__RUN_REQUEST__INIT;
	Chaos__V1__ControlResponse *resp = NULL;
	chaos_err                   rv;

	run.scenario    = (char *)scenario;
	run.params_json = (char *)params;
	req.body_case   = CHAOS__V1__CONTROL_REQUEST__BODY_RUN;
	req.run         = &run;
	*result         = NULL;
	*t_request_us   = clk_now_us();
	if ((rv = ctl_request(c, &req, &resp, why)) != CHAOS_OK)
		return rv;
	if (!resp->has_run_id) {
		rv = chaos_fail(why, CHAOS_EINVAL, "run refused");
		wire_free(resp);
		return rv;
	}
	rv = ctl_follow(c, resp->run_id, &resp, why);
	if (rv == CHAOS_OK) {
		*state = resp->run_state;
		if (resp->result_json != NULL)
			*result = json_loads(resp->result_json, 0, NULL);
	}
	wire_free(resp);
	return rv;
}

/* The number after "key:" in /proc/<pid>/status (kB). */
static size_t
ctl_status_kib(const char *text, const char *key)
{
	const char *at = strstr(text, key);

	return at != NULL ? strtoul(at + strlen(key), NULL, 10) : 0;
}

/* /proc/<pid>/<name> into buf (len bytes, NUL-terminated); false when
 * unreadable. */
static bool
ctl_read_proc(pid_t pid, const char *name, char *buf, size_t len)
{
	char   path[64];
	FILE  *f;
	size_t got;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	got      = fread(buf, 1, len - 1, f);
	buf[got] = '\0';
	fclose(f);
	return true;
}

bool
swarm_ctl_proc(pid_t pid, struct swarm_proc *out)
{
	char               buf[4096], *p;
	unsigned long long ut = 0, st = 0;

	/* fields after the command name, which may hold spaces: utime is the
	 * 14th field, the 12th after ')' */
	if (!ctl_read_proc(pid, "stat", buf, sizeof(buf)) ||
	    (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
	           &st) != 2)
		return false;
	out->cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	if (!ctl_read_proc(pid, "status", buf, sizeof(buf)))
		return false;
	out->rss_kib = ctl_status_kib(buf, "VmRSS:");
	out->hwm_kib = ctl_status_kib(buf, "VmHWM:");
	return true;
}
