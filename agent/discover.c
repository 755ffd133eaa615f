// SPDX-License-Identifier: MIT
#include "agent/discover.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/magic.h>
#include <linux/rtnetlink.h>

#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"

/* The kernel's initial network namespace has this fixed inode number
 * (PROC_NET_INIT_INO in include/linux/proc_ns.h): the host's, even when
 * PID 1's namespace file cannot be read. */
#define DISCOVER_INIT_NET_INO 0xEFFFFFF9u
#define DISCOVER_UID_CHARS 36

/* ---- pod UID from a cgroup path ---- */

/* 8-4-4-4-12 hex digits with '-' or '_' between the groups. */
static bool
discover_uid_at(const char *s, char *uid, size_t len)
{
	static const int dash[] = {8, 13, 18, 23};
	size_t           d      = 0;

	if (len <= DISCOVER_UID_CHARS)
		return false;
	for (int i = 0; i < DISCOVER_UID_CHARS; i++) {
		char c = s[i];
		if (d < 4 && i == dash[d]) {
			if (c != '-' && c != '_')
				return false;
			uid[i] = '-';
			d++;
			continue;
		}
		if (!isxdigit((unsigned char)c))
			return false;
		uid[i] = (char)tolower((unsigned char)c);
	}
	/* the UID ends its path element: "/", ".slice" or the line's end */
	if (s[DISCOVER_UID_CHARS] != '/' && s[DISCOVER_UID_CHARS] != '.' &&
	    s[DISCOVER_UID_CHARS] != '\n' && s[DISCOVER_UID_CHARS] != '\0')
		return false;
	uid[DISCOVER_UID_CHARS] = '\0';
	return true;
}

bool
discover_uid_from_cgroup(const char *text, char *uid, size_t len)
{
	for (const char *p = text; (p = strstr(p, "pod")) != NULL; p += 3) {
		/* "pod" starts a path element or follows the qos slice's "-" */
		if (p != text && p[-1] != '/' && p[-1] != '-')
			continue;
		if (discover_uid_at(p + 3, uid, len))
			return true;
	}
	return false;
}

/* ---- the scan ---- */

struct discover_scan_ctx {
	const char *proc;
	void (*pause)(void *arg);
	void               *pause_arg;
	struct discover_ns *out;
	size_t              cap, n;
	bool                overflow;
	dev_t               skip_dev[2];
	ino_t               skip_ino[2];
	size_t              n_skip;
};

static void
discover_pause(const struct discover_scan_ctx *c)
{
	if (c->pause != NULL)
		c->pause(c->pause_arg);
}

static bool
discover_skipped(const struct discover_scan_ctx *c, const struct stat *st)
{
	if (st->st_ino == DISCOVER_INIT_NET_INO)
		return true;
	for (size_t i = 0; i < c->n_skip; i++)
		if (c->skip_dev[i] == st->st_dev && c->skip_ino[i] == st->st_ino)
			return true;
	return false;
}

static void
discover_skip_pid(struct discover_scan_ctx *c, const char *pid)
{
	char        path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/ns/net", c->proc, pid);
	if (stat(path, &st) == 0 && c->n_skip < 2) {
		c->skip_dev[c->n_skip] = st.st_dev;
		c->skip_ino[c->n_skip] = st.st_ino;
		c->n_skip++;
	}
}

/* The entry for st (kept sorted by inode), added when new; NULL when full. */
static struct discover_ns *
discover_slot(struct discover_scan_ctx *c, const struct stat *st, bool *added)
{
	size_t lo = 0, hi = c->n;

	*added = false;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->out[mid].ino == st->st_ino && c->out[mid].dev == st->st_dev)
			return &c->out[mid];
		if (c->out[mid].ino < st->st_ino ||
		    (c->out[mid].ino == st->st_ino && c->out[mid].dev < st->st_dev))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (c->n == c->cap) {
		c->overflow = true;
		return NULL;
	}
	memmove(&c->out[lo + 1], &c->out[lo], (c->n - lo) * sizeof(c->out[0]));
	memset(&c->out[lo], 0, sizeof(c->out[0]));
	c->out[lo].dev = st->st_dev;
	c->out[lo].ino = st->st_ino;
	snprintf(c->out[lo].key, sizeof(c->out[lo].key), "%llu",
	         (unsigned long long)st->st_ino);
	c->n++;
	*added = true;
	return &c->out[lo];
}

