#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Mutual TLS between agents and the controller (the deployed default), with
# the certificates deploy/certs/make-certs.sh makes (CN pod:<namespace>/<pod>),
# and the identity bound to the certificate:
# - chain-0's certificate claiming chain-0: proved and connected;
# - chain-0's certificate claiming chain-1: refused; the controller logs one
#   line naming both names (once for the connection, however often it
#   retries), counts it (/metrics chaos_agents_refused_total{reason=
#   "identity"}, chaosctl stats), the agent logs the refusal and backs
#   off, and chain-1 is never listed;
# - a certificate of another CA, and an expired one: refused (by the TLS
#   handshake already, so the controller sees no connection), never listed;
# - the honest agent stays connected throughout.
# tls+tcp:// without certificates and tcp:// without --plaintext are usage
# errors (exit 2). chaosctl over tls+tcp:// is answered with a certificate of
# the CA and fails, at its --timeout-ms and with a reason, otherwise. Everything runs on loopback inside a network namespace of
# the test's own, so no agent ever touches the host's firewall.
# KEEP=1 keeps the certificates and logs also when the test passes.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "a network namespace for the agents"
itest_need_tools openssl curl python3

build=$(cd "$1" && pwd)
repo=$(cd "$ITEST_LIB_DIR/../.." && pwd)
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

mk=$repo/deploy/certs/make-certs.sh
"$mk" --out "$dir/ca" --pod staging/chain-0 --pod staging/chain-1 >/dev/null
"$mk" --out "$dir/ca" --pod staging/chain-2 --expired >/dev/null
"$mk" --out "$dir/other" --pod staging/chain-1 >/dev/null
# The agent takes one PEM with certificate and key (--tls-cert).
pem() { cat "$1/pods/staging/$2.crt" "$1/pods/staging/$2.key" >"$dir/$3.pem"; }
pem "$dir/ca" chain-0 chain-0
pem "$dir/ca" chain-2 expired
pem "$dir/other" chain-1 foreign

ip netns add "$ns"
ip -n "$ns" link set lo up
mkdir -p "/etc/netns/$ns"
# make-certs names the controller chaos-controller (a Service's name)
echo "127.0.0.1 chaos-controller" >"/etc/netns/$ns/hosts"
url=tls+tcp://chaos-controller:17620
metrics=127.0.0.1:19120
ctl=(ip netns exec "$ns" "$build/controller/chaosctl" --controller "ipc://$dir/control.sock")

ip netns exec "$ns" "$build/controller/chaos-controller" --listen "$url" \
	--tls-ca "$dir/ca/ca.crt" --tls-cert "$dir/ca/controller/tls.crt" \
	--tls-key "$dir/ca/controller/tls.key" --control "ipc://$dir/control.sock" \
	--metrics "$metrics" --heartbeat-ms 200 >"$dir/controller.log" 2>&1 &
pids+=($!)
agent() { # NAME POD PEM: an agent of namespace staging claiming POD
	ip netns exec "$ns" env CHAOS_POD_NAME="$2" CHAOS_NAMESPACE=staging \
		CHAOS_ROLE=blockchain "$build/agent/chaos-agent" --controller "$url" \
		--tls-ca "$dir/ca/ca.crt" --tls-cert "$dir/$3.pem" >"$dir/agent-$1.log" 2>&1 &
	pids+=($!)
	sleep 0.3 # agents sharing one netns would race for its table; pods have one each
}
agent honest chain-0 chain-0
agent impostor chain-1 chain-0
agent expired chain-2 expired
agent foreign chain-1 foreign

