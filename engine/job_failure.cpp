#include "job_failure.hpp"

#include <filesystem>

#include "job_context.hpp"
#include "worker_pool.hpp"

namespace pvt {
namespace fs = std::filesystem;

namespace {

bool worth_keeping(const JobContext& job, ErrorCode code) {
  const bool cancelled = code == ErrorCode::kInterrupted && job.options.cancel && job.options.cancel->load();
  return job.state_saved && !cancelled &&
         (code == ErrorCode::kInterrupted || code == ErrorCode::kOutput || !job.state.finished.empty());
}

void keep_for_resume(JobContext& job, SavedJob* saved, ErrorCode code, const std::string& what) {
  job.state.status = code == ErrorCode::kInterrupted ? "interrupted" : "failed";
  job.state.message = what;
  try {
    job.dir.save(job.state);
  } catch (const Error&) {
    // A full disk may refuse even this: the last state saved (after the last finished segment) stands.
  }
  if (!job.options.keep_work_dir) job.dir.clear_except(resumable_files(job.state.finished));
  job.dir.keep(true);
  if (saved) {
    saved->dir = job.dir.dir().string();
    saved->segments_done = static_cast<int>(job.state.finished.size());
    saved->segments_total = static_cast<int>(job.state.plan.size());
  }
}

// How to go on from a kept job that failed (an interrupt needs no advice).
std::string resume_advice(const JobContext& job, ErrorCode code, const std::string& what) {
  const std::string kept_text = std::to_string(job.state.finished.size()) + " of " +
                                std::to_string(job.state.plan.size()) + " segments are finished and kept";
  if (is_out_of_space(what))
    return kept_text +
           ": free some space (or raise the file-size limit) and run the same command "
           "again to resume";
  if (code == ErrorCode::kInput) {
    // The input could not be read where the segment needs it. Damage fails the same way on every run,
    // but a passing read error (a network share that dropped, a disk that went away) does not, and the
    // finished work must not be lost to a guess: kept, with both readings spelled out.
    std::error_code ec;
    if (!fs::exists(job.options.input, ec))
      return kept_text + ": put the input back and run the same command again to resume";
    return kept_text + " in " + job.dir.dir().string() +
           ": if the input was only unreadable for a moment, run the same command again to "
           "resume; if it is damaged, delete that folder";
  }
  return kept_text + ": run the same command again to resume";
}

}  // namespace

Error job_failed(JobContext& job, SavedJob* saved, ErrorCode code, const std::string& what) {
  if (!worth_keeping(job, code)) {
    job.dir.keep(job.options.keep_work_dir);
    return Error(code, what);
  }
  keep_for_resume(job, saved, code, what);
  if (code == ErrorCode::kInterrupted) return Error(code, what);
  return Error(code, what + "; " + resume_advice(job, code, what));
}

}  // namespace pvt