static void
discover_add_pid(struct discover_scan_ctx *c, pid_t pid)
{
	char                path[64 + PATH_MAX];
	struct stat         st;
	struct discover_ns *ns;
	bool                added;

	snprintf(path, sizeof(path), "%s/%d/ns/net", c->proc, (int)pid);
	/* EACCES (another user's process without CAP_SYS_PTRACE) or a process
	 * that just exited: not ours to see */
	if (stat(path, &st) != 0 || discover_skipped(c, &st))
		return;
	if ((ns = discover_slot(c, &st, &added)) == NULL)
		return;
	if (added || pid < ns->pid) {
		ns->pid = pid;
		if (ns->name[0] == '\0')
			snprintf(ns->path, sizeof(ns->path), "/proc/%d/ns/net", (int)pid);
	}
}

static chaos_err
discover_procs(struct discover_scan_ctx *c, chaos_why *why)
{
	DIR           *d = opendir(c->proc);
	struct dirent *de;

	if (d == NULL)
		return chaos_fail(why, CHAOS_ESYS, "cannot read %s: %s", c->proc,
		                  strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char *end;
		long  pid = strtol(de->d_name, &end, 10);
		discover_pause(c);
		if (*end == '\0' && pid > 0 && pid <= INT_MAX)
			discover_add_pid(c, (pid_t)pid);
	}
	closedir(d);
	return CHAOS_OK;
}

static void
discover_named(struct discover_scan_ctx *c, const char *dir)
{
	DIR           *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return; /* no named namespaces on this node */
	while ((de = readdir(d)) != NULL) {
		char                path[DISCOVER_PATH_LEN];
		struct stat         st;
		struct statfs       fs;
		struct discover_ns *ns;
		bool                added;
		discover_pause(c);
		if (de->d_name[0] == '.' ||
		    wire_check_netns_name(de->d_name) != CHAOS_OK ||
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		        (int)sizeof(path))
			continue;
		/* stat follows the bind mount to the nsfs inode; a file that is
		 * not mounted (a half-made netns) is not a namespace */
		if (statfs(path, &fs) != 0 || fs.f_type != NSFS_MAGIC ||
		    stat(path, &st) != 0 || discover_skipped(c, &st))
			continue;
		if ((ns = discover_slot(c, &st, &added)) == NULL)
			continue;
		/* the first name in readdir order; a second name is rare
		 * (ip netns attach) and either names the same thing */
		if (ns->name[0] == '\0') {
			/* the name was checked to fit (wire_check_netns_name) */
			memcpy(ns->name, de->d_name, strlen(de->d_name) + 1);
			memcpy(ns->path, path, sizeof(ns->path));
		}
	}
	closedir(d);
}