listed() { "${ctl[@]}" agents --json | python3 -c '
import json, sys
print(" ".join(sorted(a["pod"] + ":" + a["state"] for a in json.load(sys.stdin))))'; }
# wait_for WHAT CMD...: CMD succeeds within 10 s
wait_for() {
	local what=$1 _i
	shift
	for _i in $(seq 1 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "not within 10 s: $what"
}
mismatch='the certificate names pod:staging/chain-0, and the agent claims pod:staging/chain-1'
only_chain0() { [ "$(listed)" = chain-0:connected ]; }
wait_for "chain-0 connected" only_chain0
wait_for "the controller's refusal line" grep -q "refused (connection from 127.0.0.1:[0-9]*): identity not proven: $mismatch" "$dir/controller.log"
grep -q "agent staging/chain-0 proved its identity: certificate pod:staging/chain-0" "$dir/controller.log" ||
	fail "no line says chain-0 proved its identity"
wait_for "the impostor's refusal line" grep -q "the controller refused this agent: identity not proven: $mismatch" "$dir/agent-impostor.log"
echo "ok: chain-0's certificate claiming chain-1 is refused; the controller says: $(grep -o 'agent staging/chain-1 refused.*' "$dir/controller.log" | head -1)"

# It keeps trying every 2 s on its connection: each try refused, the
# connection logged and counted once.
sleep 4.5
n=$(grep -c "agent staging/chain-1 refused" "$dir/controller.log")
[ "$n" = 1 ] || fail "the impostor's connection was logged $n times, wanted once"
count=$(ip netns exec "$ns" curl -sf "http://$metrics/metrics" |
	sed -n 's/^chaos_agents_refused_total{reason="identity"} //p')
[ "$count" = 1 ] || fail "chaos_agents_refused_total{reason=\"identity\"} is '$count', wanted 1"
"${ctl[@]}" stats --json >"$dir/stats.json"
python3 - "$dir/stats.json" <<-'EOF' || fail "chaosctl stats: $(cat "$dir/stats.json")"
	import json, sys
	stats = json.load(open(sys.argv[1]))
	s = stats["session"]
	assert s["dropped"] >= 2, s  # the first try and at least one retry
	assert "identity not proven" in s["last_reason"], s
	# the honest agent's Hello is backed by its proven connection
	assert stats["events"]["dropped"] == 0, stats["events"]
EOF
hello_taken() { "${ctl[@]}" agents --json | python3 -c '
import json, sys
a = json.load(sys.stdin)
sys.exit(0 if len(a) == 1 and a[0]["events_received"] >= 1 else 1)'; }
hello_taken || fail "the honest agent's Hello was not taken: $("${ctl[@]}" agents --json)"
echo "ok: counted once for the connection (metrics: $count); chaosctl stats: $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["session"]; print(s["dropped"], "polls refused, last:", s["last_reason"])' "$dir/stats.json")"

state=$(listed)
[ "$state" = "chain-0:connected" ] ||
	fail "wanted only chain-0 connected, got '$state' (no refused agent may be listed)"
for a in expired foreign; do
	grep -q "no answer from the controller yet" "$dir/agent-$a.log" ||
		fail "the $a agent does not say the controller is silent: $(cat "$dir/agent-$a.log")"
done
grep -q "this agent's certificate: .*expired.pem expired at" "$dir/agent-expired.log" ||
	fail "the expired agent does not say its certificate expired: $(cat "$dir/agent-expired.log")"
! grep -q "proved its identity: certificate pod:staging/chain-[12]" "$dir/controller.log" ||
	fail "an expired or foreign certificate proved an identity"
echo "ok: the expired and the foreign certificate are refused at the handshake, never listed; the honest agent stays connected"

rc=0
ip netns exec "$ns" env CHAOS_ROLE=blockchain "$build/agent/chaos-agent" --controller "$url" \
	2> "$dir/usage.txt" || rc=$?
[ "$rc" -eq 2 ] || fail "tls+tcp:// without certificates exited $rc, wanted 2"
grep -q -- "--tls-ca" "$dir/usage.txt" || fail "usage line does not name --tls-ca: $(cat "$dir/usage.txt")"
rc=0
ip netns exec "$ns" env CHAOS_ROLE=blockchain "$build/agent/chaos-agent" \
	--controller tcp://127.0.0.1:17620 2> "$dir/usage2.txt" || rc=$?
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

# chaosctl over tls+tcp:// (a controller whose control endpoint is TLS, as
# from outside its pod): answered with a certificate of the CA; refused, at
# --timeout-ms and with a reason naming certificates, with a foreign one;
# nothing listening said at once; plain tcp:// to the TLS port ended at
# --timeout-ms (NNG's dial used to wait 10 s there, whatever the timeout).
ctl_url=tls+tcp://chaos-controller:17632
ip netns exec "$ns" "$build/controller/chaos-controller" --listen tls+tcp://chaos-controller:17630 \
	--tls-ca "$dir/ca/ca.crt" --tls-cert "$dir/ca/controller/tls.crt" \
	--tls-key "$dir/ca/controller/tls.key" --control "$ctl_url" >"$dir/controller2.log" 2>&1 &
pids+=($!)
tctl() { # URL PEM [chaosctl flags]: `agents --json` over tls+tcp://, 500 ms
	local u=$1 pem=$2
	shift 2
	ip netns exec "$ns" "$build/controller/chaosctl" --controller "$u" --tls-ca "$dir/ca/ca.crt" \
		--tls-cert "$pem" --timeout-ms 500 "$@" agents --json
}
wait_for "chaosctl answered over tls+tcp://" tctl "$ctl_url" "$dir/chain-0.pem"
# CASE EXPECTED_WORDS MAX_MS CMD...: exit 3 within MAX_MS, stderr naming it
ctl_fails() {
	local what=$1 words=$2 max_ms=$3 rc=0 t0 ms
	shift 3
	t0=$(date +%s%N)
	"$@" >/dev/null 2>"$dir/ctl-fail.txt" || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$rc" -eq 3 ] || fail "chaosctl $what exited $rc, wanted 3: $(cat "$dir/ctl-fail.txt")"
	[ "$ms" -le "$max_ms" ] || fail "chaosctl $what took $ms ms, wanted at most $max_ms"
	grep -q -- "$words" "$dir/ctl-fail.txt" ||
		fail "chaosctl $what does not say '$words': $(cat "$dir/ctl-fail.txt")"
	echo "ok: chaosctl $what: exit 3 in $ms ms: $(cat "$dir/ctl-fail.txt")"
}
ctl_fails "with a foreign certificate" "trusts the other's certificate" 1500 \
	tctl "$ctl_url" "$dir/foreign.pem"
ctl_fails "to a TLS port nobody listens on" "nothing listens at chaos-controller:17639" 400 \
	tctl tls+tcp://chaos-controller:17639 "$dir/chain-0.pem"
ctl_fails "in plain tcp:// to the TLS port" "cannot reach the controller" 1500 \
	ip netns exec "$ns" "$build/controller/chaosctl" --plaintext --controller tcp://127.0.0.1:17632 \
	--timeout-ms 500 agents
echo "tls: all checks passed"
