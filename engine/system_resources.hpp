// What this machine (or this container's cgroup) lets pvt use: cores and memory.
#pragma once

#include <cstdint>

namespace pvt {

// Cores this process may run on (CPU affinity and cgroup CPU quota respected), at least 1.
int usable_cores();

// Memory that can still be allocated without swapping: MemAvailable, capped by the cgroup limit.
std::int64_t available_memory_bytes();

// What the workers of a job may use together by default: half the available memory.
std::int64_t memory_budget_bytes();

// Default worker count: one per core, fewer when the expected peak of a worker times the count would
// exceed `budget` bytes. (The pool then checks the peaks it measures while the job runs.)
int default_worker_count(int width, int height, int lookahead_frames, std::int64_t budget);

// Expected peak resident memory of one x264 worker at this resolution and look-ahead window: a model
// fitted to peaks measured with benchmarks/worker_memory.py (see benchmarks/README.md).
std::int64_t estimated_worker_memory(int width, int height, int lookahead_frames);

}  // namespace pvt
