// What the schedule stage hands to whatever runs the workers (executor.hpp), and what comes back: the
// contract between the job and every executor, kept apart from any one of them so a cluster executor
// needs none of the local pool's headers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "segment_descriptor.hpp"

namespace pvt {

// One segment to encode. Paths, not contents: the descriptor is rewritten just before each start, so a
// worker reads it only when it begins.
struct SegmentTask {
  int segment = 0;
  double cost = 0;
  double content_cost = 0;  // the part of `cost` that follows the content (Segment::content_cost)
  int expected_frames = 0;
  std::string descriptor_path;
  std::string stats_path;
  std::string log_path;  // beside it the slots' worker logs (worker_N.log: their stderr) are written
};

struct SegmentResult {
  WorkerStats stats;
  int attempts = 0;
  std::string fallback_from;        // the hardware backend whose session failed; empty: none
  std::string fallback_reason;      // the failed worker's one-line error
  std::int64_t peak_rss_bytes = 0;  // the successful worker's peak resident memory
  // Where and when the successful attempt ran: the slot (hardware sessions first, then CPU workers) and
  // its seconds since the run started, for the job's timeline.
  int slot = -1;
  double start_s = 0;
  double end_s = 0;
};

struct HardwareSlots {
  std::string backend;  // "nvenc", ...
  int sessions = 0;
};

// What segments may be encoded on: CPU workers, always there for the segments that fall back, and the
// hardware sessions beside them.
struct EncoderSlots {
  int cpu = 1;                          // CPU worker slots
  std::string cpu_backend = "x264";     // what a CPU slot runs (x265 for hevc)
  std::vector<HardwareSlots> hardware;  // hardware sessions
  // With an explicit hardware encoder the CPU slots only take segments that fell back.
  bool cpu_fallback_only = false;
};

}  // namespace pvt
