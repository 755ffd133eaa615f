#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Network partition, end to end on the sandbox (real kernel, real etcd Raft):
#  0. the agents run with exactly the capabilities their manifest declares;
#  1. a 10 s partition of one of three nodes: TCP between the sides fails both
#     ways from the nodes themselves (the 4 cross pairs), within a side it
#     works (the 2 in-side pairs); the run exits 0 with every result field,
#     recovery_time > 0 agrees with the samples in the file, and no table of
#     ours is left in any pod namespace;
#  2. kill -9 of chain-2's agent mid-partition (node mode: the node agent,
#     which serves every node): its rules are gone at once and the run
#     reports its fault (node mode: every fault) as lost, not recovered;
#  3. kill -9 of the controller mid-partition: every node's rules are gone
#     within the lease + 1 s.
# The same checks in both modes: CHAOS_SANDBOX_MODE=sidecar (default) or node.
# The sandbox instance is $CHAOS_SANDBOX_ID (default 0).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces, nftables"
sbx_init "$1"
itest_tmpdir netpart
out=$ITEST_OUT
lease_ms=3000

# tcp_ok FROM_POD TO_POD: can FROM open a TCP connection to TO's etcd peer port?
tcp_ok() {
	sbx_in "$1" python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 2380), timeout=0.7).close()
except OSError:
    sys.exit(1)' "$(sbx_ip "$2")"
}

has_rules() { # has_rules POD: is a table of ours with a drop rule in the pod's netns?
	sbx_in "$1" nft list table inet chaos_agent 2>/dev/null | grep drop >/dev/null
}

wait_rules() { # wait_rules POD SECONDS
	for _ in $(seq 1 $(( $2 * 20 ))); do has_rules "$1" && return 0; sleep 0.05; done
	return 1
}

# partition_run SECONDS NAME: cut chain-2 off the other two in the background
# (run_pid; results in $out/NAME, output in $out/NAME.log); returns once
# chain-2 has its rules.
partition_run() {
	"${ctl[@]}" run network --partition-duration "$1" --partition-ratio 0.34 \
		--output "$out/$2" >"$out/$2.log" 2>&1 &
	run_pid=$!
	wait_rules chain-2 30 || { cat "$out/$2.log"; fail "$2: no partition rules on chain-2"; }
}

# partition_stop: chaosctl is not waited for (its run is lost or aborted).
partition_stop() {
	kill "$run_pid" 2>/dev/null || true
	wait "$run_pid" 2>/dev/null || true
	run_pid=
}

sbx_up

echo "== 0. $SANDBOX_MODE agents have exactly their manifest's capabilities"
if [ "$SANDBOX_MODE" = node ]; then
	manifest=deploy/k8s/components/node-agent/daemonset.yaml
else
	manifest=deploy/k8s/components/sidecar/agent.yaml
fi
want=$(sbx_manifest_caps "$manifest")
for p in chain-0 postgres-0; do
	apid=$(sbx_agent_pid "$p") || fail "no agent for $p"
	have=$(awk '/^CapEff/ {print $2}' "/proc/$apid/status")
	[ "$have" = "$want" ] || fail "$p's agent has CapEff $have, $manifest declares $want"
done
echo "ok: CapEff $want, as $manifest declares"

echo "== 1. partition one of three nodes for 10 s ($SANDBOX_MODE agents)"
partition_run 10 cut
wait_rules chain-0 5 || fail "no partition rules on chain-0"
sleep 0.5
tcp_ok chain-2 chain-0 && fail "chain-2 -> chain-0 works during the partition"
tcp_ok chain-0 chain-2 && fail "chain-0 -> chain-2 works during the partition"
tcp_ok chain-1 chain-2 && fail "chain-1 -> chain-2 works during the partition"
tcp_ok chain-2 chain-1 && fail "chain-2 -> chain-1 works during the partition"
tcp_ok chain-0 chain-1 || fail "chain-0 -> chain-1 (same side) fails during the partition"
tcp_ok chain-1 chain-0 || fail "chain-1 -> chain-0 (same side) fails during the partition"
echo "ok: the 4 cross pairs fail, the 2 in-side pairs work"
rc=0; wait "$run_pid" || rc=$?; run_pid=
cat "$out/cut.log"
[ "$rc" -eq 0 ] || fail "chaosctl run network exited $rc"
result=$(ls "$out"/cut/chaos_test_network_partition_*.json)
python3 - "$result" <<'PY'
import json, sys, datetime
r = json.load(open(sys.argv[1]))
for k in ("scenario", "partition_start", "partition_end", "affected_nodes", "mttr",
          "recovery_time", "success_count", "error_count", "test_start", "test_end",
          "detection_time", "nodes", "connectivity", "clock_error_ms", "samples"):
    assert k in r, f"missing {k}"
