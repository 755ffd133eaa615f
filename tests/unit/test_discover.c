// SPDX-License-Identifier: MIT
/*
 * agent/discover.c without root: the pod UID found in kubelet's cgroup
 * paths (both drivers, every QoS class) and nothing found where there is
 * none; a scan of this machine's /proc never lists the caller's own
 * network namespace nor the kernel's initial one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/cli.h"
#include "agent/discover.h"
#include "common/err.h"

#define UID "0d3f9a1e-7b2c-4c11-9e8f-5a6b7c8d9e0f"

static void
expect_uid(const char *cgroup_text, const char *want)
{
	char uid[DISCOVER_UID_LEN] = "unset";

	if (want == NULL) {
		assert_false(discover_uid_from_cgroup(cgroup_text, uid, sizeof(uid)));
		return;
	}
	assert_true(discover_uid_from_cgroup(cgroup_text, uid, sizeof(uid)));
	assert_string_equal(uid, want);
}

static void
test_cgroupfs_paths_give_the_pod_uid(void **state)
{
	(void)state;
	expect_uid("0::/kubepods/besteffort/pod" UID "/4b1d5e6f\n", UID);
	expect_uid("0::/kubepods/burstable/pod" UID "/abc\n", UID);
	/* guaranteed pods sit right under kubepods */
	expect_uid("0::/kubepods/pod" UID "/abc\n", UID);
	/* v1 hierarchies: any line carries it */
	expect_uid("12:pids:/\n8:memory:/kubepods/pod" UID "/x\n0::/\n", UID);
	/* the pod's own cgroup (a pause process may sit there) */
	expect_uid("0::/kubepods/besteffort/pod" UID "\n", UID);
}

static void
test_systemd_slices_give_the_pod_uid_with_dashes(void **state)
{
	(void)state;
	expect_uid("0::/kubepods.slice/kubepods-besteffort.slice/"
	           "kubepods-besteffort-pod0d3f9a1e_7b2c_4c11_9e8f_5a6b7c8d9e0f.slice/"
	           "cri-containerd-4b1d5e6f.scope\n",
	           UID);
	expect_uid(
	    "0::/kubepods.slice/kubepods-pod0d3f9a1e_7b2c_4c11_9e8f_5a6b7c8d9e0f.slice/"
	    "crio-1.scope\n",
	    UID);
	/* upper case hex is the same UID */
	expect_uid("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-"
	           "pod0D3F9A1E_7B2C_4C11_9E8F_5A6B7C8D9E0F.slice/x.scope\n",
	           UID);
}

static void
test_paths_without_a_pod_uid_give_none(void **state)
{
	(void)state;
	expect_uid("0::/\n", NULL);
	expect_uid("0::/system.slice/containerd.service\n", NULL);
	expect_uid("0::/user.slice/user-0.slice/session-1.scope\n", NULL);
	/* "pod" inside a word, or a UID that is too short or malformed */
	expect_uid("0::/kubepods/besteffort/xpod" UID "/x\n", NULL);
	expect_uid("0::/kubepods/pod0d3f9a1e-7b2c-4c11-9e8f-5a6b7c8d9e0\n", NULL);
	expect_uid("0::/kubepods/pod0d3f9a1e-7b2c-4c11-9e8f-5a6b7c8d9e0fz/x\n", NULL);
	expect_uid("0::/kubepods/pod0d3f9a1eX7b2c-4c11-9e8f-5a6b7c8d9e0f/x\n", NULL);
	expect_uid("", NULL);
}

static void
test_a_short_buffer_gets_nothing(void **state)
{
	char uid[8] = "unset";

	(void)state;
	assert_false(
	    discover_uid_from_cgroup("0::/kubepods/pod" UID "/x\n", uid, sizeof(uid)));
}

/* Whatever runs on this machine, the caller and the host are never targets. */
static void
test_a_scan_never_lists_its_own_or_the_initial_namespace(void **state)
{
	struct discover_ns *ns = calloc(LIMIT_NODE_TARGETS, sizeof(*ns));
	struct stat         self;
	size_t              n = 0;
	chaos_err           rv;

	(void)state;
	assert_non_null(ns);
	assert_int_equal(stat("/proc/self/ns/net", &self), 0);
	rv = discover_scan(NULL, ns, LIMIT_NODE_TARGETS, &n, NULL);
	assert_true(rv == CHAOS_OK || rv == CHAOS_ETOOBIG);
	for (size_t i = 0; i < n; i++) {
		assert_false(ns[i].ino == self.st_ino && ns[i].dev == self.st_dev);
		assert_int_not_equal(ns[i].ino, 0xEFFFFFF9u);
		assert_true(ns[i].path[0] == '/');
		if (i > 0)
			assert_true(ns[i - 1].ino <= ns[i].ino); /* sorted, once each */
	}
	free(ns);
}

/* ---- chaos-agent --mode ---- */

static enum flags_result
agent_parse(struct agent_opts *o, char **argv, int argc, chaos_why *why)
{
	unsetenv("CHAOS_ROLE");
	return agent_cli_parse(argc, argv, o, why);
}

static void
test_mode_node_makes_a_node_agent_with_role_node(void **state)
{
	char             *side[] = {"chaos-agent", "--controller", "ipc:///tmp/x",
	                            "--role",      "database",     NULL};
	char             *node[] = {"chaos-agent",  "--mode",       "node",
	                            "--controller", "ipc:///tmp/x", NULL};
	char             *bad[]  = {"chaos-agent",  "--mode",       "daemonset",
	                            "--controller", "ipc:///tmp/x", NULL};
	struct agent_opts o;
	chaos_why         why = {{0}};

	(void)state;
	assert_int_equal(agent_parse(&o, side, 5, &why), FLAGS_RUN);
	assert_false(o.node_mode); /* sidecar is the default */
	assert_string_equal(o.id.role, "database");
	assert_int_equal(agent_parse(&o, node, 5, &why), FLAGS_RUN);
	assert_true(o.node_mode);
	assert_string_equal(o.id.role, "node");
	assert_int_equal(agent_parse(&o, bad, 5, &why), FLAGS_USAGE);
	assert_non_null(strstr(why.text, "use sidecar or node"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cgroupfs_paths_give_the_pod_uid),
	    cmocka_unit_test(test_systemd_slices_give_the_pod_uid_with_dashes),
	    cmocka_unit_test(test_paths_without_a_pod_uid_give_none),
	    cmocka_unit_test(test_a_short_buffer_gets_nothing),
	    cmocka_unit_test(test_a_scan_never_lists_its_own_or_the_initial_namespace),
	    cmocka_unit_test(test_mode_node_makes_a_node_agent_with_role_node),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
