// One run of a transcode job as the stages after the probe share it: the options and callbacks, the job
// folder (locked for this run) with the state saved in it, the progress the job reports and the summary
// it builds. Opening it decides between a fresh start and a resume, so it comes before the first stage
// that writes anything.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "job_dir.hpp"
#include "job_state.hpp"
#include "stage_probe.hpp"
#include "transcode_job.hpp"
#include "worker_budget.hpp"

namespace pvt {

using JobClock = std::chrono::steady_clock;

double seconds_since(JobClock::time_point t);

struct JobContext {
  // Takes the job folder's lock and reads its state: throws Error(kOutput) when another job holds it, and
  // Error(kUsage) when the state found cannot be resumed with these options (or --resume finds none).
  JobContext(const TranscodeOptions& options, const ProbeResult& probe, const ProgressFn& progress_fn,
             const WarnFn& warn, JobClock::time_point started);

  bool resuming() const { return previous.has_value(); }
  // Reports the progress so far as being in `stage`.
  void emit(const std::string& stage);
  // A file of segment `index` in the job folder: suffix ".mp4", ".json", ".log" or ".task.json".
  std::filesystem::path segment_path(int index, const std::string& suffix) const;
  // The encoded file of a ladder's rung of segment `index` (rung 0 is the segment's own ".mp4").
  std::filesystem::path rung_path(int index, std::size_t rung) const;

  const TranscodeOptions& options;
  const WarnFn& warn;
  const JobClock::time_point started;
  JobDir dir;
  const std::string input_path;  // absolute and canonical: what the descriptors and the state name
  const InputFingerprint fingerprint;
  const nlohmann::json settings;     // output_settings(): what a resume must match
  std::optional<JobState> previous;  // the interrupted run's state; empty: a fresh start
  JobState state;                    // what job.json holds once saved
  bool state_saved = false;          // a failure from here on may keep the folder to resume from
  const WorkerBudget budget;
  TranscodeSummary summary;  // filled by each stage in turn
  JobProgress progress;

 private:
  const ProgressFn& progress_fn_;
};

// What a job folder keeps for a resume: job.json and each finished segment's file, stats and log.
std::vector<std::string> resumable_files(const std::vector<FinishedSegment>& finished);

}  // namespace pvt
