#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The control server never waits on a plan: while a coordinator plan waits
# on a Kubernetes API that accepts connections and never answers (the fake
# API server, stalled), `chaosctl agents` and `chaosctl stats` still answer
# within 200 ms each, and an abort ends the run as soon as the plan returns.
#
# (Background processes are started with `ip netns exec` itself, not
# through a shell function, so that $! is the process and not a subshell.)
# Everything runs in a network namespace of the test's own: a controller, one
# agent (the load must come from somewhere, so the plan reaches the API) and
# the fake API server, on that namespace's loopback.
#
# usage: test_control_responsive.sh BUILD_DIR      (root; exit 77 otherwise)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "a network namespace of its own"
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
itest_tmpdir ctlresp
work=$ITEST_OUT
ns=chaos-ctlresp-$$
ctl_url=ipc://$work/control.sock
pids=()

test_cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	# whatever still runs in the namespace (deleting it kills nothing)
	ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
}

in_ns() { ip netns exec "$ns" "$@"; }
ctl() { "$build/controller/chaosctl" --controller "$ctl_url" "$@"; }

ip netns add "$ns"
in_ns ip link set lo up
# the agent needs an address other than loopback to be a target
in_ns ip link add ctlresp0 type veth peer name ctlresp1
in_ns ip addr add 10.231.99.1/24 dev ctlresp0
in_ns ip link set ctlresp0 up
in_ns ip link set ctlresp1 up

ip netns exec "$ns" python3 "$repo/tests/fake_k8s/server.py" --port 18443 --namespace staging \
	--workload coordinator:app=coordinator:2 --stall --max-lifetime 120 \
	>"$work/fake.log" 2>&1 &
pids+=($!)
ip netns exec "$ns" "$build/controller/chaos-controller" --listen tcp://127.0.0.1:17600 --plaintext \
	--control "$ctl_url" >"$work/controller.log" 2>&1 &
pids+=($!) # [1]: the controller
CHAOS_POD_NAME=loader-0 CHAOS_NAMESPACE=staging CHAOS_ROLE=blockchain \
	ip netns exec "$ns" "$build/agent/chaos-agent" --controller tcp://127.0.0.1:17600 --plaintext \
	>"$work/agent.log" 2>&1 &
pids+=($!)

fake_held() {
	in_ns python3 -c 'import json,urllib.request; print(json.load(urllib.request.urlopen("http://127.0.0.1:18443/_fake/stats"))["held"])' 2>/dev/null
}
for _ in $(seq 1 100); do fake_held >/dev/null && break; sleep 0.1; done
fake_held >/dev/null || fail "the fake Kubernetes API did not start"
for _ in $(seq 1 100); do
	ctl agents --json 2>/dev/null | grep '"state": "connected"' >/dev/null && break
	sleep 0.1
done
ctl agents --json | grep '"state": "connected"' >/dev/null || fail "the agent did not connect"

echo "test-token" >"$work/token"
"$build/controller/chaosctl" --controller "$ctl_url" run coordinator --method pod-delete --kube-api http://127.0.0.1:18443 \
	--kube-token-file "$work/token" --kube-namespace staging \
	--api-url http://127.0.0.1:9 --load-duration 1 --output "$work" \
	>"$work/run.log" 2>&1 &
run_pid=$!
pids+=("$run_pid")

# The plan is waiting once the fake server holds its list request.
held=0
for _ in $(seq 1 100); do
	held=$(fake_held || echo 0)
	[ "$held" -ge 1 ] && break
	sleep 0.1
done
[ "$held" -ge 1 ] || fail "the plan never reached the Kubernetes API"

worst=0
for i in $(seq 1 10); do
	for cmd in agents stats; do
		t0=$(date +%s%N)
		ctl "$cmd" --json >/dev/null || fail "chaosctl $cmd failed while a plan waits"
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$ms" -gt "$worst" ] && worst=$ms
	done
done
echo "test_control_responsive: 20 answers while the plan waits, slowest ${worst} ms"
[ "$worst" -lt 200 ] || fail "chaosctl answered in ${worst} ms (bar: 200 ms) while a plan waited"

# An abort during the plan: nothing was applied, the run ends as aborted.
kill -TERM "$run_pid" # what Ctrl-C does; a background job ignores SIGINT
sleep 0.5 # the abort reaches the controller while the plan still waits
fake_post() {
	in_ns python3 -c 'import sys,urllib.request; urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:18443/_fake/config", data=sys.argv[1].encode(), method="POST")).read()' "$1"
}
fake_post '{"stall": false}'
for _ in $(seq 1 150); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$run_pid" 2>/dev/null && fail "chaosctl run did not end within 15 s of the abort"
grep -q "aborted" "$work/run.log" || fail "the run did not end as aborted"

# 100 bad connections to each endpoint: connect and close, one byte and
# close, garbage. Then the control socket answers within 1 s, a new agent
# still connects, and the controller's CPU is idle again.
ip netns exec "$ns" python3 "$repo/tests/integration/fixtures/bad_connections.py" 100 \
	"$work/control.sock" 17600 17601
t0=$(date +%s%N)
ctl agents --json >/dev/null || fail "chaosctl agents failed after the bad connections"
ms=$((($(date +%s%N) - t0) / 1000000))
echo "test_control_responsive: chaosctl agents answered ${ms} ms after 300 bad connections"
[ "$ms" -lt 1000 ] || fail "chaosctl agents took ${ms} ms (bar: 1000 ms)"
ctl stats --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["control"]["dropped"] >= 60, s["control"]
print("dropped and counted:", {k: v["dropped"] for k, v in s.items()})'
CHAOS_POD_NAME=loader-1 CHAOS_NAMESPACE=staging CHAOS_ROLE=blockchain \
	ip netns exec "$ns" "$build/agent/chaos-agent" --controller tcp://127.0.0.1:17600 --plaintext \
	>"$work/agent2.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
	ctl agents --json | grep '"staging/loader-1"' >/dev/null && break
	sleep 0.1
done
ctl agents --json | python3 -c '
import json, sys
a = {x["id"]: x["state"] for x in json.load(sys.stdin)}
assert a.get("staging/loader-1") == "connected", a
print("a new agent connected after the bad connections")'
ctl_pid=${pids[1]} # ip netns exec runs the controller in its own process
cpu() { awk '{print $14 + $15}' "/proc/$ctl_pid/stat"; }
c0=$(cpu)
sleep 2
c1=$(cpu)
ticks=$(getconf CLK_TCK)
pct=$(((c1 - c0) * 100 / (2 * ticks)))
echo "test_control_responsive: controller CPU ${pct} % of a core over 2 s after the bad connections"
[ "$pct" -lt 10 ] || fail "the controller is busy (${pct} % of a core) after the bad connections"
echo "test_control_responsive: passed"
