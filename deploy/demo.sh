#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job, on a fresh Debian 12 machine as root: installs what is needed,
# builds, brings the sandbox up (namespaces, PostgreSQL, etcd, coordinators,
# agents, controller), lists the agents, runs the chaos scenarios against it
# and writes the results to ./results. The sandbox stays up afterwards so the
# results can be compared with the real thing (deploy/sandbox/sandbox down
# removes it); --down takes it down at the end.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=${CHAOS_RESULTS:-$repo/results}
down=0
[ "${1:-}" = "--down" ] && down=1

bash deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"

ctl=build/controller/chaosctl
deploy/sandbox/sandbox up
echo
echo "== agents"
$ctl agents
echo
echo "== network partition: one of three etcd nodes cut off for 10 s"
status=0
$ctl run network --partition-duration 10 --partition-ratio 0.34 --output "$out" || status=$?
echo
echo "results in $out"
if [ "$down" -eq 1 ]; then
	deploy/sandbox/sandbox down
else
	echo "the sandbox is still up: deploy/sandbox/sandbox status | down"
fi
exit "$status"
