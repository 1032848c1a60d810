#!/usr/bin/env bash
# The MCP server's end-to-end tests (tests/mcp): installs the pinned Node tooling (npm ci: MCP SDK, MCPB CLI,
# MCP Inspector, ajv), builds pvt-mcp and the bundle build/pvt.mcpb (scripts/build-bundle.sh), and runs the
# suites with node's test runner against the built server and against the server unpacked from the bundle.
# Run by scripts/test.sh after ctest; a failure here fails it.
# PVT_BUILD_DIR (default build): the build folder to use (pvt-mcp and the bundle are built there).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$(realpath -m "${PVT_BUILD_DIR:-build}")
export PVT_BUILD_DIR="$build_dir"
export PVT_MCP_BIN="${PVT_MCP_BIN:-$build_dir/mcp/pvt-mcp}"
export PVT_MCP_BUNDLE="${PVT_MCP_BUNDLE:-$build_dir/pvt.mcpb}"
bash scripts/install-deps.sh # node + npm when the machine has none, patchelf for the bundle
echo "test-mcp: node $(node --version), npm $(npm --version)" >&2
(cd tests/mcp && npm ci --no-audit --no-fund --prefer-offline --loglevel=error)
bash scripts/build-bundle.sh
cd tests/mcp
# One file at a time (each runs real transcodes, and the machine may have 2 cores), none for ever; older
# nodes (Debian 12's 18) lack these flags and run one file per spare core, i.e. one at a time on 2 cores.
flags=()
for f in --test-concurrency=1 --test-timeout=600000; do
  if node --help | grep -q -- "${f%%=*}"; then flags+=("$f"); fi
done
exec node --test "${flags[@]}"
