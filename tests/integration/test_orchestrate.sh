#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# chaosctl orchestrate end to end on the sandbox:
#  1. bad usage exits 2 with one line;
#  2. once: a network partition writes its result, the report with every
#     field, report.html and junit.xml (valid XML), and exits 0 when the SLOs
#     are met (success-rate target relaxed: a partition fails the cut-off
#     node's probes by design);
#  3. once, every scenario this build has: one entry each, exit status as
#     the report says (0 or 1);
#  4. continuous with --interval 0.2 min: several cycles; kill -9 of chaosctl
#     mid-session loses no completed cycle (history records == result
#     files); --resume continues the same session (same start and deadline,
#     cycle numbers continue) and its report covers every cycle;
#  5. the controller's /metrics on loopback is valid text exposition 0.0.4.
# The sandbox instance is $CHAOS_SANDBOX_ID (default 0); it is taken down at
# the end, like after every sandbox test.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces, nftables"
sbx_init "$1"
itest_tmpdir orch
out=$ITEST_OUT
bg_pid=
ctl_pid=

test_cleanup() {
	[ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null && wait "$bg_pid" 2>/dev/null
	[ -n "$ctl_pid" ] && kill "$ctl_pid" 2>/dev/null && wait "$ctl_pid" 2>/dev/null
}

# check_report DIR EXPECTED_RC: every field of the report, the HTML and the
# JUnit XML; the exit status agrees with the report.
check_report() {
	python3 - "$1" "$2" <<'PY'
import glob, json, os, sys, xml.etree.ElementTree as ET
d, rc = sys.argv[1], int(sys.argv[2])
reports = glob.glob(os.path.join(d, "chaos_test_report_*.json"))
assert len(reports) == 1, reports
r = json.load(open(reports[0]))
for k in ("report_generated", "namespace", "orchestration", "slo", "recommendations", "trends"):
    assert k in r, f"report lacks {k}"
o = r["orchestration"]
for k in ("orchestration_start", "orchestration_end", "scenarios", "summary"):
    assert k in o, f"orchestration lacks {k}"
assert o["orchestration_end"] is not None, "session not marked as ended"
s = o["summary"]
for k in ("total_scenarios", "successful_scenarios", "failed_scenarios", "skipped_scenarios",
          "average_mttr", "max_mttr", "min_mttr", "p50_mttr", "p95_mttr"):
    assert k in s, f"summary lacks {k}"
    if s[k] is None:
        assert s.get(k + "_reason"), f"{k} null without a reason"
assert s["total_scenarios"] == len(o["scenarios"])
assert s["successful_scenarios"] + s["failed_scenarios"] + s["skipped_scenarios"] == s["total_scenarios"]
for e in o["scenarios"]:
    for k in ("cycle", "name", "scenario", "state", "result_file", "mttr", "recovery_time",
              "success_count", "error_count"):
        assert k in e, f"entry lacks {k}: {e}"
    if e["result_file"] is not None:
        assert os.path.exists(os.path.join(d, e["result_file"])), e["result_file"]
    if e["state"] == "skipped":
        assert e["reason"], e
    if e["mttr"] is None:
        assert e["mttr_reason"], e
targets = {t["name"]: t for t in r["slo"]["targets"]}
assert set(targets) == {"mttr_average", "mttr_max", "request_success_rate"}, targets
for t in targets.values():
    assert t["met"] in (True, False, None)
    assert (t["measured"] is None) == (t["met"] is None), t
    if t["met"] is None:
        assert "not measured" in t["reason"], t
assert r["recommendations"], "no recommendation"
for rec in r["recommendations"]:
    assert any(c.isdigit() for c in rec["message"]), f"recommendation cites no number: {rec}"
text = open(reports[0]).read()
assert "Infinity" not in text and "NaN" not in text
# exit status as the report says
setup = {"refused", "unusable", "unreachable"}  # never started: not a failed run
states = {e["state"] for e in o["scenarios"]}
bad = r["slo"]["all_met"] is False or any(
    e["outcome"] == "failed"
    or e["success_rate"] is not None and e["success_rate"] < targets["request_success_rate"]["threshold"]
    or e["mttr"] is not None and e["mttr"] > targets["mttr_max"]["threshold"]
    for e in o["scenarios"] if e["outcome"] != "skipped" and e["state"] not in setup)
want = (1 if bad else 2 if "refused" in states
        else 3 if states & (setup | {"unknown"}) or s["successful_scenarios"] == 0
        or r["slo"]["all_met"] is None else 0)  # an unmeasured SLO is no pass
assert rc == want, f"exit {rc}, the report says {want}"
html = open(os.path.join(d, "report.html")).read()
assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<script" not in html
assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
j = ET.parse(os.path.join(d, "junit.xml")).getroot()
cases = [c for c in j.iter("testcase") if c.get("classname") != "chaos.slo"]
assert len(cases) == len(o["scenarios"]), (len(cases), len(o["scenarios"]))
for c, e in zip(cases, o["scenarios"]):
    assert c.get("classname") == "chaos." + e["scenario"], c.attrib
    assert (c.find("skipped") is not None) == (e["outcome"] == "skipped")
    if e["outcome"] == "failed":
        assert c.find("failure") is not None, c.attrib
print(f"ok: report complete ({s['total_scenarios']} runs, avg MTTR {s['average_mttr']}, "
      f"SLOs all met: {r['slo']['all_met']}), HTML, JUnit; exit {rc} as the report says")
PY
}

sbx_up

echo "== 1. bad usage"
for args in "--scenarios bogus" "--duration 1" "--interval x --continuous" "--no-such-flag 1" \
	"--resume --output $out/empty"; do
	rc=0; "${ctl[@]}" orchestrate $args >/dev/null 2>"$out/err" || rc=$?
	[ "$rc" -eq 2 ] || fail "orchestrate $args exited $rc, wanted 2"
	[ "$(wc -l <"$out/err")" -ge 1 ] || fail "orchestrate $args said nothing"
done
echo "ok: bad usage exits 2 with a reason"

echo "== 2. once: network partition, SLOs met"
rc=0
"${ctl[@]}" orchestrate --scenarios network --partition-duration 3 --slo-success-rate 50 \
	--output "$out/once" >"$out/once.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$out/once.log"; fail "orchestrate exited $rc, wanted 0"; }
