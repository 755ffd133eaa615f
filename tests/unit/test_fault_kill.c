// SPDX-License-Identifier: MIT
/*
 * The kill fault on real processes: children running a copy of sleep(1)
 * under a name unique to this test run. The namespace tests need root
 * (unshare(CLONE_NEWNET)) and are skipped without it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/fault_ops.h"
#include "common/err.h"
#include "tests/support/wait.h"

static char dir[64]; /* holds the copies of sleep */

static void
copy_file(const char *from, const char *to)
{
	int         in = open(from, O_RDONLY | O_CLOEXEC), out;
	struct stat st;

	assert_true(in >= 0);
	assert_int_equal(fstat(in, &st), 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(out >= 0);
	assert_int_equal(sendfile(out, in, NULL, (size_t)st.st_size), st.st_size);
	close(in);
	close(out);
}

/* A copy of sleep named name (unique per run), its path in path. */
static void
make_sleeper(const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", dir, name);
	copy_file("/bin/sleep", path);
}

/* Waits until the child at the other end of fd (its close-on-exec end of
 * a pipe) has exec'd: the kernel closes that end once the new program,
 * its name and its exe link are in place, and then fd reads end of file.
 * Checks that pid runs the program whose exe base name is name. */
static void
wait_exec(int fd, pid_t pid, const char *name)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char          link[64], exe[PATH_MAX], c;
	const char   *base;
	ssize_t       n;

	if (poll(&pfd, 1, WAIT_GENEROUS_MS) != 1 || read(fd, &c, 1) != 0)
		fail_msg("child %d did not exec %s", (int)pid, name);
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	base   = strrchr(exe, '/');
	if (base == NULL || strcmp(base + 1, name) != 0)
		fail_msg("child %d runs %s, not %s", (int)pid, exe, name);
}

/* Forks a child that runs path (as argv[0] = its base name) for 30 s,
 * first leaving for a new network namespace when new_netns. Returns its
 * pid once it runs the program, or -1 if the namespace was refused. */
static pid_t
spawn(const char *path, const char *exe_name, bool new_netns)
{
	int   p[2];
	char  ok = 0;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		char r = 1;
		if (new_netns && unshare(CLONE_NEWNET) != 0)
			r = 0;
		(void)!write(p[1], &r, 1);
		if (r)
			execl(path, strrchr(path, '/') + 1, "30", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &ok, 1), 1);
	if (!ok) {
		close(p[0]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	wait_exec(p[0], pid, exe_name);
	close(p[0]);
	return pid;
}

static Chaos__V1__FaultSpec
kill_spec(Chaos__V1__KillFault *k, const char *name, int sig)
{
	Chaos__V1__FaultSpec s = CHAOS__V1__FAULT_SPEC__INIT;

	chaos__v1__kill_fault__init(k);
	k->process_name = (char *)name;
	if (sig != 0) {
		k->has_signal = true;
		k->signal     = sig;
	}
	s.fault_id  = "kill-test";
	s.kind_case = CHAOS__V1__FAULT_SPEC__KIND_KILL;
	s.kill      = k;
	return s;
}

/* Runs the kill; err gets the APPLIED report's detail on success, the
 * reason on failure. */
static chaos_err
run_kill(const Chaos__V1__FaultSpec *s, char *err, size_t errlen)
{
	chaos_why why   = {{0}};
	void     *state = (void *)1;
	chaos_err rv    = fault_kill_ops.start(s, 0, &state, &why);

	assert_null(fault_kill_ops.to_nft); /* one-shot: no rules */
	assert_null(fault_kill_ops.after_commit);
	if (rv != CHAOS_OK) {
		assert_null(state);
		snprintf(err, errlen, "%.200s", why.text);
		return rv;
	}
	/* the state only carries the report: nothing is kept running */
	assert_non_null(state);
	fault_kill_ops.describe(state, err, errlen);
	fault_kill_ops.stop(state);
	return rv;
}

static void
assert_killed_by(pid_t pid, int sig)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), sig);
}

/* One test's target: the name <prefix><our pid>, a copy of sleep of that
 * name when the test runs one, and a spec that kills it with sig. */
struct kill_case {
	char                 name[32], path[128];
	Chaos__V1__KillFault k;
	Chaos__V1__FaultSpec s;
	char                 out[256]; /* the report's detail, or the reason */
};

static void
kill_case_init(struct kill_case *c, const char *prefix, int sig)
{
	snprintf(c->name, sizeof(c->name), "%s%d", prefix, (int)getpid());
	c->path[0] = '\0';
	c->out[0]  = '\0';
	c->s       = kill_spec(&c->k, c->name, sig);
}

/* kill_case_init() plus the program, started count times (in a network
 * namespace of its own when new_netns); the pids go to pids. Returns false
 * when that namespace was refused. */
