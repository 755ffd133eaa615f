// SPDX-License-Identifier: MIT
#include "tests/bench/swarm_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "tests/bench/swarm_agents.h"

#define CHILD_READY_MS 60000 /* 5000 agents open 10000 sockets first */
#define CHILD_ANSWER_MS 30000
#define CHILD_RTT_CAP (1u << 20)

/* ---- the parent's side ---- */

/* The next line from the child (without its newline) within ms; false on
 * EOF, error or timeout. */
static bool
child_line(struct swarm_child *c, char *out, size_t len, int ms)
{
	int64_t until = clk_mono_us() + (int64_t)ms * 1000;
	char   *nl;
	size_t  line;

	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		struct pollfd p    = {.fd = c->from, .events = POLLIN};
		int           left = (int)((until - clk_mono_us()) / 1000);
		ssize_t       got;
		if (left <= 0 || c->len == sizeof(c->buf) || poll(&p, 1, left) <= 0 ||
		    (got = read(c->from, c->buf + c->len, sizeof(c->buf) - c->len)) <= 0)
			return false;
		c->len += (size_t)got;
	}
	line = (size_t)(nl - c->buf);
	memcpy(out, c->buf, line < len ? line : len - 1);
	out[line < len ? line : len - 1] = '\0';
	c->len -= (size_t)(nl + 1 - c->buf);
	memmove(c->buf, nl + 1, c->len);
	return true;
}

static bool
child_ask(struct swarm_child *c, const char *cmd, char *buf, size_t len)
{
	size_t n = strlen(cmd);

	if (write(c->to, cmd, n) != (ssize_t)n || write(c->to, "\n", 1) != 1)
		return false;
	return child_line(c, buf, len, CHILD_ANSWER_MS);
}

static void
child_exec(const char *self, int in, int out, char *const *argv)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
		_exit(127);
	execv(self, argv);
	_exit(127);
}

chaos_err
swarm_child_start(const char *self, size_t n, const char *session_url,
                  const char *events_url, struct swarm_child *c, chaos_why *why)
{
	int   to[2] = {-1, -1}, from[2] = {-1, -1};
	char  count[32], line[64];
	char *argv[] = {(char *)self,        SWARM_CHILD_FLAG,   count,
	                (char *)session_url, (char *)events_url, NULL};

	memset(c, 0, sizeof(*c));
	c->to = c->from = -1;
	snprintf(count, sizeof(count), "%zu", n);
	if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0 ||
	    (c->pid = fork()) < 0) {
		c->pid = 0;
		for (int i = 0; i < 2; i++) {
			if (to[i] >= 0)
				close(to[i]);
			if (from[i] >= 0)
				close(from[i]);
		}
		return chaos_fail(why, CHAOS_ESYS, "cannot start the agents' process");
	}
	if (c->pid == 0)
		child_exec(self, to[0], from[1], argv);
	close(to[0]);
	close(from[1]);
	c->to   = to[1];
	c->from = from[0];
	if (!child_line(c, line, sizeof(line), CHILD_READY_MS) ||
	    strcmp(line, "ready") != 0)
		return chaos_fail(why, CHAOS_ECONN,
		                  "the agents' process did not get ready (%zu agents: "
		                  "open-file limit?)",
		                  n);
	return CHAOS_OK;
}

void
swarm_child_kill(struct swarm_child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
	if (c->to >= 0)
		close(c->to);
	if (c->from >= 0)
		close(c->from);
	c->to = c->from = -1;
}

bool
swarm_child_rtt_on(struct swarm_child *c)
{
	char line[64];

	return child_ask(c, "rtt-on", line, sizeof(line)) && strncmp(line, "ok", 2) == 0;
}

bool
swarm_child_rtt_off(struct swarm_child *c, size_t *n, double *p50_us, double *p99_us)
{
	char line[128];

	return child_ask(c, "rtt-off", line, sizeof(line)) &&
	    sscanf(line, "rtt %zu %lf %lf", n, p50_us, p99_us) == 3;
}

/* ---- the agents' process ---- */

static void
child_rtt(struct swarm *sw)
{
	int64_t *us = calloc(CHILD_RTT_CAP, sizeof(*us));
	double  *v  = calloc(CHILD_RTT_CAP, sizeof(*v));
	size_t   n  = 0;

	swarm_collect_rtt(sw, false);
	if (us != NULL && v != NULL)
		n = swarm_take_rtt(sw, us, CHILD_RTT_CAP);
	for (size_t i = 0; i < n; i++)
		v[i] = (double)us[i];
	printf("rtt %zu %.0f %.0f\n", n, swarm_percentile(v, n, 50),
	       swarm_percentile(v, n, 99));
	free(us);
	free(v);
}

static void
child_serve(struct swarm *sw)
{
	char line[64];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strncmp(line, "rtt-on", 6) == 0) {
			swarm_collect_rtt(sw, true);
			printf("ok\n");
		} else if (strncmp(line, "rtt-off", 7) == 0) {
			child_rtt(sw);
		} else {
			printf("error unknown command\n");
		}
		fflush(stdout);
	}
}

int
swarm_child_main(int argc, char **argv)
{
	struct swarm *sw  = NULL;
	chaos_why     why = {{0}};
	long          n   = argc == 4 ? atol(argv[1]) : 0;

	if (n <= 0) {
		fprintf(stderr, "usage: %s N SESSION_URL EVENTS_URL\n", SWARM_CHILD_FLAG);
		return 2;
	}
	if (swarm_start(argv[2], argv[3], (size_t)n, "swarm", &sw, &why) != CHAOS_OK) {
		fprintf(stderr, "agents: %s\n", why.text);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	child_serve(sw);
	/* the parent is gone or done: exit without closing (see the header) */
	_exit(0);
}
