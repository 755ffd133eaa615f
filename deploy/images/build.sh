#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# build.sh: builds the container images the Kubernetes manifests name, with
# podman, from a Debian 12 base, with no registry needed.
#
#   deploy/images/build.sh [--build-dir DIR] [--base auto|pull|mmdebstrap]
#                          [--harness] [--force] [--no-test]
#
#  1. configures and builds the project (RelWithDebInfo, no tests) in --build-dir
#     (default build-images/ at the top of the tree) and installs it with
#     `cmake --install --strip` into a staging directory;
#  2. finds the Debian packages the installed programs need (their ELF NEEDED
#     entries, resolved with ldd, and the libraries they dlopen, named in
#     them; owned per dpkg) and makes two base images from Debian 12 with
#     exactly those: localhost/chaos-base-agent:VERSION for chaos-agent, which
#     runs in every target pod, and localhost/chaos-base:VERSION for the
#     rest (libcurl is the controller's alone); from `podman pull
#     debian:12-slim` plus apt-get when a registry answers (--base pull),
#     else with `mmdebstrap --variant=essential` (--base mmdebstrap); auto
#     tries the pull first;
#  3. builds localhost/chaos-agent, chaos-controller (with chaosctl) and
#     chaos-coordinator at VERSION (the project's version) from the
#     Containerfiles here, and checks that each program starts in its image
#     (--help exits 0);
#  4. with --harness, also the workload images the pod harness runs
#     (deploy/pods/images: PostgreSQL 15 and etcd from Debian).
#
# An image whose inputs did not change is kept (labels carry a digest of its
# inputs); --force rebuilds everything. podman runs with the project's
# containers.conf (runc, no default ulimits, no network by default).
# Exit: 0 built, 1 failed, 2 bad usage, 3 environment not usable.
set -euo pipefail
export LC_ALL=C
umask 022

self=$(readlink -f "${BASH_SOURCE[0]}")
here=$(dirname "$self")
repo=$(cd "$here/../.." && pwd)
readonly USAGE='usage: build.sh [--build-dir DIR] [--base auto|pull|mmdebstrap] [--harness] [--force] [--no-test]'
readonly SUITE=bookworm
readonly PULL_REF=docker.io/library/debian:12-slim
export CONTAINERS_CONF=${CHAOS_CONTAINERS_CONF:-$here/containers.conf}

build=$repo/build-images
base_mode=auto
harness=0
force=0
smoke=1

say() { printf 'images: %s\n' "$*"; }
die() {
	local code=$1
	shift
	printf 'images: %s\n' "$*" >&2
	exit "$code"
}

parse_flags() {
	while [ $# -gt 0 ]; do
		case $1 in
		--build-dir) [ $# -ge 2 ] || die 2 "--build-dir needs a value; $USAGE"; build=$2; shift 2 ;;
		--build-dir=*) build=${1#*=}; shift ;;
		--base) [ $# -ge 2 ] || die 2 "--base needs a value; $USAGE"; base_mode=$2; shift 2 ;;
		--base=*) base_mode=${1#*=}; shift ;;
		--harness) harness=1; shift ;;
		--force) force=1; shift ;;
		--no-test) smoke=0; shift ;;
		-h | --help) echo "$USAGE"; exit 0 ;;
		*) die 2 "unknown flag '$1'; $USAGE" ;;
		esac
	done
	case $base_mode in auto | pull | mmdebstrap) ;; *) die 2 "--base: auto, pull or mmdebstrap, got '$base_mode'" ;; esac
}

check_env() {
	local t missing=()
	[ "$(id -u)" -eq 0 ] || die 3 "run as root (podman and mmdebstrap need it)"
	for t in podman runc mmdebstrap cmake ldd readelf strings ldconfig dpkg-query sha256sum; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	[ "${#missing[@]}" = 0 ] || die 3 "missing ${missing[*]}; run deploy/install-deps.sh and deploy/images/install-deps.sh"
}

project_version() {
	sed -n 's/^project(chaos VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt"
}

# ---------------------------------------------------------------------------
# 1. build and stage

stage_programs() {
	local log=$build/images-cmake.log
	mkdir -p "$build"
	say "building the project in $build (log: $log)"
	{
		nice cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAOS_TESTS=OFF &&
			nice cmake --build "$build" -j2 --target chaos-agent chaos-controller chaosctl chaos-coordinator &&
			rm -rf "$stage" &&
			DESTDIR=$stage cmake --install "$build" --prefix /usr/local --strip
	} >"$log" 2>&1 || { tail -n 20 "$log" >&2; die 1 "the build failed (see $log)"; }
	for p in chaos-agent chaos-controller chaosctl chaos-coordinator; do
		[ -x "$stage/usr/local/bin/$p" ] || die 1 "cmake --install did not install $p"
	done
}

