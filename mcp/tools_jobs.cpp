// The job tools: get_transcode_status (with an optional long-poll), cancel_transcode, list_transcodes.
// They know the registry's jobs and the interrupted ones on disk (job_lookup.hpp).
#include <chrono>

#include "job_lookup.hpp"
#include "job_status_json.hpp"
#include "resources.hpp"
#include "timeline_png.hpp"
#include "tool_args.hpp"
#include "tools.hpp"

namespace pvt::mcp {

namespace {

json job_id_schema(bool with_wait) {
  json props = {{"job_id",
                 {{"type", "string"},
                  {"description",
                   "the job_id transcode_video returned, or an interrupted job's id from list_transcodes "
                   "(resume-...)"}}}};
  if (with_wait) {
    props["wait_seconds"] = {{"type", "number"},
                             {"minimum", 0},
                             {"maximum", 30},
                             {"default", 0},
                             {"description", "wait up to this long for the job to finish before answering"}};
    props["timeline_image"] = {
        {"type", "boolean"},
        {"default", false},
        {"description",
         "with a succeeded job, also return its timeline (a PNG: one row per worker, one bar per segment) "
         "to see how evenly the work was spread"}};
  }
  return {
      {"type", "object"}, {"properties", props}, {"required", {"job_id"}}, {"additionalProperties", false}};
}

[[noreturn]] void unknown_job(const std::string& id) {
  throw ToolError("There is no transcode job '" + id +
                  "'; list_transcodes shows the jobs this server knows and the interrupted ones it found.");
}

json status_result(const JobStatus& s) {
  return tool_result(status_sentence(s), status_json(s), resource_links(s));
}

json get_status(ToolEnv& env, const json& arguments, RequestContext& request) {
  const ToolArgs args(arguments, {"job_id", "wait_seconds", "timeline_image"});
  const bool timeline = args.boolean("timeline_image").value_or(false);
  const std::string id = args.required_string("job_id");
  const double wait_s = args.number("wait_seconds", 0, 30).value_or(0);
  auto s = find_job(env, id);
  if (!s) unknown_job(id);
  // An on-disk id may answer with the registry's job that resumes it: that one is followed.
  if (wait_s > 0 && !is_finished(s->state)) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                               std::chrono::duration<double>(wait_s));
    s = env.jobs.wait(s->id, deadline, &request.cancel_flag(),
                      [&](const JobStatus& u) { report_progress(request, u); });
  }
  json result = status_result(*s);
  if (timeline && s->report) {
    const auto png = timeline_png(*s->report);
    result["content"].push_back(
        {{"type", "image"}, {"data", base64(png.data(), png.size())}, {"mimeType", "image/png"}});
  } else if (timeline) {
    result["content"].push_back(
        {{"type", "text"}, {"text", "No timeline yet: it is drawn once the job has succeeded."}});
  }
  return result;
}

// cancel_transcode on an interrupted job found on disk: its kept segments and state go (the job folder),
// unless this server is resuming it (then that job is cancelled) or another process holds it.
json discard_on_disk(ToolEnv& env, const std::string& id) {
  const auto resumer = env.jobs.resumer_of(id);
  if (resumer && !is_finished(resumer->state)) {
    const auto s = env.jobs.cancel(resumer->id, std::chrono::seconds(60));
    return tool_result(id + " was being resumed as " + resumer->id + "; that job " +
                           (s->state == JobState::kCancelled ? "was cancelled and its state discarded."
                                                             : "was told to stop."),
                       status_json(*s));
  }
  const auto d = find_disk_job(env, id);
  if (!d) unknown_job(id);
  if (d->running || !discard_disk_job(*d))
    throw ToolError(id + " is being written by another process right now; it cannot be discarded.");
  JobStatus s = disk_job_status(*d);
  s.state = JobState::kCancelled;
  s.resume_job_id.reset();
  s.error.reset();
  env.log.info(id + ": discarded the interrupted job's state in " + d->dir.string());
  return tool_result(id + " was discarded: its " + std::to_string(s.segments_done) +
                         " finished segment(s) and its state were removed; it can no longer be resumed.",
                     status_json(s));
}

