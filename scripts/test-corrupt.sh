#!/usr/bin/env bash
# The corrupt-input corpus under AddressSanitizer + UndefinedBehaviorSanitizer: builds pvt into build-san/
# (scripts/build-sanitized.sh), derives the damaged files from ../shared/media into
# build-san/corrupt-corpus (tests/corrupt/make_corpus.py) and runs them through pvt analyze and pvt
# transcode (tests/corrupt/run_corpus.py): a fixed subset of 60 files covering every kind of damage by
# default (CI), every file with --full. Fails on any crash, hang, sanitizer report, badly worded failure or
# output left behind. Without the shared clips it says so and passes.
#
#   scripts/test-corrupt.sh [--full] [run_corpus.py options, e.g. -j 4 --match truncate]
#
# PVT_SAN_BUILD_DIR: another build directory than build-san; PVT_SHARED_MEDIA: another clip directory.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
selection=(--subset 60)
extra=()
for arg in "$@"; do
  if [ "$arg" = "--full" ]; then selection=(); else extra+=("$arg"); fi
done
media="${PVT_SHARED_MEDIA:-../shared/media}"
if [ ! -f "$media/MANIFEST.tsv" ]; then
  echo "test-corrupt: skipped: no shared clips at $media (set PVT_SHARED_MEDIA)"
  exit 0
fi
export PVT_SHARED_MEDIA="$media"
dir="${PVT_SAN_BUILD_DIR:-build-san}"
bash scripts/build-sanitized.sh
echo "test-corrupt: sanitizer build ready in $(($(date +%s) - start)) s" >&2
python3 tests/corrupt/make_corpus.py "$dir/corrupt-corpus"
python3 tests/corrupt/run_corpus.py "$dir/corrupt-corpus" --pvt "$dir/cli/pvt" "${selection[@]}" "${extra[@]}"
echo "test-corrupt: done in $(($(date +%s) - start)) s" >&2