check_report "$out/once" "$rc"
ls "$out"/once/chaos_test_network_partition_*.json >/dev/null

echo "== 3. once: every scenario this build has"
scen=(network) flags=(--partition-duration 3)
for s in coordinator database; do
	"${ctl[@]}" run "$s" --help >/dev/null 2>&1 && scen+=("$s")
done
"${ctl[@]}" run coordinator --help 2>/dev/null | grep -- --outage-duration >/dev/null && flags+=(--outage-duration 3)
"${ctl[@]}" run coordinator --help 2>/dev/null | grep -- --load-duration >/dev/null && flags+=(--load-duration 6)
"${ctl[@]}" run database --help 2>/dev/null | grep -- --failure-duration >/dev/null && flags+=(--failure-duration 3)
rc=0
"${ctl[@]}" orchestrate --scenarios "${scen[@]}" "${flags[@]}" --output "$out/all" \
	>"$out/all.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || { cat "$out/all.log"; fail "orchestrate exited $rc"; }
check_report "$out/all" "$rc"
echo "ok: ${scen[*]}"

echo "== 4. continuous, kill -9, --resume"
c="$out/cont"
"${ctl[@]}" orchestrate --scenarios network --continuous --duration 0.02 --interval 0.2 \
	--partition-duration 3 --output "$c" >"$out/cont1.log" 2>&1 &
