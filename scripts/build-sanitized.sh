#!/usr/bin/env bash
# Configures and builds the pvt CLI with AddressSanitizer + UndefinedBehaviorSanitizer (-DPVT_SANITIZE=ON)
# into build-san/ (another directory: PVT_SAN_BUILD_DIR). Used by scripts/test-corrupt.sh; extra arguments
# go to cmake. Prefers clang (whose libFuzzer runtime the fuzz targets in the same directory need) and
# uses gcc when clang is missing. The CUDA kernels are left out (nvcc is slow and CI has no GPU);
# PVT_SAN_WITH_CUDA=ON builds them too. Parallel jobs: CMAKE_BUILD_PARALLEL_LEVEL, else every core.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# clang and its sanitizer/fuzzer runtimes are needed only here, so install-deps.sh does not install them.
if ! command -v clang++ >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "build-sanitized: installing clang" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null || true
fi
dir="${PVT_SAN_BUILD_DIR:-build-san}"
compilers=()
if [ ! -f "$dir/CMakeCache.txt" ]; then
  if command -v clang++ >/dev/null 2>&1; then
    compilers=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
  else
    echo "build-sanitized: no clang++, building with gcc" >&2
  fi
fi
# Debug keeps assert() and the libstdc++ checks on; PVT_SANITIZE adds -O1 after -g.
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPVT_SANITIZE=ON -DPVT_BUILD_TESTS=OFF \
  -DPVT_WITH_CUDA="${PVT_SAN_WITH_CUDA:-OFF}" -DPVT_BUILD_BENCHMARKS=OFF "${compilers[@]}" "$@" >/dev/null
cmake --build "$dir" --target pvt --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
echo "build-sanitized: $dir/cli/pvt" >&2
