/* SPDX-License-Identifier: MIT */
/*
 * What a node agent finds on its node: the network namespaces of the pods.
 *
 * A scan walks /proc/<pid>/ns/net (one entry per namespace inode, with the
 * lowest pid in it) and /run/netns/<name> (named namespaces, with or
 * without processes), and learns for each: the pod UID from the cgroup path
 * of a process in it (kubelet's cgroupfs ".../pod<UID>/..." and systemd
 * "kubepods-<qos>-pod<UID with _>.slice" forms), and its IPv4 addresses
 * (an rtnetlink dump made from inside it). Never listed: the host's own
 * namespace (PID 1's, and the kernel's initial one) and the agent's own.
 *
 * A scan reads files only; the addresses need setns(), so
 * discover_read_ips() belongs on a thread of its own (agent/node.c runs it
 * on the scanning thread, which does nothing else).
 */
#ifndef CHAOS_AGENT_DISCOVER_H
#define CHAOS_AGENT_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/limits.h"

#define DISCOVER_UID_LEN 40
#define DISCOVER_PATH_LEN 96

/* One network namespace. */
struct discover_ns {
	dev_t  dev;
	ino_t  ino;
	char   key[24];                        /* the inode, decimal */
	char   name[LIMIT_NETNS_NAME_LEN + 1]; /* under /run/netns, or "" */
	char   path[DISCOVER_PATH_LEN];        /* to open it */
	pid_t  pid;                            /* lowest pid in it, or 0 */
	char   uid[DISCOVER_UID_LEN];          /* pod UID, or "" */
	char   ips[LIMIT_TARGET_IPS][16];      /* IPv4, not loopback */
	size_t n_ips;
};

/* Where a scan looks (tests point it at a fake tree), and what it calls
 * between two entries: pause(pause_arg) may sleep (a node agent's scan
 * waits there while commands run); NULL: nothing. */
struct discover_roots {
	const char *proc;  /* NULL: "/proc" */
	const char *netns; /* NULL: "/run/netns" */
	void (*pause)(void *pause_arg);
	void *pause_arg;
};

/* Finds the pod UID in the text of a /proc/<pid>/cgroup file: the first
 * "pod<UID>" path element (".../pod<UID>/..." or "...-pod<UID>.slice",
 * "_" read as "-") whose UID is 36 characters of hex digits and dashes in
 * the 8-4-4-4-12 layout. Writes it in lower case with dashes; false when
 * there is none. */
bool discover_uid_from_cgroup(const char *text, char *uid, size_t len);

/* Lists the namespaces (without addresses) into out[0..cap), sorted by
 * inode, and sets *n. Excluded: the namespace of PID 1 (when readable),
 * the kernel's initial one and the caller's own. A namespace whose name
 * is not a valid id (wire_check_netns_name) is listed without it. Errors:
 * CHAOS_ESYS when /proc cannot be read, CHAOS_ETOOBIG (first cap written)
 * when there are more. */
chaos_err discover_scan(const struct discover_roots *roots, struct discover_ns *out,
                        size_t cap, size_t *n, chaos_why *why);

/* Reads ns's IPv4 addresses into ns->ips: enters it (this thread only),
 * opens an rtnetlink socket there, goes back to home_fd, and dumps. Needs
 * CAP_SYS_ADMIN. Returns CHAOS_OK, CHAOS_ENOENT (gone), CHAOS_EPERM or
 * CHAOS_ESYS with why; a failure to go home is CHAOS_ESYS and logged. */
chaos_err discover_read_ips(struct discover_ns *ns, int home_fd, chaos_why *why);

#endif
