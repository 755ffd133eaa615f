# SPDX-License-Identifier: MIT
# Sourced by deploy/images/build.sh --harness: the workload images the pod
# harness runs in place of the examples' public ones (postgres:15 and
# quay.io/coreos/etcd), made from Debian 12 packages like the project's:
#   localhost/chaos-pods-postgres:VERSION  PostgreSQL 15, with an entrypoint
#       that honours the postgres image's contract (POSTGRES_USER,
#       POSTGRES_PASSWORD, POSTGRES_DB, PGDATA, /docker-entrypoint-initdb.d)
#   localhost/chaos-pods-etcd:VERSION      etcd 3.4 (etcd-server), `etcd` in PATH
# Uses build.sh's make_base, build_image and say.

harness_here=$(dirname "${BASH_SOURCE[0]}")

harness_images() { # version
	local base=localhost/chaos-pods-base:$1
	# Debian's postgresql package makes a "main" cluster on install; the
	# entrypoint makes its own in PGDATA.
	make_base "$base" postgresql-15,etcd-server \
		'rm -rf /etc/postgresql/15/main /var/lib/postgresql/15/main'
	build_image "localhost/chaos-pods-postgres:$1" "$harness_here/Containerfile.postgres" "$harness_here" "$base"
	build_image "localhost/chaos-pods-etcd:$1" "$harness_here/Containerfile.etcd" "$harness_here" "$base"
}

harness_smoke() { # version
	local out
	out=$(podman run --rm --network=none --entrypoint etcd "localhost/chaos-pods-etcd:$1" --version 2>&1) ||
		die 1 "etcd --version failed in localhost/chaos-pods-etcd:$1: $out"
	say "ok: $(head -n1 <<<"$out") in localhost/chaos-pods-etcd:$1"
	out=$(podman run --rm --network=none --entrypoint /usr/lib/postgresql/15/bin/postgres \
		"localhost/chaos-pods-postgres:$1" --version 2>&1) ||
		die 1 "postgres --version failed in localhost/chaos-pods-postgres:$1: $out"
	say "ok: $out in localhost/chaos-pods-postgres:$1"
}
