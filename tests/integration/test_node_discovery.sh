#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A node agent finds the pods of its node, against a controller that asks
# the (fake) Kubernetes API and an inventory, all in namespaces of this
# test's own (the controller, the fake API and the node agent share one,
# talking over loopback; the node agent has exactly the DaemonSet's
# capabilities):
#  1. network namespaces made and deleted while it runs, named (ip netns) or
#     only held by a process (unshare), appear in and vanish from chaosctl
#     agents within 1 s; the host's namespace never appears;
#  2. a process in a kubelet-shaped cgroup (systemd and cgroupfs drivers)
#     resolves to its pod through the Kubernetes API by pod UID (its IP says
#     nothing), with role and labels, within 1 s;
#  3. bad input: an inventory naming an IP no netns holds, and two netns
#     claiming one pod: each a clear line in the controller's log and in
#     chaosctl agents, no crash, no rule anywhere; the pod is used again
#     once only one netns claims it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces, cgroups"
itest_need_tools setpriv unshare python3
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
itest_tmpdir nodedisc
out=$ITEST_OUT
tag=chaosnd$$
home=$tag-home
node=nd-node-$$
cg_root=/sys/fs/cgroup/pids
ctl=("$build/controller/chaosctl" --controller "ipc://$out/control.sock")
pids=()
made=()
cgroups=()

test_cleanup() {
	local p ns cg
	itest_stop "${pids[@]}"
	# a daemon that had to end itself after a signal says so in its log
	grep -h "still not exited" "$out/agent.log" "$out/controller.log" 2>/dev/null
	for ns in "${made[@]}" "$home"; do ip netns del "$ns" 2>/dev/null; done
	for cg in "${cgroups[@]}"; do rmdir "$cg" 2>/dev/null; done
}

ns_make() { # name ip
	ip netns add "$1" && made+=("$1")
	ip -n "$1" link set lo up
	[ -z "${2:-}" ] || ip -n "$1" addr add "$2/32" dev lo
}

ns_gone() { # name
	ip netns del "$1"
}

# wait_list EXPR MS [T0]: polls chaosctl agents --json until the Python
# expression EXPR is true of `a` (the list), giving up after 3 x MS
# milliseconds; prints the milliseconds since T0 (date +%s%N taken before
# the change; default now), fails the test when it never came.
wait_list() {
	python3 - "$1" "$2" "${3:-$(date +%s%N)}" "${ctl[@]}" <<'PY' || fail "not within $2 ms: $1"
import json, os, subprocess, sys, time
expr, limit, t0, cmd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
HOST_KEY = os.environ["ND_HOST_KEY"]
start = time.monotonic() - (time.time_ns() - t0) / 1e9
while True:
    a = json.loads(subprocess.run(cmd + ["agents", "--json"], capture_output=True,
                                  check=True).stdout)
    for x in a:  # the host's namespace never appears, whatever else does
        assert x.get("target_key") not in (HOST_KEY, "4026531833"), x
    if eval(expr, {"a": a}):
        print(int((time.monotonic() - start) * 1000))
        sys.exit(0)
    if (time.monotonic() - start) * 1000 > limit * 3:
        sys.exit(1)
    time.sleep(0.02)
PY
}

ms_ok() { # what ms
	[ "$2" -le 1000 ] || fail "$1 took $2 ms (bar 1000 ms)"
	echo "ok: $1 in $2 ms"
}

# ---------------------------------------------------------------------------
echo "== start: fake Kubernetes API, controller, node agent (in $home)"
host_key=$(stat -Lc %i /proc/self/ns/net)
export ND_HOST_KEY=$host_key # wait_list fails whenever it is listed
echo test-token >"$out/token"
cat >"$out/inventory.json" <<EOF
{"pods": [
  {"name": "ghost", "namespace": "nd", "role": "database", "ip": "10.98.9.9"},
  {"name": "dup", "namespace": "nd", "role": "database", "ip": "10.98.1.5"},
  {"name": "named-1", "namespace": "nd", "role": "blockchain", "netns": "$tag-n1"}
]}
EOF
ip netns add "$home"
ip -n "$home" link set lo up
ip netns exec "$home" python3 "$repo/tests/fake_k8s/server.py" --max-lifetime 170 \
	>"$out/fake.out" 2>"$out/fake.err" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$out/fake.out" ] && break; sleep 0.1; done
