// SPDX-License-Identifier: MIT
/*
 * kill: signal (default SIGKILL) every process of the target whose name
 * matches, once. The name matches a process's comm (which the kernel cuts
 * to 15 characters: a longer name matches on its first 15) or the base
 * name of its executable (/proc/<pid>/exe, so a process renamed by its own
 * prctl() is still found by what it runs). The target is a network
 * namespace: the agent's own (sidecar mode: its pod) unless the spec names
 * one, as "/run/netns/<name>", "<name>" or "/proc/<pid>/ns/net" (node
 * mode); processes elsewhere are never touched, nor the agent itself, nor
 * pid 1, nor the pod's init: its sandbox ("pause") process, whose death
 * takes the whole pod down with it. A node agent (hostPID) sees that one
 * under a host pid, so it is known by what it is: pid 1 of its own pid
 * namespace (NSpid in /proc/<pid>/status) and the first process of the
 * pod's network namespace (the runtime starts it before any container).
 * Pid 1 of its pid namespace alone would not do: without
 * shareProcessNamespace (node mode's pods) every container's main process
 * is pid 1 of a pid namespace of its own, and those are what a kill is for.
 *
 * Each process is opened with pidfd_open() before it is checked and is
 * signalled through that pidfd, so a pid reused in between is never hit.
 *
 * One-shot: nothing runs afterwards and revert has nothing to undo, as the
 * workload's own supervisor (kubelet, the sandbox's) restarts what died;
 * the state only keeps what the APPLIED report says. That is why the
 * stop-class signals (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) are refused: they
 * freeze processes, no supervisor restarts a frozen process, and nothing
 * here would ever resume it (not a revert, a lease's end, nor the agent's
 * exit or kill -9): a fault left behind for good.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/fault_ops.h"
#include "agent/procinfo.h"
#include "common/err.h"
#include "common/log.h"

#define KILL_COMM_LEN 15 /* TASK_COMM_LEN - 1 */
#define KILL_LOG_PIDS 16 /* pids named in the log line */
#define KILL_INIT_WHY                                                                    \
	"pid %d is its pod's init (pid 1 in its pid namespace, the first process of "    \
	"the pod's network namespace: its sandbox); never signalled"

struct kill_scan {
	const char *name;
	int         sig;
	dev_t       ns_dev;
	ino_t       ns_ino;
	pid_t       self;
	size_t      matched, signalled;
	int         last_errno;
	pid_t       pids[KILL_LOG_PIDS];
	/* the pod's init (sandbox) in the target namespace, or 0 */
	pid_t    init_pid;
	uint64_t init_start;
	bool     init_matched; /* it has the name: never signalled */
};

/* The namespace file of the target: the agent's own when target is empty. */
static void
kill_ns_path(const char *target, char *buf, size_t len)
{
	if (target == NULL || target[0] == '\0')
		snprintf(buf, len, "/proc/self/ns/net");
	else if (target[0] == '/')
		snprintf(buf, len, "%s", target);
	else
		snprintf(buf, len, "/run/netns/%s", target);
}

static bool
kill_comm_matches(pid_t pid, const char *name)
{
	char  path[64], comm[32];
	FILE *f;
	bool  ok = false;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	if (fgets(comm, sizeof(comm), f) != NULL) {
		comm[strcspn(comm, "\n")] = '\0';
		ok                        = strlen(name) >= KILL_COMM_LEN
		                           ? strncmp(comm, name, KILL_COMM_LEN) == 0
		                           : strcmp(comm, name) == 0;
	}
	fclose(f);
	return ok;
}

static bool
kill_exe_matches(pid_t pid, const char *name)
{
	static const char deleted[] = " (deleted)";
	char              path[64], exe[PATH_MAX];
	ssize_t           n;
	const char       *base;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) <= 0)
		return false; /* kernel threads have none */
	exe[n] = '\0';
	/* A binary replaced on disk (an upgrade) still runs under its name. */
	if ((size_t)n > sizeof(deleted) - 1 &&
	    strcmp(exe + n - (sizeof(deleted) - 1), deleted) == 0)
		exe[n - (ssize_t)(sizeof(deleted) - 1)] = '\0';
	base = strrchr(exe, '/');
	return strcmp(base != NULL ? base + 1 : exe, name) == 0;
}

