#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Soak: `chaosctl orchestrate --continuous` on a sandbox of its own with short
# cycles (every scenario in turn, a cycle every 30 s, 5 s faults) for
# CHAOS_SOAK_MINUTES (default 30). Every CHAOS_SOAK_SAMPLE_S seconds (default
# 60) it reads the resident memory (VmRSS) and the open file descriptors of
# the controller and of every agent from /proc, and the client backends of
# the sandbox's PostgreSQL, and at the end it fails when one of them grows
# (soak_analyze.py says how it judges): memory by more than 1 MiB per hour
# (least-squares slope after a warm-up), descriptors and backends at all.
# Writes soak.json (the series and the verdict), soak.svg (the plot), the
# orchestrator's output and its log to CHAOS_SOAK_OUT (default BUILD_DIR/soak).
#
#   usage: soak_orchestrate.sh BUILD_DIR
#
# The sandbox instance is CHAOS_SANDBOX_ID, 5 unless set, so that the soak
# does not disturb the integration tests (instance 0) that run meanwhile; it
# is taken down at the end. Registered with ctest (label soak) only when
# configured with -DCHAOS_SOAK=ON: it is not part of the default run.
export CHAOS_SANDBOX_ID=${CHAOS_SANDBOX_ID:-5}
# shellcheck source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
itest_need_root "network namespaces, nftables"
sbx_init "$1"
soak_dir=$(cd "$(dirname "$0")" && pwd)
readonly soak_dir
readonly minutes=${CHAOS_SOAK_MINUTES:-30}
readonly sample_s=${CHAOS_SOAK_SAMPLE_S:-60}
readonly out=${CHAOS_SOAK_OUT:-$build/soak}
if ! [[ $minutes =~ ^[0-9]+$ ]] || [ "$minutes" -lt 2 ]; then
	fail "CHAOS_SOAK_MINUTES must be a whole number of minutes, at least 2 (got '$minutes')"
fi
if ! [[ $sample_s =~ ^[0-9]+$ ]] || [ "$sample_s" -lt 1 ]; then
	fail "CHAOS_SOAK_SAMPLE_S must be a whole number of seconds, at least 1 (got '$sample_s')"
fi
orch_pid=

test_cleanup() {
	[ -n "$orch_pid" ] && kill "$orch_pid" 2>/dev/null && wait "$orch_pid" 2>/dev/null
}

# Client backends of the sandbox's PostgreSQL (its own, from the socket, not
# counted), or nothing when it does not answer: a fault that strands
# connections leaves backends behind on the server, which the processes'
# own figures do not show.
pg_backends() {
	sbx_in postgres-0 runuser -u postgres -- \
		"$ITEST_PG_BIN/psql" -h "$SANDBOX_STATE_DIR/pgsock" -U postgres -d postgres -qAt \
		-c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'
		    AND client_addr IS NOT NULL" 2>/dev/null || true
}

# One JSON line: seconds since the start; for the controller and each pod's
# agent, its pid, VmRSS (KiB; and its RssAnon and RssFile parts) and open
# descriptors (a process that is not running is left out); and the
# database's client backends (null when it did not answer).
sample() { # t0
	local backends
	backends=$(pg_backends)
	"$sandbox" status --json | python3 -c '
import json, os, sys, time
s = json.load(sys.stdin)
procs = {"controller": s["controller"]["pid"]}
procs.update({"agent " + p["name"]: p["pids"].get("agent") for p in s["pods"]})
line = {"t": round(time.time() - float(sys.argv[1]), 1), "procs": {},
        "pg_backends": int(sys.argv[2]) if sys.argv[2].isdigit() else None}
for name, pid in procs.items():
    try:
        status = open(f"/proc/{pid}/status").read()
        kib = {l.split(":")[0]: int(l.split()[1]) for l in status.splitlines()
               if l.startswith(("VmRSS:", "RssAnon:", "RssFile:"))}
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, TypeError, ValueError):
        continue
    if "VmRSS" not in kib:
        continue
    # judged on VmRSS; its anonymous (heap) and file (libraries) parts say
    # where a growth is
    line["procs"][name] = {"pid": pid, "rss_kib": kib["VmRSS"], "fds": fds,
                           "rss_anon_kib": kib.get("RssAnon"),
                           "rss_file_kib": kib.get("RssFile")}
print(json.dumps(line), flush=True)' "$1" "$backends"
}

# The controller of every sample is the first one: a new pid means it
# crashed, or that someone else took this instance down and up again (then
# the series mixes two sandboxes and says nothing).
same_controller() { # samples.jsonl
	python3 - "$1" <<'PY' || fail "the controller is not the one the soak started"
import json, sys
pids = [json.loads(l)["procs"].get("controller", {}).get("pid") for l in open(sys.argv[1])]
if len(set(pids)) != 1 or pids[0] is None:
    sys.exit(f"controller pids over the samples: {pids}")
PY
}

rm -rf "$out"
mkdir -p "$out"
sbx_up
echo "soak: sandbox instance $SANDBOX_ID, $minutes min, a sample every $sample_s s, output $out"
"${ctl[@]}" orchestrate --continuous --duration "$(python3 -c "print($minutes / 60)")" \
	--interval 0.5 --partition-duration 5 --outage-duration 5 --failure-duration 5 \
	--load-duration 10 --output "$out/orchestrate" >"$out/orchestrate.log" 2>&1 &
orch_pid=$!
t0=$(date +%s.%N)
deadline=$((SECONDS + minutes * 60 + 600)) # the last cycle may run past the session's end
next=$SECONDS
while kill -0 "$orch_pid" 2>/dev/null; do
	[ "$SECONDS" -lt "$deadline" ] || fail "orchestrate still running 10 min after its deadline"
	if [ "$SECONDS" -ge "$next" ]; then
		sample "$t0" >>"$out/samples.jsonl"
		same_controller "$out/samples.jsonl"
		next=$((next + sample_s))
	fi
	sleep 1
done
rc=0
wait "$orch_pid" || rc=$?
orch_pid=
sample "$t0" >>"$out/samples.jsonl"
# 0: every SLO met; 1: a run failed or an SLO was missed. Either way the
# cycles ran, which is what the soak needs; anything else means they did not.
[ "$rc" -le 1 ] || { tail -20 "$out/orchestrate.log"; fail "orchestrate exited $rc"; }
cycles=$(cat "$out"/orchestrate/chaos_orchestration_*.jsonl | grep -c '"type":"cycle"' || true)
echo "soak: $cycles cycles (orchestrate exit $rc)"
[ "$cycles" -ge $((minutes / 2)) ] || fail "only $cycles cycles in $minutes min"
python3 "$soak_dir/soak_analyze.py" "$out/samples.jsonl" "$out/soak.json" "$out/soak.svg" \
	--cycles "$cycles" --orchestrate-exit "$rc"
