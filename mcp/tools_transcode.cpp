// transcode_video: checks what the model can correct at once (argument types, output inside the sandbox,
// existing or busy output, then the input itself, cheapest first), then hands a job to the registry. Without
// wait it answers immediately with the job id; with wait it follows the job to its end, sending progress when
// the client asked for it.
#include <filesystem>

#include "capabilities.hpp"
#include "job_settings.hpp"
#include "job_status_json.hpp"
#include "job_tasks.hpp"
#include "media_input.hpp"
#include "tool_args.hpp"
#include "tools.hpp"
#include "transcode_arguments.hpp"
#include "transcode_resume.hpp"

namespace pvt::mcp {

namespace fs = std::filesystem;

namespace {

bool has_extension(const std::string& path, std::initializer_list<const char*> exts) {
  std::string ext = fs::path(path).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* e : exts)
    if (ext == e) return true;
  return false;
}

json input_schema(const ServerConfig& config, const std::vector<std::string>& encoders) {
  json properties = {
      {"input",
       {{"type", "string"},
        {"description", "video file: absolute, or relative to the output directory " + config.output_dir +
                            ". Required unless resume_job_id is given"}}},
      {"output",
       {{"type", "string"},
        {"description",
         "name or relative path under the output directory. HLS/DASH: a folder (index.m3u8 inside; "
         "master.m3u8 for a ladder, manifest.mpd for DASH) or a .m3u8 / .mpd name; MP4/MKV/WebM: a file "
         "name. Default: <input name>/ for HLS and DASH, <input name>.<format> otherwise"}}},
      {"format",
       {{"type", "string"},
        {"enum", {"hls", "dash", "hls+dash", "mp4", "mkv", "webm"}},
        {"default", "hls"},
        {"description",
         "hls (segments and a playlist), dash (fMP4/CMAF segments and manifest.mpd), hls+dash (both "
         "manifests over the same segments), or one mp4, mkv or webm file"}}},
      {"overwrite", {{"type", "boolean"}, {"default", false}, {"description", "replace an existing output"}}},
      {"restart",
       {{"type", "boolean"},
        {"default", false},
        {"description",
         "discard an interrupted job found for this output and start over (without it, an interrupted job "
         "for the same input and settings is resumed, and one with other settings is refused)"}}},
      {"resume_job_id",
       {{"type", "string"},
        {"description",
         "finish an interrupted job (state interrupted, or a failed job with resume_job_id set, from "
         "list_transcodes or get_transcode_status) with its own input, output and settings, reusing its "
         "finished segments; give it alone (with wait, and overwrite if its output exists)"}}},
      {"wait",
       {{"type", "boolean"},
        {"default", false},
        {"description",
         "run to the end before answering (only for clients that keep a call open that long); otherwise "
         "answer at once and poll get_transcode_status. Clients that speak MCP tasks get a task instead"}}}};
  properties.update(encoding_argument_schema(config, encoders));
  // input is required unless resume_job_id is given; a top-level anyOf would say so, but some hosts
  // reject combinators at the top of an inputSchema, so the server checks it and the text says it.
  return {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
}

json output_schema() {
  json schema = status_schema(true);
  // Without wait only these four are sent; with wait, the whole final status.
  schema["required"] = {"job_id", "state", "output", "format"};
  return schema;
}

// The encoders this machine's probe opened, for the schema and the checks (probed once, at start-up).
struct EncoderMenu {
  MachineCapabilities caps;
  std::vector<std::string> encoders;
};

struct OutputChoice {
  std::string format;
  fs::path engine_output;  // what TranscodeOptions::output gets
  fs::path final_path;     // the MP4 file or the HLS playlist
};

OutputChoice choose_output(const ToolEnv& env, const fs::path& input,
                           const std::optional<std::string>& requested,
                           const std::optional<std::string>& format_arg, bool ladder) {
  OutputChoice c;
  if (format_arg)
    c.format = *format_arg;
  else if (requested && has_extension(*requested, {".mp4", ".m4v", ".mov"}))
    c.format = "mp4";  // the name says what the model meant
  else if (requested && has_extension(*requested, {".mkv"}))
    c.format = "mkv";
  else if (requested && has_extension(*requested, {".webm"}))
    c.format = "webm";
  else if (requested && has_extension(*requested, {".mpd"}))
    c.format = "dash";
  else
    c.format = "hls";
  const bool file = c.format != "hls" && c.format != "dash" && c.format != "hls+dash";
  const std::string name = requested ? *requested : input.stem().string() + (file ? "." + c.format : "");
  const fs::path resolved = env.sandbox.resolve_output(name);
  std::error_code ec;
  if (file) {
    if (name.back() == '/' || fs::is_directory(resolved, ec))
      throw ToolError("The output '" + name + "' is a folder; " + c.format +
                      " output needs a file name such as clip." + c.format + ".");
    c.engine_output = c.final_path = resolved;
  } else if (has_extension(name, {".mp4", ".m4v", ".mov", ".mkv", ".webm"})) {
    throw ToolError("The output '" + name + "' names a file but format is " + c.format +
                    "; use format mp4, mkv or webm, or a folder, .m3u8 or .mpd name for HLS and DASH.");
  } else if (has_extension(name, {".mpd"}) && c.format == "hls") {
    throw ToolError("The output '" + name + "' is a DASH manifest; use format dash or hls+dash.");
  } else if (has_extension(name, {".m3u8", ".mpd"})) {
    c.engine_output = c.final_path = resolved;
  } else {
    if (fs::exists(resolved, ec) && !fs::is_directory(resolved, ec))
      throw ToolError("The output '" + name +
                      "' exists and is not a folder; HLS and DASH output is a folder or a .m3u8/.mpd name.");
    c.engine_output = resolved;
    c.final_path = resolved / (c.format == "dash"            ? "manifest.mpd"
                               : ladder || c.format != "hls" ? "master.m3u8"
                                                             : "index.m3u8");
  }
  return c;
}

// An ordinary call: input, output and settings from the arguments.
PreparedTranscode prepare_new(ToolEnv& env, const EncoderMenu& menu, const ToolArgs& args) {
  const std::string input_arg = args.required_string("input");
  const auto output_arg = args.string("output");
  const auto format_arg = args.one_of("format", {"hls", "dash", "hls+dash", "mp4", "mkv", "webm"});

  PreparedTranscode t;
  TranscodeOptions& o = t.options;
  o.encoder = env.config.encoder;
  o.workers = env.config.max_workers;
  apply_executor(o, env.config);
  o.segment_duration = env.config.segment_duration;
  o.lookahead = env.config.lookahead;
  apply_encoding_arguments(args, o, env.config, menu.encoders, menu.caps);
  o.restart = args.boolean("restart").value_or(false);
  // The probe cache stays inside the output directory, like everything the server writes.
  o.quality.probe_cache = (fs::path(env.config.output_dir) / ".pvt-cache" / "quality-probes").string();

  // The input is only located here; transcode() probes it after the cheap checks of the output, so a
  // refused call costs no demuxing.
  t.input = resolve_input(input_arg, env.sandbox.root());
  const OutputChoice out = choose_output(env, t.input, output_arg, format_arg, !o.ladder.empty());
  std::error_code ec;
  if (fs::equivalent(out.final_path, t.input, ec))
    throw ToolError("The output would replace the input '" + input_arg + "'; choose another output name.");
  t.final_path = out.final_path;
  t.format = out.format;
  // WebM carries AV1/VP9 only: with no codec named (by codec or an AV1/VP9 encoder) it gets VP9.
  if (out.format == "webm" && o.codec != "av1" && o.codec != "vp9") {
    if (args.string("codec"))
      throw ToolError("WebM carries AV1 or VP9 video, not " + o.codec +
                      "; use codec av1 or vp9, or format mkv.");
    o.codec = "vp9";
  }
  o.input = t.input.string();
  o.output = out.engine_output.string();
  o.format = out.format;
  return t;
}

std::vector<std::string> argument_names() {
  std::vector<std::string> names = {"input",   "output",        "format", "overwrite",
                                    "restart", "resume_job_id", "wait"};
  for (const auto& n : encoding_argument_names()) names.push_back(n);
  return names;
}

json transcode(ToolEnv& env, const EncoderMenu& menu, const json& arguments, RequestContext& request) {
  static const std::vector<std::string> known = argument_names();
  const ToolArgs args(arguments, known);
  const bool overwrite = args.boolean("overwrite").value_or(false);
  // A task is followed to its end like a wait:true call; the client polls the task instead of the job.
  const bool wait = args.boolean("wait").value_or(false) || request.is_task();
  const auto resume_id = args.string("resume_job_id");
  if (!resume_id && !args.string("input"))
    throw ToolError(
        "The argument input is required (a video file), unless resume_job_id names an "
        "interrupted job to finish.");
  PreparedTranscode t = resume_id ? prepare_resume(env, arguments, *resume_id) : prepare_new(env, menu, args);

  std::error_code ec;
  if (fs::exists(t.final_path, ec) && !overwrite)
    throw ToolError(t.final_path.string() + " already exists; pass overwrite: true to replace it" +
                    (resume_id ? std::string(" (the interrupted job was replacing it)")
                               : std::string(", or choose another output name")) +
                    ".");
  if (auto busy = env.jobs.job_writing(t.final_path.string()))
    throw ToolError(*busy + " is already writing " + t.final_path.string() +
                    "; wait for it or cancel it first.");
  if (!resume_id) {
    require_video(t.input);
    check_saved_state(t);
  }
  // The engine writes beside the output (work directory, temporary files), so its folder must exist;
  // it is inside the sandbox, as resolve_output checked.
  const fs::path work_parent = fs::path(t.options.output).parent_path();
  fs::create_directories(work_parent, ec);
  if (ec) throw ToolError("Cannot create the folder " + work_parent.string() + ": " + ec.message() + ".");

  t.options.overwrite = overwrite;
  const std::string note = t.note.empty() ? std::string() : " " + t.note;
  const fs::path input = t.input;
  JobStatus submitted;
  try {
    submitted = env.jobs.submit(std::move(t.options), t.final_path.string(), t.format, std::move(t.resumes));
  } catch (const JobRegistry::OutputBusy& e) {
    // Another call for the same output got there between the check above and here.
    throw ToolError(std::string(e.what()) + "; wait for it or cancel it first.");
  }
  request.accepted(submitted.id);

  if (!wait) {
    json structured = {{"job_id", submitted.id},
                       {"state", job_state_name(submitted.state)},
                       {"output", submitted.output},
                       {"format", submitted.format}};
    return tool_result("Started " + submitted.id + " (" + job_state_name(submitted.state) +
                           "): " + input.string() + " -> " + submitted.output + "." + note +
                           " Poll get_transcode_status with job_id \"" + submitted.id +
                           "\" and wait_seconds up to 30.",
                       std::move(structured));
  }

  const auto final =
      env.jobs.wait(submitted.id, std::chrono::steady_clock::time_point::max(), &request.cancel_flag(),
                    [&](const JobStatus& s) { report_progress(request, s); });
  if (request.cancelled()) {
    // The client gave up on this call: its work is the job, so the job stops too (and cleans up).
    const auto cancelled = env.jobs.cancel(submitted.id, std::chrono::seconds(60));
    return tool_result(status_sentence(*cancelled), status_json(*cancelled));
  }
  // A task's status follows its result: a job that did not succeed is a failed task.
  if (request.is_task()) return job_result(*final);
  return tool_result(status_sentence(*final), status_json(*final), resource_links(*final));
}

}  // namespace

Tool make_transcode_tool(ToolEnv& env) {
  auto menu = std::make_shared<EncoderMenu>();
  menu->caps = probe_capabilities();
  menu->encoders = encoder_choices(menu->caps, env.config);
  Tool t;
  t.name = "transcode_video";
  t.definition = {
      {"name", t.name},
      {"title", "Transcode a video"},
      {"description",
       "Transcode a video to H.264 or HEVC (x264/x265 on the CPU, or NVENC, VAAPI or QSV where this machine "
       "has them), AV1 (SVT-AV1, libaom, rav1e) or VP9 (libvpx) as HLS (a folder with index.m3u8 and .ts "
       "segments) or one MP4, MKV or WebM file, "
       "encoding segments in parallel worker processes and verifying the result; or to a target quality "
       "(SSIM/PSNR/VMAF) per segment. Every track, subtitle and chapter is kept unless asked otherwise. "
       "Writes only under the "
       "output directory and never replaces an existing output unless overwrite is true. Answers at once "
       "with a job_id; follow it with get_transcode_status. A job stopped before the end (the server was "
       "stopped or killed) keeps its finished segments: list_transcodes shows it as interrupted, and "
       "resume_job_id (or the same arguments again) finishes it; restart: true starts over instead."},
      {"inputSchema", input_schema(env.config, menu->encoders)},
      {"outputSchema", output_schema()},
      {"annotations",
       {{"title", "Transcode a video"},
        {"readOnlyHint", false},
        {"destructiveHint", true},
        {"idempotentHint", false},
        {"openWorldHint", false}}}};
  t.task_support = true;
  t.names_its_job = true;
  t.handler = [&env, menu](const json& arguments, RequestContext& request) {
    return transcode(env, *menu, arguments, request);
  };
  return t;
}

}  // namespace pvt::mcp
