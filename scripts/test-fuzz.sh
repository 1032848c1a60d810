#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/: segment descriptors, worker stats, the analysis report and
# job summary writers, MCP framing, session, tool arguments, output sandbox, server settings) and runs
# each for a bounded time on a copy of its seed corpus (tests/fuzz/corpus/NAME/), so the repository is
# never modified. Fails when any target finds a crash, an uncaught exception, a sanitizer report, a
# broken invariant, a hang (-timeout) or runs out of memory (-rss_limit_mb).
#
#   scripts/test-fuzz.sh [SECONDS]     seconds per target (default 20)
#
# BUILD_DIR (default build-san: configured exactly as scripts/build-sanitized.sh does, plus
# PVT_BUILD_FUZZERS=ON, so the two share one build), FUZZ_TARGETS (space-separated names, default all),
# CMAKE_BUILD_PARALLEL_LEVEL (default: every core). Crash inputs are kept in BUILD_DIR/fuzz-artifacts/;
# reproduce one with BUILD_DIR/tests/fuzz/fuzz_NAME FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
dir="${BUILD_DIR:-build-san}"
start=$(date +%s)

if ! command -v clang++ >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "test-fuzz: installing clang" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null || true
  fi
  command -v clang++ >/dev/null 2>&1 ||
    { echo "test-fuzz: needs clang++ with libFuzzer (apt-get install clang libclang-rt-dev)" >&2; exit 1; }
fi
bash scripts/install-deps.sh

compilers=()
[ -f "$dir/CMakeCache.txt" ] || compilers=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
# The same settings as scripts/build-sanitized.sh (a different one would rebuild the shared directory).
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPVT_SANITIZE=ON -DPVT_BUILD_TESTS=OFF \
  -DPVT_WITH_CUDA="${PVT_SAN_WITH_CUDA:-OFF}" -DPVT_BUILD_BENCHMARKS=OFF -DPVT_BUILD_FUZZERS=ON "${compilers[@]}" >/dev/null
cmake --build "$dir" --target pvt_fuzzers --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
built=$(date +%s)
echo "test-fuzz: built in $((built - start)) s ($dir)" >&2

targets="${FUZZ_TARGETS:-$(cd "$dir/tests/fuzz" && ls fuzz_* | grep -v '\.' | sed 's/^fuzz_//' | sort)}"
artifacts="$dir/fuzz-artifacts"
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/pvt-fuzz-run.XXXXXX")
# The targets' scratch files (a target that crashes cannot remove its own): in memory when possible.
scratch=$(mktemp -d /dev/shm/pvt-fuzz-scratch.XXXXXX 2>/dev/null || mktemp -d "$work/scratch.XXXXXX")
export PVT_FUZZ_TMPDIR="$scratch"
trap 'rm -rf "$work" "$scratch"' EXIT
# A UBSan report ends the run (the fuzz code is also built with -fno-sanitize-recover); leaks are reported.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

failed=()
summary=()
for name in $targets; do
  bin="$dir/tests/fuzz/fuzz_$name"
  [ -x "$bin" ] || { echo "test-fuzz: no fuzz target $name ($bin)" >&2; failed+=("$name"); continue; }
  corpus="$work/$name"
  mkdir -p "$corpus"
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  opts=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$artifacts/$name-")
  [ -f "tests/fuzz/dict/$name.dict" ] && opts+=(-dict="tests/fuzz/dict/$name.dict")
  log="$work/$name.log"
  t0=$(date +%s)
  rc=0
  "$bin" "${opts[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  t1=$(date +%s)
  # libFuzzer's last status line: "#RUNS DONE cov: N ft: N corp: ..." (or the last one before a crash).
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
  slowest=$(sed -nE 's/^stat::slowest_unit_time_sec: *([0-9]+)/\1/p' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    result="FAILED (exit $rc)"
    failed+=("$name")
    echo "---- fuzz_$name: last lines of its log" >&2
    tail -n 40 "$log" >&2
    ls "$artifacts/$name-"* 2>/dev/null | sed 's/^/test-fuzz: crash input: /' >&2 || true
  fi
  line=$(printf '%-22s %10s execs %7s cov %8s ft %5s s (slowest input %s s)  %s' "$name" \
    "${execs:-${runs:-?}}" "${cov:-?}" "${ft:-?}" "$((t1 - t0))" "${slowest:-?}" "$result")
  echo "test-fuzz: $line" >&2
  summary+=("$line")
done

echo "test-fuzz: ${seconds} s per target; build $((built - start)) s, total $(($(date +%s) - start)) s" >&2
printf '  %s\n' "${summary[@]}" >&2
if [ "${#failed[@]}" -gt 0 ]; then
  echo "test-fuzz: FAILED: ${failed[*]} (inputs in $artifacts)" >&2
  exit 1
fi
echo "test-fuzz: all ${#summary[@]} targets ok" >&2
