#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deploy/certs/make-certs.sh: the CA, the controller's certificate and one
# certificate per agent whose CN is its identity, each key in its own file
# (0600) matching its certificate; a second call reuses the CA; --expired
# and a certificate of another CA fail verification; bad usage exits 2.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
mk=$repo/deploy/certs/make-certs.sh
command -v openssl >/dev/null || { echo "test_certs: SKIPPED: no openssl" >&2; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "test_certs: FAIL: $*" >&2; exit 1; }

# cert CN: the certificate verifies against the CA, has this CN, and its
# key (0600, separate file) is the certificate's.
check() { # crt key cn ca
	local crt=$1 key=$2 cn=$3 ca=$4 got
	openssl verify -CAfile "$ca" "$crt" >/dev/null || fail "$crt does not verify"
	got=$(openssl x509 -in "$crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=//')
	[ "$got" = "$cn" ] || fail "$crt: CN '$got', wanted '$cn'"
	[ "$(stat -c %a "$key")" = 600 ] || fail "$key is mode $(stat -c %a "$key")"
	cmp -s <(openssl x509 -in "$crt" -noout -pubkey) <(openssl pkey -in "$key" -pubout) ||
		fail "$key is not the key of $crt"
	! grep -q PRIVATE "$crt" || fail "$crt holds a private key"
}

"$mk" --out "$work/c" --namespace chaos --node worker-1 --pod staging/chain-0 --pod staging/postgres-0 >/dev/null
c=$work/c
check "$c/controller/tls.crt" "$c/controller/tls.key" chaos-controller "$c/ca.crt"
check "$c/nodes/worker-1.crt" "$c/nodes/worker-1.key" node:worker-1 "$c/ca.crt"
check "$c/pods/staging/chain-0.crt" "$c/pods/staging/chain-0.key" 'pod:staging/chain-0' "$c/ca.crt"
check "$c/pods/staging/postgres-0.crt" "$c/pods/staging/postgres-0.key" 'pod:staging/postgres-0' "$c/ca.crt"
cmp -s "$c/ca.crt" "$c/pods/staging/ca.crt" || fail "pods/staging/ca.crt is not the CA"
openssl x509 -in "$c/controller/tls.crt" -noout -ext subjectAltName |
	grep -q 'DNS:chaos-controller.chaos.svc' || fail "controller certificate lacks chaos-controller.chaos.svc"
openssl x509 -in "$c/pods/staging/chain-0.crt" -noout -ext extendedKeyUsage |
	grep -q 'Client Authentication' || fail "agent certificate is not for client auth"
echo "ok: CA, controller and agent certificates, keys apart and matching"

ca_before=$(sha256sum <"$c/ca.crt")
ctl_before=$(sha256sum <"$c/controller/tls.crt")
"$mk" --out "$c" --pod staging/chain-1 >/dev/null
[ "$(sha256sum <"$c/ca.crt")" = "$ca_before" ] || fail "a second call replaced the CA"
[ "$(sha256sum <"$c/controller/tls.crt")" = "$ctl_before" ] || fail "a second call replaced the controller certificate"
check "$c/pods/staging/chain-1.crt" "$c/pods/staging/chain-1.key" 'pod:staging/chain-1' "$c/ca.crt"
echo "ok: agents added later chain to the same CA"

"$mk" --out "$c" --pod staging/chain-2 --expired >/dev/null
out=$(openssl verify -CAfile "$c/ca.crt" "$c/pods/staging/chain-2.crt" 2>&1) && fail "an expired certificate verified"
grep -q 'certificate has expired' <<<"$out" || fail "expired: $out"
"$mk" --out "$work/other" --pod staging/chain-0 >/dev/null
out=$(openssl verify -CAfile "$c/ca.crt" "$work/other/pods/staging/chain-0.crt" 2>&1) && fail "another CA's certificate verified"
echo "ok: expired and foreign certificates fail verification"

for args in "--pod chain-0" "--pod Staging/x" "--node a_b" "--days 0" "--bogus" \
	"--pod staging/$(printf 'p%.0s' {1..60})"; do
	rc=0
	# shellcheck disable=SC2086
	"$mk" --out "$work/bad" $args >/dev/null 2>"$work/err" || rc=$?
	[ "$rc" = 2 ] || fail "make-certs $args exited $rc, wanted 2"
	[ -s "$work/err" ] || fail "make-certs $args said nothing"
done
echo "ok: bad usage exits 2 with a reason"
echo "test_certs: passed"