static bool
kill_case_start(struct kill_case *c, const char *prefix, int sig, pid_t *pids, int count,
                bool new_netns)
{
	kill_case_init(c, prefix, sig);
	make_sleeper(c->name, c->path, sizeof(c->path));
	for (int i = 0; i < count; i++)
		if ((pids[i] = spawn(c->path, c->name, new_netns)) < 0)
			return false;
	return true;
}

static chaos_err
kill_case_run(struct kill_case *c)
{
	return run_kill(&c->s, c->out, sizeof(c->out));
}

static void
test_kill_signals_the_matching_process(void **state)
{
	struct kill_case c;
	pid_t            pid = -1;

	(void)state;
	assert_true(kill_case_start(&c, "ckill", 0, &pid, 1, false));
	assert_int_equal(kill_case_run(&c), CHAOS_OK);
	assert_non_null(strstr(c.out, "1 process"));
	assert_killed_by(pid, SIGKILL);
}

static void
test_kill_sends_the_signal_asked_for(void **state)
{
	struct kill_case c;
	pid_t            pids[2] = {-1, -1};

	(void)state;
	assert_true(kill_case_start(&c, "cterm", SIGTERM, pids, 2, false));
	assert_int_equal(kill_case_run(&c), CHAOS_OK);
	assert_non_null(strstr(c.out, "2 processes"));
	assert_killed_by(pids[0], SIGTERM);
	assert_killed_by(pids[1], SIGTERM);
}

static void
test_kill_matches_the_executable_when_comm_differs(void **state)
{
	struct kill_case c;
	char             link[128];
	pid_t            pid;

	(void)state;
	/* Run through a symlink: comm is the link's name, exe the file's. */
	kill_case_init(&c, "creal", 0);
	make_sleeper(c.name, c.path, sizeof(c.path));
	snprintf(link, sizeof(link), "%s/calias%d", dir, (int)getpid());
	assert_int_equal(symlink(c.path, link), 0);
	pid = spawn(link, c.name, false);
	assert_int_equal(kill_case_run(&c), CHAOS_OK);
	assert_killed_by(pid, SIGKILL);
	unlink(link);
}

static void
test_kill_without_a_match_is_enoent(void **state)
{
	struct kill_case c;

	(void)state;
	kill_case_init(&c, "cnone", 0);
	assert_int_equal(kill_case_run(&c), CHAOS_ENOENT);
	assert_non_null(strstr(c.out, c.name));
}

static void
test_kill_never_signals_the_agent_itself(void **state)
{
	struct kill_case c;
	char             old[32] = "";

	(void)state;
	kill_case_init(&c, "cself", 0);
	assert_int_equal(prctl(PR_GET_NAME, old), 0);
	assert_int_equal(prctl(PR_SET_NAME, c.name), 0);
	/* Only this process has the name: nothing to kill, and still alive. */
	assert_int_equal(kill_case_run(&c), CHAOS_ENOENT);
	prctl(PR_SET_NAME, old);
}

static void
test_kill_refuses_bad_specs(void **state)
{
	static const struct {
		const char *name, *target;
		int         sig;
		chaos_err   rv;
	} bad[] = {
	    {"", NULL, 0, CHAOS_EINVAL},
	    {"a/b", NULL, 0, CHAOS_EINVAL},
	    {"sleep", NULL, 999, CHAOS_EINVAL},
	    {"sleep", "no-such-netns-for-kill-test", 0, CHAOS_ENOENT},
	};
	char                 err[256];
	Chaos__V1__KillFault k;
	Chaos__V1__FaultSpec s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s        = kill_spec(&k, bad[i].name, bad[i].sig);
		s.target = (char *)bad[i].target;
		assert_int_equal(run_kill(&s, err, sizeof(err)), bad[i].rv);
	}
	assert_non_null(strstr(err, "/run/netns/no-such-netns-for-kill-test"));
}

/* A stopped process stays stopped after any revert, lease end or agent
 * exit: the stop-class signals are refused before anything is signalled,
 * with a reason that says what is allowed. */
static void
test_kill_refuses_signals_that_freeze(void **state)
{
	static const int freeze[] = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU};
	struct kill_case c;
	pid_t            pid = -1;
	int              status;

	(void)state;
	for (size_t i = 0; i < sizeof(freeze) / sizeof(freeze[0]); i++) {
		assert_true(kill_case_start(&c, "cstop", freeze[i], &pid, 1, false));
		assert_int_equal(kill_case_run(&c), CHAOS_EINVAL);
		assert_non_null(strstr(c.out, "except"));
		assert_non_null(strstr(c.out, "SIGSTOP"));
		assert_non_null(strstr(c.out, "SIGTTOU"));
		/* untouched: neither stopped nor ended */
		assert_int_equal(waitpid(pid, &status, WNOHANG | WUNTRACED), 0);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_killed_by(pid, SIGKILL);
	}
}

