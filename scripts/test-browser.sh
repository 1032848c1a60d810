#!/usr/bin/env bash
# Real-browser playback of pvt's HLS output (tests/browser): installs the deps (Debian's chromium among
# them) and the pinned Node tooling (npm ci: hls.js, puppeteer-core), then node's test runner transcodes
# each shared clip and two generated ones (rotated, anamorphic) with pvt and plays the playlists to their
# end in headless Chromium through hls.js, checking for player errors, the duration and the displayed size.
# Run by scripts/test.sh after the MCP tests; a failure here fails it.
# PVT_BIN (default build/cli/pvt): the pvt to test. CHROMIUM (default /usr/bin/chromium): the browser.
# PVT_SHARED_MEDIA (default ../shared/media): the clips; without them only the generated clips run.
set -euo pipefail
cd "$(dirname "$0")/.."
PVT_BIN=$(realpath -m "${PVT_BIN:-build/cli/pvt}")
export PVT_BIN
bash scripts/install-deps.sh # chromium; node + npm when the machine has none
echo "test-browser: node $(node --version), npm $(npm --version), $("${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null)" >&2
(cd tests/browser && npm ci --no-audit --no-fund --prefer-offline --loglevel=error)
cd tests/browser
# One test at a time (each transcodes, then plays in a browser; the machine may have 2 cores), none for
# ever; older nodes (Debian 12's 18) lack these flags and run one file at a time on 2 cores anyway.
flags=()
for f in --test-concurrency=1 --test-timeout=600000; do
  if node --help | grep -q -- "${f%%=*}"; then flags+=("$f"); fi
done
exec node --test "${flags[@]}"