assert r["scenario"] == "network_partition"
assert r["affected_nodes"] == ["chain-2"], r["affected_nodes"]
# every agent's clock was measured: the bound is a number, never a 0 for unknown
assert isinstance(r["clock_error_ms"], (int, float)), r.get("clock_error_ms_reason")
assert isinstance(r["timing"]["precision_ms"], (int, float)), r["timing"]
rt = r["recovery_time"]
assert isinstance(rt, (int, float)) and rt > 0, f"recovery_time {rt!r}"
ts = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()
end = ts(r["partition_end"])
window = r["parameters"]["stability_window_s"]
worst, recs = 0.0, []
for pod, samples in r["samples"].items():
    s = [(ts(x["t"]), x["ok"]) for x in samples]
    start = None
    rec = None
    for t, ok in s:
        if t < end:
            continue
        if not ok:
            start = None
            continue
        if start is None:
            start = t
        if t - start >= window - 1e-6:
            rec = start
            break
    assert rec is not None, f"{pod}: no recovery in the samples"
    node = next(n for n in r["nodes"] if n["pod"] == pod)
    # a recovery only for a node down at the restore (its last sample
    # before it) or after it; a node healthy throughout has nothing to recover
    before = [ok for t, ok in s if t < end]
    down = (before and not before[-1]) or any(not ok for t, ok in s if end <= t <= rec)
    if not down:
        assert node["recovery_time"] is None and "nothing to recover" in \
            node["recovery_time_reason"], (pod, node)
        continue
    assert abs((rec - end) - node["recovery_time"]) < 0.002, (pod, rec - end, node["recovery_time"])
    worst = max(worst, rec - end)
    recs.append(rec - end)
assert recs, "no node was down after the partition: the cut node should have been"
assert abs(worst - rt) < 0.002, f"recovery_time {rt} vs samples {worst:.3f}"
assert abs(sum(recs) / len(recs) - r["mttr"]) < 0.002, (r["mttr"], recs)
c = r["connectivity"]
assert c["during"]["chain-2"]["chain-0"] is False and c["during"]["chain-0"]["chain-2"] is False
assert c["during"]["chain-0"]["chain-1"] is True
assert c["before"]["chain-0"]["chain-2"] is True and c["after"]["chain-2"]["chain-0"] is True
print(f"ok: result complete; recovery_time {rt} s agrees with the samples; mttr {r['mttr']} s;"
      f" detection {r['detection_time']} s")
PY
sbx_expect_no_tables "after the run"

echo "== 2. kill -9 of the agent acting for chain-2 mid-partition"
partition_run 6 kill-agent
[ "$SANDBOX_MODE" = node ] && { wait_rules chain-0 5 || fail "no partition rules on chain-0"; }
pid=$(sbx_agent_pid chain-2) || fail "no agent pid for chain-2"
kill -9 "$pid"
sleep 0.1
has_rules chain-2 && fail "chain-2 rules still there 100 ms after its agent died"
# node mode: one process served them all, so all went with it
lost_pods=chain-2
if [ "$SANDBOX_MODE" = node ]; then
	lost_pods="chain-0 chain-1 chain-2"
	for p in chain-0 chain-1; do
		has_rules "$p" && fail "$p rules still there 100 ms after the node agent died"
	done
fi
echo "ok: the rules of $lost_pods were gone within 100 ms of kill -9"
killed_at=$(date +%s)
rc=0; wait "$run_pid" || rc=$?; run_pid=
# the faults died with their agent: that is their end, not a wait of the
# recovery timeout (120 s) for reverts nobody will send
took=$(($(date +%s) - killed_at))
[ "$took" -le 60 ] || fail "the run went on $took s after the agent died"
cat "$out/kill-agent.log"
[ "$rc" -eq 1 ] || fail "run with a lost agent exited $rc, wanted 1"
python3 - "$out"/kill-agent/chaos_test_network_partition_*.json $lost_pods <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for pod in sys.argv[2:]:
    n = next(n for n in r["nodes"] if n["pod"] == pod)
    assert n["fault_outcome"] == "lost", n
    assert n["recovery_time"] is None and "lost" in n["recovery_time_reason"], n
print("ok: the fault of", ", ".join(sys.argv[2:]), "reported as lost, not recovered")
PY
sbx_up

echo "== 3. kill -9 of the controller mid-partition"
partition_run 20 kill-ctl
wait_rules chain-0 5 || fail "no partition rules on chain-0"
cpid=$(sbx_controller_pid) || fail "no controller pid"
start=$(date +%s%N)
kill -9 "$cpid"
while :; do
	left=""
	for p in chain-0 chain-1 chain-2; do has_rules "$p" && left="$left $p"; done
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	[ -z "$left" ] && break
	[ "$elapsed" -le $((lease_ms + 3000)) ] || fail "rules still on$left after $elapsed ms"
	sleep 0.05
done
[ "$elapsed" -le $((lease_ms + 1000)) ] || fail "rules gone only after $elapsed ms > lease + 1 s"
echo "ok: every node's rules gone $elapsed ms after the controller died (lease $lease_ms ms)"
partition_stop
sbx_up

echo "== 4. SIGINT to chaosctl mid-partition: reverted before it exits"
partition_run 30 sigint
kill -INT "$run_pid"
rc=0; wait "$run_pid" || rc=$?; run_pid=
sbx_expect_no_tables "after chaosctl's SIGINT"
[ "$rc" -eq 1 ] || fail "interrupted run exited $rc, wanted 1"
grep -q "run [0-9]* aborted" "$out/sigint.log" || fail "run not reported as aborted"
echo "ok: chaosctl interrupted: everything reverted, run aborted, exit 1"

echo "== 5. SIGTERM to the controller mid-partition: reverted before it exits"
partition_run 30 sigterm
cpid=$(sbx_controller_pid) || fail "no controller pid"
kill -TERM "$cpid"
while kill -0 "$cpid" 2>/dev/null; do sleep 0.02; done
sbx_expect_no_tables "when the controller exited on SIGTERM"
echo "ok: controller reverted everything before exiting on SIGTERM"
partition_stop
echo "network partition: all checks passed"
