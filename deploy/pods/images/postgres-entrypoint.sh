#!/bin/sh
# SPDX-License-Identifier: MIT
# The part of the postgres image's entrypoint the harness needs: on an empty
# PGDATA, initdb with POSTGRES_USER/POSTGRES_PASSWORD (scram-sha-256 over
# TCP), create POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sql in it;
# then run postgres as the postgres user, listening on every address.
set -eu
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ "${1:-}" != postgres ]; then
	exec "$@"
fi
shift
: "${PGDATA:=/var/lib/postgresql/data}" "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
export PGDATA
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	[ -n "${POSTGRES_PASSWORD:-}" ] || { echo "entrypoint: POSTGRES_PASSWORD is empty" >&2; exit 1; }
	pw=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pw"
	chown postgres "$pw"
	as_pg initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pw" -E UTF8 --locale=C \
		--auth-local=trust --auth-host=scram-sha-256 >/dev/null
	rm -f "$pw"
	printf "host all all all scram-sha-256\n" >>"$PGDATA/pg_hba.conf"
	printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
	as_pg pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -t 30 start >/dev/null
	if [ "$POSTGRES_DB" != postgres ]; then
		as_pg psql -qAt -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres \
			-c "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\""
	fi
	for f in /docker-entrypoint-initdb.d/*.sql; do
		[ -e "$f" ] || continue
		echo "entrypoint: running $f"
		as_pg psql -qAt -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f "$f" >/dev/null
	done
	as_pg pg_ctl -D "$PGDATA" -m fast -w -t 30 stop >/dev/null
	echo "entrypoint: initialised $PGDATA"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" "$@"