static void
discover_uid(const char *proc, struct discover_ns *ns)
{
	char   path[64 + PATH_MAX], text[8192];
	FILE  *f;
	size_t n;

	if (ns->pid <= 0)
		return;
	snprintf(path, sizeof(path), "%s/%d/cgroup", proc, (int)ns->pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	n       = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	discover_uid_from_cgroup(text, ns->uid, sizeof(ns->uid));
}

chaos_err
discover_scan(const struct discover_roots *roots, struct discover_ns *out, size_t cap,
              size_t *n, chaos_why *why)
{
	struct discover_scan_ctx c = {.out = out, .cap = cap};
	chaos_err                rv;

	c.proc = roots != NULL && roots->proc != NULL ? roots->proc : "/proc";
	if (roots != NULL) {
		c.pause     = roots->pause;
		c.pause_arg = roots->pause_arg;
	}
	discover_skip_pid(&c, "self");
	discover_skip_pid(&c, "1");
	if ((rv = discover_procs(&c, why)) != CHAOS_OK)
		return rv;
	discover_named(
	    &c, roots != NULL && roots->netns != NULL ? roots->netns : "/run/netns");
	for (size_t i = 0; i < c.n; i++) {
		discover_pause(&c);
		discover_uid(c.proc, &out[i]);
	}
	*n = c.n;
	if (c.overflow)
		return chaos_fail(
		    why, CHAOS_ETOOBIG,
		    "more than %zu network namespaces on this node; only the "
		    "first %zu are targets",
		    cap, cap);
	return CHAOS_OK;
}

/* ---- addresses ---- */

static int
discover_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct discover_ns     *ns  = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr    *a;
	const void             *addr = NULL;

	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET ||
	    ifa->ifa_scope == RT_SCOPE_HOST)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			continue;
		/* IFA_LOCAL is the address itself; IFA_ADDRESS the peer's on
		 * point-to-point links, ours everywhere else */
		if (mnl_attr_get_type(a) == IFA_LOCAL ||
		    (mnl_attr_get_type(a) == IFA_ADDRESS && addr == NULL))
			addr = mnl_attr_get_payload(a);
	}
	if (addr != NULL && ns->n_ips < LIMIT_TARGET_IPS &&
	    ((const uint8_t *)addr)[0] != 127)
		inet_ntop(AF_INET, addr, ns->ips[ns->n_ips++], sizeof(ns->ips[0]));
	return MNL_CB_OK;
}

/* The socket is made inside ns and lives there; this thread goes home at
 * once, before any I/O. */
static chaos_err
discover_socket_in(const struct discover_ns *ns, int home_fd, struct mnl_socket **out,
                   chaos_why *why)
{
	int       fd = open(ns->path, O_RDONLY | O_CLOEXEC), err;
	chaos_err rv = CHAOS_OK;

	if (fd < 0)
		return chaos_fail(why, chaos_err_from_errno(errno), "%s: %s", ns->path,
		                  strerror(errno));
	if (setns(fd, CLONE_NEWNET) < 0) {
		err = errno;
		close(fd);
		return chaos_fail(why, chaos_err_from_errno(err), "setns %s: %s",
		                  ns->path, strerror(err));
	}
	*out = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	err  = errno;
	if (setns(home_fd, CLONE_NEWNET) < 0) {
		log_error("discover: cannot go back to the agent's namespace: %s",
		          strerror(errno));
		rv = chaos_fail(why, CHAOS_ESYS, "setns home: %s", strerror(errno));
	}
	close(fd);
	if (*out == NULL && rv == CHAOS_OK)
		rv = chaos_fail(why, chaos_err_from_errno(err), "rtnetlink socket: %s",
		                strerror(err));
	return rv;
}

chaos_err
discover_read_ips(struct discover_ns *ns, int home_fd, chaos_why *why)
{
	char               buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = NULL;
	struct nlmsghdr   *nlh;
	struct rtgenmsg   *g;
	uint32_t           seq = (uint32_t)time(NULL), portid;
	ssize_t            len;
	int                ret = MNL_CB_OK;
	chaos_err          rv;

	ns->n_ips = 0;
	if ((rv = discover_socket_in(ns, home_fd, &nl, why)) != CHAOS_OK) {
		if (nl != NULL)
			mnl_socket_close(nl);
		return rv;
	}
	nlh              = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type  = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq   = seq;
	g                = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family  = AF_INET;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rv = chaos_fail(why, CHAOS_ESYS, "rtnetlink: %s", strerror(errno));
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	while (ret > MNL_CB_STOP && (len = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0)
		ret = mnl_cb_run(buf, (size_t)len, seq, portid, discover_addr_cb, ns);
	if (ret == MNL_CB_ERROR)
		rv = chaos_fail(why, CHAOS_ESYS, "rtnetlink dump: %s", strerror(errno));
out:
	mnl_socket_close(nl);
	return rv;
}
