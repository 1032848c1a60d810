// The server's transcode jobs. Each job runs the engine's transcode() on its own thread with its own
// cancel flag; at most max_concurrent run at once and the rest wait in a queue (state "queued"). Status
// reads are cheap snapshots under one mutex; a condition variable lets callers long-poll for changes.
//
// Two ways to stop a job, with different ends: cancel() sets the job's own flag, and the engine then
// discards its state (the user wants it gone); shutdown() stops every job through the interrupt it was
// given (the engine's process-wide stop in the server), and the engine keeps their state on disk so the
// next server can resume them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "logging.hpp"
#include "transcode_job.hpp"

namespace pvt::mcp {

// kInterrupted: stopped by the server's shutdown with its state kept, or (jobs found on disk, not in
// the registry) left behind by an earlier process; either way transcode_video can resume it.
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kInterrupted };

const char* job_state_name(JobState state);
inline bool is_finished(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled ||
         s == JobState::kInterrupted;
}

struct JobStatus {
  std::string id;
  JobState state = JobState::kQueued;
  std::string stage;   // the engine's stage ("probe", "analyze", "encode", "assemble", "verify", "done")
  double percent = 0;  // never decreases
  std::int64_t frames_done = 0;
  std::int64_t frames_total = 0;
  double fps = 0;
  std::optional<double> eta_seconds;
  int segments_done = 0;
  int segments_total = 0;
  std::string executor = "local";          // where its workers run: local or slurm
  std::string slurm_job_id;                // the Slurm array, once submitted
  std::map<std::string, int> slurm_tasks;  // its unfinished tasks by state (PENDING, RUNNING...)
  // Target quality: the finished segments' chosen CRF and score, as the engine reports them.
  std::map<int, JobProgress::SegmentQuality> segment_quality;
  std::string input;
  std::string output;  // the MP4 file or the HLS playlist
  std::string format;
  std::vector<std::string> files;  // once succeeded
  std::optional<std::string> error;
  std::optional<nlohmann::json> summary;           // engine summary_json, once succeeded
  std::shared_ptr<const TranscodeSummary> report;  // the same, whole: the timeline pictures are drawn from it
  // Set when the job ended with its state kept on disk (interrupted, or failed with finished segments):
  // the id transcode_video's resume_job_id takes to finish it (disk_jobs.hpp).
  std::optional<std::string> resume_job_id;
  std::string saved_dir;               // that state's job folder
  std::string resumes;                 // the on-disk job this job resumes, if any
  std::string created_at, updated_at;  // ISO 8601 UTC: when it was submitted and last changed
  std::uint64_t version = 0;           // grows with every change, for long-polls
};

// The overall percentage for an engine progress report: analysis (when there is one) up to 20 %, encoding
// up to 95 %, then assembly and verification.
double job_percent(const JobProgress& p, bool analyzed);

class JobRegistry {
 public:
  using Runner =
      std::function<TranscodeSummary(const TranscodeOptions&, const ProgressFn&, const WarnFn&, SavedJob*)>;
  // Stops every running job without its cancel flag, so each keeps its state (see the top).
  using Interrupt = std::function<void()>;

  // runner: pvt::transcode in the server, a stand-in in tests. log may be null. Without an interrupt,
  // shutdown() cancels the running jobs instead (their state goes).
  JobRegistry(int max_concurrent, Runner runner, Logger* log, Interrupt interrupt = {});
  ~JobRegistry();
  JobRegistry(const JobRegistry&) = delete;
  JobRegistry& operator=(const JobRegistry&) = delete;

  // Thrown by submit() when a queued or running job already writes the same output.
  struct OutputBusy : std::runtime_error {
    OutputBusy(std::string job, const std::string& output)
        : std::runtime_error(job + " is already writing " + output), job_id(std::move(job)) {}
    std::string job_id;
  };

  // Queues a job and starts it when a slot is free. `output` is the final path reported in statuses;
  // `resumes`: the on-disk job it resumes (reported by get_transcode_status under that id too). Throws
  // OutputBusy when another unfinished job has the same output: checked under the registry's lock, so
  // two calls racing for one output cannot both get a job.
  JobStatus submit(TranscodeOptions options, std::string output, std::string format,
                   std::string resumes = {});

  std::optional<JobStatus> status(const std::string& id) const;
  std::vector<JobStatus> list() const;  // in submission order
  // The queued or running job that will write `output`, if any (two jobs must not share an output).
  std::optional<std::string> job_writing(const std::string& output) const;

  // Blocks until the job has finished, `deadline` passes, or *stop becomes true; calls on_update (outside
  // the lock) with the first snapshot and then whenever the job changed, at most about five times a second.
  std::optional<JobStatus> wait(const std::string& id, std::chrono::steady_clock::time_point deadline,
                                const std::atomic<bool>* stop,
                                const std::function<void(const JobStatus&)>& on_update = {});

  // The latest job that resumes the on-disk job `resume_id`, if any.
  std::optional<JobStatus> resumer_of(const std::string& resume_id) const;

  // A queued job is cancelled at once. A running one is told to stop and awaited up to `timeout`: it reports
  // "cancelled" only once the engine has killed its workers and removed its partial output. A finished job
  // is left alone, and so is every job once shutdown() began (it keeps its state). nullopt: no such job.
  std::optional<JobStatus> cancel(const std::string& id, std::chrono::milliseconds timeout);

  // Drops the queued jobs (they have no state yet), stops the running ones through the interrupt (or
  // their cancel flags when there is none) and joins their threads. Idempotent.
  void shutdown();

 private:
  struct Job;

  Job* find_locked(const std::string& id) const;
  void start_ready_locked();
  void run(Job* job);
  void reap();
  void log(LogLevel level, const std::string& text) const {
    if (log_) log_->log(level, text);
  }

  const int max_concurrent_;
  const Runner runner_;
  Logger* const log_;
  const Interrupt interrupt_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<Job>> jobs_;
  std::deque<Job*> queue_;
  int running_ = 0;
  int next_id_ = 1;
  bool shutting_down_ = false;
};

}  // namespace pvt::mcp
