#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Foundation, end to end on a real kernel: the sandbox comes up with six
# agents connected; an agent killed with SIGKILL is marked lost within three
# heartbeats and connected again once restarted; malformed bytes on every
# controller endpoint are dropped and counted while the controller keeps
# serving; sandbox down leaves no namespace, process or socket behind.
# The sandbox instance is $CHAOS_SANDBOX_ID (default 0).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces, PostgreSQL, etcd"
sbx_init "$1"
itest_tmpdir foundation
garbage="$build/tests/integration/garbage"
hb_ms=500

agent_state() { # agent_state POD -> connected|lost|missing
	"${ctl[@]}" agents --json | python3 -c '
import json, sys
pod = sys.argv[1]
for a in json.load(sys.stdin):
    if a["pod"] == pod:
        print(a["state"]); break
else:
    print("missing")' "$1"
}

echo "== sandbox up (instance $SANDBOX_ID, $SANDBOX_SUBNET)"
"$sandbox" down >/dev/null 2>&1 || true
"$sandbox" up
sbx_facts

echo "== chaosctl agents --json lists six connected agents with roles and IPs"
"${ctl[@]}" agents --json > "$ITEST_OUT/agents.json"
python3 - "$ITEST_OUT/agents.json" "$SANDBOX_NET" <<'PY'
import json, sys
agents = json.load(open(sys.argv[1]))
net = sys.argv[2]
want = {"postgres-0": "database", "coordinator-0": "coordinator", "coordinator-1": "coordinator",
        "chain-0": "blockchain", "chain-1": "blockchain", "chain-2": "blockchain"}
got = {a["pod"]: a for a in agents}
assert set(got) == set(want), f"pods {sorted(got)} != {sorted(want)}"
for pod, role in want.items():
    a = got[pod]
    assert a["state"] == "connected", f"{pod} is {a['state']}"
    assert a["role"] == role, f"{pod} role {a['role']} != {role}"
    assert any(ip.startswith(net) for ip in a["ips"]), f"{pod} ips {a['ips']} not in {net}*"
    for key in ("id", "namespace", "node", "clock_offset_ms", "clock_error_ms"):
        assert key in a, f"{pod} lacks {key}"
print("ok: 6 agents connected:", ", ".join(f"{p}={got[p]['ips'][0]}" for p in sorted(got)))
PY

echo "== kill -9 of the chain-1 agent: lost within 3 heartbeats"
pid=$(sbx_pid chain-1 agent) || fail "no agent pid for chain-1"
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
sbx_up
[ "$(agent_state chain-1)" = connected ] || fail "chain-1 not connected after restart"
echo "ok: chain-1 connected again"

stat_dropped() { # stat_dropped ENDPOINT
	"${ctl[@]}" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]]["dropped"])' "$1"
}

echo "== malformed bytes on every endpoint: dropped, counted, controller keeps serving"
for ep in session events control; do
	before=$(stat_dropped "$ep")
	case $ep in
	session) sbx_in chain-0 "$garbage" session "$SANDBOX_SESSION_URL" 5 ;;
	events) sbx_in chain-0 "$garbage" events "$SANDBOX_EVENTS_URL" 20 ;;
	control) "$garbage" control "$SANDBOX_CONTROL_URL" 20 ;;
	esac
	sleep 0.5
	after=$(stat_dropped "$ep")
	[ "$after" -gt "$before" ] || fail "$ep: dropped stayed at $before"
	echo "ok: $ep dropped $before -> $after"
done
"${ctl[@]}" stats
"${ctl[@]}" agents --json | python3 -c '
import json, sys
a = json.load(sys.stdin)
bad = [x["pod"] for x in a if x["state"] != "connected"]
assert len(a) == 6 and not bad, f"after garbage: {len(a)} agents, not connected: {bad}"
print("ok: all 6 agents still connected; controller serving")'

echo "== sandbox down leaves nothing of this instance"
"$sandbox" down
left=$(sbx_leftovers)
[ -z "$left" ] || fail "left behind: $left"
echo "ok: no namespace, process, state dir or socket of instance $SANDBOX_ID left"
echo "foundation: all checks passed"
