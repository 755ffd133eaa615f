#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# report.html in a real browser: the committed fixture (a finished
# orchestration session: history + one network partition result) is
# re-rendered by `chaosctl orchestrate --resume` (a finished session needs no
# controller), headless Chromium takes a screenshot, and png_colours.py
# counts the exact timeline colours of controller/report_render.h in it:
# healthy green, unhealthy red, the fault window and the recovery line (the
# thresholds are above what the legend swatches alone give, 14x10 px each).
# Needs no sandbox and no root; skips (77) when Chromium is not installed
# (deploy/install-deps.sh installs it).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

build=$(cd "$1" && pwd)
here=$ITEST_LIB_DIR
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || itest_need_tools chromium
itest_tmpdir html
work=$ITEST_OUT

cp "$here"/fixtures/orch_report/* "$work/"
rc=0
"$build/controller/chaosctl" orchestrate --resume --output "$work" >"$work/log" 2>&1 || rc=$?
# the fixture's serving side answered 89 of 97 probes (the cut-off node's 46
# are not counted): the success-rate SLO is missed
[ "$rc" -eq 1 ] || { cat "$work/log"; fail "orchestrate --resume exited $rc, wanted 1"; }
grep -q "request_success_rate .*91.75" "$work/log" ||
	{ cat "$work/log"; fail "the SLO does not use the user-facing requests (89 of 97)"; }
[ -s "$work/report.html" ] || fail "no report.html"
grep -q "every probe sample" "$work/report.html" || fail "report.html lacks the every-sample figure"

# Offline and alone: no network, no profile, no first-run work.
timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$work/profile" --screenshot="$work/out.png" --window-size=1400,2000 \
	"file://$work/report.html" >"$work/chromium.log" 2>&1 || true
[ -s "$work/out.png" ] || { cat "$work/chromium.log"; fail "no screenshot"; }
if [ -n "${CHAOS_KEEP_SCREENSHOT:-}" ]; then
	cp "$work/out.png" "$CHAOS_KEEP_SCREENSHOT"
fi

# colour name, RGB from report_render.h, least pixels expected
python3 "$here/png_colours.py" "$work/out.png" \
	healthy 45,164,78 3000 \
	unhealthy 207,34,46 800 \
	fault 255,216,168 800 \
	recovery 31,111,235 200
echo "report.html: timelines rendered with every colour"
