#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages that building the images (deploy/images/build.sh)
# and running the pod harness (deploy/pods/pods) need, on top of deploy/install-deps.sh:
# podman 4.3 with runc (crun fails on hybrid cgroups), mmdebstrap for a base image
# without a registry, the CNI plugins and iptables podman's bridge network uses.
# Idempotent: apt-get skips what is already there.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "images/install-deps: run as root (apt-get needs it)" >&2
	exit 3
fi

packages=(
	podman runc conmon catatonit uidmap fuse-overlayfs
	containernetworking-plugins iptables
	mmdebstrap
	# make-certs.sh, the harness's readiness checks
	openssl curl iproute2 python3 python3-yaml
)

# The packages dpkg does not list as installed, in one query.
mapfile -t missing < <(
	comm -23 <(printf '%s\n' "${packages[@]}" | sort -u) \
		<(dpkg-query -W -f='${Package} ${db:Status-Status}\n' | awk '$2 == "installed" {print $1}' | sort -u)
)
if [ "${#missing[@]}" -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "images/install-deps: all ${#packages[@]} packages present"
