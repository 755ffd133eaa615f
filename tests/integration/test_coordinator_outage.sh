#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Coordinator outage, end to end on the sandbox, with load before, during
# and after:
#  1. --method kill with the stand-in's restart delay at 3 s: exits 0;
#     recovery_time agrees with the stand-in's own ground-truth log (time it
#     answered again minus time it died) within 100 ms; errors happen only in
#     the outage phase; successes + errors + late = scheduled;
#  2. --method blackhole: the port drops for the outage, then recovers;
#  3. --method pod-delete against the fake Kubernetes API server: pods
#     deleted with grace 0, replacements Ready (the condition), and a 403 is
#     reported with the RBAC rule to add.
# The same checks in both modes: CHAOS_SANDBOX_MODE=sidecar (default) or node
# (the kill then finds the coordinator by its pod's netns from the node
# agent, and the load runs from inside the loader pods' netns).
# The sandbox instance is $CHAOS_SANDBOX_ID (default 0).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces"
sbx_init "$1"
itest_tmpdir coord
out=$ITEST_OUT
fake_pid=

test_cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
}

sbx_up --restart-delay 3
"$sandbox" status --json > "$out/status.json"

echo "== 1. kill, restart delay 3 s, 200 rps"
"${ctl[@]}" run coordinator --method kill --load-duration 10 --rate 200 \
	--output "$out/kill" > "$out/run1.log" 2>&1 || { cat "$out/run1.log"; fail "run coordinator (kill) failed"; }
cat "$out/run1.log"
python3 - "$out"/kill/chaos_test_coordinator_outage_*.json "$out/status.json" <<'PY'
import json, sys, datetime
r = json.load(open(sys.argv[1]))
status = json.load(open(sys.argv[2]))
ts = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()
for k in ("scenario", "outage_start", "outage_end", "success_count", "error_count", "phases",
          "recovery_time_distribution", "mttr", "recovery_time", "test_start", "test_end"):
    assert k in r, f"missing {k}"
assert isinstance(r["clock_error_ms"], (int, float)), r.get("clock_error_ms_reason")
start, end = ts(r["test_start"]), ts(r["test_end"])
truth = {}
for pod in status["pods"]:
    if pod["role"] != "coordinator":
        continue
    ev = [json.loads(l) for l in open(pod["events_log"]) if l.strip()]
    ev = [e for e in ev if start <= e["t"] <= end]
    down = next(e["t"] for e in ev if e["event"] == "down")
    up = next(e["t"] for e in ev if e["event"] == "up" and e["t"] > down)
    truth[pod["name"]] = up - down
for e in r["endpoints"]:
    got, want = e["recovery_time"], truth[e["name"]]
    assert abs(got - want) <= 0.100, f"{e['name']}: measured {got:.3f} s, ground truth {want:.3f} s"
    print(f"ok: {e['name']}: recovery {got:.3f} s, ground truth {want:.3f} s (diff {1000*(got-want):+.0f} ms)")
assert abs(r["recovery_time"] - max(truth.values())) <= 0.100, (r["recovery_time"], truth)
ph = r["phases"]
assert ph["baseline"]["error_count"] == 0, ph["baseline"]
assert ph["recovery"]["error_count"] == 0, ph["recovery"]
assert ph["outage"]["error_count"] > 0, ph["outage"]
acc = r["accounting"]
assert r["success_count"] + r["error_count"] + r["late_count"] == r["scheduled_count"], acc
assert acc["consistent"], acc
print(f"ok: errors only in the outage ({ph['outage']['error_count']}); "
      f"{r['success_count']} ok + {r['error_count']} errors + {r['late_count']} late = "
      f"{r['scheduled_count']} scheduled (agents' own total {acc['agents_final_scheduled']})")
PY

echo "== 2. blackhole for 3 s"
"${ctl[@]}" run coordinator --method blackhole --outage-duration 3 --load-duration 4 --rate 100 \
	--output "$out/bh" > "$out/run2.log" 2>&1 || { cat "$out/run2.log"; fail "run coordinator (blackhole) failed"; }
python3 - "$out"/bh/chaos_test_coordinator_outage_*.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["method"] == "blackhole" and r["recovery_time"] is not None and r["recovery_time"] >= 0
assert r["phases"]["outage"]["error_count"] > 0 and r["phases"]["baseline"]["error_count"] == 0
assert "timeout" in r["phases"]["outage"]["errors_by_class"], r["phases"]["outage"]
print(f"ok: blackhole: {r['phases']['outage']['error_count']} timeouts in the outage, recovered "
      f"{r['recovery_time']} s after the restore")
PY
for n in 0 1; do
	sbx_in "coordinator-$n" nft list tables | grep chaos_agent >/dev/null && fail "table left in coordinator-$n"
done

echo "== 3. pod-delete through the (fake) Kubernetes API"
echo "test-token" > "$out/token"
ip netns exec "$(sbx_netns controller)" python3 "$repo/tests/fake_k8s/server.py" --namespace chaos-sandbox \
	--workload coordinator:app=coordinator:2 --startup-delay 1.0 --pending-delay 0.2 \
	--max-lifetime 120 > "$out/fake.out" 2>"$out/fake.err" &
fake_pid=$!
for _ in $(seq 1 50); do [ -s "$out/fake.out" ] && break; sleep 0.1; done
port=$(head -1 "$out/fake.out")
[ -n "$port" ] || fail "fake API server did not start: $(cat "$out/fake.err")"
kube=(--kube-api "http://127.0.0.1:$port" --kube-token-file "$out/token" --kube-namespace chaos-sandbox)
"${ctl[@]}" run coordinator --method pod-delete "${kube[@]}" --load-duration 2 --rate 50 \
	--output "$out/pd" > "$out/run3.log" 2>&1 || { cat "$out/run3.log"; fail "run coordinator (pod-delete) failed"; }
python3 - "$out"/pd/chaos_test_coordinator_outage_*.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["method"] == "pod-delete"
assert len(r["pods"]["deleted"]) == 2, r["pods"]
assert len(r["pods"]["replacements_ready"]) == 2, r["pods"]
assert r["recovery_time"] >= 1.0, f"recovery {r['recovery_time']} s is shorter than the start-up delay"
print(f"ok: 2 pods deleted, replacements Ready; recovery_time {r['recovery_time']} s")
PY
sbx_in controller python3 - "$port" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/_fake/config", method="POST",
    data=json.dumps({"faults": [{"method": "DELETE", "status": 403, "count": -1}]}).encode())
urllib.request.urlopen(req).read()
PY
rc=0
"${ctl[@]}" run coordinator --method pod-delete "${kube[@]}" --load-duration 2 --rate 50 \
	--output "$out/pd403" > "$out/run4.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$out/run4.log"; fail "403 run exited $rc, wanted 1"; }
python3 - "$out"/pd403/chaos_test_coordinator_outage_*.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = r["failure"]
assert '"delete"' in f and '"pods"' in f and "verbs" in f, f
print("ok: 403 reported:", f[:160])
PY
echo "coordinator outage: all checks passed"
