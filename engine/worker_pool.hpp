// Runs segment workers as separate processes on a fixed set of slots, one long-lived `pvt worker --serve`
// per slot that takes segment after segment (start-up paid once per worker, not per segment),
// most expensive first so the longest segment never starts last. A slot is a CPU worker or one hardware
// encode session (NVENC, VAAPI, ...): whichever slot frees first takes the longest waiting segment. A
// worker that fails on a hardware slot is re-queued on the CPU (its session closed with its process;
// a slot whose sessions failed twice is retired). A CPU worker that fails, or whose segment has the
// wrong frame count, or whose output fails the job's check, or that makes no progress for the watchdog's
// time (killed), is retried; after `max_attempts` the whole pool stops and reports why. A full disk is
// not retried: it fails the pool at once. Workers start only while the memory budget holds one more of
// them at the largest peak seen so far (measured from the running workers), so the count adapts to the
// input instead of trusting an estimate.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cancellation.hpp"
#include "child_process.hpp"
#include "segment_task.hpp"

namespace pvt {

struct PoolLimits {
  int max_attempts = 2;            // CPU attempts per segment
  double watchdog_s = 120;         // kill a worker that reports no progress for this long; 0: never
  std::int64_t memory_budget = 0;  // bytes all running workers may use together; 0: no limit
  std::int64_t worker_memory = 0;  // expected peak of one worker until one has been measured
};

// What the pool did, for the job report.
struct PoolRunStats {
  int max_running = 0;              // the most workers that ran at once
  int held_back_for_memory = 0;     // times a free slot waited because the memory budget was full
  std::int64_t peak_rss_bytes = 0;  // the largest worker peak measured
};

struct PoolCallbacks {
  // Called just before a task's worker starts on a slot running `backend` (e.g. to write its descriptor
  // with the backend and a fresh bit budget); fallback_from is set when a hardware session failed it.
  std::function<void(const SegmentTask&, const std::string& backend, const std::string& fallback_from)>
      before_start;
  // Frames encoded so far by a running worker (its latest report).
  std::function<void(int segment, int frames)> on_progress;
  std::function<void(const SegmentTask&, const SegmentResult&)> on_done;
  // An attempt failed for `reason`. retrying: the task is queued again and its frames start over;
  // otherwise the pool throws next.
  std::function<void(const SegmentTask&, const std::string& reason, bool retrying)> on_failed;
  // A worker wrote its segment with the right frame count; check_output and on_done follow, possibly
  // after the freed slot has taken its next segment.
  std::function<void(const SegmentTask&, const SegmentResult&)> on_written;
  // Checks a worker's output after it exited 0 with the right frame count; a non-empty answer is the
  // failure (the segment is retried), e.g. a segment file that does not demux to its frames.
  std::function<std::string(const SegmentTask&)> check_output;
  // Called about ten times a second while waiting, e.g. to redraw a progress bar.
  std::function<void()> on_tick;
  // When set and true, the pool stops its workers and throws Error(kInterrupted): a job's own cancel.
  const std::atomic<bool>* cancel = nullptr;
  PoolRunStats* run_stats = nullptr;  // filled as the pool runs, when set
};

// Results are indexed by segment number (entries of segments not in `tasks` stay default). `warm`: workers
// started ahead (start_warm_workers), taken by the CPU slots in order; those no slot takes are stopped.
std::vector<SegmentResult> run_worker_pool(std::vector<SegmentTask> tasks, const EncoderSlots& slots,
                                           const PoolLimits& limits, const std::string& worker_executable,
                                           const PoolCallbacks& callbacks,
                                           std::vector<std::unique_ptr<ChildProcess>> warm = {});

// Starts `count` `pvt worker --serve` processes now, for the first `count` CPU slots of a pool with no
// hardware slots, their stderr in log_dir/worker_N.log as the pool's own: their start-up (loading the
// libraries) then overlaps the job's probe and planning instead of the first segments.
std::vector<std::unique_ptr<ChildProcess>> start_warm_workers(int count, const std::string& worker_executable,
                                                              const std::string& log_dir);

// Is this failure a full disk or a file-size limit (retrying cannot help)?
bool is_out_of_space(const std::string& message);

}  // namespace pvt
