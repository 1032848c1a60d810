// transcode_video and job state on disk. A call with resume_job_id finishes an interrupted job with the
// input, output and settings its state recorded; an ordinary call whose output has an interrupted job
// beside it resumes that job when the engine would (same input, same settings), and is refused at once,
// naming the differences, when the engine would refuse it — rather than queueing a job bound to fail.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tools.hpp"
#include "transcode_job.hpp"

namespace pvt::mcp {

// A transcode checked and ready to queue.
struct PreparedTranscode {
  TranscodeOptions options;
  std::filesystem::path input;
  std::filesystem::path final_path;  // the MP4 file or the HLS playlist
  std::string format;
  std::string resumes;  // the on-disk job it resumes ("resume-..."), if any
  std::string note;     // a sentence for the result about what it resumes or discards
};

// transcode_video {resume_job_id: id}: only wait and overwrite may come with it. `id` may also be the
// registry's id of a job that stopped with its state kept. Throws ToolError for what the model can fix
// (no such job, its input gone or changed, its output now outside the output directory).
PreparedTranscode prepare_resume(ToolEnv& env, const nlohmann::json& arguments, std::string id);

// For an ordinary call (options filled from its arguments): the interrupted job beside its output, if
// any, must be one the engine will resume; its id then goes to `resumes`. With restart the engine
// discards it, which the note says. Throws ToolError naming the differences otherwise.
void check_saved_state(PreparedTranscode& t);

}  // namespace pvt::mcp
