#include "job_resume.hpp"

#include "plan_emit.hpp"

#include <filesystem>
#include <vector>

#include "error.hpp"
#include "job_context.hpp"

namespace pvt {
namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// Why a finished segment cannot be reused; empty when its file is there and unchanged.
std::string why_not_reusable(const JobDir& dir, const FinishedSegment& f) {
  std::vector<std::pair<std::string, std::string>> files{{f.file, f.sha256}};
  for (std::size_t r = 0; r < f.rung_files.size(); ++r) files.emplace_back(f.rung_files[r], f.rung_sha256[r]);
  for (const auto& [name, sha] : files) {
    const fs::path file = dir.dir() / name;
    std::error_code ec;
    if (!fs::exists(file, ec)) return "its file " + name + " is missing";
    if (sha256_file(file.string()) != sha)
      return "its file " + name + " changed since it was written (checksum mismatch)";
  }
  return {};
}

}  // namespace

std::optional<JobState> resumable_state(JobDir& dir, const TranscodeOptions& o, const std::string& final_path,
                                        const InputFingerprint& fingerprint, const nlohmann::json& settings,
                                        const WarnFn& warn) {
  std::string damaged;
  std::optional<JobState> previous = o.restart ? std::nullopt : dir.load(&damaged);
  if (!damaged.empty() && warn) warn(dir.state_path().string() + ": " + damaged + "; starting the job over");
  if (previous && previous->status == "complete") previous.reset();  // kept by --keep-work: nothing to resume
  if (previous) {
    const auto conflicts = resume_conflicts(*previous, fingerprint, settings);
    if (!conflicts.empty()) {
      dir.keep(true);  // its finished work stays until the user decides
      throw Error(ErrorCode::kUsage,
                  final_path + ": cannot resume the interrupted job (" + join(conflicts, "; ") +
                      "); run the same command as before, or add --restart to discard its " +
                      std::to_string(previous->finished.size()) + " finished segment(s)");
    }
  } else if (o.resume) {
    throw Error(ErrorCode::kUsage, final_path + ": there is no interrupted job to resume");
  }
  return previous;
}

void prepare_job_folder(JobContext& job) {
  if (!job.resuming()) {
    job.dir.clear_except({});
    return;
  }
  job.state = *job.previous;
  // Segments a cluster's array tasks finished since (a Kubernetes Indexed Job from `pvt plan --emit`).
  for (auto& f : finished_array_tasks(job.dir.dir(), job.state)) job.state.finished.push_back(std::move(f));
  std::vector<FinishedSegment> verified;
  for (const auto& f : job.state.finished) {
    const std::string why = why_not_reusable(job.dir, f);
    if (!why.empty()) {
      if (job.warn) job.warn("segment " + std::to_string(f.index) + ": " + why + "; encoding it again");
      continue;
    }
    verified.push_back(f);
  }
  job.state.finished = verified;
  // A cluster array the last coordinator left running writes here still: its files are what this run
  // adopts (slurm_executor.hpp), so none is removed.
  if (!std::filesystem::exists(job.dir.dir() / "array" / "slurm.json"))
    job.dir.clear_except(resumable_files(job.state.finished));
  if (job.options.note)
    job.options.note("resuming the interrupted job: " + std::to_string(job.state.finished.size()) + " of " +
                     std::to_string(job.state.plan.size()) + " segments are finished (checksums verified)");
}

}  // namespace pvt
