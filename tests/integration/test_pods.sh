#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The images and the pod harness, end to end, on this machine's podman:
#  1. deploy/images/build.sh --harness builds every image; each program
#     starts in its image (build.sh checks --help) and the images exist;
#  2. pods up runs the staging example's pods and the controller; status
#     --json says up;
#  3. every container that declares capabilities holds exactly those
#     (CapEff in /proc/<pid>/status), the agents run as root with
#     NET_ADMIN, KILL and SYS_PTRACE only, the controller and coordinators
#     as 65532 with none;
#  4. chaosctl orchestrate --scenarios network database coordinator, run in
#     the controller's pod, completes with every result file written; the
#     coordinators were really killed and restarted by podman;
#  5. the root network namespace's interfaces, routes, rules and nftables
#     ruleset are the same before up, while up and after down;
#  6. pods down leaves no pod, container, netns or state.
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

repo=$(cd "$(dirname "$0")/../.." && pwd)
pods=$repo/deploy/pods/pods
out=$(mktemp -d /tmp/chaos-pods-test.XXXXXX)
run=test-$$
results=/var/lib/chaos-pods/results

fail() { echo "test_pods: FAIL: $*" >&2; exit 1; }
cleanup() {
	local rc=$?
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
grep -c '^images: ok: ' "$out/build.log" | grep -qx 6 || { cat "$out/build.log"; fail "not every program started in its image"; }
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
"$pods" up >"$out/up.log" 2>&1 || { cat "$out/up.log"; fail "pods up failed"; }
up_s=$SECONDS
"$pods" status --json >"$out/status.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["state"] == "up", s["state"]; print("ok: %d pods up" % len(s["pods"]))' \
	"$out/status.json" || fail "status --json does not say up"
echo "ok: pods up in ${up_s} s"

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
[ "$(wc -l <"$out/declared")" -ge 7 ] || { cat "$out/declared"; fail "too few containers declare capabilities"; }
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
grep -q 'chaos-agent 0000000000081020 0$' "$out/declared" ||
	fail "the sidecar does not declare exactly NET_ADMIN, KILL, SYS_PTRACE as root"

echo "== 4. orchestrate in the controller's pod"
restarts() { podman inspect --format '{{.RestartCount}}' coordinator-0-coordinator coordinator-1-coordinator | awk '{s += $1} END {print s}'; }
before=$(restarts)
rc=0
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
fingerprint >"$out/root.up"
diff -u "$out/root.before" "$out/root.up" || fail "the root network namespace changed while up"
echo "ok: root netns unchanged while up"

echo "== 5. pods down"
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
echo "test_pods: passed (up ${up_s} s, orchestrate ${orch_s} s, down ${down_s} s)"