static void
test_kill_stays_in_the_target_network_namespace(void **state)
{
	struct kill_case c;
	char             nspath[64];
	pid_t            pid = -1;

	(void)state;
	if (!kill_case_start(&c, "cns", 0, &pid, 1, true))
		skip(); /* no CAP_SYS_ADMIN for a network namespace */
	/* In another namespace than ours: not ours to kill. */
	assert_int_equal(kill_case_run(&c), CHAOS_ENOENT);
	/* Named as the target (node mode), it is. */
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)pid);
	c.s.target = nspath;
	assert_int_equal(kill_case_run(&c), CHAOS_OK);
	assert_killed_by(pid, SIGKILL);
}

/* A process that is pid 1 of a new pid namespace, as a container's first
 * process is: in a new network namespace (a pod's sandbox) when netns_of
 * is 0, else in netns_of's (a container of that pod). It runs path; its
 * parent stays behind, waits for it and exits 128 + the signal that ended
 * it. Sets *pid (as this process sees it) and returns the parent, or -1
 * when the namespaces were refused. */
static pid_t
spawn_ns_init(const char *path, const char *name, pid_t netns_of, pid_t *pid)
{
	int   p[2];
	pid_t mid, inner = 0;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	if ((mid = fork()) == 0) {
		char  ns[64];
		int   fd, st;
		pid_t c;
		snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)netns_of);
		if (netns_of > 0 &&
		    ((fd = open(ns, O_RDONLY | O_CLOEXEC)) < 0 ||
		     setns(fd, CLONE_NEWNET) != 0))
			_exit(2);
		if (unshare(CLONE_NEWPID) != 0)
			_exit(2);
		if ((c = fork()) == 0) {
			if (netns_of == 0 && unshare(CLONE_NEWNET) != 0)
				_exit(2);
			execl(path, name, "30", (char *)NULL);
			_exit(127);
		}
		(void)!write(p[1], &c, sizeof(c));
		close(p[1]);
		waitpid(c, &st, 0);
		_exit(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 3);
	}
	close(p[1]);
	if (read(p[0], &inner, sizeof(inner)) != (ssize_t)sizeof(inner)) {
		close(p[0]);
		waitpid(mid, NULL, 0);
		return -1;
	}
	wait_exec(p[0], inner, name);
	close(p[0]);
	*pid = inner;
	return mid;
}

static void
assert_exit_status(pid_t pid, int code)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), code);
}

/* A node agent sees a pod's sandbox ("pause") under a host pid: it is
 * known as pid 1 of its pid namespace and the first process of the pod's
 * network namespace, and never signalled, even when named. A container's
 * main process, pid 1 of a pid namespace of its own too but started
 * later, is what the kill is for. */
static void
test_kill_spares_the_pods_init_but_not_a_containers(void **state)
{
	struct kill_case c;
	char             nspath[64];
	pid_t            sandbox, app, mid_sandbox, mid_app;

	(void)state;
	kill_case_init(&c, "cinit", 0);
	make_sleeper(c.name, c.path, sizeof(c.path));
	if ((mid_sandbox = spawn_ns_init(c.path, c.name, 0, &sandbox)) < 0)
		skip(); /* no CAP_SYS_ADMIN for the namespaces */
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)sandbox);
	c.s.target = nspath;
	assert_int_equal(kill_case_run(&c), CHAOS_EPERM);
	print_message("only the sandbox named: %s\n", c.out);
	assert_non_null(strstr(c.out, "its pod's init (pid 1 in its pid namespace"));
	assert_int_equal(kill(sandbox, 0), 0);
	usleep(50000); /* a later start time, in clock ticks */
	if ((mid_app = spawn_ns_init(c.path, c.name, sandbox, &app)) < 0)
		fail_msg("no pid namespace for the container");
	assert_int_equal(kill_case_run(&c), CHAOS_OK);
	print_message("sandbox and container named: %s\n", c.out);
	assert_non_null(strstr(c.out, "sent to 1 process named"));
	assert_non_null(strstr(c.out, "never signalled"));
	assert_exit_status(mid_app, 128 + SIGKILL);
	assert_int_equal(kill(sandbox, 0), 0);
	assert_int_equal(kill(sandbox, SIGKILL), 0);
	assert_exit_status(mid_sandbox, 128 + SIGKILL);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_fault_kill.XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	DIR *d;

	(void)state;
	if ((d = opendir(dir)) != NULL) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			char p[PATH_MAX];
			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill_signals_the_matching_process),
	    cmocka_unit_test(test_kill_sends_the_signal_asked_for),
	    cmocka_unit_test(test_kill_matches_the_executable_when_comm_differs),
	    cmocka_unit_test(test_kill_without_a_match_is_enoent),
	    cmocka_unit_test(test_kill_never_signals_the_agent_itself),
	    cmocka_unit_test(test_kill_refuses_bad_specs),
	    cmocka_unit_test(test_kill_refuses_signals_that_freeze),
	    cmocka_unit_test(test_kill_stays_in_the_target_network_namespace),
	    cmocka_unit_test(test_kill_spares_the_pods_init_but_not_a_containers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
