#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make-certs.sh: the certificates of mutual TLS between agents and the
# controller, with openssl: a CA, the controller's certificate, and one
# certificate per agent whose subject CN is its identity:
#   node agents   CN=node:<node>
#   sidecars      CN=pod:<namespace>/<pod>
# Keys are ECDSA P-256; every certificate and its key are separate files.
#
#   make-certs.sh [--out DIR] [--namespace NS] [--days N]
#                 [--node NAME]... [--pod NS/POD]...
#                 [--expired] [--new-ca]
#
# Output (DIR, default ./chaos-certs), laid out for the Secrets the
# manifests mount (deploy/certs/README.md):
#   ca.crt ca.key                  the CA (keep ca.key off the cluster)
#   controller/tls.crt tls.key ca.crt
#                                  Secret chaos-controller-tls (namespace NS)
#   nodes/<node>.crt <node>.key ca.crt
#                                  Secret chaos-agent-tls (namespace NS)
#   pods/<ns>/<pod>.crt <pod>.key ca.crt
#                                  Secret chaos-agent-tls (namespace <ns>)
# An existing CA in DIR is reused (so agents added later chain to it)
# unless --new-ca; the controller's certificate is made with a new CA or
# when missing; the agent certificates named are made anew.
# --expired makes the agent certificates of this call already expired
# (valid for one day, a year ago): for tests of the refusal.
# Exit: 0 done, 1 failed, 2 bad usage.
set -euo pipefail
umask 077

readonly USAGE='usage: make-certs.sh [--out DIR] [--namespace NS] [--days N] [--node NAME]... [--pod NS/POD]... [--expired] [--new-ca]'
# RFC 5280 upper bound of a commonName; openssl refuses longer ones.
readonly CN_MAX=64

out=./chaos-certs
ctl_ns=chaos
days=365
nodes=()
pods=()
expired=0
new_ca=0
ca_made=0

die() {
	local code=$1
	shift
	printf 'make-certs: %s\n' "$*" >&2
	exit "$code"
}

