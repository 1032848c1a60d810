// `pvt worker DESCRIPTOR.json`: encodes exactly one segment's frames.
//
// Seeks to the keyframe at or before the segment, decodes, drops frames before its first, and keeps a
// look-ahead window of decoded frames in which the scene kernel runs: a cut it confirms inside the window
// becomes a forced IDR before the frame reaches the encoder. Writes the segment (MP4, original
// timestamps) under a temporary name, renames it when complete, then writes its WorkerStats.
//
// Progress goes to stdout as JSON lines ({"frames":N}); errors to stderr, one line.
#pragma once

#include <string>

#include "segment_descriptor.hpp"

namespace pvt {

// Test hook, documented in the README: PVT_FAULT="fail:SEG[:ATTEMPTS]" makes the worker for segment SEG
// exit with an error on its first ATTEMPTS attempts (default: all); "short:SEG" makes it drop the last
// frame (a wrong frame count); "crash:SEG" kills it with SIGSEGV halfway through, "hang:SEG" stops it
// there (no more progress: the watchdog's case), "slow:SEG" sleeps 50 ms per frame, "corrupt:SEG"
// truncates the finished segment file; "hw-open"/"hw-die" fail a hardware session. Items combine with
// commas ("crash:1:1,hang:2:1"). The attempt number comes from PVT_WORKER_ATTEMPT, set by the scheduler.
void apply_fault_injection(const SegmentDescriptor& d);

WorkerStats run_segment_worker(const SegmentDescriptor& d);

}  // namespace pvt
