#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Stall detection on a fast chain: the sandbox's chain pods serve a chain
# node mimic (GET /rpc/head -> {"height": N}) whose leader, chain-0, makes a
# block every 0.3 s and whose followers adopt the leader's height. The
# advance window comes from the baseline (3 x the interval between rises,
# at least 1 s), so a follower cut off by a partition is reported unhealthy
# within 1.5 s of the fault; the result states the window it used.
# The sandbox instance is $CHAOS_SANDBOX_ID (default 0).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces, nftables"
sbx_init "$1"
itest_tmpdir stall
out=$ITEST_OUT
port=8645
mimics=()

test_cleanup() {
	for p in "${mimics[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}

sbx_up
leader="http://$(sbx_ip chain-0):$port"
for pod in chain-0 chain-1 chain-2; do
	args=(--listen "$(sbx_ip "$pod"):$port" --block 0.3 --max-lifetime 120)
	[ "$pod" = chain-0 ] || args+=(--leader "$leader")
	ip netns exec "$(sbx_netns "$pod")" python3 "$repo/tests/integration/fixtures/chain_mimic.py" \
		"${args[@]}" >"$out/$pod.log" 2>&1 &
	mimics+=($!)
done
for _ in $(seq 1 50); do
	sbx_in chain-2 python3 -c 'import json,sys,urllib.request; sys.exit(json.load(urllib.request.urlopen(sys.argv[1]))["height"] < 2)' \
		"http://$(sbx_ip chain-2):$port/rpc/head" 2>/dev/null && break
	sleep 0.1
done
rc=0
"${ctl[@]}" run network --partition-duration 4 --partition-ratio 0.34 \
	--probe-url "http://{ip}:$port/rpc/head" --probe-field height --probe-interval-ms 100 \
	--baseline 3 --stability-window 1 --output "$out" >"$out/run.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$out/run.log"; fail "the run exited $rc"; }
python3 - "$out" <<'PY' || { cat "$out/run.log"; fail "stall detection too slow or not stated"; }
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/chaos_test_network_partition_*.json")[0]))
sd = r["stall_detection"]
assert sd["source"] == "baseline", sd
assert 250 <= sd["baseline_rise_interval_ms"] <= 400, sd
assert sd["window_ms"] == max(1000, int(-(-3 * sd["baseline_rise_interval_ms"] // 1))), sd
assert r["affected_nodes"] == ["chain-2"], r["affected_nodes"]
assert r["detection_time"] is not None and r["detection_time"] <= 1.5, r["detection_time"]
print("  stall window %d ms (rises every %.0f ms in the baseline); the cut-off follower "
      "was unhealthy %.3f s after the fault (bar 1.5 s)"
      % (sd["window_ms"], sd["baseline_rise_interval_ms"], r["detection_time"]))
PY
sbx_expect_no_tables "after the run"
echo "ok: a follower of a 0.3 s chain cut off is reported unhealthy within 1.5 s"
