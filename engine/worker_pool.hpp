// Runs segment workers as separate processes (`pvt worker DESCRIPTOR.json`), a fixed number at a time,
// most expensive first so the longest segment never starts last. A worker that fails, or whose segment
// has the wrong frame count, is retried; after `max_attempts` the whole pool stops and reports why.
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
};

struct PoolCallbacks {
  // Called just before a task's worker starts (e.g. to write its descriptor with a fresh bit budget).
  std::function<void(const PoolTask&)> before_start;
  // Frames encoded so far by a running worker (its latest report).
  std::function<void(int segment, int frames)> on_progress;
  std::function<void(const PoolTask&, const PoolResult&)> on_done;
  // Called about ten times a second while waiting, e.g. to redraw a progress bar.
  std::function<void()> on_tick;
  // When set and true, the pool stops its workers and throws Error(kInterrupted): a job's own cancel.
  const std::atomic<bool>* cancel = nullptr;
};

std::vector<PoolResult> run_worker_pool(std::vector<PoolTask> tasks, int workers, int max_attempts,
                                        const std::string& worker_executable, const PoolCallbacks& callbacks);

}  // namespace pvt
