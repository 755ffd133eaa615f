#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The sandbox's coordinator stand-in against a throwaway PostgreSQL on loopback:
# health without the DB, readiness and stats with it, 503 within 2 s when the DB
# is stopped or silent, recovery when it comes back, HTTP edge cases, clean exit.
#
# usage: test_coordinator_standin.sh PATH/TO/chaos-coordinator
# Exit 0 pass, 1 fail, 77 skip (not root, or PostgreSQL 15 missing).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
coord_bin=${1:?usage: test_coordinator_standin.sh PATH/TO/chaos-coordinator}
pg_bin=$ITEST_PG_BIN
itest_need_root "PostgreSQL runs as user postgres via runuser"
itest_need_tools "$pg_bin/initdb" "$pg_bin/pg_ctl" "$pg_bin/psql" curl python3 runuser
[ -x "$coord_bin" ] || fail "$coord_bin is not an executable"

itest_tmpdir coord-standin
tmp=$ITEST_OUT
chmod 0755 "$tmp"
coord_pid='' coord2_pid='' silent_pid=''
failures=0

test_cleanup() {
	local pid
	for pid in $coord_pid $coord2_pid $silent_pid; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ -f "$tmp/data/postmaster.pid" ]; then
		runuser -u postgres -- "$pg_bin/pg_ctl" -D "$tmp/data" -m immediate -w -t 10 stop \
			>/dev/null 2>&1 || true
	fi
}

# A failed check is counted and the next one runs (lib.sh's fail stops).
check_failed() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

pass() {
	echo "ok: $*"
}

# N distinct free loopback ports below the kernel's ephemeral range: a port
# from bind(0) is ephemeral, and an outgoing connection of this very test
# (libpq, curl) may take it as its local port before the server binds it
# (CI saw "Address already in use" so).
free_ports() {
	python3 - "$1" <<-'PY'
		import random, socket, sys
		lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
		ports = []
		for _ in range(1000):
		    if len(ports) == int(sys.argv[1]):
		        break
		    p = random.randint(max(1024, lo - 10000), lo - 1)
		    s = socket.socket()
		    try:
		        s.bind(("127.0.0.1", p))
		        if p not in ports:
		            ports.append(p)
		    except OSError:
		        pass
		    finally:
		        s.close()
		print(*ports)
	PY
}

read -r pg_port http_port silent_port http_port2 < <(free_ports 4)
[ -n "$http_port2" ] || fail "no 4 free loopback ports below the ephemeral range"

