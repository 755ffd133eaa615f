#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input gets a clear error and changes nothing, at the three binaries'
# command lines: each refusal below exits with its status, says why in one
# line, and leaves no file or directory behind (a controller that refuses to
# start creates no state dir and no socket dir; `chaosctl run --output DIR`
# creates DIR only once a run was accepted). ipc:// only, in a directory of
# the test's own; no root needed.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

build=$(cd "$1" && pwd)
ctlbin=$build/controller/chaos-controller
ctl=$build/controller/chaosctl
agent=$build/agent/chaos-agent
itest_tmpdir cli-refusals
d=$ITEST_OUT
ctl_pid=
test_cleanup() {
	if [ -n "$ctl_pid" ]; then
		kill "$ctl_pid" 2>/dev/null || true
		wait "$ctl_pid" 2>/dev/null || true
	fi
}
long=$(printf 'a%.0s' $(seq 150))

# WANT_RC WORDS CMD...: CMD exits WANT_RC, one line on stderr holding WORDS,
# and nothing new appears in $d/w (the directory it runs in).
refused() {
	local want=$1 words=$2 rc=0 lines
	shift 2
	rm -rf "$d/w" && mkdir "$d/w"
	(cd "$d/w" && "$@") >"$d/out.txt" 2>"$d/err.txt" || rc=$?
	[ "$rc" -eq "$want" ] || fail "$* exited $rc, wanted $want: $(cat "$d/err.txt")"
	lines=$(grep -vc ' controller \(info\|warn\): ' "$d/err.txt" || true)
	[ "$lines" -eq 1 ] || fail "$* said $lines lines, wanted 1: $(cat "$d/err.txt")"
	grep -qF -- "$words" "$d/err.txt" || fail "$* does not say '$words': $(cat "$d/err.txt")"
	[ -z "$(ls -A "$d/w")" ] || fail "$* left $(ls -A "$d/w") behind"
	echo "ok: exit $rc, nothing created: $(grep -v ' info: \| warn: ' "$d/err.txt")"
}

# chaos-controller: everything is checked before anything is created.
start=(--listen "ipc://$d/w/s/l.sock" --control "ipc://$d/w/ctl/c.sock" --state-dir "$d/w/state")
refused 2 "--kube-api" "$ctlbin" "${start[@]}" --kube-api notaurl
refused 2 "--kube-api" "$ctlbin" "${start[@]}" --kube-api ''
refused 2 "plain http" "$ctlbin" "${start[@]}" --kube-api http://127.0.0.1:1
refused 2 "--inventory ''" "$ctlbin" "${start[@]}" --inventory ''
refused 3 "No such file or directory" "$ctlbin" "${start[@]}" --inventory "$d/none.json"
refused 2 "--plaintext and --tls-ca cannot be combined" "$ctlbin" "${start[@]}" \
	--plaintext --tls-ca "$d/ca.pem"
refused 2 "ipc path is 155 bytes; at most 107" "$ctlbin" "${start[@]}" \
	--control "ipc:///tmp/$long"
refused 3 "--tls-ca $d/none.pem: cannot read: No such file or directory" "$ctlbin" \
	--listen tls+tcp://127.0.0.1:1 --control "ipc://$d/w/ctl/c.sock" \
	--state-dir "$d/w/state" --tls-ca "$d/none.pem" --tls-cert "$d/none.pem"
if grep -q "another controller" "$d/err.txt"; then
	fail "a TLS file error hints at another controller: $(cat "$d/err.txt")"
fi

# chaos-agent
refused 2 "--plaintext and --tls-cert cannot be combined" "$agent" \
	--controller "ipc://$d/s.sock" --plaintext --tls-cert "$d/c.pem" --role blockchain
refused 2 "ipc path is 155 bytes; at most 107" "$agent" --controller "ipc:///tmp/$long" \
	--role blockchain
refused 2 "--label: key 'tier' given twice" "$agent" --controller "ipc://$d/s.sock" \
	--role blockchain --label tier=db --label team=a --label tier=web
# the events endpoint derived from --controller must fit too: a 104-byte
# path leaves no room for ".events"; tcp port 65535 has no port + 1
refused 2 "its events endpoint (path + \".events\"): ipc path is 111 bytes" "$agent" \
	--controller "ipc:///tmp/$(printf 'b%.0s' $(seq 99))" --role blockchain
refused 2 "allowed ports 1..65534" "$agent" --controller tcp://127.0.0.1:65535 \
	--plaintext --role blockchain

# chaosctl: usage errors, and --output made only for an accepted run
refused 2 "missing command; allowed: agents" "$ctl"
refused 2 "--plaintext and --tls-ca cannot be combined" "$ctl" \
	--controller "ipc://$d/c.sock" --plaintext --tls-ca "$d/ca.pem" agents
refused 2 "ipc path is 155 bytes; at most 107" "$ctl" --controller "ipc:///tmp/$long" agents
refused 2 "--output needs a directory" "$ctl" orchestrate --output
refused 2 "Not a directory" "$ctl" run network --output /etc/passwd/sub
refused 3 "cannot reach the controller" "$ctl" --controller "ipc://$d/none.sock" \
	run network --output newdir
refused 2 "Not a directory" "$ctl" orchestrate --scenarios network --output /etc/passwd/x
refused 3 "cannot reach the controller" "$ctl" --controller "ipc://$d/none.sock" \
	orchestrate --scenarios network --output newdir/sub
# scenario flags that the chosen mode does not use, before anything is sent
echo "host=127.0.0.1 dbname=x" >"$d/dsn"
refused 2 "run: missing scenario; allowed:" "$ctl" run
refused 2 "--connection-mode applies only with --failure-type connection" "$ctl" \
	--controller "ipc://$d/none.sock" run database --failure-type latency \
	--connection-mode drop --dsn-file "$d/dsn"
refused 2 "--outage-duration applies only with --method blackhole" "$ctl" \
	--controller "ipc://$d/none.sock" run coordinator --method kill --outage-duration 5
refused 2 "--groups and --partition-ratio cannot be combined" "$ctl" \
	--controller "ipc://$d/none.sock" run network --groups a,b/c,d --partition-ratio 0.3
for c in agents stats status; do
	"$ctl" "$c" --help >"$d/out.txt" 2>"$d/err.txt" || fail "chaosctl $c --help exited $?"
	grep -q "usage: chaosctl $c" "$d/out.txt" || fail "chaosctl $c --help: $(cat "$d/out.txt")"
	[ ! -s "$d/err.txt" ] || fail "chaosctl $c --help wrote to stderr: $(cat "$d/err.txt")"
done
echo "ok: agents, stats and status take --help"

# A controller that is up but has no agent: the run is refused, no --output.
"$ctlbin" --listen "ipc://$d/l.sock" --control "ipc://$d/c.sock" 2>"$d/ctl.log" &
ctl_pid=$!
for _ in $(seq 50); do
	[ -S "$d/c.sock" ] && break
	sleep 0.1
done
[ -S "$d/c.sock" ] || fail "the controller did not start: $(cat "$d/ctl.log")"
refused 3 "no connected blockchain agent" "$ctl" --controller "ipc://$d/c.sock" \
	run network --output newdir/sub
echo "cli_refusals: all checks passed"
