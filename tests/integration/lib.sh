# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # the facts and paths are for the sourcing scripts
#
# The opening every integration script shares; source it first:
#
#   . "$(dirname "$0")/lib.sh"
#   itest_need_root "network namespaces, nftables"   # else exit 77 (skipped)
#   sbx_init "$1"                                    # a sandbox test: BUILD_DIR
#
# General part (any script):
#   itest_need_root WHY       exit 77 with "skipped: needs root (WHY)" unless root
#   itest_need_tools TOOL...  exit 77 when a command (or an absolute path) is missing
#   fail MSG...               "FAIL: MSG" on stderr, exit 1
#   itest_tmpdir NAME         sets ITEST_OUT to a new /tmp/chaos-NAME.XXXXXX; removed
#                             at exit, kept (and named) when the script failed
#   test_cleanup              optional, defined by the script: runs first at exit
#                             (stop background jobs there)
#   itest_pg_initdb DIR       a throwaway PostgreSQL cluster: DIR/data (initdb,
#                             peer + scram-sha-256), DIR/sock, DIR/pg.log; on
#                             failure prints initdb's output and returns 1
#
# Sandbox part, after sbx_init BUILD_DIR: the instance is $CHAOS_SANDBOX_ID
# (0..9, default 0; see deploy/sandbox/sandbox), and its names come from
# `sandbox status --json`, never from constants here:
#   build repo sandbox        paths; CHAOS_BUILD_DIR is exported for the sandbox
#   SANDBOX_ID SANDBOX_CONTROL_URL SANDBOX_CONTROL_SOCKET SANDBOX_SUBNET
#   SANDBOX_NET (address prefix with its dot, e.g. "10.231.0.")
#   SANDBOX_STATE_DIR SANDBOX_DSN_FILE SANDBOX_NETNS_PREFIX SANDBOX_CTRL_NETNS
#   SANDBOX_CTRL_IP SANDBOX_SESSION_URL SANDBOX_EVENTS_URL SANDBOX_METRICS_URL
#   SANDBOX_PODS (array of pod names)
#   sbx_up [ARGS]             `sandbox up ARGS` (output kept only on failure),
#                             then the facts again (the chain size may differ)
#   "${ctl[@]}" ARGS          chaosctl against this instance's controller (an
#                             array, not a function, so "$!" of a job is chaosctl)
#   sbx_ip POD, sbx_netns POD the pod's address and network namespace
#   sbx_in POD CMD...         CMD inside the pod's namespace ("controller" too);
#                             for a background job use ip netns exec "$(sbx_netns POD)"
#   sbx_pid POD KIND          live pid of KIND (agent, etcd, ...) in POD, or fails
#   sbx_controller_pid        live pid of the controller, or fails
#   sbx_tables_left           this instance's namespaces still holding our nft table
#   sbx_expect_no_tables WHEN fails when there is one, says "ok" when there is none
#   sbx_leftovers             what `sandbox down` must not leave: namespaces,
#                             processes, the state dir, the control socket
# At exit the sandbox instance is taken down: a sandbox test leaves nothing.

set -euo pipefail
export LC_ALL=C

ITEST_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly ITEST_LIB_DIR
readonly ITEST_PG_BIN=/usr/lib/postgresql/15/bin
ITEST_OUT=
ITEST_SANDBOX=0

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

itest_need_root() { # why
	if [ "$(id -u)" -ne 0 ]; then
		echo "skipped: needs root ($1)"
		exit 77
	fi
}

itest_need_tools() { # tool...
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			{ echo "skipped: $t missing (deploy/install-deps.sh installs it)"; exit 77; }
	done
}

itest_tmpdir() { # name
	ITEST_OUT=$(mktemp -d "/tmp/chaos-$1.XXXXXX")
}

itest_pg_initdb() { # dir
	install -d -o postgres -g postgres -m 0700 "$1/data"
	install -d -o postgres -g postgres -m 0755 "$1/sock"
	touch "$1/pg.log" && chown postgres "$1/pg.log"
	runuser -u postgres -- "$ITEST_PG_BIN/initdb" -D "$1/data" -U postgres -N \
		--auth-local=peer --auth-host=scram-sha-256 >"$1/initdb.log" 2>&1 ||
		{ cat "$1/initdb.log"; return 1; }
}

# The EXIT trap: the script's own cleanup, the sandbox instance, the temp dir.
itest_cleanup() { # exit status of the script
	set +e
	if declare -F test_cleanup >/dev/null; then test_cleanup; fi
	if [ "$ITEST_SANDBOX" = 1 ]; then "$sandbox" down >/dev/null 2>&1; fi
	if [ -n "$ITEST_OUT" ] && [ "$1" -ne 0 ]; then
		echo "kept for inspection: $ITEST_OUT" >&2
	elif [ -n "$ITEST_OUT" ]; then
		rm -rf "$ITEST_OUT"
	fi
}
trap 'itest_cleanup $?' EXIT
# A signal ends the script through exit, so the EXIT trap cleans up.
trap 'exit 1' INT TERM HUP

# ---------------------------------------------------------------------------
# The sandbox instance.

