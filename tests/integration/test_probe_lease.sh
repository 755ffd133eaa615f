#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Probes and loads never outlive the controller that started them (audit F1).
# Namespaces of the test's own joined by a bridge: the controller (ctl), a
# coordinator pod (co, a stand-in API on :8080 that logs each request with
# its time) and a chain pod (ch, the agent the run's probe and load come
# from). A coordinator run (probe every 20 ms + open-loop load) is killed in
# its baseline with kill -9 of the controller, twice:
#   1. no controller comes back: the requests at the API must stop within
#      the lease + 1 s (the agent's probe and load lease is 3000 ms) and the
#      agent says "no word from the controller for 3000 ms (its lease)";
#   2. a new controller instance takes over at once: the requests must stop
#      within the lease + 1 s too, and the agent says why (a reply came from
#      another controller instance, or the lease ran out first).
# Before the fix the probe ran for ever and the load for minutes: 567
# requests in the 10 s after the kill.
#
# usage: test_probe_lease.sh BUILD_DIR      (root; exit 77 otherwise)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces of its own"
itest_need_tools python3
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
itest_tmpdir probelease
work=$ITEST_OUT
pfx=chaos-pl$$
net=10.231.81
ctl_url=ipc://$work/control.sock
lease_ms=3000
watch_ms=$((lease_ms + 3000)) # how long the API is watched after the kill
pids=()
ctl_pid=

test_cleanup() {
	local p ns
	for p in "${pids[@]}" $ctl_pid; do kill -9 "$p" 2>/dev/null || true; done
	for ns in ctl co ch br; do
		ip netns pids "$pfx-$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	done
	wait 2>/dev/null || true
	for ns in ctl co ch br; do ip netns del "$pfx-$ns" 2>/dev/null || true; done
}

ctl() { "$build/controller/chaosctl" --controller "$ctl_url" "$@"; }

ip netns add "$pfx-br"
ip -n "$pfx-br" link add br0 type bridge
ip -n "$pfx-br" link set br0 up
i=1
for ns in ctl co ch; do
	ip netns add "$pfx-$ns"
	ip -n "$pfx-$ns" link set lo up
	ip -n "$pfx-$ns" link add eth0 type veth peer name "v$ns" netns "$pfx-br"
	ip -n "$pfx-br" link set "v$ns" master br0
	ip -n "$pfx-br" link set "v$ns" up
	ip -n "$pfx-$ns" addr add "$net.$i/24" dev eth0
	ip -n "$pfx-$ns" link set eth0 up
	i=$((i + 1))
done

# The coordinator's API: 200 to everything, one line per request in
# api.log: its wall-clock time and path (the server's own complaints, such
# as a reset by a load being stopped, go to api.err).
cat >"$work/api.py" <<'PY'
import http.server, sys, threading, time
out, lock = open(sys.argv[1], "a", buffering=1), threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        with lock:
            out.write("%.6f %s\n" % (time.time(), self.path))
        b = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
PY
: >"$work/api.log"
ip netns exec "$pfx-co" python3 "$work/api.py" "$work/api.log" 2>"$work/api.err" &
pids+=($!)

start_controller() { # LOG
	ip netns exec "$pfx-ctl" "$build/controller/chaos-controller" --plaintext \
		--listen "tcp://$net.1:7600" --control "$ctl_url" --heartbeat-ms 200 \
		>"$1" 2>&1 &
	ctl_pid=$!
	for _ in $(seq 1 50); do ctl stats >/dev/null 2>&1 && return 0; sleep 0.1; done
	cat "$1"
	fail "the controller did not start"
}

start_agent() { # NS ROLE POD
	ip netns exec "$pfx-$1" "$build/agent/chaos-agent" --plaintext \
		--controller "tcp://$net.1:7600" --role "$2" --pod "$3" --namespace lease \
		--id "agent-$1" >"$work/agent-$1.log" 2>&1 &
	pids+=($!)
}

connected() { # how many agents the controller has connected
	ctl agents --json 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin) if a["state"] == "connected"))' 2>/dev/null || echo 0
}