port=$(head -1 "$out/fake.out")
[ -n "$port" ] || fail "fake API did not start: $(cat "$out/fake.err")"
ip netns exec "$home" "$build/controller/chaos-controller" --listen tcp://127.0.0.1:7800 \
	--plaintext --control "ipc://$out/control.sock" --heartbeat-ms 200 \
	--kube-api "http://127.0.0.1:$port" --kube-allow-http --kube-token-file "$out/token" \
	--inventory "$out/inventory.json" >"$out/controller.log" 2>&1 &
pids+=($!)
caps=$(grep -m1 -E '^[[:space:]]*add: \[' "$repo/deploy/k8s/components/node-agent/daemonset.yaml" |
	sed -E 's/.*\[(.*)\].*/\1/; s/[" ]//g' | tr '[:upper:]' '[:lower:]')
ip netns exec "$home" env CHAOS_NODE_NAME="$node" CHAOS_POD_NAME=nd-agent CHAOS_NAMESPACE=chaos \
	setpriv --inh-caps=-all --ambient-caps=-all --bounding-set="-all,+${caps//,/,+}" -- \
	"$build/agent/chaos-agent" --mode node --controller tcp://127.0.0.1:7800 --plaintext \
	>"$out/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
wait_list 'any(x["kind"] == "agent" and x["mode"] == "node" and x["state"] == "connected" for x in a)' 5000 >/dev/null
echo "ok: node agent connected (the host's netns, inode $host_key, never listed)"

# ---------------------------------------------------------------------------
echo "== 1. namespaces appear and vanish within 1 s"
for i in 1 2 3; do
	t0=$(date +%s%N)
	ns_make "$tag-n$i" "10.98.2.$i"
	ms=$(wait_list "any(x.get('netns') == '$tag-n$i' for x in a)" 1000 "$t0")
	ms_ok "named netns $tag-n$i listed" "$ms"
	t0=$(date +%s%N)
	ns_gone "$tag-n$i"
	ms=$(wait_list "not any(x.get('netns') == '$tag-n$i' for x in a)" 1000 "$t0")
	ms_ok "named netns $tag-n$i gone from the listing" "$ms"
done
# named-1 is in the inventory: resolved by its name
t0=$(date +%s%N)
ns_make "$tag-n1" 10.98.2.1
ms=$(wait_list "any(x['id'] == 'nd/named-1' and x['target_state'] == 'resolved' for x in a)" 1000 "$t0")
ms_ok "netns $tag-n1 resolved to nd/named-1 by the inventory" "$ms"
for i in 1 2 3; do
	t0=$(date +%s%N)
	unshare --net sleep 60 &
	p=$!
	pids+=("$p")
	for _ in $(seq 1 50); do
		key=$(stat -Lc %i "/proc/$p/ns/net" 2>/dev/null) || true
		[ -n "$key" ] && [ "$key" != "$host_key" ] && break
		sleep 0.01
	done
	ms=$(wait_list "any(x.get('target_key') == '$key' for x in a)" 1000 "$t0")
	ms_ok "a process's own netns ($key) listed" "$ms"
	t0=$(date +%s%N)
	kill "$p"
	wait "$p" 2>/dev/null || true
	ms=$(wait_list "not any(x.get('target_key') == '$key' for x in a)" 1000 "$t0")
	ms_ok "its netns gone from the listing once it exited" "$ms"
done

