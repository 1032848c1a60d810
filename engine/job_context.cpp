#include "job_context.hpp"

#include <cstdio>
#include <filesystem>

#include "job_options.hpp"
#include "job_report.hpp"
#include "job_resume.hpp"

namespace pvt {
namespace fs = std::filesystem;

namespace {

// The job folder's names for segment `index`: "seg_00042" (+ .mp4, .json, .log, .task.json).
std::string segment_name(int index) {
  char name[32];
  std::snprintf(name, sizeof name, "seg_%05d", index);
  return name;
}

}  // namespace

double seconds_since(JobClock::time_point t) {
  return std::chrono::duration<double>(JobClock::now() - t).count();
}

JobContext::JobContext(const TranscodeOptions& o, const ProbeResult& probe, const ProgressFn& progress_fn,
                       const WarnFn& warn_fn, JobClock::time_point t0)
    : options(o),
      warn(warn_fn),
      started(t0),
      dir(JobDir::path_for(probe.target.work_parent, probe.target.job_name), probe.target.final_path),
      input_path(fs::weakly_canonical(fs::absolute(probe.info.path)).string()),
      fingerprint(fingerprint_input(input_path, static_cast<std::int64_t>(probe.info.frames.size()))),
      settings(output_settings(o, probe.target.format)),
      previous(resumable_state(dir, o, probe.target.final_path, fingerprint, settings, warn_fn)),
      budget(worker_budget(o, probe.info, previous ? &*previous : nullptr)),
      summary(start_summary(o, probe, budget, previous.has_value())),
      progress_fn_(progress_fn) {
  progress.frames_total = summary.frames;
  progress.media_duration_s = summary.duration_s;
}

void JobContext::emit(const std::string& stage) {
  progress.stage = stage;
  progress.elapsed_s = seconds_since(started);
  if (progress_fn_) progress_fn_(progress);
}

std::filesystem::path JobContext::segment_path(int index, const std::string& suffix) const {
  return dir.dir() / (segment_name(index) + suffix);
}

std::filesystem::path JobContext::rung_path(int index, std::size_t rung) const {
  return segment_path(index, rung == 0 ? ".mp4" : ".r" + std::to_string(rung) + ".mp4");
}

std::vector<std::string> resumable_files(const std::vector<FinishedSegment>& finished) {
  std::vector<std::string> kept{"job.json"};
  for (const auto& f : finished) {
    kept.push_back(f.file);
    kept.insert(kept.end(), f.rung_files.begin(), f.rung_files.end());
    kept.push_back(segment_name(f.index) + ".json");
    kept.push_back(segment_name(f.index) + ".log");
  }
  return kept;
}

}  // namespace pvt
