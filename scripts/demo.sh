#!/usr/bin/env bash
# The README's first command: install what is needed, build, and transcode the bundled sample to HLS
# (or the file given as $1), printing where the output went and how fast it ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh -DPVT_BUILD_TESTS=OFF
input="${1:-samples/big_buck_bunny_60s.mp4}"
out="${2:-out/demo}"
mkdir -p "$(dirname "$out")"
exec ./build/cli/pvt transcode "$input" -o "$out" --overwrite
