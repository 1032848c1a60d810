#!/usr/bin/env bash
# Installs the Debian 12 packages pvt needs to build, test and benchmark.
# Idempotent: packages already present are skipped, so re-running is cheap.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libavcodec-dev libavformat-dev libavfilter-dev libavutil-dev libswscale-dev libswresample-dev
  libx264-dev nlohmann-json3-dev libgtest-dev libgmock-dev libcli11-dev libfmt-dev
  ffmpeg  # ffprobe/ffmpeg CLIs: independent judges in tests and the baseline in benchmarks
  python3 # the benchmark scripts
  python3-matplotlib # the benchmark scripts' plots (bd_rate.py --plot, cluster_model.py --plot)
  python3-yaml # tests/k8s_emit_test.cpp: reads back the Kubernetes manifest `pvt plan --emit` writes
  patchelf # scripts/build-bundle.sh: points the bundled pvt-mcp at its own lib/
  chromium # scripts/test-browser.sh: plays pvt's HLS output through hls.js in a real (headless) browser
  # Vulkan analysis kernels: the loader and headers, the GLSL -> SPIR-V compiler used at build time, and
  # Mesa's drivers, whose lavapipe (a CPU device) runs the Vulkan tests on machines without a GPU.
  libvulkan-dev glslc mesa-vulkan-drivers
  vulkan-tools # vulkaninfo: what the Vulkan loader sees, to compare with `pvt caps`
  # The reliability tests: clang with its ASan/UBSan and libFuzzer runtimes (scripts/build-sanitized.sh,
  # scripts/test-fuzz.sh, scripts/test-corrupt.sh).
  clang libclang-rt-dev
  slurm-wlm munge # scripts/slurm-cluster.sh, tests/slurm: a private Slurm 22.05 (ctld, slurmd, clients), munge auth
)
# CUDA is not a Debian package here: kernels/cuda is built when /usr/local/cuda/bin/nvcc exists.
# The MCP tests and the MCPB bundle use Node.js + npm (tests/mcp). Any node on PATH is kept as it is
# (e.g. a newer one from NodeSource); Debian's are installed only when there is none.
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