bg_pid=$!
cycles() { cat "$c"/chaos_orchestration_*.jsonl 2>/dev/null | grep -c '"type":"cycle"' || true; }
for _ in $(seq 1 600); do [ "$(cycles)" -ge 2 ] && break; sleep 0.1; done
[ "$(cycles)" -ge 2 ] || { cat "$out/cont1.log"; fail "no 2 cycles within 60 s"; }
sleep 3 # into the next cycle's run
kill -9 "$bg_pid"
wait "$bg_pid" 2>/dev/null || true
bg_pid=
n_hist=$(grep -c '"result_file":"chaos_test_' "$c"/chaos_orchestration_*.jsonl)
n_files=$(ls "$c"/chaos_test_network_partition_*.json | wc -l)
[ "$n_hist" -eq "$n_files" ] || fail "after kill -9: $n_hist history records, $n_files result files"
echo "ok: kill -9 after $n_hist cycles: every completed cycle recorded"
rc=0
"${ctl[@]}" orchestrate --resume --output "$c" >"$out/cont2.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || { cat "$out/cont2.log"; fail "resume exited $rc"; }
grep -q "^resuming session" "$out/cont2.log" || fail "resume did not say it resumed"
python3 - "$c" "$n_hist" <<'PY'
import glob, json, sys
d, before = sys.argv[1], int(sys.argv[2])
hist = glob.glob(d + "/chaos_orchestration_*.jsonl")
assert len(hist) == 1, f"one session expected, got {hist}"
lines = [json.loads(l) for l in open(hist[0]) if l.strip()]
head = lines[0]
assert head["type"] == "session" and head["mode"] == "continuous"
cyc = [l for l in lines if l["type"] == "cycle"]
nums = [l["cycle"] for l in cyc]
assert nums == list(range(1, len(nums) + 1)), f"cycle numbers {nums}"
assert len(cyc) > before, f"resume ran no cycle ({len(cyc)} <= {before})"
assert lines[-1]["type"] == "end", "session not ended"
files = glob.glob(d + "/chaos_test_network_partition_*.json")
assert len(files) == sum(1 for l in cyc if l["result_file"]), (len(files), len(cyc))
r = json.load(open(glob.glob(d + "/chaos_test_report_*.json")[0]))
o = r["orchestration"]
assert o["orchestration_start"] == head["session_start"], "resume changed the start"
assert o["deadline"] == head["deadline"], "resume changed the deadline"
assert [e["cycle"] for e in o["scenarios"]] == nums, "report does not cover every cycle"
t = r["trends"]["network_partition"]
assert t["count"] >= 2 and t["slope_seconds_per_hour"] is not None, t
print(f"ok: resumed: {before} -> {len(cyc)} cycles in one session, report over all of them, "
      f"trend {t['slope_seconds_per_hour']} s/h")
PY
check_report "$c" "$rc"

echo "== 5. /metrics of a controller on loopback"
"$build/controller/chaos-controller" --metrics 'no-port' >/dev/null 2>&1 && fail "bad --metrics accepted"
port=$((20000 + RANDOM % 20000))
"$build/controller/chaos-controller" --listen "tcp://127.0.0.1:$port" --plaintext \
	--control "ipc://$out/ctl.sock" --metrics "127.0.0.1:$((port + 2))" 2>"$out/ctl.log" &
ctl_pid=$!
python3 - "$((port + 2))" <<'PY'
import re, sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/metrics"
for _ in range(50):
    try:
        resp = urllib.request.urlopen(url, timeout=2)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("no answer from " + url)
assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4"), resp.headers
text = resp.read().decode()
assert text.endswith("\n")
help_, type_, series = set(), {}, set()
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)\})? (\S+)$')
for line in text.splitlines():
    if line.startswith("# HELP "):
        help_.add(line.split()[2])
    elif line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        assert kind in ("counter", "gauge"), line
        type_[name] = kind
    elif line.startswith("#"):
        continue
    else:
        m = sample.match(line)
        assert m, f"not a sample line: {line!r}"
        float(m.group(7))
        name = m.group(1)
        assert name in type_ and name in help_, f"{name} without HELP/TYPE"
        if type_[name] == "counter":
            assert name.endswith("_total"), name
        assert (name, m.group(2)) not in series, f"duplicate series {line}"
        series.add((name, m.group(2)))
names = {n for n, _ in series}
for n in ("chaos_agents", "chaos_active_faults", "chaos_probe_samples_total", "chaos_runs_total",
          "chaos_messages_dropped_total", "chaos_heartbeat_seconds"):
    assert n in names, f"{n} missing"
assert "chaos_last_mttr_seconds" not in names, "an MTTR before any run"
print(f"ok: /metrics: {len(series)} series, valid exposition, no MTTR before any run")
PY
kill "$ctl_pid"; wait "$ctl_pid" 2>/dev/null || true; ctl_pid=

echo "orchestrate: all checks passed"
