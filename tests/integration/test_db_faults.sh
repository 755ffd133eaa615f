#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The database faults (port reject/drop, latency proxy, pg_terminate, the
# PostgreSQL probe) against a throwaway PostgreSQL 15, in two namespaces of
# our own joined by a veth pair: "db" (10.233.7.10, the server) and "client"
# (10.233.7.20). The checks themselves are in db_faults.c; this script makes
# and removes the world around it, on every exit path.
#
# usage: test_db_faults.sh PATH/TO/db_faults
# Exit 0 pass, 1 fail, 77 skip (not root, or PostgreSQL 15 missing).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
helper=${1:?usage: test_db_faults.sh PATH/TO/db_faults}
pg_bin=$ITEST_PG_BIN
itest_need_root "namespaces, nftables; PostgreSQL runs as postgres via runuser"
itest_need_tools "$pg_bin/initdb" "$pg_bin/pg_ctl" "$pg_bin/psql" ip nft nsenter ss runuser

ns_db=dbf-$$-db
ns_cl=dbf-$$-cl
db_ip=10.233.7.10
cl_ip=10.233.7.20
itest_tmpdir db-faults
tmp=$ITEST_OUT
chmod 0755 "$tmp"

test_cleanup() {
	if [ -f "$tmp/data/postmaster.pid" ]; then
		ip netns exec "$ns_db" runuser -u postgres -- "$pg_bin/pg_ctl" -D "$tmp/data" \
			-m immediate -w -t 10 stop >/dev/null 2>&1 || true
	fi
	ip netns del "$ns_db" 2>/dev/null || true
	ip netns del "$ns_cl" 2>/dev/null || true
}

# Namespaces of runs that were killed -9 (their pid is gone).
for ns in $(ip netns list | awk '/^dbf-[0-9]+-(db|cl)$/{print $1}'); do
	pid=${ns#dbf-}
	pid=${pid%-*}
	kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
done

ip netns add "$ns_db"
ip netns add "$ns_cl"
ip -n "$ns_db" link set lo up
ip -n "$ns_cl" link set lo up
ip -n "$ns_db" link add eth0 type veth peer name eth0 netns "$ns_cl"
ip -n "$ns_db" addr add "$db_ip/24" dev eth0
ip -n "$ns_cl" addr add "$cl_ip/24" dev eth0
ip -n "$ns_db" link set eth0 up
ip -n "$ns_cl" link set eth0 up

password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
itest_pg_initdb "$tmp" || exit 1
echo "host all all 10.233.7.0/24 scram-sha-256" >>"$tmp/data/pg_hba.conf"
ip netns exec "$ns_db" runuser -u postgres -- "$pg_bin/pg_ctl" -D "$tmp/data" -l "$tmp/pg.log" \
	-w -t 30 -o "-c listen_addresses=$db_ip -p 5432 -k $tmp/sock -c fsync=off" start >/dev/null ||
	{ cat "$tmp/pg.log"; exit 1; }
ip netns exec "$ns_db" runuser -u postgres -- "$pg_bin/psql" -h "$tmp/sock" -U postgres -qAt \
	-v ON_ERROR_STOP=1 -d postgres <<-SQL
	CREATE ROLE coordinator LOGIN PASSWORD '$password';
	GRANT pg_signal_backend TO coordinator;
	CREATE DATABASE platform OWNER coordinator;
SQL

rc=0
DBF_NS_DB=/run/netns/$ns_db DBF_NS_CL=/run/netns/$ns_cl DBF_DB_IP=$db_ip \
	DBF_PASSWORD=$password timeout 100 "$helper" || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "--- PostgreSQL log (tail)"
	tail -20 "$tmp/pg.log"
fi
exit "$rc"
