#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Node mode on the sandbox (CHAOS_SANDBOX_MODE=node: one chaos-agent --mode
# node in a netns of its own serves the six pods):
#  1. chaosctl agents --json lists the six pods, resolved, each served by the
#     one node agent process; the host's network namespace is not listed;
#  2. the node agent runs with exactly the DaemonSet's capabilities;
#  3. a sidecar agent started for chain-0 wins: the node agent's view of
#     chain-0 is listed as shadowed (and logged), a partition uses chain-0
#     once, through the sidecar;
#  4. kill -9 of the node agent mid-partition: no table of ours left in any
#     pod's netns within 1 s, over 20 trials (bounded in count and time);
#     the run, then interrupted, ends within 2 s (nothing waits on the lost
#     pods' acks);
#  5. a pod deleted mid-fault (its netns gone): the node agent and the
#     controller say so in their logs, the run reports the pod lost, no
#     table is left anywhere, nothing crashes.
# The sandbox instance is $CHAOS_SANDBOX_ID (default 0).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces, nftables"
[ "$SANDBOX_MODE" = node ] || { echo "skipped: needs CHAOS_SANDBOX_MODE=node"; exit 77; }
sbx_init "$1"
itest_tmpdir node
out=$ITEST_OUT
trials=${CHAOS_NODE_KILL_TRIALS:-20}
run_pid=
side_pid=