wait_connected() {
	for _ in $(seq 1 100); do
		[ "$(connected)" -ge 2 ] && return 0
		sleep 0.1
	done
	fail "the agents did not connect: $(ctl agents 2>&1)"
}

requests() { wc -l <"$work/api.log"; }

# One trial: a run, kill -9 of its controller (and a new one when RESTART
# is 1), then the API watched for watch_ms. Echoes the ms between the kill
# and the last request the API saw.
trial() { # NAME RESTART
	local name=$1 restart=$2 before kill_s last_ms n_after
	before=$(requests)
	ctl run coordinator --namespace lease --method blackhole --outage-duration 60 \
		--load-duration 60 --rate 20 --output "$work/$name" >"$work/run-$name.log" 2>&1 &
	run_pid=$!
	# the baseline: probe (50/s) and load (20/s) reach the API
	for _ in $(seq 1 100); do
		[ $(($(requests) - before)) -ge 100 ] && break
		sleep 0.1
	done
	[ $(($(requests) - before)) -ge 100 ] ||
		{ cat "$work/run-$name.log"; fail "$name: the run's probe and load did not reach the API"; }
	grep -q "applied" "$work/agent-co.log" && fail "$name: the fault came before the kill"
	kill_s=$(date +%s.%N)
	kill -9 "$ctl_pid"
	wait "$ctl_pid" 2>/dev/null || true
	ctl_pid=
	[ "$restart" = 1 ] && start_controller "$work/controller-$name-new.log"
	# watch the API for the lease and 3 s more (bounded: no loop on it)
	sleep "$(python3 -c "print($watch_ms / 1000)")"
	read -r last_ms n_after < <(python3 - "$work/api.log" "$kill_s" <<'PY' || echo "bad bad"
import re, sys
kill = float(sys.argv[2])
after = [float(m.group(1)) for m in
         (re.match(r"(\d+\.\d+) /", l) for l in open(sys.argv[1])) if m]
after = [t for t in after if t > kill]
print(int((max(after) - kill) * 1000) if after else 0, len(after))
PY
)
	[ "$last_ms" != bad ] || fail "$name: cannot read $work/api.log"
	kill -9 "$run_pid" 2>/dev/null || true
	wait "$run_pid" 2>/dev/null || true
	run_pid=
	echo "test_probe_lease ($name): $n_after requests at the API after the kill;" \
		"the last one $last_ms ms after it (bar $((lease_ms + 1000)) ms)"
	[ "$last_ms" -le $((lease_ms + 1000)) ] ||
		fail "$name: requests at the API went on $last_ms ms after the controller died"
	TRIAL_LAST_MS=$last_ms
}

start_controller "$work/controller-1.log"
start_agent co coordinator coordinator-0
start_agent ch blockchain chain-0
wait_connected

# 1. kill -9, no controller: the leases run out
trial killed 0
grep -E "(probe|load) [^ ]+ stopped: no word from the controller for $lease_ms ms \(its lease\)" \
	"$work/agent-ch.log" || fail "killed: the agent did not say the lease stopped its probe and load"
[ "$(grep -cE "(probe|load) [^ ]+ stopped: no word from the controller" "$work/agent-ch.log")" -eq 2 ] ||
	fail "killed: want one lease line for the probe and one for the load"
grep -qE "load [^ ]+ stopped: [0-9]+ scheduled" "$work/agent-ch.log" ||
	fail "killed: the load's final report was not sent"
killed_ms=$TRIAL_LAST_MS

# 2. kill -9 and a new controller instance at once
start_controller "$work/controller-2.log"
wait_connected
lines=$(wc -l <"$work/agent-ch.log")
trial replaced 1
tail -n +"$((lines + 1))" "$work/agent-ch.log" | grep -E "(probe|load) [^ ]+ stopped: " ||
	fail "replaced: the agent did not say why its probe and load stopped"
replaced_ms=$TRIAL_LAST_MS
echo "test_probe_lease: ok: requests stopped $killed_ms ms after kill -9 (no controller)," \
	"$replaced_ms ms after kill -9 with a new instance (bar $((lease_ms + 1000)) ms)"
