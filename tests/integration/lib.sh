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
#   run_pid                   a chaosctl run started in the background: set it to
#                             $! and clear it once the run has ended; at exit,
#                             after test_cleanup, a run still going is stopped
#                             (SIGTERM: chaosctl asks for an abort) and reaped
#   itest_pg_initdb DIR       a throwaway PostgreSQL cluster: DIR/data (initdb,
#                             peer + scram-sha-256), DIR/sock, DIR/pg.log; on
#                             failure prints initdb's output and returns 1
#
# Sandbox part, after sbx_init BUILD_DIR: the instance is $CHAOS_SANDBOX_ID
# (0..9, default 0; see deploy/sandbox/sandbox), its agents' mode
# $CHAOS_SANDBOX_MODE (sidecar, the default, or node: sbx_up starts it so),
# and its names come from `sandbox status --json`, never from constants here:
#   build repo sandbox        paths; CHAOS_BUILD_DIR is exported for the sandbox
#   SANDBOX_ID SANDBOX_CONTROL_URL SANDBOX_CONTROL_SOCKET SANDBOX_SUBNET
#   SANDBOX_NET (address prefix with its dot, e.g. "10.231.0.")
#   SANDBOX_STATE_DIR SANDBOX_DSN_FILE SANDBOX_NETNS_PREFIX SANDBOX_CTRL_NETNS
#   SANDBOX_CTRL_IP SANDBOX_SESSION_URL SANDBOX_EVENTS_URL SANDBOX_METRICS_URL
#   SANDBOX_PODS (array of pod names)
#   SANDBOX_MODE              sidecar or node (the agents' deployment)
#   sbx_up [ARGS]             `sandbox up --mode $SANDBOX_MODE ARGS` (output kept
#                             only on failure), then the facts again (the chain
#                             size may differ)
#   "${ctl[@]}" ARGS          chaosctl against this instance's controller (an
#                             array, not a function, so "$!" of a job is chaosctl)
#   sbx_ip POD, sbx_netns POD the pod's address and network namespace
#   sbx_in POD CMD...         CMD inside the pod's namespace ("controller" too);
#                             for a background job use ip netns exec "$(sbx_netns POD)"
#   sbx_pid POD KIND          live pid of KIND (agent, etcd, ...) in POD, or fails
#   sbx_agent_pid POD         live pid of the agent acting for POD: its sidecar,
#                             or the node agent (node mode), or fails
#   sbx_node_agent_pid        live pid of the node agent (node mode), or fails
#   sbx_manifest_caps FILE    the capabilities a manifest adds, as CapEff hex
#   sbx_manifest_setpriv FILE the same as setpriv's list (+net_admin,...)
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
run_pid=
SANDBOX_MODE=${CHAOS_SANDBOX_MODE:-sidecar}
case $SANDBOX_MODE in
sidecar | node) ;;
*) echo "FAIL: CHAOS_SANDBOX_MODE must be sidecar or node, not '$SANDBOX_MODE'" >&2; exit 1 ;;
esac

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

# itest_stop PID...: SIGTERM to each, then waits at most 30 s for them all
# (a daemon reverts and exits in well under a second, and ends itself 10 or
# 20 s after the signal when stuck); one still there is named with what each
# of its threads waits on, then killed, so that a cleanup never hangs.
# Returns 1 when one had to be killed.
itest_stop() {
	local p left=() deadline=$((SECONDS + 30)) rv=0
	for p in "$@"; do kill "$p" 2>/dev/null; done
	for p in "$@"; do
		while kill -0 "$p" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
		kill -0 "$p" 2>/dev/null && left+=("$p")
	done
	for p in "${left[@]}"; do
		echo "itest_stop: pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)) still" \
			"running 30 s after SIGTERM; its threads (name:wait):" \
			"$(for t in /proc/"$p"/task/*; do
				printf '%s:%s ' "$(cat "$t/comm")" "$(cat "$t/wchan")"
			done 2>/dev/null)" >&2
		kill -9 "$p" 2>/dev/null
		rv=1
	done
	for p in "$@"; do wait "$p" 2>/dev/null; done
	return "$rv"
}

# The EXIT trap: the script's own cleanup, the sandbox instance, the temp dir.
itest_cleanup() { # exit status of the script
	set +e
	if declare -F test_cleanup >/dev/null; then test_cleanup; fi
	if [ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null; then wait "$run_pid" 2>/dev/null; fi
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
	log=$("$sandbox" up --mode "$SANDBOX_MODE" "$@" 2>&1) ||
		{ echo "$log" >&2; fail "sandbox up --mode $SANDBOX_MODE $* failed"; }
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

sbx_node_agent_pid() {
	local pid
	pid=$("$sandbox" status --json | python3 -c '
import json, sys
n = json.load(sys.stdin).get("node_agent")
print(n["pid"] if n and n["pid"] else "")')
	[ -n "$pid" ] || return 1
	echo "$pid"
}

sbx_agent_pid() { # pod
	if [ "$SANDBOX_MODE" = node ]; then
		sbx_node_agent_pid
	else
		sbx_pid "$1" agent
	fi
}

# The capabilities deploy/k8s/... FILE adds to its agent container, as
# setpriv's list ("+net_admin,+kill,...").
sbx_manifest_setpriv() { # file (relative to the repository)
	local names
	names=$(grep -m1 -E '^[[:space:]]*add: \[' "$repo/$1" |
		sed -E 's/.*\[(.*)\].*/\1/; s/[" ]//g' | tr '[:upper:]' '[:lower:]')
	[ -n "$names" ] || fail "no capabilities in $1"
	echo "+${names//,/,+}"
}

# The same as the hex mask /proc/<pid>/status shows in CapEff.
sbx_manifest_caps() { # file (relative to the repository)
	local names
	names=$(sbx_manifest_setpriv "$1" | tr -d '+')
	python3 -c '
import sys
bits = {"kill": 5, "net_admin": 12, "sys_ptrace": 19, "sys_admin": 21}
mask = 0
for n in sys.argv[1].split(","):
    if n not in bits:
        sys.exit("capability %s: add its bit to sbx_manifest_caps" % n)
    mask |= 1 << bits[n]
print("%016x" % mask)' "$names"
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
		grep -E "^${SANDBOX_NETNS_PREFIX}(bridge|controller|node|postgres-0|coordinator-[0-9]+|chain-[0-9]+)\$" || true
}

sbx_tables_left() {
	local ns
	for ns in $(sbx_netns_present); do
		ip netns exec "$ns" nft list tables 2>/dev/null | grep chaos_agent >/dev/null && echo "$ns"
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