test_cleanup() {
	[ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
	[ -n "$side_pid" ] && kill "$side_pid" 2>/dev/null
	# the sandbox's logs go with it: keep them with the test's output
	cp -r "$SANDBOX_STATE_DIR/logs" "$out/" 2>/dev/null
}

has_rules() { # POD: a table of ours with a drop rule in the pod's netns
	sbx_in "$1" nft list table inet chaos_agent 2>/dev/null | grep drop >/dev/null
}

wait_rules() { # POD SECONDS
	for _ in $(seq 1 $(($2 * 20))); do has_rules "$1" && return 0; sleep 0.05; done
	return 1
}

agents_json() { "${ctl[@]}" agents --json >"$out/agents.json"; }

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

sbx_up

echo "== 1. six pods, all served by one node agent process"
node_pid=$(sbx_node_agent_pid) || fail "no node agent pid"
agents_json
python3 - "$out/agents.json" "$node_pid" "$(stat -Lc %i /proc/self/ns/net)" <<'PY'
import json, sys
agents, node_pid, host_ino = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
want = {"postgres-0": "database", "coordinator-0": "coordinator", "coordinator-1": "coordinator",
        "chain-0": "blockchain", "chain-1": "blockchain", "chain-2": "blockchain"}
pods = {a["pod"]: a for a in agents if a["kind"] == "target" and a["target_state"] == "resolved"}
assert set(pods) == set(want), f"resolved pods {sorted(pods)} != {sorted(want)}"
served = {a["served_by"] for a in pods.values()}
assert len(served) == 1, f"served by {served}"
for pod, a in pods.items():
    assert a["role"] == want[pod] and a["state"] == "connected" and a["mode"] == "node", a
    assert a["pid"] == node_pid, f"{pod} served by pid {a['pid']}, the node agent is {node_pid}"
    assert a["netns"] and a["netns"].endswith(pod), a
agent = next(a for a in agents if a["kind"] == "agent" and a["id"] == served.pop())
assert agent["mode"] == "node" and agent["role"] == "node" and agent["pid"] == node_pid, agent
keys = {a.get("target_key") for a in agents if a["kind"] == "target"}
assert host_ino not in keys and "4026531833" not in keys, "the host's netns is listed"
print(f"ok: 6 pods resolved (inventory), all served by {agent['id']} pid {node_pid}; "
      f"{sum(a['kind'] == 'target' for a in agents)} namespaces listed, none the host's")
PY
[ "$(stat -Lc %i "/proc/$node_pid/ns/net")" != "$(stat -Lc %i /proc/self/ns/net)" ] ||
	fail "the node agent runs in the host's network namespace"

echo "== 2. the node agent has exactly the DaemonSet's capabilities"
want=$(sbx_manifest_caps deploy/k8s/components/node-agent/daemonset.yaml)
have=$(awk '/^CapEff/ {print $2}' "/proc/$node_pid/status")
bnd=$(awk '/^CapBnd/ {print $2}' "/proc/$node_pid/status")
[ "$have" = "$want" ] && [ "$bnd" = "$want" ] ||
	fail "node agent CapEff $have CapBnd $bnd, the DaemonSet declares $want"
echo "ok: CapEff = CapBnd = $have (NET_ADMIN, SYS_ADMIN, SYS_PTRACE, KILL)"

echo "== 3. a sidecar for chain-0 wins over the node agent"
ip netns exec "$(sbx_netns chain-0)" env CHAOS_POD_NAME=chain-0 \
	CHAOS_NAMESPACE=chaos-sandbox CHAOS_NODE_NAME="$(hostname)" CHAOS_ROLE=blockchain \
	setpriv --inh-caps=-all --ambient-caps=-all \
	--bounding-set="-all,$(sbx_manifest_setpriv deploy/k8s/components/sidecar/agent.yaml)" -- \
	"$build/agent/chaos-agent" --controller "$SANDBOX_SESSION_URL" --plaintext \
	--label app=chain >"$out/sidecar.log" 2>&1 &
side_pid=$!
for _ in $(seq 1 50); do
	agents_json
	python3 - "$out/agents.json" <<'PY' && break
import json, sys
a = json.load(open(sys.argv[1]))
side = [x for x in a if x["kind"] == "agent" and x["pod"] == "chain-0" and x["state"] == "connected"]
shadow = [x for x in a if x["kind"] == "target" and x["pod"] == "chain-0"
          and x["target_state"] == "shadowed"]
sys.exit(0 if side and shadow else 1)
PY
	sleep 0.1
done
python3 - "$out/agents.json" <<'PY' || fail "chain-0 not shown as served by its sidecar"
import json, sys
a = json.load(open(sys.argv[1]))
t = next(x for x in a if x["kind"] == "target" and x["pod"] == "chain-0")
assert t["target_state"] == "shadowed" and "sidecar" in t["target_reason"], t
print("ok: chain-0:", t["target_reason"])
PY
grep -q "chain-0 also has a sidecar agent" "$SANDBOX_STATE_DIR/logs/controller.log" ||
	fail "the controller did not log that the sidecar wins"
"${ctl[@]}" run network --partition-duration 2 --partition-ratio 0.34 --baseline 0.5 \
	--output "$out/side" >"$out/side.log" 2>&1 || { cat "$out/side.log"; fail "run with a sidecar failed"; }
python3 - "$out"/side/chaos_test_network_partition_*.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
pods = [n["pod"] for n in r["nodes"]]
assert sorted(pods) == ["chain-0", "chain-1", "chain-2"], f"nodes {pods}: each pod once"
print("ok: the partition took chain-0 once:", ", ".join(pods))
PY
grep -q "fault r[0-9]*-partition-chain-0 applied" "$out/sidecar.log" ||
	fail "chain-0's fault did not go through its sidecar"
if grep -q "partition-chain-0 applied" "$SANDBOX_STATE_DIR/logs/agent-node.log"; then
	fail "the node agent applied chain-0's fault too"
fi
echo "ok: chain-0's fault went through the sidecar only"
kill "$side_pid"
wait "$side_pid" 2>/dev/null || true
side_pid=
sbx_expect_no_tables "after the run with a sidecar"

echo "== 4. kill -9 of the node agent mid-partition, $trials trials"
times=()
deadline=$((SECONDS + 300))
for trial in $(seq 1 "$trials"); do
	[ "$SECONDS" -lt "$deadline" ] || fail "trials took over 300 s (at trial $trial)"
	"${ctl[@]}" run network --partition-duration 30 --partition-ratio 0.34 --baseline 0 \
		--output "$out/k$trial" >"$out/k$trial.log" 2>&1 &
	run_pid=$!
	for p in chain-0 chain-1 chain-2; do
		wait_rules "$p" 30 || { cat "$out/k$trial.log"; fail "trial $trial: no rules on $p"; }
	done
	pid=$(sbx_node_agent_pid) || fail "trial $trial: no node agent"
	start=$(date +%s%N)
	kill -9 "$pid"
	while :; do
		left=$(sbx_tables_left)
		# after the look: the tables were gone by then at the latest
		elapsed=$(ms_since "$start")
		[ -z "$left" ] && break
		[ "$elapsed" -le 3000 ] || fail "trial $trial: tables still in $left after $elapsed ms"
		sleep 0.01
	done
	[ "$elapsed" -le 1000 ] || fail "trial $trial: tables gone only after $elapsed ms"
	times+=("$elapsed")
	# the run, told to stop, sends nothing to the lost pods and waits for
	# no ack of theirs (it used to wait out the 5 s ack timeout)
	start=$(date +%s%N)
	kill -INT "$run_pid" 2>/dev/null || true
	wait "$run_pid" 2>/dev/null || true
	run_pid=
	stop_ms=$(ms_since "$start")
	[ "$stop_ms" -le 2000 ] || { cat "$out/k$trial.log"; fail "trial $trial: the aborted run took $stop_ms ms to end"; }
	sbx_up # a new node agent, serving the six pods again
done
python3 - "${times[@]}" <<'PY'
import statistics, sys
t = sorted(int(x) for x in sys.argv[1:])
print(f"ok: {len(t)} trials: every pod's table gone after kill -9 within "
      f"{t[0]}..{t[-1]} ms (median {statistics.median(t)} ms; bar 1000 ms): {' '.join(map(str, t))}")
PY

echo "== 5. a pod deleted mid-fault"
node_pid=$(sbx_node_agent_pid) || fail "no node agent"
"${ctl[@]}" run network --partition-duration 8 --partition-ratio 0.34 --baseline 0.5 \
	--output "$out/gone" >"$out/gone.log" 2>&1 &
run_pid=$!
wait_rules chain-2 30 || { cat "$out/gone.log"; fail "no rules on chain-2"; }
epid=$(sbx_pid chain-2 etcd) || fail "no etcd in chain-2"
kill -9 "$epid"
ip netns del "$(sbx_netns chain-2)"
start=$(date +%s%N)
for _ in $(seq 1 40); do
	grep -q "netns $(sbx_netns chain-2)) vanished" "$SANDBOX_STATE_DIR/logs/agent-node.log" && break
	sleep 0.05
done
grep -q "netns $(sbx_netns chain-2)) vanished" "$SANDBOX_STATE_DIR/logs/agent-node.log" ||
	fail "the node agent did not say chain-2's netns vanished"
echo "ok: node agent: $(grep -m1 "netns $(sbx_netns chain-2)) vanished" \
	"$SANDBOX_STATE_DIR/logs/agent-node.log" | cut -d' ' -f4-) ($(ms_since "$start") ms)"
