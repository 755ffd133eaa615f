#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Database failure, end to end on the sandbox (real PostgreSQL, real
# coordinator stand-ins with a libpq pool):
#  1. connection failure (reject) for 10 s: /health/ready turns 503 within
#     2 s, the PostgreSQL probes from the coordinator pods fail with a
#     connection error class, both recover after the restore, both recovery
#     times are > 0, and no table of ours is left anywhere;
#  2. latency 500 ms for 10 s: the median query latency seen from the
#     coordinator pods is baseline + 500 ms within 50 ms, the data route
#     slows accordingly, and after the restore latency is back to baseline,
#     the nat rules and the proxy's sockets are gone;
#  3. kill -9 of the database pod's agent (node mode: the node agent)
#     mid-latency: the redirect is gone at once and clients reconnect
#     directly.
# The same checks in both modes: CHAOS_SANDBOX_MODE=sidecar (default) or node
# (the proxy then listens inside postgres-0's netns, opened by the node agent).
# The sandbox instance is $CHAOS_SANDBOX_ID (default 0).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_root "network namespaces, nftables, PostgreSQL"
sbx_init "$1"
itest_tmpdir db
out=$ITEST_OUT

has_redirect() { sbx_in postgres-0 nft list table inet chaos_agent 2>/dev/null | grep redirect >/dev/null; }

# Backends of the coordinators' role whose client socket is gone: the
# server's "addr:port" pairs that no coordinator pod holds an established
# connection for. A fault must not leave these (they fill max_connections).
ghost_backends() {
	local pod
	{
		sbx_in postgres-0 runuser -u postgres -- "$ITEST_PG_BIN/psql" \
			-h "$SANDBOX_STATE_DIR/pgsock" -U postgres -d postgres -qAt -F: -c \
			"SELECT client_addr, client_port FROM pg_stat_activity
			 WHERE usename = 'coordinator' AND client_addr IS NOT NULL" | sed 's/^/server /'
		for pod in "${SANDBOX_PODS[@]}"; do
			[[ $pod == coordinator-* ]] || continue
			sbx_in "$pod" ss -Htn state established '( dport = :5432 )' |
				awk '{print "client " $3}'
		done
	} | python3 -c '
import sys
server, client = set(), set()
for line in sys.stdin:
    side, pair = line.split()
    (server if side == "server" else client).add(pair)
print(" ".join(sorted(server - client)))'
}

sbx_up

echo "== 1. connection failure (reject) for 10 s"
"${ctl[@]}" run database --failure-type connection --failure-duration 10 --output "$out/conn" \
	> "$out/run1.log" 2>&1 || { cat "$out/run1.log"; fail "run database (connection) failed"; }
cat "$out/run1.log"
python3 - "$out"/conn/chaos_test_database_failure_*.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("scenario", "failure_start", "failure_end", "failure_type", "database_recovery_time",
          "api_recovery_time", "api_error_rate", "api_latency", "mttr", "recovery_time",
          "success_count", "error_count", "test_start", "test_end"):
    assert k in r, f"missing {k}"
assert r["scenario"] == "database_failure" and r["failure_type"] == "connection_blocked"
assert r["database_recovery_time"] > 0 and r["api_recovery_time"] > 0, (r["database_recovery_time"], r["api_recovery_time"])
assert r["api_detection_time"] is not None and r["api_detection_time"] <= 2.0, r["api_detection_time"]
# the readiness route answered 503 during the failure
bad = [x for k, v in r["samples"].items() if k.startswith("ready/") for x in v if not x["ok"]]
assert bad and all("503" in x.get("detail", "") or x["err"] == "http_5xx" for x in bad), bad[:3]
# the PostgreSQL probes failed with a connection error class
errs = {x["err"] for k, v in r["samples"].items() if k.startswith("pgconn/") for x in v if not x["ok"]}
assert errs and errs <= {"refused", "timeout"}, errs
assert 0 < r["api_error_rate"] <= 1, r["api_error_rate"]  # a fraction
assert isinstance(r["api_requests_during"], int) and r["api_requests_during"] > 0
assert isinstance(r["clock_error_ms"], (int, float)), r.get("clock_error_ms_reason")
assert r["failure_end"] is not None, r.get("failure_end_reason")
# the server-side reject reset the connections open on the database pod
eff = {e["pod"]: e["applied"] for e in r["fault_effects"]}
assert eff.get("postgres-0") and "open connection(s) reset" in eff["postgres-0"], eff
assert int(eff["postgres-0"].split("reject in, ")[1].split()[0]) >= 1, eff
print(f"ok: 503 after {r['api_detection_time']} s; pg errors {sorted(errs)}; db recovery "
      f"{r['database_recovery_time']} s, api recovery {r['api_recovery_time']} s; "
      f"postgres-0: {eff['postgres-0']}")
