#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Validates the Kubernetes manifests in deploy/k8s/ offline: there is no
# cluster here, so `kubectl apply --dry-run=client` (which needs the API's
# discovery) cannot run. Instead:
#  1. every resource file a kustomization lists is checked on its own (no
#     file sets a namespace: kustomize does);
#  2. every kustomization (base, target, examples, the pod harness's) is
#     built with `kubectl kustomize` and its output checked as a whole;
# both by validate_manifests.cjs: the OpenAPI schema (npm kubernetes-models
# and @kubernetes-models/cert-manager), unknown fields as the API server's
# strict validation would refuse them, and the project's own rules (see the
# script). Deliberately broken manifests must fail too, each for its reason,
# so a validator that accepts everything cannot pass this test.
#
# usage: test_manifests.sh [BUILD_DIR]   (npm packages are cached there)
# Exit 77 (skipped) when node, npm or kubectl are missing or the npm
# registry is unreachable.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
itest_need_tools node npm kubectl

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-$repo/build}
mkdir -p "$build" && build=$(cd "$build" && pwd)
cache=$build/npm-k8s-models
# kubernetes-models 5 declares node >= 22 but runs on Debian's node 20 when
# loaded with import() (it is ESM only); npm only warns.
packages=(kubernetes-models@5.1.0 @kubernetes-models/cert-manager@6.0.0 js-yaml@5.5.0)

skip() {
	echo "skipped: $*"
	exit 77
}
python3 -c 'import yaml' 2>/dev/null ||
	skip "python3 with yaml (python3-yaml) is not installed"

# The cache is valid only for exactly these packages; it is built in a
# temporary directory and renamed into place, so an interrupted install
# never leaves a half cache behind.
stamp="${packages[*]}"
if [ ! -f "$cache/stamp" ] || [ "$(cat "$cache/stamp")" != "$stamp" ]; then
	mkdir -p "$build"
	tmp=$(mktemp -d "$build/npm-k8s-models.XXXXXX")
	test_cleanup() { rm -rf "$tmp"; }
	if ! timeout 300 npm install --prefix "$tmp" --no-save --no-audit --no-fund \
		--no-package-lock --loglevel=error --fetch-retries=2 \
		--fetch-retry-maxtimeout=20000 "${packages[@]}" >"$tmp/npm.log" 2>&1; then
		if ! timeout 30 npm ping >/dev/null 2>&1; then
			skip "the npm registry cannot be reached (npm ping failed)"
		fi
		cat "$tmp/npm.log" >&2
		echo "test_manifests: npm install ${packages[*]} failed" >&2
		exit 1
	fi
	echo "$stamp" >"$tmp/stamp"
	rm -rf "$cache"
	mv "$tmp" "$cache"
	unset -f test_cleanup
fi
export NODE_PATH=$cache/node_modules

itest_tmpdir manifests
work=$ITEST_OUT
validate() { node "$here/validate_manifests.cjs" --verbs "$verbs" "$@"; }

# The verbs the Kubernetes driver really sends: the Role must grant exactly these.
verbs=$(grep -ho '\.verb *= *"[a-z]*"' "$repo"/controller/k8s*.c | sed 's/.*"\(.*\)"/\1/' |
	sort -u | paste -sd, -)
[ -n "$verbs" ] || { echo "test_manifests: no RBAC verbs found in controller/k8s*.c" >&2; exit 1; }
echo "test_manifests: driver verbs on pods: $verbs"

# Every kustomization (not Component) under deploy/, and the resource files
# they list, as "kustomization DIR" / "resource FILE" lines.
python3 - "$repo/deploy" >"$work/tree" <<'PY'
import os, sys, yaml
for root, dirs, files in sorted(os.walk(sys.argv[1])):
    dirs.sort()
    if "kustomization.yaml" not in files:
        continue
    k = yaml.safe_load(open(os.path.join(root, "kustomization.yaml")))
    if k.get("kind", "Kustomization") == "Kustomization":
        print("kustomization", root)
    for r in k.get("resources", []):
        p = os.path.normpath(os.path.join(root, r))
        if os.path.isfile(p):
            print("resource", p)
