#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite on a fresh Debian 12 machine, as root: installs what is
# needed, builds with warnings as errors, runs every test (unit, ASan+UBSan
# unit, fuzz replay, integration on a real kernel, benchmarks). ctest's
# summary line ends the output.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

bash deploy/install-deps.sh
export CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
# Serial: the integration tests share one sandbox and the benchmarks want
# the machine to themselves.
exec ctest --test-dir build --output-on-failure --no-label-summary --timeout 900