# GET url: sets code, body, secs (total time of the request).
http_get() {
	local out
	out=$(curl -s -m 5 -o "$tmp/body" -w '%{http_code} %{time_total}' "$1" || true)
	code=${out%% *}
	secs=${out#* }
	body=$(cat "$tmp/body" 2>/dev/null || true)
}

psql_admin() {
	runuser -u postgres -- "$pg_bin/psql" -h "$tmp/sock" -p "$pg_port" -U postgres -qAt \
		-v ON_ERROR_STOP=1 "$@"
}

pg_start() {
	runuser -u postgres -- "$pg_bin/pg_ctl" -D "$tmp/data" -l "$tmp/pg.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -p $pg_port -k $tmp/sock -c fsync=off" start >/dev/null
}

setup_postgres() {
	local password=$1
	itest_pg_initdb "$tmp" || return 1
	pg_start
	psql_admin -d postgres <<-SQL
		CREATE ROLE coordinator LOGIN PASSWORD '$password';
		CREATE DATABASE platform OWNER coordinator;
	SQL
	psql_admin -d platform <<-SQL
		CREATE TABLE listings(id serial PRIMARY KEY, seller text, price_cents bigint,
		                      created_at timestamptz DEFAULT now());
		ALTER TABLE listings OWNER TO coordinator;
		INSERT INTO listings(seller, price_cents, created_at)
		  SELECT 'seller-' || g, g * 100, timestamptz '2024-05-01 12:00:00.250+00' - g * interval '1 s'
		  FROM generate_series(1, 137) g;
	SQL
}

# Starts the stand-in on port with dsn file; waits (max 5 s) for its "up" event.
start_coordinator() {
	local port=$1 dsn=$2 events=$3 log=$4
	"$coord_bin" --listen "127.0.0.1:$port" --dsn-file "$dsn" --events-log "$events" \
		--db-timeout-ms 1000 >"$log" 2>&1 &
	started_pid=$!
	for _ in $(seq 50); do
		grep -q '"event":"up"' "$events" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "coordinator did not come up:"
	cat "$log"
	return 1
}

# Sends raw bytes on one connection and prints every response status line.
raw_http() {
	python3 - "$http_port" "$1" <<-'PY'
		import socket, sys
		s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
		s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
		data = b""
		try:
		    while True:
		        chunk = s.recv(65536)
		        if not chunk:
		            break
		        data += chunk
		except (socket.timeout, ConnectionResetError):
		    pass
		import re
		for m in re.finditer(rb"HTTP/1\.1 [0-9]{3} [^\r]*", data):
		    print(m.group(0).decode())
	PY
}

test_health_answers_without_database() {
	http_get "http://127.0.0.1:$http_port/v1/health"
	[ "$code" = 200 ] && [ "$body" = '{"status":"ok"}' ] ||
		{ check_failed "/v1/health: $code $body"; return; }
	pass "/v1/health 200 $body"
}

test_ready_answers_200_when_database_up() {
	http_get "http://127.0.0.1:$http_port/health/ready"
	[ "$code" = 200 ] && [ "$body" = '{"status":"ready"}' ] ||
		{ check_failed "/health/ready with DB up: $code $body"; return; }
	pass "/health/ready 200 in ${secs}s"
}

test_stats_counts_listings() {
	local want='{"listings":137,"volume_cents":945300,"latest":"2024-05-01T11:59:59.250Z"}'
	http_get "http://127.0.0.1:$http_port/v1/marketplace/stats"
	[ "$code" = 200 ] && [ "$body" = "$want" ] ||
		{ check_failed "stats: $code $body (want $want)"; return; }
	pass "stats 200 $body"
}

test_http_edge_cases() {
	local got
	got=$(raw_http 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\nPOST /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[ "$got" = $'HTTP/1.1 404 Not Found\nHTTP/1.1 405 Method Not Allowed' ] ||
		check_failed "404 then 405 on one keep-alive connection, got: $got"
	got=$(raw_http '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')
	[ "$got" = 'HTTP/1.1 400 Bad Request' ] || check_failed "garbage: want 400, got: $got"
	got=$(raw_http "GET /v1/health HTTP/1.1\\r\\nX-Big: $(head -c 9000 /dev/zero | tr '\0' a)\\r\\n\\r\\n")
	[ "$got" = 'HTTP/1.1 431 Request Header Fields Too Large' ] ||
		check_failed "9000-byte header: want 431, got: $got"
	got=$(raw_http 'GET /v1/health HTTP/1.1\r\n\r\nGET /v1/health HTTP/1.1\r\nConnection: close\r\n\r\n')
	[ "$got" = $'HTTP/1.1 200 OK\nHTTP/1.1 200 OK' ] || check_failed "pipelined pair: got: $got"
	got=$(curl -s -D - -o /dev/null "http://127.0.0.1:$http_port/v1/health" | tr -d '\r' |
		grep -ci '^content-length: 15$' || true)
	[ "$got" = 1 ] || check_failed "Content-Length header missing"
	pass "404/405/400/431, keep-alive, pipelining, Content-Length"
}

test_ready_503_fast_when_database_stopped() {
	runuser -u postgres -- "$pg_bin/pg_ctl" -D "$tmp/data" -m fast -w -t 30 stop >/dev/null
	http_get "http://127.0.0.1:$http_port/health/ready"
	case "$body" in
	'{"status":"unavailable","error":"connection: '*) ;;
	*) check_failed "ready with DB stopped: $code $body"; return ;;
	esac
	[ "$code" = 503 ] || { check_failed "ready with DB stopped: $code"; return; }
	python3 -c "import sys; sys.exit(0 if float('$secs') < 2.0 else 1)" ||
		{ check_failed "503 took ${secs}s (limit 2 s)"; return; }
	http_get "http://127.0.0.1:$http_port/v1/marketplace/stats"
	[ "$code" = 503 ] || check_failed "stats with DB stopped: $code $body"
	http_get "http://127.0.0.1:$http_port/v1/health"
	[ "$code" = 200 ] || check_failed "liveness must not depend on the DB: $code"
	pass "DB stopped: /health/ready 503 in ${secs}s"
}

