#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The control channel stays exempt from faults when the controller's name
# does not give the address the agent really talks to (issue 12 point 7).
# Two namespaces of the test's own joined by a veth: C holds the controller
# (address B) and chain-1's agent (its address is B too), A holds chain-0's
# agent, which dials the controller by a name (/etc/netns/A/hosts) that
# resolves to nothing when it starts, then to B: its start-up resolution
# finds no address, as when a balancer or a late DNS record hands it another
# one. A partition cuts chain-0 off from chain-1, so chain-0's rules cut B.
# The session to B must keep renewing the leases: chain-0 stays connected
# mid-partition, its fault ends when the run reverts it (not by lease
# expiry), and B is in the table's exempt set. (chain-0's own address for
# the run is another one of A's, so chain-1's rules, in the controller's
# namespace, do not cut the controller's side.) Then the controller by an
# IPv6 name: the exempt6 set holds fd78::2 (a partition cuts IPv4 only, so
# there the set is the check). Main's agent resolved IPv4 once at start:
# it lost the session and the lease expired.
#
# usage: test_control_exempt.sh BUILD_DIR      (root; exit 77 otherwise)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces of its own"
itest_need_tools nft python3
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
itest_tmpdir exempt
work=$ITEST_OUT
nsa=chaos-exa-$$
nsc=chaos-exc-$$
ctl_url=ipc://$work/control.sock
name=ctl.chaos.test
pids=()

test_cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for ns in "$nsa" "$nsc"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	done
	wait 2>/dev/null || true
	for ns in "$nsa" "$nsc"; do
		ip netns del "$ns" 2>/dev/null || true
		rm -rf "/etc/netns/$ns"
	done
}

ctl() { "$build/controller/chaosctl" --controller "$ctl_url" "$@"; }

# What A's resolver answers: written in place, because `ip netns exec`
# bind-mounts this very file (a new inode would not be seen).
hosts_a() { printf '127.0.0.1 localhost\n%s' "${1:+$1 $name$'\n'}" >"/etc/netns/$nsa/hosts"; }

for ns in "$nsa" "$nsc"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	mkdir -p "/etc/netns/$ns"
done
# chain-0's first address (what the run partitions) is not the one it
# reaches the controller from
ip -n "$nsa" link add exd0 type veth peer name exd1
ip -n "$nsa" addr add 10.231.77.1/32 dev exd0
ip -n "$nsa" link set exd0 up
ip -n "$nsa" link set exd1 up
ip -n "$nsa" link add exa0 type veth peer name exc0 netns "$nsc"
ip -n "$nsa" addr add 10.231.78.1/24 dev exa0
ip -n "$nsc" addr add 10.231.78.2/24 dev exc0
ip -n "$nsa" addr add fd78::1/64 dev exa0 nodad
ip -n "$nsc" addr add fd78::2/64 dev exc0 nodad
ip -n "$nsa" link set exa0 up
ip -n "$nsc" link set exc0 up
hosts_a ""

# the health the run's probes ask for, in both pods
for ns in "$nsa" "$nsc"; do
	ip netns exec "$ns" python3 -m http.server 8080 --directory "$work" \
		>"$work/http-$ns.log" 2>&1 &
	pids+=($!)
done
ip netns exec "$nsc" "$build/controller/chaos-controller" --listen "tcp://[::]:17700" \
	--plaintext --control "$ctl_url" --heartbeat-ms 200 >"$work/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do ctl stats >/dev/null 2>&1 && break; sleep 0.1; done

start_agent() { # NS POD URL LOG
	CHAOS_POD_NAME=$2 CHAOS_NAMESPACE=staging CHAOS_ROLE=blockchain \
		ip netns exec "$1" "$build/agent/chaos-agent" --controller "$3" --plaintext \
		>"$4" 2>&1 &
	pids+=($!)
}

agent_state() { # POD -> its state, or nothing
	ctl agents --json 2>/dev/null | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["id"] == "staging/" + sys.argv[1]:
        print(a["state"])' "$1"
}

events_of() { # POD -> how many events the controller took from it (0 unknown)
	ctl agents --json 2>/dev/null | python3 -c '
import json, sys
print(next((a.get("events_received", 0) for a in json.load(sys.stdin)
            if a["id"] == "staging/" + sys.argv[1]), 0))' "$1"
}

wait_events_above() { # POD N: its events channel is up (an event past N taken)
	for _ in $(seq 1 100); do
		[ "$(events_of "$1")" -gt "$2" ] && return 0
		sleep 0.1
	done
	fail "$1's events channel did not connect: $(ctl agents 2>&1)"
}

wait_connected() { # POD
	for _ in $(seq 1 100); do
		[ "$(agent_state "$1")" = connected ] && return 0
		sleep 0.1
	done
	fail "$1 did not connect: $(ctl agents 2>&1)"
}

start_agent "$nsc" chain-1 tcp://127.0.0.1:17700 "$work/agent-c.log"
wait_connected chain-1

# One partition of chain-0 from chain-1 (the controller's address B), with
# the agent's controller reached by name at B (IPv4) or at fd78::2 (IPv6).
# Asserts the session survived it.
partition_case() { # LABEL ADDRESS SET
	local label=$1 addr=$2 set=$3 log=$work/agent-a-$1.log run_pid state events
	events=$(events_of chain-0)
	hosts_a "" # no address for the name when the agent starts
	start_agent "$nsa" chain-0 "tcp://$name:17700" "$log"
	local agent_pid=$!
	sleep 0.5
	hosts_a "$addr" # now it resolves: the dialer reconnects there
	wait_connected chain-0
	# the events channel (probe samples) redials on its own backoff, up to
	# 2 s later than the session: without it the baseline has no samples
	wait_events_above chain-0 "$events"
	ctl run network --namespace staging --groups chain-0/chain-1 --partition-duration 5 \
		--lease-ms 1000 --probe-url 'http://{ip}:8080/' --baseline 0.5 \
		--stability-window 0.5 --recovery-timeout 15 --output "$work" \
		>"$work/run-$label.log" 2>&1 &
	run_pid=$!
	pids+=("$run_pid")
	for _ in $(seq 1 100); do
		grep -q "fault .* applied" "$log" && break
		sleep 0.1
	done
	grep -q "fault .* applied" "$log" || fail "$label: the partition was not applied"
	sleep 3 # three leases: without the exemption the session is gone by now
	state=$(agent_state chain-0)
	ip netns exec "$nsa" nft list table inet chaos_agent >"$work/table-$label.txt" 2>&1 || true
	wait "$run_pid" || true
	echo "test_control_exempt ($label): chain-0 is '$state' 3 s into the partition"
	[ "$state" = connected ] || fail "$label: chain-0 lost the session mid-partition"
	grep -q "lease expired" "$log" &&
		fail "$label: the lease expired: the session to $addr was cut by the fault"
	grep -q "reverted (reverted on command)" "$log" ||
		fail "$label: the fault did not end by the run's revert ($(grep fault "$log"))"
	python3 - "$work/table-$label.txt" "$set" "$addr" <<'PY' || fail "$label: $addr is not in the table's $set set"
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"set %s \{.*?elements = \{([^}]*)\}" % re.escape(sys.argv[2]), text, re.S)
assert m and sys.argv[3] in m.group(1), text
PY
	kill "$agent_pid"
	wait "$agent_pid" 2>/dev/null || true
	echo "test_control_exempt ($label): ok, $addr exempt in set $set"
}

partition_case ipv4 10.231.78.2 exempt
partition_case ipv6 fd78::2 exempt6
echo "test_control_exempt: ok"
