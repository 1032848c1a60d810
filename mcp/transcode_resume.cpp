#include "transcode_resume.hpp"

#include "disk_jobs.hpp"
#include "error.hpp"
#include "job_lookup.hpp"
#include "job_settings.hpp"
#include "job_state.hpp"
#include "media_input.hpp"

namespace pvt::mcp {

namespace fs = std::filesystem;

namespace {

// Every transcode_video argument that resume_job_id replaces with the job's own.
const char* const kReplacedByResume[] = {"input",   "output",       "format",           "crf",
                                         "bitrate", "preset",       "segment_duration", "target_quality",
                                         "metric",  "quality_pool", "restart"};

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

std::string progress_text(const DiskJob& d) {
  return std::to_string(d.state.finished.size()) + " of " + std::to_string(d.state.plan.size()) +
         " segments finished";
}

// What the engine will say about resuming `saved` with this input and these options. Frames are taken
// from the state: counting them needs a full demux, which the engine does anyway (and refuses then).
std::vector<std::string> conflicts(const DiskJob& saved, const PreparedTranscode& t) {
  try {
    const InputFingerprint now = fingerprint_input(t.input.string(), saved.state.input.frames);
    return resume_conflicts(saved.state, now, settings_json(t.options, t.format));
  } catch (const Error& e) {
    throw ToolError(std::string("The input cannot be read: ") + e.what() + ".");
  }
}

}  // namespace

PreparedTranscode prepare_resume(ToolEnv& env, const json& arguments, std::string id) {
  for (const char* key : kReplacedByResume)
    if (arguments.contains(key) && !arguments[key].is_null())
      throw ToolError(std::string("resume_job_id finishes the job with its own input, output and settings; "
                                  "leave out ") +
                      key + " (only wait, and overwrite when its output exists, go with it).");
  // The registry's id of a job that stopped with its state kept stands for that state.
  if (const auto s = env.jobs.status(id); s && s->resume_job_id) id = *s->resume_job_id;
  if (!is_disk_job_id(id))
    throw ToolError(
        "resume_job_id takes the id of an interrupted job (resume-...), as list_transcodes and "
        "get_transcode_status report it, not '" +
        id + "'.");
  if (const auto r = env.jobs.resumer_of(id); r && !is_finished(r->state))
    throw ToolError(r->id + " is already resuming " + id + "; follow it with get_transcode_status.");
  const auto d = find_disk_job(env, id);
  if (!d)
    throw ToolError("There is no interrupted job '" + id +
                    "' (it may have been finished, discarded or restarted since); list_transcodes shows the "
                    "ones that can be resumed.");
  if (d->running) throw ToolError(id + " is being written by another process right now.");

  PreparedTranscode t;
  try {
    t.input = resolve_input(d->state.input.path, env.sandbox.root());
    require_video(t.input);
  } catch (const ToolError& e) {
    throw ToolError("Cannot resume " + id + ": " + e.what());
  }
  // The state says where the output goes; it must still be inside the output directory as it is now (a
  // folder on the way may have been replaced by a symlink since).
  fs::path resolved;
  try {
    resolved = env.sandbox.resolve_output(d->engine_output.string());
  } catch (const ToolError& e) {
    throw ToolError("Cannot resume " + id + ": " + e.what());
  }
  if (resolved != d->engine_output)
    throw ToolError("Cannot resume " + id + ": its output " + d->engine_output.string() + " now leads to " +
                    resolved.string() + " (through a symlink); discard it with cancel_transcode.");

  t.options = options_from_settings(d->state.settings);
  t.format = d->state.format;
  t.options.format = t.format;
  t.options.input = t.input.string();
  t.options.output = d->engine_output.string();
  t.options.workers = env.config.max_workers;
  t.options.quality.probe_cache =
      (fs::path(env.config.output_dir) / ".pvt-cache" / "quality-probes").string();
  apply_executor(t.options, env.config);
  t.options.resume = true;  // the engine refuses rather than start over if the state vanished meanwhile
  t.final_path = d->state.output;
  t.resumes = id;
  if (const auto why = conflicts(*d, t); !why.empty())
    throw ToolError(
        "Cannot resume " + id + ": " + join(why, "; ") +
        ". Transcode the input again (transcode_video with its input and restart: true) or discard "
        "the job with cancel_transcode.");
  t.note = "It resumes the interrupted job " + id + " (" + progress_text(*d) + ").";
  return t;
}

void check_saved_state(PreparedTranscode& t) {
  const auto d = disk_job_for_output(t.options.output);
  if (!d) return;
  if (d->running)
    throw ToolError(t.final_path.string() + " is being written by another process (" + d->dir.string() +
                    " is locked); wait for it or choose another output name.");
  if (t.options.restart) {
    t.note = "The interrupted job " + d->id + " for this output (" + progress_text(*d) + ") is discarded.";
    return;
  }
  if (const auto why = conflicts(*d, t); !why.empty())
    throw ToolError(t.final_path.string() + " has an interrupted job " + d->id + " (" + progress_text(*d) +
                    ") that was started differently: " + join(why, "; ") +
                    ". Call transcode_video with only resume_job_id \"" + d->id +
                    "\" to finish it as it was started, or repeat this call with restart: true to discard it "
                    "and start over.");
  t.resumes = d->id;
  t.note = "It resumes the interrupted job " + d->id + " (" + progress_text(*d) + ").";
}

}  // namespace pvt::mcp