for _ in $(seq 1 100); do
	grep -q "partition-chain-2 reverted on target .*(target vanished" \
		"$SANDBOX_STATE_DIR/logs/agent-node.log" && break
	sleep 0.05
done
grep -q "partition-chain-2 reverted on target .*(target vanished" \
	"$SANDBOX_STATE_DIR/logs/agent-node.log" || fail "chain-2's fault not reported reverted"
rc=0
wait "$run_pid" || rc=$?
run_pid=
[ "$rc" -eq 1 ] || { cat "$out/gone.log"; fail "run with a deleted pod exited $rc, wanted 1"; }
grep -q "pod chain-2 (served by node agent .*) lost during the run: its netns vanished" \
	"$out/gone.log" || { cat "$out/gone.log"; fail "the run did not say chain-2 was lost"; }
grep -q "(netns $(sbx_netns chain-2), pod chaos-sandbox/chain-2) is gone" \
	"$SANDBOX_STATE_DIR/logs/controller.log" || fail "the controller did not log chain-2 gone"
python3 - "$out"/gone/chaos_test_network_partition_*.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n = next(n for n in r["nodes"] if n["pod"] == "chain-2")
assert n["fault_outcome"] == "lost" and "lost" in n["recovery_time_reason"], n
print("ok: result: chain-2", n["fault_outcome"], "-", n["recovery_time_reason"])
PY
[ "$(sbx_node_agent_pid)" = "$node_pid" ] || fail "the node agent did not survive"
sbx_expect_no_tables "after a pod was deleted mid-fault"
sbx_up # chain-2 back
echo "node mode: all checks passed"
