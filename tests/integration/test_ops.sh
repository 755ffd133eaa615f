#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Operations from anywhere, on the sandbox. A 30 s network partition is
# started by one chaosctl in the background; from other processes:
#  1. `chaosctl status --json` lists the run in progress and the live fault on
#     each targeted pod (every pod holding our nftables table) with its lease
#     (about to end, renewed by the controller) and its hard end;
#  2. `chaosctl abort` ends the run within 1 s with every table of ours gone,
#     and says on how many targets it reverted the faults; the chaosctl that
#     started the run exits 1 with the run aborted;
#  3. `chaosctl results --json` lists the run, newest, as aborted, and
#     `chaosctl results RUN --json` gives its record with its result;
#  4. abort with nothing in progress exits 1; of a run never kept, 2.
# The sandbox instance is $CHAOS_SANDBOX_ID (default 0).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces, nftables"
sbx_init "$1"
itest_tmpdir ops
out=$ITEST_OUT

pods_with_rules() { # the pods whose namespace holds a table of ours, sorted
	local p
	for p in "${SANDBOX_PODS[@]}"; do
		sbx_in "$p" nft list table inet chaos_agent >/dev/null 2>&1 && echo "$p"
	done | sort
	true
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

sbx_up

echo "== 1. a 30 s partition in the background; status from another process"
"${ctl[@]}" run network --partition-duration 30 --output "$out/run" >"$out/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 600); do [ -n "$(pods_with_rules)" ] && break; sleep 0.05; done
[ -n "$(pods_with_rules)" ] || { cat "$out/run.log"; fail "no partition rules within 30 s"; }
# every fault applied and confirmed (the agents' next poll says so)
for _ in $(seq 1 100); do
	"${ctl[@]}" status --json >"$out/status.json" || fail "chaosctl status --json failed"
	python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["faults"] and all(f["state"] == "in_force" for f in s["faults"]) else 1)
' "$out/status.json" && break
	sleep 0.05
done
targets=$(pods_with_rules | tr "\n" " " | sed "s/ $//")
run_id=$(python3 - "$out/status.json" "$targets" <<'PY'
import datetime, json, sys
s = json.load(open(sys.argv[1]))
pods = sys.argv[2].split()
def t(iso):
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ")
now = t(s["now"])
assert len(s["runs"]) == 1, s["runs"]
run = s["runs"][0]
assert run["scenario"] == "network_partition" and run["state"] == "running", run
assert 0 < run["elapsed_s"] < 60, run
faults = {f["pod"]: f for f in s["faults"]}
assert sorted(faults) == sorted(pods), "faults on %s, rules on %s" % (sorted(faults), pods)
for pod, f in faults.items():
    assert len([x for x in s["faults"] if x["pod"] == pod]) == 1, "two faults on " + pod
    assert f["state"] == "in_force", f
    assert f["run_id"] == run["id"] and f["fault_id"].startswith("r%d-" % run["id"]), f
    assert f["kind"] == "partition", f
    assert f["lease_ms"] == 3000, f
    left = (t(f["lease_expires"]) - now).total_seconds()
    # renewed at every reply (a heartbeat at most ago): the lease is nearly whole
    assert 1.5 < left <= 3.0 and abs(left - f["lease_left_s"]) < 0.002, f
    hard = (t(f["hard_end"]) - now).total_seconds()
    assert 25 < hard <= 60 and abs(hard - f["hard_end_in_s"]) < 0.002, f
print(run["id"])
print("  run %d: %s; %d faults in force: %s" % (run["id"], run["progress"], len(faults),
      ", ".join("%s (lease ends in %.2f s, hard end in %.1f s)" % (p, f["lease_left_s"],
                f["hard_end_in_s"]) for p, f in sorted(faults.items()))), file=sys.stderr)
PY
) || { cat "$out/status.json"; fail "status --json does not show the live faults"; }
"${ctl[@]}" status >"$out/status.txt" || fail "chaosctl status failed"
for p in $targets; do
	grep -qE "^$p +r$run_id-[^ ]+ +partition +in_force +in [0-9.]+s" "$out/status.txt" ||
		{ cat "$out/status.txt"; fail "the status table has no live fault on $p"; }
