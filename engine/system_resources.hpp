// What this machine (or this container's cgroup) lets pvt use: cores and memory.
#pragma once

#include <cstdint>

namespace pvt {

// Cores this process may run on (CPU affinity and cgroup CPU quota respected), at least 1.
int usable_cores();

// Memory that can still be allocated without swapping: MemAvailable, capped by the cgroup limit.
std::int64_t available_memory_bytes();

// Default worker count: one per core, fewer when the estimated memory of a worker times the count would
// exceed half the available memory.
int default_worker_count(int width, int height, int lookahead_frames);

// Rough peak memory of one worker (decoder + look-ahead window + x264 at its look-ahead depth).
std::int64_t estimated_worker_memory(int width, int height, int lookahead_frames);

}  // namespace pvt