# DNS label (namespace, node part) and DNS subdomain (pod, node) rules.
valid_label() { [[ $1 =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]]; }
valid_subdomain() { [[ ${#1} -le 253 && $1 =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]]; }

parse_flags() {
	while [ $# -gt 0 ]; do
		case $1 in
		--out) [ $# -ge 2 ] || die 2 "--out needs a value; $USAGE"; out=$2; shift 2 ;;
		--namespace) [ $# -ge 2 ] || die 2 "--namespace needs a value; $USAGE"; ctl_ns=$2; shift 2 ;;
		--days) [ $# -ge 2 ] || die 2 "--days needs a value; $USAGE"; days=$2; shift 2 ;;
		--node) [ $# -ge 2 ] || die 2 "--node needs a value; $USAGE"; nodes+=("$2"); shift 2 ;;
		--pod) [ $# -ge 2 ] || die 2 "--pod needs a value; $USAGE"; pods+=("$2"); shift 2 ;;
		--expired) expired=1; shift ;;
		--new-ca) new_ca=1; shift ;;
		-h | --help) echo "$USAGE"; exit 0 ;;
		*) die 2 "unknown argument '$1'; $USAGE" ;;
		esac
	done
	valid_label "$ctl_ns" || die 2 "--namespace '$ctl_ns' is not a DNS label"
	[[ $days =~ ^[0-9]+$ ]] && [ "$days" -ge 1 ] && [ "$days" -le 3650 ] ||
		die 2 "--days must be 1..3650, got '$days'"
	local n p
	for n in "${nodes[@]}"; do
		valid_subdomain "$n" || die 2 "--node '$n' is not a DNS subdomain"
		[ $((5 + ${#n})) -le $CN_MAX ] || die 2 "--node '$n': CN node:$n is over $CN_MAX characters"
	done
	for p in "${pods[@]}"; do
		[[ $p == */* ]] || die 2 "--pod wants NAMESPACE/POD, got '$p'"
		valid_label "${p%%/*}" || die 2 "--pod '$p': '${p%%/*}' is not a namespace name"
		valid_subdomain "${p#*/}" || die 2 "--pod '$p': '${p#*/}' is not a pod name"
		[ $((4 + ${#p})) -le $CN_MAX ] || die 2 "--pod '$p': CN pod:$p is over $CN_MAX characters"
	done
}

# openssl ca's configuration: a throwaway database, the extensions of each
# kind of certificate. The CA is constrained to end entities (pathlen 0).
write_config() { # dir
	: >"$1/index.txt"
	cat >"$1/ca.cnf" <<-EOF
		[ca]
		default_ca = chaos_ca
		[chaos_ca]
		database = $1/index.txt
		new_certs_dir = $1
		certificate = $out/ca.crt
		private_key = $out/ca.key
		rand_serial = yes
		default_md = sha256
		policy = policy_any
		unique_subject = no
		copy_extensions = none
		[policy_any]
		commonName = supplied
		[ext_ca]
		basicConstraints = critical, CA:TRUE, pathlen:0
		keyUsage = critical, keyCertSign, cRLSign
		subjectKeyIdentifier = hash
		[ext_controller]
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature, keyEncipherment
		extendedKeyUsage = serverAuth, clientAuth
		subjectAltName = DNS:chaos-controller, DNS:chaos-controller.$ctl_ns.svc, DNS:chaos-controller.$ctl_ns.svc.cluster.local
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		[ext_agent]
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature
		extendedKeyUsage = clientAuth
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
	EOF
}

new_key() { # file
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
	chmod 0600 "$1"
}

make_ca() {
	if [ "$new_ca" = 0 ] && [ -s "$out/ca.crt" ] && [ -s "$out/ca.key" ]; then
		echo "make-certs: reusing the CA in $out"
		return
	fi
	ca_made=1
	new_key "$out/ca.key"
	openssl req -new -x509 -key "$out/ca.key" -subj "/CN=chaos CA" -days 3650 \
		-config "$tmp/ca.cnf" -extensions ext_ca -sha256 -out "$out/ca.crt"
	chmod 0644 "$out/ca.crt"
	echo "make-certs: new CA $out/ca.crt"
}

# Issues one certificate: key and certificate in separate files.
issue() { # ext cn key crt [startdate enddate]
	local ext=$1 cn=$2 key=$3 crt=$4 dates=()
	[ $# -ge 6 ] && dates=(-startdate "$5" -enddate "$6")
	new_key "$key"
	# A "/" inside a value of -subj must be escaped.
	openssl req -new -key "$key" -subj "/CN=${cn//\//\\/}" -out "$tmp/req.csr" 2>"$tmp/req.log" ||
		{ cat "$tmp/req.log" >&2; die 1 "openssl req failed for $cn"; }
	openssl ca -batch -config "$tmp/ca.cnf" -extensions "$ext" -notext \
		-days "$days" "${dates[@]}" -in "$tmp/req.csr" -out "$crt" 2>"$tmp/ca.log" ||
		{ cat "$tmp/ca.log" >&2; die 1 "openssl ca failed for $cn"; }
	chmod 0644 "$crt"
	echo "make-certs: $crt  CN=$cn"
}

# Validity of --expired: one day, a year ago (openssl ca's date format).
expired_dates() {
	date -u -d '-366 days' +%Y%m%d%H%M%SZ
	date -u -d '-365 days' +%Y%m%d%H%M%SZ
}

issue_agent() { # cn dir name
	local dates=()
	[ "$expired" = 1 ] && mapfile -t dates < <(expired_dates)
	mkdir -p "$2"
	install -m 0644 "$out/ca.crt" "$2/ca.crt"
	issue ext_agent "$1" "$2/$3.key" "$2/$3.crt" "${dates[@]}"
}

main() {
	local n p
	parse_flags "$@"
	command -v openssl >/dev/null || die 1 "openssl is not installed"
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	write_config "$tmp"
	make_ca
	mkdir -p "$out/controller"
	if [ "$ca_made" = 1 ] || [ ! -s "$out/controller/tls.crt" ]; then
		install -m 0644 "$out/ca.crt" "$out/controller/ca.crt"
		issue ext_controller chaos-controller "$out/controller/tls.key" "$out/controller/tls.crt"
	fi
	for n in "${nodes[@]}"; do issue_agent "node:$n" "$out/nodes" "$n"; done
	for p in "${pods[@]}"; do issue_agent "pod:$p" "$out/pods/${p%%/*}" "${p#*/}"; done
}

main "$@"