PY
sbx_expect_no_tables "after the run"
# checked at once: the server's keepalives (10 s + 3 x 2 s) would end a
# ghost by themselves some seconds later
ghosts=$(ghost_backends)
[ -z "$ghosts" ] || fail "backends left without a client after the reject: $ghosts"
echo "ok: no backend left without its client after the reject"

echo "== 2. latency 500 ms for 10 s"
"${ctl[@]}" run database --failure-type latency --latency-ms 500 --failure-duration 10 \
	--output "$out/lat" > "$out/run2.log" 2>&1 || { cat "$out/run2.log"; fail "run database (latency) failed"; }
cat "$out/run2.log"
python3 - "$out"/lat/chaos_test_database_failure_*.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
q, a = r["db_query_latency"], r["api_latency"]
added = q["during"]["p50_ms"] - q["baseline"]["p50_ms"]
assert abs(added - 500) <= 50, f"query latency added {added:.1f} ms (baseline {q['baseline']['p50_ms']}, during {q['during']['p50_ms']})"
assert a["during"]["p50_ms"] >= a["baseline"]["p50_ms"] + 450, a
assert q["after"]["p50_ms"] <= q["baseline"]["p50_ms"] + 50, q
print(f"ok: median query latency {q['baseline']['p50_ms']:.1f} -> {q['during']['p50_ms']:.1f} ms "
      f"(+{added:.1f}); data route p50 {a['baseline']['p50_ms']:.1f} -> {a['during']['p50_ms']:.1f} ms; "
      f"after {q['after']['p50_ms']:.1f} ms")
PY
sbx_expect_no_tables "(nat) after the restore"
apid=$(sbx_agent_pid postgres-0) || fail "no agent pid for postgres-0"
socks=$(ls -l /proc/"$apid"/fd 2>/dev/null | grep -c socket || true)
listen=$(sbx_in postgres-0 ss -Htlnp 2>/dev/null | grep -c "pid=$apid," || true)
[ "$listen" -eq 0 ] || fail "the agent still listens (proxy) after the restore"
echo "ok: nat rules gone; the agent holds no listening socket ($socks sockets: its session)"

echo "== 3. kill -9 of the database agent mid-latency"
"${ctl[@]}" run database --failure-type latency --latency-ms 500 --failure-duration 8 \
	--output "$out/kill" > "$out/run3.log" 2>&1 &
run_pid=$!
seen=0
for _ in $(seq 1 300); do has_redirect && { seen=1; break; }; sleep 0.05; done
[ "$seen" = 1 ] || fail "no redirect rule appeared"
listen=$(sbx_in postgres-0 ss -Htlnp 2>/dev/null | grep -c "pid=$(sbx_agent_pid postgres-0)," || true)
[ "$listen" -ge 1 ] || fail "the proxy does not listen inside postgres-0's netns"
echo "ok: the latency proxy listens inside postgres-0's netns"
apid=$(sbx_agent_pid postgres-0) || fail "no agent pid for postgres-0"
kill -9 "$apid"
sleep 0.1
has_redirect && fail "redirect still there 100 ms after the agent died"
echo "ok: redirect gone within 100 ms of kill -9"
sbx_in coordinator-0 python3 - "$(sbx_ip postgres-0)" <<'PY' || fail "clients did not reconnect directly"
import socket, sys, time
t0 = time.time()
s = socket.create_connection((sys.argv[1], 5432), timeout=2)
s.close()
print(f"ok: direct TCP connect to PostgreSQL from coordinator-0 in {1000*(time.time()-t0):.1f} ms")
PY
for _ in $(seq 1 50); do
	code=$(sbx_in coordinator-0 curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$(sbx_ip coordinator-0):8080/health/ready" || true)
	[ "$code" = 200 ] && break
	sleep 0.1
done
[ "$code" = 200 ] || fail "/health/ready is $code after the agent died"
echo "ok: /health/ready 200 again without the proxy"
# the fault died with its agent: the run must take that as the fault's end,
# not wait out its recovery timeout (120 s) for a revert nobody will send
killed_at=$(date +%s)
wait "$run_pid" 2>/dev/null || true
run_pid=
took=$(($(date +%s) - killed_at))
[ "$took" -le 60 ] || { cat "$out/run3.log"; fail "the run went on $took s after its fault agent died"; }
# sidecar: "agent postgres-0 lost ..."; node mode: "pod postgres-0 (served
# by node agent ...) lost ..."
grep -Eq "postgres-0 (\(served by [^)]*\) )?lost during the run" "$out/run3.log" ||
	{ cat "$out/run3.log"; fail "the run did not say postgres-0's agent was lost"; }
echo "ok: the run ended $took s after the agent died, saying it was lost"
echo "database failure: all checks passed"
