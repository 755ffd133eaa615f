#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Mutual TLS between agents and the controller (the deployed default): an
# agent with a certificate from the cluster's CA connects and is listed; an
# agent whose certificate comes from another CA is refused and never listed;
# tls+tcp:// without certificates is a usage error (exit 2). Everything runs
# on loopback inside a network namespace of the test's own, so no agent ever
# touches the host's firewall.
# KEEP=1 keeps the certificates and logs also when the test passes.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "a network namespace for the agents"
itest_need_tools openssl

build=$(cd "$1" && pwd)
itest_tmpdir tls
dir=$ITEST_OUT
ns=chaos-tlstest-$$
pids=()

test_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "/etc/netns/$ns"
	[ "${KEEP:-0}" != 1 ] || { echo "kept: $dir"; ITEST_OUT=; }
}

# issue NAME CA_PREFIX SAN: a key + certificate signed by CA, one PEM file
issue() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
		-keyout "$dir/$1.key" -out "$dir/$1.csr" 2>/dev/null
	printf 'subjectAltName=%s\n' "$3" > "$dir/$1.ext"
	openssl x509 -req -in "$dir/$1.csr" -CA "$dir/$2.crt" -CAkey "$dir/$2.key" \
		-CAcreateserial -days 2 -extfile "$dir/$1.ext" -out "$dir/$1.crt" 2>/dev/null
	cat "$dir/$1.crt" "$dir/$1.key" > "$dir/$1.pem"
}
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=$1" -keyout "$dir/$1.key" -out "$dir/$1.crt" 2>/dev/null
}
ca cluster-ca
ca rogue-ca
# mbedTLS 2.28 matches DNS names only, so the controller is reached by name
# (as a Kubernetes Service would be), mapped to loopback in the test's netns.
issue controller cluster-ca "DNS:chaos-controller"
issue agent cluster-ca "DNS:agent"
issue rogue rogue-ca "DNS:rogue"

ip netns add "$ns"
ip -n "$ns" link set lo up
mkdir -p "/etc/netns/$ns"
echo "127.0.0.1 chaos-controller" > "/etc/netns/$ns/hosts"
url=tls+tcp://chaos-controller:17600
ctl=(ip netns exec "$ns" "$build/controller/chaosctl" --controller "ipc://$dir/control.sock")

ip netns exec "$ns" "$build/controller/chaos-controller" --listen "$url" \
	--tls-ca "$dir/cluster-ca.crt" --tls-cert "$dir/controller.pem" \
	--control "ipc://$dir/control.sock" --heartbeat-ms 200 > "$dir/controller.log" 2>&1 &
pids+=($!)
agent() { # agent POD CERT
	ip netns exec "$ns" env CHAOS_POD_NAME="$1" CHAOS_NAMESPACE=tls CHAOS_ROLE=blockchain \
		"$build/agent/chaos-agent" --controller "$url" --tls-ca "$dir/cluster-ca.crt" \
		--tls-cert "$dir/$2.pem" > "$dir/agent-$1.log" 2>&1 &
	pids+=($!)
}
agent good agent
sleep 0.3 # two agents in one netns would race for its table; real pods have one each
agent bad rogue

listed() { "${ctl[@]}" agents --json | python3 -c '
import json, sys
print(" ".join(sorted(a["pod"] + ":" + a["state"] for a in json.load(sys.stdin))))'; }
state=""
for _ in $(seq 1 50); do
	state=$(listed 2>/dev/null || true)
	[ "$state" = "good:connected" ] && break
	sleep 0.1
done
[ "$state" = "good:connected" ] || fail "expected only the good agent connected, got '$state'"
sleep 1
state=$(listed)
[ "$state" = "good:connected" ] || fail "after 1 s: '$state' (the rogue agent must never be listed)"
echo "ok: the agent with the cluster CA's certificate is connected over mutual TLS; the rogue one is not listed"

rc=0
ip netns exec "$ns" env CHAOS_ROLE=blockchain "$build/agent/chaos-agent" --controller "$url" \
	2> "$dir/usage.txt" || rc=$?
[ "$rc" -eq 2 ] || fail "tls+tcp:// without certificates exited $rc, wanted 2"
grep -q -- "--tls-ca" "$dir/usage.txt" || fail "usage line does not name --tls-ca: $(cat "$dir/usage.txt")"
rc=0
ip netns exec "$ns" env CHAOS_ROLE=blockchain "$build/agent/chaos-agent" \
	--controller tcp://127.0.0.1:17600 2> "$dir/usage2.txt" || rc=$?
[ "$rc" -eq 2 ] || fail "plaintext tcp:// without --plaintext exited $rc, wanted 2"
echo "ok: tls+tcp:// without certificates and tcp:// without --plaintext are usage errors: $(head -1 "$dir/usage2.txt")"
# chaosctl too: the control channel in clear text must be asked for
rc=0
"$build/controller/chaosctl" --controller tcp://127.0.0.1:17699 agents 2>"$dir/usage3.txt" || rc=$?
[ "$rc" -eq 2 ] || fail "chaosctl --controller tcp:// without --plaintext exited $rc, wanted 2"
grep -q -- "--plaintext" "$dir/usage3.txt" || fail "chaosctl's usage line does not name --plaintext: $(cat "$dir/usage3.txt")"
rc=0
"$build/controller/chaosctl" --plaintext --controller tcp://127.0.0.1:17699 --timeout-ms 300 agents \
	2>"$dir/unreach.txt" || rc=$?
[ "$rc" -eq 3 ] || fail "chaosctl --plaintext to nobody exited $rc, wanted 3 (unreachable)"
echo "ok: chaosctl refuses tcp:// without --plaintext: $(head -1 "$dir/usage3.txt")"
echo "tls: all checks passed"