test_ready_recovers_after_database_restart() {
	local t0=$SECONDS
	pg_start
	for _ in $(seq 50); do
		http_get "http://127.0.0.1:$http_port/health/ready"
		[ "$code" = 200 ] && break
		sleep 0.2
	done
	[ "$code" = 200 ] || { check_failed "ready after DB restart: $code $body"; return; }
	http_get "http://127.0.0.1:$http_port/v1/marketplace/stats"
	[ "$code" = 200 ] || { check_failed "stats after DB restart: $code $body"; return; }
	pass "DB back: ready 200 within $((SECONDS - t0)) s"
}

# A listener that completes the TCP handshake but never answers stands for a
# blackholed server: only the stand-in's own deadline can end the request.
test_ready_503_fast_when_database_silent() {
	python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $silent_port)); s.listen(64); time.sleep(60)" &
	silent_pid=$!
	printf 'host=127.0.0.1 port=%s dbname=platform user=coordinator password=x\n' \
		"$silent_port" >"$tmp/silent.dsn"
	sleep 0.3
	start_coordinator "$http_port2" "$tmp/silent.dsn" "$tmp/events2" "$tmp/coord2.log"
	coord2_pid=$started_pid
	http_get "http://127.0.0.1:$http_port2/health/ready"
	case "$body" in
	'{"status":"unavailable","error":"timeout: '*) ;;
	*) check_failed "ready with a silent DB: $code $body"; return ;;
	esac
	python3 -c "import sys; sys.exit(0 if float('$secs') < 2.0 else 1)" ||
		{ check_failed "503 with a silent DB took ${secs}s (limit 2 s)"; return; }
	pass "silent DB: /health/ready 503 in ${secs}s"
}

test_events_log_and_clean_exit() {
	local rc=0
	grep -Eq '^\{"event":"up","t":[0-9]{10}\.[0-9]{3}\}$' "$tmp/events" ||
		{ check_failed "events log: $(cat "$tmp/events")"; return; }
	kill -TERM "$coord_pid"
	timeout 5 tail --pid="$coord_pid" -f /dev/null || { check_failed "no exit 5 s after SIGTERM"; return; }
	wait "$coord_pid" || rc=$?
	coord_pid=
	[ "$rc" = 0 ] || { check_failed "exit status after SIGTERM: $rc"; return; }
	pass "events log up line; SIGTERM exits 0"
}

password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
setup_postgres "$password"
umask 077
printf 'host=127.0.0.1 port=%s dbname=platform user=coordinator password=%s\n' \
	"$pg_port" "$password" >"$tmp/dsn"
start_coordinator "$http_port" "$tmp/dsn" "$tmp/events" "$tmp/coord.log"
coord_pid=$started_pid

test_health_answers_without_database
test_ready_answers_200_when_database_up
test_stats_counts_listings
test_http_edge_cases
test_ready_503_fast_when_database_stopped
test_ready_recovers_after_database_restart
test_ready_503_fast_when_database_silent
test_events_log_and_clean_exit

if [ "$failures" -gt 0 ]; then
	echo "coordinator log:"
	cat "$tmp/coord.log"
	echo "FAILED: $failures check(s)"
	exit 1
fi
echo "PASS: coordinator stand-in"