sbx_init() { # build_dir
	build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
	repo=$(cd "$ITEST_LIB_DIR/../.." && pwd)
	sandbox=$repo/deploy/sandbox/sandbox
	export CHAOS_BUILD_DIR=$build
	sbx_facts
	ITEST_SANDBOX=1
	# Instance 0 is what a user gets with no flags: the tests reach it the
	# same way (chaosctl's default controller and DSN file), so those defaults
	# stay tested; the others are named explicitly.
	if [ "$SANDBOX_ID" = 0 ]; then
		[ "$SANDBOX_CONTROL_URL" = ipc:///run/chaos/control.sock ] ||
			fail "instance 0 must answer at chaosctl's default, not $SANDBOX_CONTROL_URL"
		ctl=("$build/controller/chaosctl")
	else
		ctl=("$build/controller/chaosctl" --controller "$SANDBOX_CONTROL_URL")
		export CHAOS_PG_DSN_FILE=$SANDBOX_DSN_FILE
	fi
}

# Reads the instance's names from `sandbox status --json` into SANDBOX_*.
sbx_facts() {
	local facts
	facts=$("$sandbox" status --json | python3 -c '
import json, shlex, sys
s = json.load(sys.stdin)
c = s["controller"]
facts = {"ID": s["instance"], "CONTROL_URL": s["control_url"],
         "CONTROL_SOCKET": s["control_socket"], "SUBNET": s["subnet"], "NET": s["net_prefix"],
         "STATE_DIR": s["state_dir"], "DSN_FILE": s["dsn_file"],
         "NETNS_PREFIX": s["netns_prefix"], "CTRL_NETNS": c["netns"], "CTRL_IP": c["ip"],
         "SESSION_URL": c["session_url"], "EVENTS_URL": c["events_url"],
         "METRICS_URL": c["metrics_url"]}
for k, v in facts.items():
    print("SANDBOX_%s=%s" % (k, shlex.quote(str(v))))
print("SANDBOX_PODS=(%s)" % " ".join(shlex.quote(p["name"]) for p in s["pods"]))
print("SANDBOX_POD_IP=(%s)" % " ".join(
    "[%s]=%s" % (shlex.quote(p["name"]), shlex.quote(p["ip"])) for p in s["pods"]))
print("SANDBOX_POD_NETNS=(%s)" % " ".join(
    "[%s]=%s" % (shlex.quote(p["name"]), shlex.quote(p["netns"])) for p in s["pods"]))
') || fail "sandbox status --json gave no facts"
	declare -gA SANDBOX_POD_IP=() SANDBOX_POD_NETNS=()
	eval "$facts"
}

sbx_up() { # sandbox up flags...
	local log
	log=$("$sandbox" up "$@" 2>&1) || { echo "$log" >&2; fail "sandbox up $* failed"; }
	sbx_facts
}

sbx_ip() { # pod
	[ "$1" = controller ] && { echo "$SANDBOX_CTRL_IP"; return; }
	[ -n "${SANDBOX_POD_IP[$1]:-}" ] || fail "no pod '$1' in sandbox instance $SANDBOX_ID"
	echo "${SANDBOX_POD_IP[$1]}"
}

sbx_netns() { # pod
	[ "$1" = controller ] && { echo "$SANDBOX_CTRL_NETNS"; return; }
	[ -n "${SANDBOX_POD_NETNS[$1]:-}" ] || fail "no pod '$1' in sandbox instance $SANDBOX_ID"
	echo "${SANDBOX_POD_NETNS[$1]}"
}

sbx_in() { # pod command...
	local ns
	ns=$(sbx_netns "$1")
	shift
	ip netns exec "$ns" "$@"
}

sbx_pid() { # pod kind
	local pid
	pid=$("$sandbox" status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
pod = next((p for p in s["pods"] if p["name"] == sys.argv[1]), None)
pid = pod and pod["pids"].get(sys.argv[2])
print(pid if pid else "")' "$1" "$2")
	[ -n "$pid" ] || return 1
	echo "$pid"
}

sbx_controller_pid() {
	local pid
	pid=$("$sandbox" status --json | python3 -c '
import json, sys
print(json.load(sys.stdin)["controller"]["pid"] or "")')
	[ -n "$pid" ] || return 1
	echo "$pid"
}

# This instance's namespaces that exist now.
sbx_netns_present() {
	ip netns list 2>/dev/null | awk '{print $1}' |
		grep -E "^${SANDBOX_NETNS_PREFIX}(bridge|controller|postgres-0|coordinator-[0-9]+|chain-[0-9]+)\$" || true
}

sbx_tables_left() {
	local ns
	for ns in $(sbx_netns_present); do
		ip netns exec "$ns" nft list tables 2>/dev/null | grep -q chaos_agent && echo "$ns"
	done
	true
}

sbx_expect_no_tables() { # when
	local left
	left=$(sbx_tables_left)
	[ -z "$left" ] || fail "tables of ours left $1 in: $left"
	echo "ok: no table of ours left $1 in any namespace of the sandbox"
}

# One line per thing of this instance still there. A process is this
# instance's when its command line names the state dir or an address of the
# subnet: processes of other instances (or of other tests) never count.
sbx_leftovers() {
	local procs net_re
	sbx_netns_present
	net_re=${SANDBOX_NET//./\\.}
	procs=$(pgrep -af 'chaos-agent|chaos-controller|chaos-coordinator|etcd|postgres|__supervise' || true)
	grep -E -e "${SANDBOX_STATE_DIR}(/| |\$)" -e "$net_re" <<<"$procs" | sed 's/^/process /' || true
	[ ! -e "$SANDBOX_STATE_DIR" ] || echo "state dir $SANDBOX_STATE_DIR"
	[ ! -e "$SANDBOX_CONTROL_SOCKET" ] || echo "control socket $SANDBOX_CONTROL_SOCKET"
}
