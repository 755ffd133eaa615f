#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The images and the pod harness, end to end, on this machine's podman, in
# sidecar mode (test_pods.sh, the default) or node mode (test_pods.sh node):
#  1. deploy/images/build.sh --harness builds every image; each program
#     starts in its image (build.sh checks --help) and the images exist;
#  2. pods up [--mode node] runs the staging example's pods and the
#     controller (node mode: and the node-agent DaemonSet's pod, the
#     workloads without sidecars); status --json says up;
#  3. every container that declares capabilities holds exactly those
#     (CapEff in /proc/<pid>/status): sidecars root with NET_ADMIN, KILL
#     and SYS_PTRACE only, the node agent root with NET_ADMIN, SYS_ADMIN,
#     SYS_PTRACE and KILL only and in the host's PID namespace (hostPID),
#     the controller and coordinators 65532 with none;
#  4. mutual TLS with identity as deployed: the controller listens on
#     tls+tcp://, refused no agent (log and chaos_agents_refused_total), and
#     chaosctl agents lists the six pods connected (node mode: resolved from
#     the inventory, all served by the one node agent);
#  5. sidecar mode: chaosctl orchestrate --scenarios network database
#     coordinator, run in the controller's pod, completes with every result
#     file written; the coordinators were really killed and restarted by
#     podman. Node mode: a partition of chain-2 (ratio 0.34) cuts exactly
#     its pairs: from the chain pods' own network namespaces, TCP to the
#     etcd peer port fails both ways across the cut and works within a side;
#  6. the root network namespace's interfaces, routes, rules and nftables
#     ruleset are the same before up, while up and after down;
#  7. pods down leaves no pod, container, netns or state.
# Slow (a first image build takes minutes): ctest label "pods".
set -euo pipefail

