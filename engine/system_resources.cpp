#include "system_resources.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace pvt {

namespace {

std::int64_t read_first_int(const char* path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return -1;
  try {
    return std::stoll(word);
  } catch (...) {
    return -1;
  }
}

}  // namespace

int usable_cores() {
  int cores = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  if (cores <= 0) cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  // cgroup v2 quota: "max 100000" or "200000 100000".
  std::ifstream in("/sys/fs/cgroup/cpu.max");
  std::string quota, period;
  if (in >> quota >> period && quota != "max") {
    try {
      const double q = std::stod(quota) / std::stod(period);
      cores = std::min(cores, std::max(1, static_cast<int>(q + 0.5)));
    } catch (...) {
    }
  }
  return std::max(1, cores);
}

std::int64_t available_memory_bytes() {
  std::int64_t avail = -1;
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream ls(line.substr(13));
      std::int64_t kb = 0;
      ls >> kb;
      avail = kb * 1024;
      break;
    }
  }
  const std::int64_t limit = read_first_int("/sys/fs/cgroup/memory.max");
  const std::int64_t used = read_first_int("/sys/fs/cgroup/memory.current");
  if (limit > 0 && used >= 0) avail = avail < 0 ? limit - used : std::min(avail, limit - used);
  return avail < 0 ? (std::int64_t{2} << 30) : avail;
}

std::int64_t memory_budget_bytes() {
  return available_memory_bytes() / 2;
}

int preset_rc_lookahead(const std::string& preset) {
  if (preset == "ultrafast" || preset == "superfast") return 0;
  if (preset == "veryfast") return 10;
  if (preset == "faster") return 20;
  if (preset == "fast") return 30;
  if (preset == "medium") return 40;
  if (preset == "slow") return 50;
  return 60;  // slower, veryslow, placebo
}

std::int64_t estimated_worker_memory(int width, int height, int window_frames, int encoder_lookahead) {
  const std::int64_t frame = static_cast<std::int64_t>(width) * height * 3 / 2;
  // Measured (benchmarks/results/worker_memory.json): ~16 decoder references + the window + ~10 in
  // flight without x264 look-ahead; with it, x264's lowres and half-pel planes add ~20 + 2.8 frames per
  // look-ahead frame. ~80 MB of code, libraries and buffers.
  const double frames = 16 + window_frames + 10 + (encoder_lookahead > 0 ? 20 + 2.8 * encoder_lookahead : 0);
  return static_cast<std::int64_t>(frames * static_cast<double>(frame)) + 80'000'000;
}

int default_worker_count(std::int64_t per_worker, std::int64_t budget) {
  const int cores = usable_cores();
  const int by_memory =
      static_cast<int>(std::max<std::int64_t>(1, budget / std::max<std::int64_t>(1, per_worker)));
  return std::max(1, std::min(cores, by_memory));
}

}  // namespace pvt
