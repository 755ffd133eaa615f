#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Validates the Kubernetes manifests in deploy/k8s/ offline: there is no
# cluster here, so `kubectl apply --dry-run=client` (which needs the API's
# discovery) cannot run. Instead validate_manifests.cjs checks each document
# against the OpenAPI schema (npm kubernetes-models), refuses unknown fields
# as the API server's strict validation would, and checks the project's own
# rules (see the script). A deliberately broken manifest must fail too, so a
# validator that accepts everything cannot pass this test.
#
# usage: test_manifests.sh [BUILD_DIR]   (npm packages are cached there)
# Exit 77 (skipped) when node/npm are missing or the npm registry is
# unreachable.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
here=$ITEST_LIB_DIR
repo=$(cd "$here/../.." && pwd)
build=${1:-$repo/build}
cache=$build/npm-k8s-models
packages=(kubernetes-models@4.5.1 js-yaml@5.5.0)
tmp=

skip() {
	echo "test_manifests: SKIPPED: $*" >&2
	exit 77
}
test_cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }

itest_need_tools node npm

# The cache is valid only for exactly these packages; it is built in a
# temporary directory and renamed into place, so an interrupted install
# never leaves a half cache behind.
stamp="${packages[*]}"
if [ ! -f "$cache/stamp" ] || [ "$(cat "$cache/stamp")" != "$stamp" ]; then
	mkdir -p "$build"
	tmp=$(mktemp -d "$build/npm-k8s-models.XXXXXX")
	if ! timeout 300 npm install --prefix "$tmp" --no-save --no-audit --no-fund \
		--no-package-lock --loglevel=error --fetch-retries=2 \
		--fetch-retry-maxtimeout=20000 "${packages[@]}" >"$tmp/npm.log" 2>&1; then
		if ! timeout 30 npm ping >/dev/null 2>&1; then
			skip "the npm registry cannot be reached (npm ping failed)"
		fi
		cat "$tmp/npm.log" >&2
		fail "npm install ${packages[*]} failed"
	fi
	echo "$stamp" >"$tmp/stamp"
	rm -rf "$cache"
	mv "$tmp" "$cache"
	tmp=
fi
export NODE_PATH=$cache/node_modules

# The verbs the Kubernetes driver really sends: the Role must grant exactly these.
verbs=$(grep -ho '\.verb *= *"[a-z]*"' "$repo"/controller/k8s*.c | sed 's/.*"\(.*\)"/\1/' |
	sort -u | paste -sd, -)
[ -n "$verbs" ] || fail "no RBAC verbs found in controller/k8s*.c"
echo "test_manifests: driver verbs on pods: $verbs"

node "$here/validate_manifests.cjs" --verbs "$verbs" "$repo"/deploy/k8s/*.yaml

# Negative control: typos, a wrong type, a namespace, an extra verb.
itest_tmpdir manifests
work=$ITEST_OUT
sed -e 's/hostPID: true/hostPid: true/' -e 's/readOnly: true/readonly: true/' \
	"$repo/deploy/k8s/agent-daemonset.yaml" >"$work/agent-broken.yaml"
sed -e 's/containerPort: 7600/containerPort: "7600"/' \
	-e 's/^  name: chaos-controller$/  name: chaos-controller\n  namespace: chaos/' \
	"$repo/deploy/k8s/controller.yaml" >"$work/controller-broken.yaml"
sed -e 's/verbs: \["list", "delete"\]/verbs: ["get", "list", "watch", "delete"]/' \
	"$repo/deploy/k8s/rbac.yaml" >"$work/rbac-broken.yaml"
if node "$here/validate_manifests.cjs" --verbs "$verbs" "$work"/*.yaml >"$work/out" 2>&1; then
	cat "$work/out" >&2
	fail "the validator accepted broken manifests"
fi
for want in 'unknown field "hostPid"' 'unknown field "readonly"' 'containerPort must be integer' \
	'metadata.namespace is set' 'the driver uses exactly'; do
	if ! grep -qF "$want" "$work/out"; then
		cat "$work/out" >&2
		fail "the validator missed: $want"
	fi
done
echo "test_manifests: broken manifests refused as expected"
echo "test_manifests: passed"
