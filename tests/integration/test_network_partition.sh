#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Network partition, end to end on the sandbox (real kernel, real etcd Raft):
#  1. a 10 s partition of one of three nodes: TCP between the sides fails both
#     ways from the nodes themselves, within a side it works; the run exits 0
#     with every result field, recovery_time > 0 agrees with the samples in
#     the file, and no table of ours is left in any pod namespace;
#  2. kill -9 of a chain agent mid-partition: its rules are gone at once and
#     the run reports its fault as lost, not recovered;
#  3. kill -9 of the controller mid-partition: every node's rules are gone
#     within the lease + 1 s.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: needs root (network namespaces, nftables)"
	exit 77
fi

build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
sandbox="$repo/deploy/sandbox/sandbox"
ctl="$build/controller/chaosctl"
export CHAOS_BUILD_DIR="$build"
out=$(mktemp -d /tmp/chaos-netpart.XXXXXX)
lease_ms=3000
run_pid=

fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
	[ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
	"$sandbox" down >/dev/null 2>&1 || true
	rm -rf "$out"
}
trap cleanup EXIT

ip_of() { echo "10.231.0.$((30 + ${1#chain-}))"; }

# tcp_ok FROM_POD TO_POD: can FROM open a TCP connection to TO's etcd peer port?
tcp_ok() {
	ip netns exec "chaos-$1" python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 2380), timeout=0.7).close()
except OSError:
    sys.exit(1)' "$(ip_of "$2")"
}

has_rules() { # has_rules POD: is a table of ours with a drop rule in the pod's netns?
	ip netns exec "chaos-$1" nft list table inet chaos_agent 2>/dev/null | grep -q drop
}

any_table() { # any_table: names of pod namespaces holding a table of ours
	for ns in $(ip netns list | awk '/^chaos-/{print $1}'); do
		ip netns exec "$ns" nft list tables 2>/dev/null | grep -q chaos_agent && echo "$ns"
	done
	true
}

wait_rules() { # wait_rules POD SECONDS
	for _ in $(seq 1 $(( $2 * 20 ))); do has_rules "$1" && return 0; sleep 0.05; done
	return 1
}

"$sandbox" up >/dev/null

echo "== 1. partition one of three nodes for 10 s"
"$ctl" run network --partition-duration 10 --partition-ratio 0.34 --output "$out" \
	> "$out/run1.log" 2>&1 &
run_pid=$!
wait_rules chain-2 30 || { cat "$out/run1.log"; fail "no partition rules on chain-2"; }
wait_rules chain-0 5 || fail "no partition rules on chain-0"
sleep 0.5
tcp_ok chain-2 chain-0 && fail "chain-2 -> chain-0 works during the partition"
tcp_ok chain-0 chain-2 && fail "chain-0 -> chain-2 works during the partition"
tcp_ok chain-1 chain-2 && fail "chain-1 -> chain-2 works during the partition"
tcp_ok chain-0 chain-1 || fail "chain-0 -> chain-1 (same side) fails during the partition"
tcp_ok chain-1 chain-0 || fail "chain-1 -> chain-0 (same side) fails during the partition"
echo "ok: across the cut TCP fails both ways; within a side it works"
rc=0; wait "$run_pid" || rc=$?; run_pid=
cat "$out/run1.log"
[ "$rc" -eq 0 ] || fail "chaosctl run network exited $rc"
result=$(ls "$out"/chaos_test_network_partition_*.json)
python3 - "$result" <<'PY'
import json, sys, datetime
r = json.load(open(sys.argv[1]))
for k in ("scenario", "partition_start", "partition_end", "affected_nodes", "mttr",
          "recovery_time", "success_count", "error_count", "test_start", "test_end",
          "detection_time", "nodes", "connectivity", "clock_error_ms", "samples"):
    assert k in r, f"missing {k}"
assert r["scenario"] == "network_partition"
assert r["affected_nodes"] == ["chain-2"], r["affected_nodes"]
rt = r["recovery_time"]
assert isinstance(rt, (int, float)) and rt > 0, f"recovery_time {rt!r}"
ts = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()
end = ts(r["partition_end"])
window = r["parameters"]["stability_window_s"]
worst = 0.0
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
    assert abs((rec - end) - node["recovery_time"]) < 0.002, (pod, rec - end, node["recovery_time"])
    worst = max(worst, rec - end)