# The Debian package that owns a shared library: dpkg records /usr/lib or
# /lib (merged /usr), so both spellings are asked.
lib_package() { # path
	local p real
	real=$(readlink -f "$1")
	for p in "$1" "$real" "${real#/usr}" "/usr$real"; do
		dpkg-query -S "$p" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
	done
	die 1 "no Debian package owns $1"
}

# The sonames a program loads with dlopen (chaos-agent: libpq.so.5, see
# agent/pqlib.h). No NEEDED entry names them, so they are found as the
# strings they are in the binary (NEEDED names match too: harmless).
dlopened_sonames() { # program
	strings -a "$1" | grep -E '^lib[A-Za-z0-9_+-]+\.so\.[0-9]+$' | sort -u
}

# The packages of the libraries the programs link directly (ELF NEEDED) or
# load with dlopen; apt brings what those need. libc6 is in every base.
runtime_packages() { # programs...
	local bin soname path
	for bin in "$@"; do
		for soname in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			# The dynamic loader (NEEDED when the program uses __tls_get_addr)
			# is libc6's, which every base has; ldd prints it by path alone.
			[[ $soname == ld-linux* ]] && continue
			path=$(ldd "$bin" | awk -v s="$soname" '$1 == s && $3 ~ /^\// {print $3; exit}')
			[ -n "$path" ] || die 1 "$bin: ldd does not resolve $soname"
			lib_package "$path"
		done
		for soname in $(dlopened_sonames "$bin"); do
			path=$(ldconfig -p | awk -v s="$soname" '$1 == s && $NF ~ /^\// {print $NF; exit}')
			[ -n "$path" ] || die 1 "$bin names $soname, which is not installed here"
			lib_package "$path"
		done
	done | grep -vx libc6 | sort -u
}

# ---------------------------------------------------------------------------
# 2. base images

