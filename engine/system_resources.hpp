// What this machine (or this container's cgroup) lets pvt use: cores and memory.
#pragma once

#include <cstdint>
#include <string>

namespace pvt {

// Cores this process may run on (CPU affinity and cgroup CPU quota respected), at least 1.
int usable_cores();

// Memory that can still be allocated without swapping: MemAvailable, capped by the cgroup limit.
std::int64_t available_memory_bytes();

// What the workers of a job may use together by default: half the available memory.
std::int64_t memory_budget_bytes();

// Default worker count: one per core, fewer when the expected peak of a worker times the count would
// exceed `budget` bytes. (The pool then checks the peaks it measures while the job runs.)
int default_worker_count(std::int64_t per_worker, std::int64_t budget);

// x264's rc-lookahead for a preset (0 at ultrafast, 10 at veryfast, 40 at medium, ...), as x264 sets it.
int preset_rc_lookahead(const std::string& preset);

// Expected peak resident memory of one x264 worker: frames held (decoder references, the look-ahead
// window, x264's own look-ahead and reference planes) times the frame size, plus code and buffers. A
// model fitted to peaks measured with benchmarks/worker_memory.py: it overestimates them by 9-31 % from
// 360p to 2160p and ultrafast to slow (see benchmarks/README.md), so the default count errs on the safe
// side and the pool's measurements decide the rest.
std::int64_t estimated_worker_memory(int width, int height, int window_frames, int encoder_lookahead);

}  // namespace pvt
