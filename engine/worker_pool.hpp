// Runs segment workers as separate processes (`pvt worker DESCRIPTOR.json`) on a fixed set of slots,
// most expensive first so the longest segment never starts last. A slot is a CPU worker or one hardware
// encode session (NVENC, VAAPI, ...): whichever slot frees first takes the longest waiting segment. A
// worker that fails on a hardware slot is re-queued on the CPU (its session closed with its process;
// a slot whose sessions failed twice is retired). A CPU worker that fails, or whose segment has the
// wrong frame count, is retried; after `max_attempts` the whole pool stops and reports why.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "cancellation.hpp"
#include "segment_descriptor.hpp"

namespace pvt {

struct PoolTask {
  int segment = 0;
  double cost = 0;
  int expected_frames = 0;
  std::string descriptor_path;
  std::string stats_path;
  std::string log_path;  // the worker's stderr
};

struct PoolResult {
  WorkerStats stats;
  int attempts = 0;
  std::string fallback_from;    // the hardware backend whose session failed; empty: none
  std::string fallback_reason;  // the failed worker's one-line error
};

struct HardwareSlots {
  std::string backend;  // "nvenc", ...
  int sessions = 0;
};

struct PoolSlots {
  int cpu = 1;                          // CPU worker slots
  std::string cpu_backend = "x264";     // what a CPU slot runs (x265 for hevc)
  std::vector<HardwareSlots> hardware;  // hardware sessions
  // With an explicit hardware encoder the CPU slots only take segments that fell back.
  bool cpu_fallback_only = false;
};

struct PoolCallbacks {
  // Called just before a task's worker starts on a slot running `backend` (e.g. to write its descriptor
  // with the backend and a fresh bit budget); fallback_from is set when a hardware session failed it.
  std::function<void(const PoolTask&, const std::string& backend, const std::string& fallback_from)>
      before_start;
  // Frames encoded so far by a running worker (its latest report).
  std::function<void(int segment, int frames)> on_progress;
  std::function<void(const PoolTask&, const PoolResult&)> on_done;
  // Called about ten times a second while waiting, e.g. to redraw a progress bar.
  std::function<void()> on_tick;
  // When set and true, the pool stops its workers and throws Error(kInterrupted): a job's own cancel.
  const std::atomic<bool>* cancel = nullptr;
};

std::vector<PoolResult> run_worker_pool(std::vector<PoolTask> tasks, const PoolSlots& slots, int max_attempts,
                                        const std::string& worker_executable, const PoolCallbacks& callbacks);

}  // namespace pvt