done
echo "ok: status shows run $run_id and the live fault on each of: $targets"

echo "== 2. chaosctl abort from another process"
t0=$(now_ms)
rc=0
"${ctl[@]}" abort >"$out/abort.log" 2>&1 || rc=$?
left=$(sbx_tables_left)
took=$(($(now_ms) - t0))
cat "$out/abort.log"
[ "$rc" -eq 0 ] || fail "chaosctl abort exited $rc"
[ -z "$left" ] || fail "tables of ours left after the abort in: $left"
n_targets=$(wc -w <<<"$targets")
grep -qE "^run $run_id aborted in [0-9.]+ s; faults reverted on $n_targets targets? \\(${targets// /, }\\)$" \
	"$out/abort.log" || fail "abort did not say what it did"
[ "$took" -le 1000 ] || fail "the run ended and its rules were gone only after $took ms > 1 s"
echo "ok: run $run_id aborted and every rule gone $took ms after chaosctl abort started"
rc=0
for _ in $(seq 1 100); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
wait "$run_pid" || rc=$?
run_pid=
cat "$out/run.log"
[ "$rc" -eq 1 ] || fail "the chaosctl that started the run exited $rc, want 1 (aborted)"
grep -q "^run $run_id aborted" "$out/run.log" || fail "the chaosctl that started the run does not say aborted"
result=$(ls "$out"/run/chaos_test_network_partition_*.json 2>/dev/null | head -n1)
[ -n "$result" ] || fail "no result written for the aborted run"
# shellcheck disable=SC2016 # the backquotes are literal: the abort's reason
grep -q '"failure": "aborted: aborted by `chaosctl abort` on ' "$result" ||
	fail "the result of the aborted run does not say who aborted it"

echo "== 3. results"
"${ctl[@]}" results --json >"$out/results.json" || fail "chaosctl results --json failed"
"${ctl[@]}" results "$run_id" --json >"$out/one.json" || fail "chaosctl results $run_id --json failed"
python3 - "$out/results.json" "$out/one.json" "$run_id" <<'PY' || fail "results do not keep the aborted run"
import json, sys
runs, one, rid = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
assert runs and runs[0]["id"] == rid, [r["id"] for r in runs]
r = runs[0]
assert r["scenario"] == "network_partition" and r["state"] == "aborted", r
assert r["started"] and r["ended"] and r["started"] < r["ended"], r
assert "chaosctl abort" in (r["error"] or ""), r
assert r["mttr"] is None and r["mttr_reason"], r
ids = [x["id"] for x in runs]
assert ids == sorted(ids, reverse=True), ids
assert one["id"] == rid and one["state"] == "aborted", one
assert isinstance(one["result"], dict) and one["result"]["scenario"] == "network_partition"
print("  run %d: %s, mttr null (%s); %d runs kept" % (rid, r["state"], r["mttr_reason"],
                                                     len(runs)))
PY
"${ctl[@]}" results >"$out/results.txt" || fail "chaosctl results failed"
grep -qE "^$run_id +network_partition +aborted " "$out/results.txt" ||
	{ cat "$out/results.txt"; fail "the results table has no aborted run $run_id"; }
echo "ok: results list run $run_id as aborted"

echo "== 4. nothing to abort; a run never kept"
rc=0
"${ctl[@]}" abort >"$out/none.log" 2>&1 || rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "no run in progress" "$out/none.log"; then
	cat "$out/none.log"
	fail "abort with nothing in progress exited $rc, want 1 with a line"
fi
rc=0
"${ctl[@]}" abort 999999999 >"$out/unknown.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || { cat "$out/unknown.log"; fail "abort of an unknown run exited $rc, want 2"; }
"${ctl[@]}" status --json >"$out/after.json"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert not s["runs"] and not s["faults"], s' "$out/after.json" ||
	{ cat "$out/after.json"; fail "status still shows a run or a fault"; }
echo "ok: abort exits 1 with nothing in progress, 2 for an unknown run; status is empty"
sbx_expect_no_tables "at the end"
