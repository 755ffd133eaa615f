#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Safety on the sandbox (its controller allows the namespace chaos-sandbox
# only, and runs in "chaos"):
#  1. allow-list: a run naming another namespace, kube-system or the
#     controller's own is refused with exit 2 and nothing is applied;
#  2. selectors: --dry-run shows exactly the pods the labels match; a
#     selector that matches nothing says where it looked;
#  3. a guard (an HTTP check outside the blast radius) that starts failing
#     during a 30 s partition ends the run aborted within
#     failures x interval + 1 s, exit 1, no rule left, the result naming it;
#  4. --abort-error-rate: a coordinator blackhole whose load fails ends
#     aborted by the error rate, with the measured figure in the result.
# The sandbox instance is $CHAOS_SANDBOX_ID (default 0).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces, nftables"
sbx_init "$1"
itest_tmpdir safety
out=$ITEST_OUT
run_pid='' guard_pid=''

test_cleanup() {
	[ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
	[ -n "$guard_pid" ] && kill "$guard_pid" 2>/dev/null && wait "$guard_pid" 2>/dev/null
	true
}

sbx_up

echo "== 1. allow-list"
for args in "network --partition-duration 2 --namespace staging" \
	"network --partition-duration 2 --namespace kube-system" \
	"network --partition-duration 2 --namespace chaos" \
	"coordinator --method pod-delete --kube-api http://127.0.0.1:9 --kube-token-file /dev/null --kube-namespace kube-system"; do
	rc=0
	# shellcheck disable=SC2086 # the words are the flags
	"${ctl[@]}" run $args 2>"$out/err" >/dev/null || rc=$?
	[ "$rc" -eq 2 ] || { cat "$out/err"; fail "run $args exited $rc, want 2"; }
	grep -q "not allowed by this controller" "$out/err" ||
		fail "run $args: no allow-list reason: $(cat "$out/err")"
	sbx_expect_no_tables "after the refused run $args" >/dev/null
done
echo "ok: runs outside the allow-list are refused with exit 2: $(head -1 "$out/err")"

echo "== 2. selectors"
"${ctl[@]}" run network --dry-run \
	--selector 'statefulset.kubernetes.io/pod-name!=chain-2,app=chain' >"$out/dry.txt" ||
	fail "dry run with a selector failed: $(cat "$out/dry.txt")"
python3 - "$out/dry.txt" <<'PY' || fail "the dry run shows other pods than the selector matches"
import json, sys
text = open(sys.argv[1]).read()
plan = json.loads(text[text.index("{"):])
pods = sorted(n["pod"] for n in plan["nodes"])
assert pods == ["chain-0", "chain-1"], pods
assert plan["selector"] == "statefulset.kubernetes.io/pod-name!=chain-2,app=chain"
print("  dry run: selector matched", pods)
PY
rc=0
"${ctl[@]}" run network --dry-run --selector app=nothing 2>"$out/none.txt" >/dev/null || rc=$?
[ "$rc" -eq 3 ] || fail "a selector matching nothing exited $rc, want 3"
grep -q "labels app=nothing" "$out/none.txt" || fail "no scope in: $(cat "$out/none.txt")"
rc=0
"${ctl[@]}" run network --selector 'app=' --selector 'a b' 2>"$out/bad.txt" >/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "a bad selector exited $rc, want 2"
echo "ok: selectors: $(head -1 "$out/none.txt")"

echo "== 3. a guard trips during a partition"
ip netns exec "$(sbx_netns controller)" python3 "$repo/tests/integration/fixtures/guard_server.py" \
	--trip "$out/trip" --max-lifetime 90 >"$out/guard.port" 2>"$out/guard.err" &
guard_pid=$!
for _ in $(seq 1 50); do [ -s "$out/guard.port" ] && break; sleep 0.1; done
port=$(head -1 "$out/guard.port")
[ -n "$port" ] || fail "the guard server did not start: $(cat "$out/guard.err")"
interval_ms=200 failures=3
"${ctl[@]}" run network --partition-duration 30 --partition-ratio 0.34 \
	--guard "http://127.0.0.1:$port/health" --guard-failures "$failures" \
	--probe-interval-ms "$interval_ms" --output "$out/guard" >"$out/guard.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 300); do [ -n "$(sbx_tables_left)" ] && break; sleep 0.05; done
[ -n "$(sbx_tables_left)" ] || { cat "$out/guard.log"; fail "no partition applied"; }
sleep 1 # the partition holds while the guard is healthy
[ -n "$(sbx_tables_left)" ] || { cat "$out/guard.log"; fail "the partition ended before the guard failed"; }
start=$(date +%s%N)
touch "$out/trip"
while [ -n "$(sbx_tables_left)" ]; do
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$ms" -le 20000 ] || fail "rules still there $ms ms after the guard started failing"
	sleep 0.02
done
gone_ms=$((($(date +%s%N) - start) / 1000000))
rc=0
wait "$run_pid" || rc=$?
run_pid=
[ "$rc" -eq 1 ] || { cat "$out/guard.log"; fail "the guarded run exited $rc, want 1"; }
bar=$((failures * interval_ms + 1000))
echo "  every rule gone $gone_ms ms after the guard began failing (bar $bar ms)"
[ "$gone_ms" -le "$bar" ] || fail "rules gone after $gone_ms ms > $bar ms"
python3 - "$out/guard" "$port" <<'PY' || { cat "$out/guard.log"; fail "the result does not name the guard"; }
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/chaos_test_network_partition_*.json")[0]))
sc = r["stop_conditions"]
assert "guard http://127.0.0.1:%s/health failed 3 checks in a row (last: HTTP 404)" % sys.argv[2] in sc["tripped"], sc
assert sc["guards"][0]["last_status"] == 404, sc
assert r["failure"].startswith("aborted: guard"), r["failure"]
print("  result:", r["failure"])
PY
grep -q "aborted" "$out/guard.log" || fail "chaosctl did not say aborted"
sbx_expect_no_tables "after the guard tripped"

echo "== 4. --abort-error-rate during a coordinator blackhole"
rc=0
"${ctl[@]}" run coordinator --method blackhole --outage-duration 20 --load-duration 4 \
	--rate 100 --abort-error-rate 10 --output "$out/rate" >"$out/rate.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$out/rate.log"; fail "the run exited $rc, want 1 (aborted)"; }
python3 - "$out/rate" <<'PY' || { cat "$out/rate.log"; fail "the result does not show the tripped error rate"; }
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/chaos_test_coordinator_outage_*.json")[0]))
sc = r["stop_conditions"]
assert sc["error_rate_tripped"] is True, sc
u = sc["user_requests_since_fault"]
assert u["total"] >= 20 and u["error_rate_percent"] > 10, u
assert "above --abort-error-rate 10%" in r["failure"], r["failure"]
print("  result:", r["failure"])
PY
sbx_expect_no_tables "after the error rate tripped"
sbx_facts
echo "ok: allow-list, selectors, guard and error-rate stop conditions"
