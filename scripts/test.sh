#!/usr/bin/env bash
# The README's second command (and CI's): install what is needed, build with the tests, run them all:
# ctest, then the MCP server's end-to-end tests and its bundle (scripts/test-mcp.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh -DPVT_BUILD_TESTS=ON
(cd build && ctest --output-on-failure --timeout 900 -j "$(nproc)")
bash scripts/test-mcp.sh