json cancel(ToolEnv& env, const json& arguments, RequestContext&) {
  const ToolArgs args(arguments, {"job_id"});
  const std::string id = args.required_string("job_id");
  const auto before = env.jobs.status(id);
  if (!before && is_disk_job_id(id)) return discard_on_disk(env, id);
  if (!before) unknown_job(id);
  // Waits for the engine to kill the workers and remove partial output, so "cancelled" means done.
  const auto s = env.jobs.cancel(id, std::chrono::seconds(60));
  std::string text;
  if (is_finished(before->state))
    text = id + " had already " +
           (before->state == JobState::kCancelled ? "been cancelled"
                                                  : std::string(job_state_name(before->state))) +
           "; nothing to cancel." +
           (before->resume_job_id ? " Its finished segments are kept as " + *before->resume_job_id +
                                        ": cancel_transcode with that id discards them."
                                  : std::string());
  else if (s->state == JobState::kCancelled)
    text = id + " was cancelled: its workers were stopped and its partial output removed.";
  else
    text =
        id + " is " + job_state_name(s->state) + "; it was told to stop and will report cancelled shortly.";
  return tool_result(text, status_json(*s));
}

json list(ToolEnv& env, const json& arguments, RequestContext&) {
  const ToolArgs args(arguments, {});
  json jobs = json::array();
  int active = 0, resumable = 0;
  for (const auto& s : all_jobs(env)) {
    jobs.push_back(status_json(s, /*with_summary=*/false));
    active += !is_finished(s.state);
    resumable += s.resume_job_id.has_value();
  }
  std::string text = jobs.empty() ? "No transcode jobs yet."
                                  : std::to_string(jobs.size()) + " job(s), " + std::to_string(active) +
                                        " queued or running";
  if (resumable > 0)
    text += ", " + std::to_string(resumable) +
            " stopped with finished segments kept: transcode_video with a job's resume_job_id finishes it";
  if (!jobs.empty()) text += ".";
  return tool_result(text, {{"jobs", std::move(jobs)}});
}

json annotations(const char* title, bool read_only, bool destructive, bool idempotent) {
  return {{"title", title},
          {"readOnlyHint", read_only},
          {"destructiveHint", destructive},
          {"idempotentHint", idempotent},
          {"openWorldHint", false}};
}

}  // namespace

std::vector<Tool> make_job_tools(ToolEnv& env) {
  std::vector<Tool> tools(3);
  tools[0].name = "get_transcode_status";
  tools[0].definition = {
      {"name", tools[0].name},
      {"title", "Transcode status"},
      {"description",
       "State and progress of a transcode job (percent, frames, fps, ETA, segments), and when it succeeded "
       "the output files and the job summary. wait_seconds (up to 30) waits for the job to finish first. "
       "Also answers for an interrupted job (state interrupted, id resume-...) left by an earlier run of the "
       "server: its resume_job_id goes to transcode_video to finish it."},
      {"inputSchema", job_id_schema(true)},
      {"outputSchema", status_schema(true)},
      {"annotations", annotations("Transcode status", true, false, true)}};
  tools[0].handler = [&env](const json& a, RequestContext& r) { return get_status(env, a, r); };

  tools[1].name = "cancel_transcode";
  tools[1].definition = {
      {"name", tools[1].name},
      {"title", "Cancel a transcode"},
      {"description",
       "Cancel a queued or running transcode job: its workers are stopped and its partial output and job "
       "state removed (it cannot be resumed). Given an interrupted job's id (resume-...), discards its kept "
       "segments. Cancelling a finished job changes nothing and returns its state."},
      {"inputSchema", job_id_schema(false)},
      {"outputSchema", status_schema(true)},
      {"annotations", annotations("Cancel a transcode", false, true, true)}};
  tools[1].handler = [&env](const json& a, RequestContext& r) { return cancel(env, a, r); };

  tools[2].name = "list_transcodes";
  json item = status_schema(false);
  tools[2].definition = {
      {"name", tools[2].name},
      {"title", "List transcodes"},
      {"description",
       "Every transcode job this server has run or queued, oldest first, with its state and progress; then "
       "the interrupted jobs found in the output directory (state interrupted, id resume-...: an earlier "
       "run was stopped or killed), which transcode_video finishes with resume_job_id."},
      {"inputSchema", {{"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}}},
      {"outputSchema",
       {{"type", "object"},
        {"properties", {{"jobs", {{"type", "array"}, {"items", item}}}}},
        {"required", {"jobs"}}}},
      {"annotations", annotations("List transcodes", true, false, true)}};
  tools[2].handler = [&env](const json& a, RequestContext& r) { return list(env, a, r); };
  return tools;
}

}  // namespace pvt::mcp
