#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Foundation, end to end on a real kernel: the sandbox comes up with six
# agents connected; an agent killed with SIGKILL is marked lost within three
# heartbeats and connected again once restarted; malformed bytes on every
# controller endpoint are dropped and counted while the controller keeps
# serving; sandbox down leaves no namespace, process or socket behind.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: needs root (network namespaces, PostgreSQL, etcd)"
	exit 77
fi

build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
sandbox="$repo/deploy/sandbox/sandbox"
ctl="$build/controller/chaosctl"
garbage="$build/tests/integration/garbage"
export CHAOS_BUILD_DIR="$build"
hb_ms=500

fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() { "$sandbox" down >/dev/null 2>&1 || true; }
trap cleanup EXIT

agent_state() { # agent_state POD -> connected|lost|missing
	"$ctl" agents --json | python3 -c '
import json, sys
pod = sys.argv[1]
for a in json.load(sys.stdin):
    if a["pod"] == pod:
        print(a["state"]); break
else:
    print("missing")' "$1"
}

echo "== sandbox up"
"$sandbox" down >/dev/null 2>&1 || true
"$sandbox" up

echo "== chaosctl agents --json lists six connected agents with roles and IPs"
"$ctl" agents --json > /tmp/foundation-agents.json
python3 - /tmp/foundation-agents.json <<'PY'
import json, sys
agents = json.load(open(sys.argv[1]))
want = {"postgres-0": "database", "coordinator-0": "coordinator", "coordinator-1": "coordinator",
        "chain-0": "blockchain", "chain-1": "blockchain", "chain-2": "blockchain"}
got = {a["pod"]: a for a in agents}
assert set(got) == set(want), f"pods {sorted(got)} != {sorted(want)}"
for pod, role in want.items():
    a = got[pod]
    assert a["state"] == "connected", f"{pod} is {a['state']}"
    assert a["role"] == role, f"{pod} role {a['role']} != {role}"
    assert any(ip.startswith("10.231.0.") for ip in a["ips"]), f"{pod} ips {a['ips']}"
    for key in ("id", "namespace", "node", "clock_offset_ms", "clock_error_ms"):
        assert key in a, f"{pod} lacks {key}"
print("ok: 6 agents connected:", ", ".join(f"{p}={got[p]['ips'][0]}" for p in sorted(got)))
PY

echo "== kill -9 of the chain-1 agent: lost within 3 heartbeats"
pid=$("$sandbox" status --json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["pods"]:
    if p["name"] == "chain-1": print(p["pids"]["agent"])')
[ -n "$pid" ] && [ "$pid" != "None" ] || fail "no agent pid for chain-1"
start=$(date +%s%N)
kill -9 "$pid"
state=connected
for _ in $(seq 1 40); do
	state=$(agent_state chain-1)
	[ "$state" = lost ] && break
	sleep 0.05
done
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$state" = lost ] || fail "chain-1 still $state after ${elapsed_ms} ms"
[ "$elapsed_ms" -le $((3 * hb_ms + 200)) ] || fail "lost after ${elapsed_ms} ms > 3 heartbeats"
echo "ok: lost after ${elapsed_ms} ms (heartbeat ${hb_ms} ms)"

echo "== restarted (sandbox up restarts only what is missing): connected again"
"$sandbox" up >/dev/null
[ "$(agent_state chain-1)" = connected ] || fail "chain-1 not connected after restart"
echo "ok: chain-1 connected again"

stat_dropped() { # stat_dropped ENDPOINT
	"$ctl" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]]["dropped"])' "$1"
}

echo "== malformed bytes on every endpoint: dropped, counted, controller keeps serving"
for ep in session events control; do
	before=$(stat_dropped "$ep")
	case $ep in
	session) ip netns exec chaos-chain-0 "$garbage" session tcp://10.231.0.2:7600 5 ;;
	events) ip netns exec chaos-chain-0 "$garbage" events tcp://10.231.0.2:7601 20 ;;
	control) "$garbage" control ipc:///run/chaos/control.sock 20 ;;
	esac
	sleep 0.5
	after=$(stat_dropped "$ep")
	[ "$after" -gt "$before" ] || fail "$ep: dropped stayed at $before"
	echo "ok: $ep dropped $before -> $after"
done
"$ctl" stats
"$ctl" agents --json | python3 -c '
import json, sys
a = json.load(sys.stdin)
bad = [x["pod"] for x in a if x["state"] != "connected"]
assert len(a) == 6 and not bad, f"after garbage: {len(a)} agents, not connected: {bad}"
print("ok: all 6 agents still connected; controller serving")'

echo "== sandbox down leaves nothing"
"$sandbox" down
left_ns=$(ip netns list | grep -E '^chaos-' || true)
[ -z "$left_ns" ] || fail "namespaces left: $left_ns"
left_proc=$(pgrep -af 'chaos-agent|chaos-controller|chaos-coordinator|/run/chaos-sandbox' || true)
[ -z "$left_proc" ] || fail "processes left: $left_proc"
[ ! -e /run/chaos-sandbox ] || fail "/run/chaos-sandbox left"
[ ! -e /run/chaos/control.sock ] || fail "control socket left"
echo "ok: no namespace, process or socket left"
trap - EXIT
echo "foundation: all checks passed"