static bool
kill_in_namespace(const struct kill_scan *s, pid_t pid)
{
	char        path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	return stat(path, &st) == 0 && st.st_dev == s->ns_dev && st.st_ino == s->ns_ino;
}

static bool
kill_start_time(pid_t pid, uint64_t *start)
{
	char stat[1024];

	return procinfo_read(pid, "stat", stat, sizeof(stat)) == CHAOS_OK &&
	    procinfo_starttime(stat, start) == CHAOS_OK;
}

/* Whether pid is pid 1 of its own (innermost) pid namespace. */
static bool
kill_is_ns_init(pid_t pid)
{
	char status[4096];
	long inner;

	return procinfo_read(pid, "status", status, sizeof(status)) == CHAOS_OK &&
	    procinfo_nspid_inner(status, &inner) == CHAOS_OK && inner == 1;
}

/* Whether pid is the pod's init that kill_find_init found (the same
 * process: its pid and start time). */
static bool
kill_is_pod_init(const struct kill_scan *s, pid_t pid)
{
	uint64_t start;

	return s->init_pid != 0 && pid == s->init_pid && kill_start_time(pid, &start) &&
	    start == s->init_start;
}

/* Checks one process and signals it if it is a target. */
static void
kill_consider(struct kill_scan *s, pid_t pid)
{
	int pidfd;

	if (pid == s->self || pid == 1)
		return;
	/* Opened first: if pid dies and is reused while we look, the pidfd
	 * still names the dead one and the signal goes nowhere. */
	if ((pidfd = pidfd_open(pid, 0)) < 0)
		return;
	if (kill_in_namespace(s, pid) &&
	    (kill_comm_matches(pid, s->name) || kill_exe_matches(pid, s->name))) {
		if (kill_is_pod_init(s, pid)) {
			s->init_matched = true;
			close(pidfd);
			return;
		}
		s->matched++;
		if (pidfd_send_signal(pidfd, s->sig, NULL, 0) == 0) {
			if (s->signalled < KILL_LOG_PIDS)
				s->pids[s->signalled] = pid;
			s->signalled++;
		} else if (errno != ESRCH) {
			s->last_errno = errno;
		}
	}
	close(pidfd);
}

/* Notes pid as the pod's init when it is the oldest process of the
 * target namespace so far (a tie goes to the lower pid). */
static void
kill_oldest(struct kill_scan *s, pid_t pid)
{
	uint64_t start;

	if (!kill_in_namespace(s, pid) || !kill_start_time(pid, &start))
		return;
	if (s->init_pid == 0 || start < s->init_start ||
	    (start == s->init_start && pid < s->init_pid)) {
		s->init_pid   = pid;
		s->init_start = start;
	}
}

/* Calls fn for every process. */
static chaos_err
kill_walk(struct kill_scan *s, void (*fn)(struct kill_scan *, pid_t), chaos_why *why)
{
	DIR           *d = opendir("/proc");
	struct dirent *de;

	if (d == NULL)
		return chaos_fail(why, chaos_err_from_errno(errno),
		                  "kill: cannot read /proc: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char *end;
		long  pid = strtol(de->d_name, &end, 10);

		if (*end == '\0' && pid > 0 && pid <= INT_MAX)
			fn(s, (pid_t)pid);
	}
	closedir(d);
	return CHAOS_OK;
}

/* Finds the pod's init: the first process of the target namespace, when
 * it is pid 1 of its own pid namespace (a pod's sandbox; a namespace made
 * by `ip netns add` and entered by `ip netns exec` has none). */
static chaos_err
kill_find_init(struct kill_scan *s, chaos_why *why)
{
	chaos_err rv = kill_walk(s, kill_oldest, why);

	if (rv == CHAOS_OK && s->init_pid != 0 && !kill_is_ns_init(s->init_pid))
		s->init_pid = 0;
	return rv;
}

static void
kill_log(const struct kill_scan *s)
{
	char   pids[KILL_LOG_PIDS * 12] = "";
	size_t len                      = 0;

	for (size_t i = 0; i < s->signalled && i < KILL_LOG_PIDS; i++)
		len += (size_t)snprintf(pids + len, sizeof(pids) - len, "%s%d",
		                        i ? " " : "", (int)s->pids[i]);
	log_info("fault kill: signal %d sent to %zu process%s named '%s' (pid %s%s)",
	         s->sig, s->signalled, s->signalled == 1 ? "" : "es", s->name, pids,
	         s->signalled > KILL_LOG_PIDS ? " ..." : "");
}