skip() {
	echo "test_pods: SKIPPED: $*" >&2
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (podman, network namespaces)"
for t in podman runc mmdebstrap kubectl nsenter curl openssl; do
	command -v "$t" >/dev/null 2>&1 || skip "$t is not installed (deploy/images/install-deps.sh)"
done

mode=${1:-sidecar}
[ "$mode" = sidecar ] || [ "$mode" = node ] || { echo "usage: test_pods.sh [sidecar|node]" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/../.." && pwd)
pods=$repo/deploy/pods/pods
out=$(mktemp -d /tmp/chaos-pods-test.XXXXXX)
run=test-$$
results=/var/lib/chaos-pods/results
plan=/run/chaos-pods/pods/plan.json
net_pid=

fail() { echo "test_pods: FAIL: $*" >&2; exit 1; }
cleanup() {
	local rc=$?
	[ -n "$net_pid" ] && kill "$net_pid" 2>/dev/null && wait "$net_pid" 2>/dev/null
	"$pods" down >/dev/null 2>&1 || true
	rm -rf "${results:?}/$run"
	if [ "$rc" -ne 0 ]; then echo "kept for inspection: $out" >&2; else rm -rf "$out"; fi
}
trap cleanup EXIT

# What the root network namespace has: interfaces, addresses, routes, rules,
# nftables (iptables-nft included). Counters are left out.
fingerprint() {
	ip -o link | awk '{print $2}' | sed 's/@.*//'
	ip -o addr | awk '{print $2, $4}'
	ip route; ip -6 route; ip rule
	nft list ruleset 2>/dev/null | sed 's/counter packets [0-9]* bytes [0-9]*//'
}

echo "== 1. images"
SECONDS=0
"$repo/deploy/images/build.sh" --harness >"$out/build.log" 2>&1 || { tail -n 30 "$out/build.log"; fail "build.sh failed"; }
grep -c '^images: ok: ' "$out/build.log" | grep -x 6 >/dev/null || { cat "$out/build.log"; fail "not every program started in its image"; }
v=$(sed -n 's/^project(chaos VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
for img in chaos-agent chaos-controller chaos-coordinator chaos-pods-postgres chaos-pods-etcd; do
	podman image exists "localhost/$img:$v" || fail "no image localhost/$img:$v"
done
echo "ok: images built in ${SECONDS} s; each program's --help exits 0 in its image"

echo "== 2. pods up"
"$pods" down >/dev/null 2>&1 || true
fingerprint >"$out/root.before"
# Ours: chaos-pods and the netns-<uuid> podman makes per pod (other tests
# may add their own namespaces meanwhile).
our_netns() { ip netns list | awk '{print $1}' | grep -E '^(chaos-pods|netns-)' | sort || true; }
netns_before=$(our_netns)
SECONDS=0
"$pods" up --mode "$mode" >"$out/up.log" 2>&1 || { cat "$out/up.log"; fail "pods up failed"; }
up_s=$SECONDS
"$pods" status --json >"$out/status.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["state"] == "up" and s["mode"] == sys.argv[2], s; print("ok: %d pods up" % len(s["pods"]))' \
	"$out/status.json" "$mode" || fail "status --json does not say up in $mode mode"
echo "ok: pods up --mode $mode in ${up_s} s"

echo "== 3. capabilities as declared, nothing more"
for f in /run/chaos-pods/pods/*.yaml; do
	python3 - "$f" <<'PY'
import sys, yaml
CAP = {"CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6, "SETUID": 7,
       "SETPCAP": 8, "NET_BIND_SERVICE": 10, "NET_RAW": 13, "NET_ADMIN": 12, "SYS_CHROOT": 18,
       "SYS_PTRACE": 19, "SYS_ADMIN": 21, "MKNOD": 27, "AUDIT_WRITE": 29, "SETFCAP": 31}
pod = yaml.safe_load(open(sys.argv[1]))
for c in pod["spec"]["containers"]:
    caps = (c.get("securityContext") or {}).get("capabilities")
    if not caps or "ALL" not in (caps.get("drop") or []):
        continue  # podman's defaults: nothing declared to compare with
    mask = sum(1 << CAP[a] for a in caps.get("add") or [])
    print("%s-%s %016x %s" % (pod["metadata"]["name"], c["name"], mask,
                              c["securityContext"].get("runAsUser", "-")))
PY
done >"$out/declared"
# sidecar mode: six agents, the controller, two coordinators; node mode: the
# node agent instead of the six
[ "$(wc -l <"$out/declared")" -ge "$([ "$mode" = node ] && echo 4 || echo 9)" ] ||
	{ cat "$out/declared"; fail "too few containers declare capabilities"; }
while read -r name want uid; do
	pid=$(podman inspect --format '{{.State.Pid}}' "$name") || fail "no container $name"
	got=$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")
	bnd=$(awk '/^CapBnd:/ {print $2}' "/proc/$pid/status")
	gotuid=$(awk '/^Uid:/ {print $3}' "/proc/$pid/status")
	[ "$got" = "$want" ] || fail "$name: CapEff $got, the manifest declares $want"
	[ "$bnd" = "$want" ] || fail "$name: CapBnd $bnd, the manifest declares $want"
	[ "$uid" = - ] || [ "$gotuid" = "$uid" ] || fail "$name: runs as uid $gotuid, declared $uid"
	echo "ok: $name CapEff=$got uid=$gotuid"
done <"$out/declared"
if [ "$mode" = sidecar ]; then
	grep -q 'chaos-agent 0000000000081020 0$' "$out/declared" ||
		fail "the sidecar does not declare exactly NET_ADMIN, KILL, SYS_PTRACE as root"
else
	node_agent=chaos-agent-$(hostname)-agent
	grep -qx "$node_agent 0000000000281020 0" "$out/declared" ||
		fail "the node agent does not declare exactly NET_ADMIN, SYS_ADMIN, SYS_PTRACE, KILL as root"
	! grep -q -- '-chaos-agent ' "$out/declared" || fail "a sidecar runs in node mode"
	pid=$(podman inspect --format '{{.State.Pid}}' "$node_agent")
	[ "$(stat -Lc %i "/proc/$pid/ns/pid")" = "$(stat -Lc %i /proc/self/ns/pid)" ] ||
		fail "$node_agent is not in the host's PID namespace (hostPID)"
	echo "ok: $node_agent in the host's PID namespace"
fi

echo "== 4. mutual TLS with identity, six pods in chaosctl agents"
podman logs chaos-controller-0-controller >"$out/controller.log" 2>&1
grep -q 'tls+tcp://0.0.0.0:7600' /run/chaos-pods/pods/chaos_chaos-controller-0.yaml ||
	fail "the controller does not listen on tls+tcp://"
! grep -E 'agent .* refused \(connection from' "$out/controller.log" || fail "the controller refused an agent"
nsenter --net=/run/netns/chaos-pods curl -s -m 5 http://10.232.0.2:9100/metrics >"$out/metrics" ||
	fail "no /metrics"
grep -qx 'chaos_agents_refused_total{reason="identity"} 0' "$out/metrics" ||
	fail "identity refusals counted: $(grep refused "$out/metrics")"
"$pods" ctl agents --json >"$out/agents.json" || fail "chaosctl agents --json failed"
python3 - "$out/agents.json" "$mode" <<'PY' || { cat "$out/agents.json"; fail "chaosctl agents does not list the six pods"; }
import json, sys
agents, mode = json.load(open(sys.argv[1])), sys.argv[2]
want = {"postgres-0": "database", "coordinator-0": "coordinator", "coordinator-1": "coordinator",
        "chain-0": "blockchain", "chain-1": "blockchain", "chain-2": "blockchain"}
kind = "target" if mode == "node" else "agent"
pods = {a["pod"]: a for a in agents if a["kind"] == kind and a["namespace"] == "staging"}
assert set(pods) == set(want), f"{kind}s {sorted(pods)} != {sorted(want)}"
for pod, a in pods.items():
    assert a["role"] == want[pod] and a["state"] == "connected" and a["mode"] == mode, a
if mode == "node":
    assert all(a["target_state"] == "resolved" and a["source"] == "inventory" for a in pods.values())
    served = {a["served_by"] for a in pods.values()}
    assert len(served) == 1, f"served by {served}"
    node = [a for a in agents if a["kind"] == "agent"]
    assert len(node) == 1 and node[0]["id"] in served and node[0]["mode"] == "node", node
    print(f"ok: the six pods resolved from the inventory, all served by {node[0]['id']}")
else:
    print("ok: six sidecars connected: " + ", ".join(sorted(a["id"] for a in pods.values())))
PY
echo "ok: tls+tcp://, no identity refused"

# The etcd container of a chain pod: its netns is the pod's.
chain_pid() { podman inspect --format '{{.State.Pid}}' "$1-node"; }
chain_ip() { python3 -c 'import json,sys; print(next(p["ip"] for p in json.load(open(sys.argv[1]))["pods"] if p["name"] == sys.argv[2]))' "$plan" "$1"; }

# tcp_ok FROM TO: from inside FROM's netns, does TO's etcd peer port accept?
tcp_ok() {
	nsenter --net="/proc/$(chain_pid "$1")/ns/net" python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 2380), timeout=0.7).close()
except OSError:
    sys.exit(1)' "$(chain_ip "$2")"
}

wait_rules() { # POD SECONDS: a table of ours with a drop rule in the pod's netns
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		nsenter --net="/proc/$(chain_pid "$1")/ns/net" nft list table inet chaos_agent 2>/dev/null |
			grep -q drop && return 0
		sleep 0.05
	done
	return 1
}

partition_check() {
	local rc=0 a b p
	for a in chain-0 chain-1 chain-2; do
		for b in chain-0 chain-1 chain-2; do
			[ "$a" = "$b" ] || tcp_ok "$a" "$b" || fail "$a -> $b fails before the partition"
		done
	done
	SECONDS=0
	"$pods" ctl run network --partition-duration 5 --partition-ratio 0.34 --output "$run" \
		</dev/null >"$out/network.log" 2>&1 &
	net_pid=$!
	wait_rules chain-2 30 || { cat "$out/network.log"; fail "no partition rules in chain-2's netns"; }
	wait_rules chain-0 5 || fail "no partition rules in chain-0's netns"
	sleep 0.5
	for p in chain-2:chain-0 chain-0:chain-2 chain-1:chain-2 chain-2:chain-1; do
		tcp_ok "${p%:*}" "${p#*:}" && fail "${p%:*} -> ${p#*:} works during the partition"
	done
	for p in chain-0:chain-1 chain-1:chain-0; do
		tcp_ok "${p%:*}" "${p#*:}" || fail "${p%:*} -> ${p#*:} (same side) fails during the partition"
	done
	echo "ok: the 4 cross pairs fail both ways, the 2 in-side pairs work"
	wait "$net_pid" || rc=$?
	net_pid=
	orch_s=$SECONDS
	[ "$rc" = 0 ] || { cat "$out/network.log"; fail "chaosctl run network exited $rc"; }
	python3 - "$results/$run" <<'PY' || { cat "$out/network.log"; fail "the network result is wrong"; }
import glob, json, os, sys
f = glob.glob(os.path.join(sys.argv[1], "chaos_test_network_partition_*.json"))
assert len(f) == 1, f
r = json.load(open(f[0]))
assert r["affected_nodes"] == ["chain-2"], r["affected_nodes"]
assert r["connectivity"]["during"]["chain-2"]["chain-0"] is False, r["connectivity"]
print("ok: result: affected %s, mttr %s s" % (r["affected_nodes"], r["mttr"]))
PY
	for p in chain-0 chain-1 chain-2; do
		nsenter --net="/proc/$(chain_pid "$p")/ns/net" nft list table inet chaos_agent 2>/dev/null |
			grep -q drop && fail "partition rules left in $p's netns"
	done
	echo "ok: run network exited 0 in ${orch_s} s; no rule left"
}

restarts() { podman inspect --format '{{.RestartCount}}' coordinator-0-coordinator coordinator-1-coordinator | awk '{s += $1} END {print s}'; }

orchestrate_check() {
	local before after rc=0
	before=$(restarts)
	SECONDS=0
	"$pods" ctl orchestrate --scenarios network database coordinator --partition-duration 3 \
		--failure-duration 3 --outage-duration 3 --load-duration 6 --slo-success-rate 50 \
		--output "$run" >"$out/orchestrate.log" 2>&1 || rc=$?
	orch_s=$SECONDS
	[ "$rc" = 0 ] || [ "$rc" = 1 ] || { cat "$out/orchestrate.log"; fail "orchestrate exited $rc"; }
	python3 - "$results/$run" <<'PY' || { cat "$out/orchestrate.log"; fail "orchestrate results incomplete"; }
import glob, json, os, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
reports = glob.glob(os.path.join(d, "chaos_test_report_*.json"))
assert len(reports) == 1, reports
r = json.load(open(reports[0]))
entries = r["orchestration"]["scenarios"]
assert [e["scenario"] for e in entries] == ["network_partition", "database_failure", "coordinator_outage"], entries
for e in entries:
    assert e["state"] == "succeeded", e
    assert e["result_file"] and os.path.exists(os.path.join(d, e["result_file"])), e
    print("ok: %s succeeded, mttr %s s, result %s" % (e["scenario"], e["mttr"], e["result_file"]))
assert open(os.path.join(d, "report.html")).read().startswith("<!DOCTYPE html>")
ET.parse(os.path.join(d, "junit.xml"))
PY
	after=$(restarts)
	[ "$after" -ge $((before + 2)) ] || fail "coordinator restarts $before -> $after: the kill did not reach both"
	echo "ok: orchestrate exited $rc in ${orch_s} s; both coordinators killed and restarted by podman"
}

if [ "$mode" = node ]; then
	echo "== 5. partition of one chain node, served by the node agent"
	partition_check
else
	echo "== 5. orchestrate in the controller's pod"
	orchestrate_check
fi
fingerprint >"$out/root.up"
diff -u "$out/root.before" "$out/root.up" || fail "the root network namespace changed while up"
echo "ok: root netns unchanged while up"

echo "== 6. pods down"
SECONDS=0
"$pods" down >"$out/down.log" 2>&1 || { cat "$out/down.log"; fail "pods down failed"; }
down_s=$SECONDS
[ -z "$(podman pod ps -q --filter label=chaos.io/harness=pods)" ] || fail "harness pods left"
[ -z "$(podman ps -aq --filter label=chaos.io/harness=pods)" ] || fail "harness containers left"
[ "$(our_netns)" = "$netns_before" ] || fail "network namespaces left: $(our_netns)"
[ ! -e /run/chaos-pods ] || fail "/run/chaos-pods left"
fingerprint >"$out/root.after"
diff -u "$out/root.before" "$out/root.after" || fail "the root network namespace changed"
echo "ok: down in ${down_s} s: no pod, container, netns, state; root netns as before"
echo "test_pods: passed in $mode mode (up ${up_s} s, scenarios ${orch_s} s, down ${down_s} s)"
