// Whether a run resumes the job it finds on disk, and the clean folder it then starts from: a resumed
// run redoes only the segments whose files are missing or changed.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "job_dir.hpp"
#include "job_state.hpp"
#include "transcode_job.hpp"

namespace pvt {

struct JobContext;

// The state to resume from: the one in `dir` unless --restart, damaged (warned) or complete (kept by
// --keep-work). Throws Error(kUsage), keeping the folder, when it was made from another input or other
// settings; and with --resume when there is none.
std::optional<JobState> resumable_state(JobDir& dir, const TranscodeOptions& options,
                                        const std::string& final_path, const InputFingerprint& fingerprint,
                                        const nlohmann::json& settings, const WarnFn& warn);

// Empties the folder for this run. A resume keeps the finished segments whose checksums still match
// (the others are warned about and encoded again) and clears whatever a killed run left half-written.
void prepare_job_folder(JobContext& job);

}  // namespace pvt