/* What the APPLIED report says: nothing runs after the kill. */
struct kill_report {
	int    sig;
	size_t signalled;
	pid_t  init_spared; /* the pod's init had the name too, or 0 */
	char   name[64];
};

static chaos_err
kill_report_new(const struct kill_scan *s, void **state)
{
	struct kill_report *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return CHAOS_ENOMEM;
	r->sig         = s->sig;
	r->signalled   = s->signalled;
	r->init_spared = s->init_matched ? s->init_pid : 0;
	snprintf(r->name, sizeof(r->name), "%s", s->name);
	*state = r;
	return CHAOS_OK;
}

static void
kill_stop(void *state)
{
	free(state);
}

static void
kill_describe(void *state, char *buf, size_t len)
{
	const struct kill_report *r = state;
	int n = snprintf(buf, len, "kill: signal %d sent to %zu process%s named '%s'",
	                 r->sig, r->signalled, r->signalled == 1 ? "" : "es", r->name);

	if (r->init_spared != 0 && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "; " KILL_INIT_WHY,
		         (int)r->init_spared);
}

static bool
kill_stop_class(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* A name to match and a signal whose effect ends by itself or with the
 * process (see the top of the file for the stop-class ones). */
static chaos_err
kill_check(const char *name, int sig, chaos_why *why)
{
	if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "kill: needs a process name (no '/')");
	if (sig < 1 || sig > SIGRTMAX || kill_stop_class(sig))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "kill: signal %d refused: allowed are 1..%d except "
		                  "%d (SIGSTOP), %d (SIGTSTP), %d (SIGTTIN) and %d "
		                  "(SIGTTOU), which freeze processes that nothing "
		                  "would ever resume",
		                  sig, SIGRTMAX, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU);
	return CHAOS_OK;
}

/* The state is a kill_report: the processes are signalled here, once. */
static chaos_err
kill_start(const Chaos__V1__FaultSpec *spec, int64_t until, void **state, chaos_why *why)
{
	const Chaos__V1__KillFault *k = spec->kill;
	struct kill_scan            s = {.self = getpid()};
	char                        ns[PATH_MAX];
	struct stat                 st;
	chaos_err                   rv;

	(void)until; /* a scan of /proc: milliseconds, nothing to wait for */
	*state = NULL;
	s.name = k->process_name;
	s.sig  = k->has_signal && k->signal != 0 ? k->signal : SIGKILL;
	if ((rv = kill_check(s.name, s.sig, why)) != CHAOS_OK)
		return rv;
	kill_ns_path(spec->target, ns, sizeof(ns));
	if (stat(ns, &st) != 0)
		return chaos_fail(why, chaos_err_from_errno(errno),
		                  "kill: target namespace %s: %s", ns, strerror(errno));
	s.ns_dev = st.st_dev;
	s.ns_ino = st.st_ino;
	if ((rv = kill_find_init(&s, why)) != CHAOS_OK ||
	    (rv = kill_walk(&s, kill_consider, why)) != CHAOS_OK)
		return rv;
	if (s.matched == 0 && s.init_matched)
		return chaos_fail(why, CHAOS_EPERM,
		                  "kill: no other process named '%s': " KILL_INIT_WHY,
		                  s.name, (int)s.init_pid);
	if (s.matched == 0)
		return chaos_fail(why, CHAOS_ENOENT,
		                  "kill: no process named '%s' in the target's network "
		                  "namespace",
		                  s.name);
	if (s.signalled == 0)
		return chaos_fail(
		    why,
		    s.last_errno != 0 ? chaos_err_from_errno(s.last_errno) : CHAOS_ENOENT,
		    "kill: %zu process%s named '%s' found, none signalled: %s", s.matched,
		    s.matched == 1 ? "" : "es", s.name, strerror(s.last_errno));
	kill_log(&s);
	return kill_report_new(&s, state);
}

const struct fault_ops fault_kill_ops = {
    .kind     = CHAOS__V1__FAULT_SPEC__KIND_KILL,
    .name     = "kill",
    .start    = kill_start,
    .stop     = kill_stop,
    .describe = kill_describe,
};