image_label() { # image label
	podman image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# True when the image exists with this inputs digest (and --force is off).
up_to_date() { # image digest
	[ "$force" = 0 ] && [ "$(image_label "$1" org.chaos.inputs)" = "$2" ]
}

# mmdebstrap reads the host's Debian sources (the same mirror apt uses here).
debian_sources() {
	local f
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
		[ -s "$f" ] && { echo "$f"; return; }
	done
}

base_by_mmdebstrap() { # image digest packages-csv [customize-command]
	local image=$1 digest=$2 pkgs=$3 custom=${4:-} tar=$work/base.tar log=$work/mmdebstrap.log args
	args=(--variant=essential --include="$pkgs" --aptopt='Acquire::Check-Valid-Until "false"'
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright')
	[ -n "$custom" ] && args+=(--customize-hook="chroot \"\$1\" sh -c '$custom'")
	say "making $image with mmdebstrap ($SUITE, --variant=essential, $pkgs)"
	# shellcheck disable=SC2046
	nice mmdebstrap "${args[@]}" "$SUITE" "$tar" $(debian_sources) >"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; die 1 "mmdebstrap failed (see $log)"; }
	podman import --quiet \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change "LABEL org.chaos.inputs=$digest" --change "LABEL org.chaos.packages=$pkgs" \
		"$tar" "$image" >/dev/null
	rm -f "$tar"
}

base_by_pull() { # image digest packages-csv [customize-command]
	local image=$1 digest=$2 pkgs=$3 custom=${4:-true}
	say "making $image from $PULL_REF with apt-get ($pkgs)"
	# The apt-get step needs the network: the host's (no bridge, no rule).
	podman build --quiet --network=host --build-arg "PACKAGES=${pkgs//,/ }" --build-arg "CUSTOMIZE=$custom" \
		--label "org.chaos.inputs=$digest" --label "org.chaos.packages=$pkgs" \
		-f "$here/Containerfile.base" -t "$image" "$here" >/dev/null
}

# Makes a base image with these packages unless it is there already; the
# customize command (sh, no single quotes) runs in it after the install.
make_base() { # image packages-csv [customize-command]
	local image=$1 pkgs=$2 custom=${3:-} digest mode=$base_mode
	digest=$( { echo "$SUITE $pkgs $custom"; cat "$here/Containerfile.base"; } | sha256sum | cut -c1-16)
	if up_to_date "$image" "$digest"; then
		say "$image is up to date"
		return
	fi
	if [ "$mode" = auto ]; then
		if timeout 60 podman pull --quiet "$PULL_REF" >/dev/null 2>&1; then mode=pull; else
			say "cannot pull $PULL_REF (no registry): making the base with mmdebstrap"
			mode=mmdebstrap
		fi
	fi
	if [ "$mode" = pull ]; then
		base_by_pull "$image" "$digest" "$pkgs" "$custom"
	else
		base_by_mmdebstrap "$image" "$digest" "$pkgs" "$custom"
	fi
}

# ---------------------------------------------------------------------------
# 3. images

# Builds one image from a Containerfile unless its inputs did not change.
build_image() { # image containerfile context base
	local image=$1 file=$2 ctx=$3 base=$4 digest
	digest=$( { cat "$file"; image_label "$base" org.chaos.inputs; podman image inspect --format '{{.Id}}' "$base";
		(cd "$ctx" && find . -type f -print0 | sort -z | xargs -0 sha256sum); } | sha256sum | cut -c1-16)
	if up_to_date "$image" "$digest"; then
		say "$image is up to date"
		return
	fi
	say "building $image"
	podman build --quiet --network=none --build-arg "BASE=$base" --label "org.chaos.inputs=$digest" \
		-f "$file" -t "$image" "$ctx" >/dev/null || die 1 "podman build of $image failed"
}

# Each program starts in its image (--help exits 0), and the libraries it
# loads later with dlopen are there.
smoke_test() { # image program
	local out rc=0 soname found
	out=$(podman run --rm --network=none --entrypoint "/usr/local/bin/$2" "$1" --help 2>&1) || rc=$?
	[ "$rc" = 0 ] || { echo "$out" >&2; die 1 "$2 --help in $1 exited $rc"; }
	found=$(podman run --rm --network=none --entrypoint /sbin/ldconfig "$1" -p) ||
		die 1 "ldconfig -p in $1 failed"
	for soname in $(dlopened_sonames "$stage/usr/local/bin/$2"); do
		grep -q "^[[:space:]]*$soname " <<<"$found" || die 1 "$2 loads $soname, which $1 lacks"
	done
	say "ok: $2 --help exits 0 in $1, and what it loads later is there"
}

report_sizes() {
	say "images:"
	podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' |
		grep -E "^localhost/chaos-[a-z-]+:" | sed 's/^/  /'
}

main() {
	local version pkgs base images
	parse_flags "$@"
	check_env
	version=$(project_version)
	[ -n "$version" ] || die 1 "no project version in $repo/CMakeLists.txt"
	build=$(mkdir -p "$build" && cd "$build" && pwd)
	work=$build/images-work
	stage=$work/stage
	mkdir -p "$work"
	SECONDS=0

	stage_programs
	# The agent runs in every target pod: its base has only what it needs.
	# ca-certificates: https probes verify servers against the system's CAs
	# (&&: a failure of runtime_packages must fail the build, not shorten the list)
	pkgs=$( (runtime_packages "$stage/usr/local/bin/chaos-agent" && echo ca-certificates) |
		sort -u | paste -sd, -)
	base=localhost/chaos-base-agent:$version
	make_base "$base" "$pkgs"
	build_image "localhost/chaos-agent:$version" "$here/Containerfile.agent" "$stage" "$base"
	# ca-certificates: guards and the Kubernetes API over https
	pkgs=$( (runtime_packages "$stage"/usr/local/bin/chaos{-controller,ctl,-coordinator} &&
		echo ca-certificates) | sort -u | paste -sd, -)
	base=localhost/chaos-base:$version
	make_base "$base" "$pkgs"
	build_image "localhost/chaos-controller:$version" "$here/Containerfile.controller" "$stage" "$base"
	build_image "localhost/chaos-coordinator:$version" "$here/Containerfile.coordinator" "$stage" "$base"
	images="agent:chaos-agent controller:chaos-controller controller:chaosctl coordinator:chaos-coordinator"
	if [ "$harness" = 1 ]; then
		# shellcheck source=deploy/pods/images/images.sh
		. "$repo/deploy/pods/images/images.sh"
		harness_images "$version"
	fi
	if [ "$smoke" = 1 ]; then
		for i in $images; do smoke_test "localhost/chaos-${i%%:*}:$version" "${i#*:}"; done
		[ "$harness" = 1 ] && harness_smoke "$version"
	fi
	report_sizes
	say "done in ${SECONDS} s"
}

main "$@"