# ---------------------------------------------------------------------------
echo "== 2. kubelet-shaped cgroups resolve by pod UID through the API"
[ -d "$cg_root" ] || { echo "skipped: no cgroup v1 pids hierarchy at $cg_root"; exit 77; }
k8s_pod() { # name uid
	ip netns exec "$home" python3 - "$port" "$1" "$2" "$node" <<'PY'
import json, sys, urllib.request
port, name, uid, node = sys.argv[1:]
body = {"namespace": "nd", "name": name, "uid": uid, "nodeName": node,
        "podIP": "10.98.7.7", "labels": {"chaos.io/role": "blockchain", "app": "chain"}}
req = urllib.request.Request(f"http://127.0.0.1:{port}/_fake/pods", method="POST",
                             data=json.dumps(body).encode())
assert json.loads(urllib.request.urlopen(req).read())["uid"] == uid
PY
}
for driver in systemd cgroupfs; do
	uid=$(cat /proc/sys/kernel/random/uuid)
	k8s_pod "chain-$driver" "$uid"
	if [ "$driver" = systemd ]; then
		cg=$cg_root/kubepods.slice/kubepods-besteffort.slice
		cgroups=("$cg" "$cg_root/kubepods.slice" "${cgroups[@]}")
		cg=$cg/kubepods-besteffort-pod${uid//-/_}.slice
	else
		cg=$cg_root/kubepods/besteffort
		cgroups=("$cg" "$cg_root/kubepods" "${cgroups[@]}")
		cg=$cg/pod$uid
	fi
	cgroups=("$cg/ctr$$" "$cg" "${cgroups[@]}")
	mkdir -p "$cg/ctr$$"
	# the process enters the cgroup first, then makes its netns
	t0=$(date +%s%N)
	sh -c 'echo $$ > "$1/cgroup.procs" && exec unshare --net sleep 60' sh "$cg/ctr$$" &
	p=$!
	pids+=("$p")
	ms=$(wait_list "any(x['id'] == 'nd/chain-$driver' and x['target_state'] == 'resolved' and x['pod_uid'] == '$uid' and x['source'] == 'kubernetes' and x['role'] == 'blockchain' and x['labels'].get('app') == 'chain' for x in a)" 1000 "$t0")
	ms_ok "$driver cgroup of pod uid $uid resolved to nd/chain-$driver through the API" "$ms"
	kill "$p"
	wait "$p" 2>/dev/null || true
	wait_list "not any(x['id'] == 'nd/chain-$driver' for x in a)" 1000 >/dev/null
done
grep -q "is pod nd/chain-systemd (from the kubernetes)" "$out/controller.log" ||
	fail "the controller did not log the resolution"

# ---------------------------------------------------------------------------
echo "== 3. bad input"
ms=$(wait_list "any(x['id'] == 'nd/ghost' and x['target_state'] == 'missing' and '10.98.9.9' in x['target_reason'] for x in a)" 1000)
ms_ok "an inventory IP no netns holds is listed as missing" "$ms"
grep -q "inventory: pod nd/ghost: the inventory names it (ip 10.98.9.9) but no node agent" \
	"$out/controller.log" || fail "no log line for the inventory's missing pod"
t0=$(date +%s%N)
ns_make "$tag-dupa" 10.98.1.5
ns_make "$tag-dupb" 10.98.1.5
ms=$(wait_list "sum(x.get('target_state') == 'conflict' and x['id'] == 'nd/dup' for x in a) == 2" 1000 "$t0")
ms_ok "two netns claiming pod nd/dup are both listed as conflict" "$ms"
grep -q "is conflict: 2 network namespaces claim pod nd/dup" "$out/controller.log" ||
	fail "no log line for the conflict"
"${ctl[@]}" agents | grep -E 'nd/dup|nd/ghost' | sed 's/^/  /'
t0=$(date +%s%N)
ns_gone "$tag-dupb"
ms=$(wait_list "[x['target_state'] for x in a if x['id'] == 'nd/dup'] == ['resolved']" 1000 "$t0")
ms_ok "with one netns left, nd/dup is used again" "$ms"

for ns in "${made[@]}"; do
	[ -e "/run/netns/$ns" ] || continue
	ip netns exec "$ns" nft list tables 2>/dev/null | grep chaos_agent >/dev/null &&
		fail "a table of ours in $ns"
done
kill -0 "$agent_pid" || fail "the node agent died"
grep -qiE "segfault|assert|abort" "$out/agent.log" "$out/controller.log" && fail "a crash in the logs"
echo "ok: no rule in any namespace of this test; agent and controller still running"
echo "node discovery: all checks passed"
