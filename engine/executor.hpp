// The seam between the schedule stage and whatever runs `pvt worker`: the local pool of processes on this
// machine (local_executor.hpp) or, later, a cluster scheduler (a Slurm job array). Before a run the job
// has written everything a worker needs into the job folder, so an executor only gets each descriptor to
// a worker, watches it, retries it and reports what happened; the plan, the bit budgets, the job state and
// the assembly stay with the job and are the same whichever executor ran the segments (DESIGN.md,
// "Executors").
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "segment_task.hpp"

namespace pvt {

// What one run asks of an executor.
struct ExecutorJob {
  // Holds the descriptors, stats, segment files and logs. A cluster executor's nodes must all see it
  // (shared storage); it is also where such an executor keeps its own files (array scripts, task logs).
  std::filesystem::path dir;
  // The segments still to encode, longest estimated cost first: the longest started last would leave one
  // worker running alone at the end. An executor that cannot keep the order should submit in it.
  std::vector<SegmentTask> tasks;
  // Where segments may be encoded, and the fallback rule: a segment whose attempt fails on a hardware
  // backend runs again on slots.cpu_backend before fresh work (its started() report names the backend it
  // fell back from), and that failure does not count against max_attempts. With cpu_fallback_only the CPU
  // slots take only such segments while a hardware session still works. A cluster executor may read cpu
  // as its concurrency cap.
  EncoderSlots slots;
  // CPU attempts per segment before the run fails: a worker may die of a passing cause.
  int max_attempts = 2;
  // Set from any thread to stop; SIGINT/SIGTERM (cancellation.hpp) stop a run too.
  const std::atomic<bool>* cancel = nullptr;
};

// What an executor tells the job, all on the thread that called run(). The job rewrites descriptors and
// saves its state in these, so for each attempt of a segment they come in order: started, progress...,
// then check and finished, or failed.
class SegmentReports {
 public:
  virtual ~SegmentReports() = default;
  // Just before a worker reads the task's descriptor: the job rewrites it then, with `backend` and, in
  // bitrate mode, a budget from what finished segments spent. fallback_from: the hardware backend that
  // failed this segment, else empty. A batch submitter calls it for each task before submitting.
  virtual void started(const SegmentTask& task, const std::string& backend,
                       const std::string& fallback_from) = 0;
  // Frames the running attempt has encoded so far.
  virtual void progress(int segment, int frames) = 0;
  // A worker wrote its segment with the right frame count: what it spent counts from now on (a bitrate
  // budget handed out next sees it), before check() and finished(), which may come after the next
  // segment has started. A failed check() is reported by failed().
  virtual void written(const SegmentTask& /*task*/, const SegmentResult& /*result*/) {}
  // The job's own check of an attempt whose worker succeeded with the right frame count (it must not
  // trust the worker's word alone); non-empty: why it failed after all, retried like any other failure.
  virtual std::string check(const SegmentTask& task) = 0;
  // The segment is done; result.stats is what the worker wrote to task.stats_path. The job records it
  // durably at once, so a job killed later keeps the segment.
  virtual void finished(const SegmentTask& task, const SegmentResult& result) = 0;
  // An attempt failed for `reason` (one line). retrying: the segment runs again and its frames start
  // over; otherwise run() throws next.
  virtual void failed(const SegmentTask& task, const std::string& reason, bool retrying) = 0;
  // About ten times a second while the run waits: lets the job redraw its progress.
  virtual void tick() = 0;
  // A cluster executor's job id and its unfinished tasks counted by the scheduler's state names, each
  // time it has polled the queue (for the job's status; the local pool has neither).
  virtual void cluster_state(const std::vector<std::string>& /*job_ids*/,
                             const std::map<std::string, int>& /*tasks*/) {}
};

// What a run did, for the job report; zero where an executor has no such thing.
struct ExecutorStats {
  int max_running = 0;           // the most workers that ran at once
  int held_back_for_memory = 0;  // times a free slot waited because the memory budget was full
  std::string job_id;            // a cluster's id for the run (the first Slurm array); empty locally
};

class SegmentExecutor {
 public:
  virtual ~SegmentExecutor() = default;
  // Runs every task to completion and returns, or throws Error and leaves no worker running; the job's
  // failure handling keys on the code: kInterrupted (cancelled), kOutput (a full disk: retrying cannot
  // help), kInput (every CPU attempt of a segment could not read the input) or kEncode (a segment failed
  // max_attempts times), the message naming the segment and its last reason.
  virtual ExecutorStats run(const ExecutorJob& job, SegmentReports& reports) = 0;
};

}  // namespace pvt