assert abs(worst - rt) < 0.002, f"recovery_time {rt} vs samples {worst:.3f}"
c = r["connectivity"]
assert c["during"]["chain-2"]["chain-0"] is False and c["during"]["chain-0"]["chain-2"] is False
assert c["during"]["chain-0"]["chain-1"] is True
assert c["before"]["chain-0"]["chain-2"] is True and c["after"]["chain-2"]["chain-0"] is True
print(f"ok: result complete; recovery_time {rt} s agrees with the samples; mttr {r['mttr']} s;"
      f" detection {r['detection_time']} s")
PY
left=$(any_table)
[ -z "$left" ] || fail "tables of ours left in: $left"
echo "ok: no table of ours left in any pod namespace"

echo "== 2. kill -9 of the chain-2 agent mid-partition"
"$ctl" run network --partition-duration 6 --partition-ratio 0.34 --output "$out/kill-agent" \
	> "$out/run2.log" 2>&1 &
run_pid=$!
wait_rules chain-2 30 || fail "no partition rules on chain-2"
pid=$("$sandbox" status --json | python3 -c '
import json, sys
print(next(p for p in json.load(sys.stdin)["pods"] if p["name"] == "chain-2")["pids"]["agent"])')
kill -9 "$pid"
sleep 0.1
has_rules chain-2 && fail "chain-2 rules still there 100 ms after its agent died"
echo "ok: chain-2's rules were gone within 100 ms of kill -9"
rc=0; wait "$run_pid" || rc=$?; run_pid=
cat "$out/run2.log"
[ "$rc" -eq 1 ] || fail "run with a lost agent exited $rc, wanted 1"
python3 - "$out"/kill-agent/chaos_test_network_partition_*.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n = next(n for n in r["nodes"] if n["pod"] == "chain-2")
assert n["fault_outcome"] == "lost", n
assert n["recovery_time"] is None and "lost" in n["recovery_time_reason"], n
print("ok: chain-2's fault reported as lost, not recovered")
PY
"$sandbox" up >/dev/null

echo "== 3. kill -9 of the controller mid-partition"
"$ctl" run network --partition-duration 20 --partition-ratio 0.34 --output "$out/kill-ctl" \
	> "$out/run3.log" 2>&1 &
run_pid=$!
wait_rules chain-2 30 || fail "no partition rules on chain-2"
wait_rules chain-0 5 || fail "no partition rules on chain-0"
cpid=$("$sandbox" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["controller"]["pid"])')
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
kill "$run_pid" 2>/dev/null || true
wait "$run_pid" 2>/dev/null || true
run_pid=
"$sandbox" up >/dev/null

echo "== 4. SIGINT to chaosctl mid-partition: reverted before it exits"
"$ctl" run network --partition-duration 30 --partition-ratio 0.34 --output "$out/sigint" \
	> "$out/run4.log" 2>&1 &
run_pid=$!
wait_rules chain-2 30 || fail "no partition rules on chain-2"
kill -INT "$run_pid"
rc=0; wait "$run_pid" || rc=$?; run_pid=
left=$(any_table)
[ -z "$left" ] || fail "tables left after chaosctl's SIGINT: $left"
[ "$rc" -eq 1 ] || fail "interrupted run exited $rc, wanted 1"
grep -q "run [0-9]* aborted" "$out/run4.log" || fail "run not reported as aborted"
echo "ok: chaosctl interrupted: everything reverted, run aborted, exit 1"

echo "== 5. SIGTERM to the controller mid-partition: reverted before it exits"
"$ctl" run network --partition-duration 30 --partition-ratio 0.34 --output "$out/sigterm" \
	> "$out/run5.log" 2>&1 &
run_pid=$!
wait_rules chain-2 30 || fail "no partition rules on chain-2"
cpid=$("$sandbox" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["controller"]["pid"])')
kill -TERM "$cpid"
while kill -0 "$cpid" 2>/dev/null; do sleep 0.02; done
left=$(any_table)
[ -z "$left" ] || fail "tables left when the controller exited on SIGTERM: $left"
echo "ok: controller reverted everything before exiting on SIGTERM"
kill "$run_pid" 2>/dev/null || true
wait "$run_pid" 2>/dev/null || true
run_pid=
trap - EXIT
cleanup
echo "network partition: all checks passed"
