#!/usr/bin/env bash
# The README's second command (and CI's): install what is needed, build with the tests, run them all:
# ctest, then a private Slurm cluster's tests (tests/slurm: the cluster script, then --executor slurm),
# then the MCP server's end-to-end tests and its bundle (scripts/test-mcp.sh), then the HLS output
# played to its end in headless Chromium through hls.js (scripts/test-browser.sh), then the
# reliability checks in one clang ASan+UBSan build (build-san/): every libFuzzer target for a bounded
# time (scripts/test-fuzz.sh) and the 60-file corrupt-input subset (scripts/test-corrupt.sh; the full
# corpus: scripts/test-corrupt.sh --full). The fuzzers configure build-san first, so the corpus run
# reuses the same sanitized libraries instead of building them twice.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step prints how long it took (stderr), so the suite's time can be kept within CI's budget.
suite_start=$(date +%s)
step() {
  local t0
  t0=$(date +%s)
  "$@"
  echo "test.sh: $* took $(($(date +%s) - t0)) s ($(($(date +%s) - suite_start)) s in all)" >&2
}
step bash scripts/build.sh -DPVT_BUILD_TESTS=ON
step bash -c 'cd build && ctest --output-on-failure --timeout 900 -j "$(nproc)"'
step bash tests/slurm/smoke_test.sh
step bash tests/slurm/executor_test.sh
step bash scripts/test-mcp.sh
step bash scripts/test-browser.sh
step bash scripts/test-fuzz.sh "${PVT_FUZZ_SECONDS:-6}"
step bash scripts/test-corrupt.sh