PY
mapfile -t overlays < <(awk '$1 == "kustomization" {print $2}' "$work/tree")
mapfile -t resources < <(awk '$1 == "resource" {print $2}' "$work/tree" | sort -u)
[ "${#overlays[@]}" -ge 8 ] || { echo "test_manifests: only ${#overlays[@]} kustomizations found" >&2; exit 1; }

echo "== 1. ${#resources[@]} resource files, each on its own"
validate "${resources[@]}"

echo "== 2. ${#overlays[@]} kustomizations built and validated"
for dir in "${overlays[@]}"; do
	name=$(realpath --relative-to="$repo" "$dir" | tr / _)
	if ! kubectl kustomize "$dir" >"$work/$name.yaml" 2>"$work/$name.err"; then
		cat "$work/$name.err" >&2
		echo "test_manifests: kubectl kustomize $dir failed" >&2
		exit 1
	fi
	printf '%s: ' "${dir#"$repo"/}"
	validate --built "$work/$name.yaml"
done

echo "== 3. broken manifests are refused, each for its reason"
mkdir "$work/raw" "$work/built"
k8s=$repo/deploy/k8s
# Resource files: typos, a wrong type, a namespace, an extra verb.
sed -e 's/hostPID: true/hostPid: true/' -e 's/readOnly: true/readonly: true/' \
	"$k8s/components/node-agent/daemonset.yaml" >"$work/raw/agent-broken.yaml"
sed -e 's/containerPort: 7600/containerPort: "7600"/' \
	-e 's/^  name: chaos-controller$/  name: chaos-controller\n  namespace: chaos/' \
	"$k8s/base/controller.yaml" >"$work/raw/controller-broken.yaml"
sed -e 's/verbs: \["list", "delete"\]/verbs: ["get", "list", "watch", "delete"]/' \
	"$k8s/target/rbac.yaml" >"$work/raw/rbac-broken.yaml"
# Builds: Pod Security too strict for node mode, a capability more than
# declared, an object left without namespace, a $(VAR) typo, the sidecar's
# root refused by the pod's runAsNonRoot.
sed -e 's/enforce: privileged/enforce: baseline/' \
	"$work/deploy_k8s_examples_node-mode.yaml" >"$work/built/psa.yaml"
sed -e 's/^            - SYS_PTRACE$/            - SYS_PTRACE\n            - SYS_ADMIN/' \
	"$work/deploy_k8s_examples_coordinator.yaml" >"$work/built/caps.yaml"
sed -e '0,/^  namespace: staging$/{/^  namespace: staging$/d}' \
	"$work/deploy_k8s_examples_blockchain.yaml" >"$work/built/nons.yaml"
sed -e 's/\$(CHAOS_POD_NAME)\.crt/$(CHAOS_POD_NAM).crt/' \
	"$work/deploy_k8s_examples_postgres.yaml" >"$work/built/var.yaml"
sed -e '/runAsNonRoot: false/d' \
	"$work/deploy_k8s_examples_coordinator.yaml" >"$work/built/nonroot.yaml"
fails=0
validate "$work"/raw/*.yaml >"$work/out.raw" 2>&1 || fails=$((fails + 1))
for f in "$work"/built/*.yaml; do
	validate --built "$f" >>"$work/out.built" 2>&1 || fails=$((fails + 1))
done
[ "$fails" = 6 ] || { cat "$work"/out.*; echo "test_manifests: the validator accepted broken manifests" >&2; exit 1; }
for want in 'unknown field "hostPid"' 'unknown field "readonly"' 'containerPort must be integer' \
	'metadata.namespace is set' 'the driver uses exactly' 'Pod Security "baseline" of namespace chaos refuses' \
	'sidecar mode declares exactly [KILL,NET_ADMIN,SYS_PTRACE]' 'namespaced object without a namespace' \
	'$(CHAOS_POD_NAM) names no env variable' 'runs as user 0 under runAsNonRoot'; do
	if ! grep -qF "$want" "$work"/out.*; then
		cat "$work"/out.* >&2
		echo "test_manifests: the validator missed: $want" >&2
		exit 1
	fi
done
echo "test_manifests: broken manifests refused as expected"
echo "test_manifests: passed"
