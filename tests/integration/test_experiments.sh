#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Experiment files end to end on the sandbox:
#  1. `chaosctl run -f` on each sandbox example of deploy/examples, with the
#     durations shortened by flags: each run exits 0 and writes its result,
#     whose parameters hold the file's values and the flags' over them, and
#     no table of ours is left;
#  2. `chaosctl orchestrate -f orchestration.yaml --dry-run`: the controller
#     plans every scenario of the plan;
#  3. a file with an unknown key, and one with a bad value, exit 2 naming
#     the line and column, and nothing runs.
# The sandbox instance is $CHAOS_SANDBOX_ID (default 0).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces, nftables"
sbx_init "$1"
itest_tmpdir experiments
out=$ITEST_OUT
examples=$repo/deploy/examples

# run_example NAME FLAGS...: chaosctl run -f NAME.yaml FLAGS into $out/NAME;
# prints the result file's path (fails unless it exits 0 and writes one).
run_example() {
	local name=$1 rc=0 files
	shift
	"${ctl[@]}" run -f "$examples/$name.yaml" --output "$out/$name" "$@" \
		>"$out/$name.log" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { cat "$out/$name.log" >&2; fail "run -f $name.yaml exited $rc"; }
	files=("$out/$name"/chaos_test_*.json)
	[ -e "${files[0]}" ] || fail "run -f $name.yaml wrote no result file"
	echo "${files[0]}"
}

# check_params RESULT PYTHON-EXPRESSION...: each holds of the result's
# parameters (p) and the result (r).
check_params() {
	local result=$1
	shift
	python3 - "$result" "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = r["parameters"]
for expr in sys.argv[2:]:
    assert eval(expr), f"{sys.argv[1]}: not {expr}: parameters {json.dumps(p)[:400]}"
print(f"ok: {r['scenario']}: result written, file values and flag overrides in its parameters")
PY
}

sbx_up

echo "== 1. run -f on each sandbox example"
result=$(run_example network-partition --partition-duration 3)
check_params "$result" 'r["scenario"] == "network_partition"' \
	'p["partition_duration_s"] == 3' 'p["partition_ratio"] == 0.34' \
	'p["namespace"] == "chaos-sandbox"' 'len(r["affected_nodes"]) == 1'
sbx_expect_no_tables "after network-partition.yaml"

result=$(run_example database-failure --failure-duration 3)
check_params "$result" 'r["scenario"] == "database_failure"' \
	'p["failure_duration_s"] == 3' 'p["failure_type"] == "connection_blocked"' \
	'p["connection_mode"] == "reject"' 'p["fault_side"] == "server"'
sbx_expect_no_tables "after database-failure.yaml"

result=$(run_example coordinator-outage --load-duration 4)
check_params "$result" 'r["scenario"] == "coordinator_outage"' \
	'p["load_duration_s"] == 4' 'p["method"] == "kill"' 'p["rate"] == 200'
sbx_expect_no_tables "after coordinator-outage.yaml"

echo "== 2. orchestrate -f orchestration.yaml --dry-run"
rc=0
"${ctl[@]}" orchestrate -f "$examples/orchestration.yaml" --output "$out/orch" --dry-run \
	>"$out/orch.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$out/orch.log"; fail "orchestrate -f --dry-run exited $rc"; }
for s in coordinator network database; do
	grep -q "^plan of $s:" "$out/orch.log" || { cat "$out/orch.log"; fail "no plan of $s"; }
done
echo "ok: the plan's three scenarios planned by the controller"

echo "== 3. refusals name the line and column; nothing runs"
printf 'scenario: network\nparams:\n  partition-duration: 3\n  partition-duratoin: 3\n' \
	>"$out/unknown.yaml"
printf 'scenario: network\nparams:\n  partition-ratio: 2\n' >"$out/bad.yaml"
for f in unknown bad; do
	rc=0
	"${ctl[@]}" run -f "$out/$f.yaml" --output "$out/$f" >"$out/$f.log" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || { cat "$out/$f.log"; fail "run -f $f.yaml exited $rc, wanted 2"; }
	[ ! -e "$out/$f" ] || fail "run -f $f.yaml made its output directory"
done
grep -qx "chaosctl: $out/unknown.yaml:4:3: unknown key 'partition-duratoin' in the params of network; allowed: .*" \
	"$out/unknown.log" || { cat "$out/unknown.log"; fail "unknown key: no line:column"; }
grep -qx "chaosctl: $out/bad.yaml:3:20: --partition-ratio (partition_ratio) 2: allowed a number in 0.01..0.99" \
	"$out/bad.log" || { cat "$out/bad.log"; fail "bad value: not the validator's message at 3:20"; }
sbx_expect_no_tables "after the refused files"
echo "ok: unknown key and bad value exit 2 with file:line:column"
