#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian 12 package that the build, the tests and the sandbox need.
# Idempotent: apt-get skips what is already there, so running it twice is safe.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (apt-get needs it)" >&2
	exit 3
fi

packages=(
	# build
	build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
	# libraries (DESIGN section 2)
	libnng-dev libmbedtls-dev libprotobuf-c-dev protobuf-c-compiler
	libnftnl-dev libmnl-dev libpq-dev libjansson-dev libcurl4-openssl-dev
	libyaml-dev libcmocka-dev
	# sandbox: namespaces, real PostgreSQL, real etcd (Raft)
	iproute2 procps psmisc postgresql etcd-server etcd-client curl
	# tests and benchmarks: the kernel's own view of nftables, wrk for the load bench
	nftables wrk python3 python3-yaml openssl
	# tests/integration/test_report_html.sh: report.html rendered headless
	chromium
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian starts a cluster and etcd as system services on install; the sandbox runs its
# own instances inside namespaces, so the host-wide ones are stopped where systemd runs.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl disable --now etcd >/dev/null 2>&1 || true
fi
echo "install-deps: all ${#packages[@]} packages present"
# Images and the pod harness (deploy/images, deploy/pods): podman, runc,
# mmdebstrap; their own list, so a user who only builds images needs only it.
bash "$(dirname "$0")/images/install-deps.sh"
