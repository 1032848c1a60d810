// analyze_video: probe, full scene analysis and the segment plan transcode would use, as the engine's
// analysis report (no per-frame data: it would flood the model's context).
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>

#include "analysis_backend.hpp"
#include "analysis_cache.hpp"
#include "contact_sheet.hpp"
#include "error.hpp"
#include "frame_analysis.hpp"
#include "media_index.hpp"
#include "media_input.hpp"
#include "report_json.hpp"
#include "resources.hpp"
#include "segment_plan.hpp"
#include "system_resources.hpp"
#include "tool_args.hpp"
#include "tools.hpp"

namespace pvt::mcp {

namespace {

json input_schema(const ServerConfig& config) {
  return {
      {"type", "object"},
      {"properties",
       {{"path",
         {{"type", "string"},
          {"description", "video file: absolute, or relative to the output directory " + config.output_dir}}},
        {"scene_threshold",
         {{"type", "number"},
          {"minimum", 0},
          {"maximum", 1},
          {"default", 0.35},
          {"description",
           "histogram difference at which a frame starts a new scene (hard cuts score 0.4-1)"}}},
        {"min_scene_frames",
         {{"type", "integer"},
          {"minimum", 1},
          {"default", 12},
          {"description", "shortest scene in frames; closer cuts keep the strongest"}}},
        {"segment_duration",
         {{"type", "number"},
          {"exclusiveMinimum", 0},
          {"maximum", 3600},
          {"default", config.segment_duration},
          {"description", "target segment length in seconds for the plan"}}},
        {"contact_sheet",
         {{"type", "boolean"},
          {"default", false},
          {"description",
           "also return a contact sheet: one JPEG with a thumbnail of each scene's first frame and its time, "
           "so you can see what the cuts separate"}}},
        {"contact_sheet_tiles",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", 64},
          {"default", 24},
          {"description", "most thumbnails on the sheet; more scenes are thinned evenly"}}}}},
      {"required", {"path"}},
      {"additionalProperties", false}};
}

json output_schema() {
  return {{"type", "object"},
          {"properties",
           {{"version", {{"type", "integer"}}},
            {"media", {{"type", "object"}, {"description", "streams, video format, keyframes"}}},
            {"analysis", {{"type", "object"}, {"description", "how the analysis ran"}}},
            {"scene_cuts", {{"type", "array"}, {"items", {{"type", "object"}}}}},
            {"scenes", {{"type", "array"}, {"items", {{"type", "object"}}}}},
            {"plan", {{"type", "object"}, {"description", "the segments transcode would encode"}}}}},
          {"required", {"version", "media", "analysis", "scene_cuts", "scenes", "plan"}}};
}

std::string summary_text(const MediaInfo& info, const Analysis& a, const Plan& plan) {
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "%s: %dx%d %s, %zu frames, %.2f s at %.3f fps%s; %zu scene cuts, %zu scenes; plan: %zu segments "
      "(target %.1f s, from the %s); analysed in %.2f s.",
      info.path.c_str(), info.width, info.height, info.video_codec.c_str(), info.frames.size(),
      info.video_duration_s(), av_q2d(info.frame_rate), info.variable_frame_rate ? " (VFR)" : "",
      a.cuts.size(), a.scenes.size(), plan.segments.size(), plan.target_s, plan.basis.c_str(), a.seconds);
  return buf;
}

// An analysis decodes a whole file on every core, and a model may ask for one while a transcode runs.
// The transcode is the work the user is waiting for, so the analysis takes the CPU only when the job
// leaves it: this thread (and the decoder threads it starts, which inherit it) runs 10 nice levels below the
// server. The thread belongs to this one call and ends with it, so nothing has to be restored (raising a
// thread's priority again would need CAP_SYS_NICE anyway).
void yield_cpu_to_transcodes() {
  const auto tid = static_cast<id_t>(gettid());
  errno = 0;
  const int nice_now = getpriority(PRIO_PROCESS, tid);
  if (errno == 0 && nice_now < 19) setpriority(PRIO_PROCESS, tid, std::min(nice_now + 10, 19));
}

json analyze_now(ToolEnv& env, const std::filesystem::path& input, AnalysisOptions ao,
                 double segment_duration, RequestContext& request, const AnalysisCache::ProgressFn& report) {
  // The auto backend choice is made once per process and job threads may wait for it: made here, before
  // this thread's priority drops, it cannot keep a transcode waiting behind a low-priority probe.
  (void)auto_analysis_backend();
  yield_cpu_to_transcodes();
  MediaInfo info;
  try {
    info = probe_media(input.string());
  } catch (const Error& e) {
    throw ToolError(std::string(e.what()) + ".");
  }
  const double total = static_cast<double>(info.frames.size());
  ao.cancel = &request.cancel_flag();
  ao.progress = [&](int done) {
    report({static_cast<double>(done), total,
            "analyzing: " + std::to_string(done) + "/" + std::to_string(info.frames.size()) + " frames"});
  };
  env.log.debug("analyze_video: " + input.string());
  const Analysis analysis = analyze_frames(info, ao);

  PlanOptions po;
  po.target_s = segment_duration;
  po.workers = env.config.max_workers > 0 ? env.config.max_workers : usable_cores();
  // The plan transcode would use on this machine: from the demux index on the CPU path (see DESIGN.md).
  const Plan plan = plan_segments(info, nullptr, po);
  return tool_result(summary_text(info, analysis, plan),
                     analysis_report_json(info, analysis, plan, ao.scenes, /*per_frame=*/false));
}

// The contact sheet of an analysis result: an image content item and a line naming the tiles' times.
json with_contact_sheet(json result, const std::filesystem::path& input, int max_tiles) {
  std::vector<double> starts;
  for (const auto& scene : result["structuredContent"].value("scenes", json::array()))
    starts.push_back(scene.value("start", 0.0));
  if (starts.empty()) starts.push_back(0);
  ContactSheetOptions options;
  options.max_tiles = max_tiles;
  ContactSheet sheet;
  try {
    sheet = make_contact_sheet(input.string(), starts, options);
  } catch (const Error& e) {
    throw ToolError(std::string("The contact sheet could not be made: ") + e.what() + ".");
  }
  std::string times;
  for (const double t : sheet.tile_times_s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.2f s", times.empty() ? "" : ", ", t);
    times += buf;
  }
  result["content"].push_back(
      {{"type", "text"},
       {"text", "Contact sheet (" + std::to_string(sheet.width) + "x" + std::to_string(sheet.height) + ", " +
                    std::to_string(sheet.tile_times_s.size()) +
                    " scenes, left to right, top to bottom): " + times + "."}});
  result["content"].push_back({{"type", "image"},
                               {"data", base64(sheet.jpeg.data(), sheet.jpeg.size())},
                               {"mimeType", "image/jpeg"}});
  result["structuredContent"]["contact_sheet"] = {
      {"width", sheet.width}, {"height", sheet.height}, {"tile_times", sheet.tile_times_s}};
  return result;
}

json analyze(ToolEnv& env, AnalysisCache& cache, const json& arguments, RequestContext& request) {
  const ToolArgs args(arguments, {"path", "scene_threshold", "min_scene_frames", "segment_duration",
                                  "contact_sheet", "contact_sheet_tiles"});
  const bool contact_sheet = args.boolean("contact_sheet").value_or(false);
  const int tiles = args.integer("contact_sheet_tiles", 1, 64).value_or(24);
  if (!contact_sheet && args.integer("contact_sheet_tiles", 1, 64))
    throw ToolError("contact_sheet_tiles needs contact_sheet: true.");
  const std::string path = args.required_string("path");
  AnalysisOptions ao;
  ao.scenes.threshold = args.number("scene_threshold", 0, 1).value_or(ao.scenes.threshold);
  ao.scenes.min_scene_frames =
      args.integer("min_scene_frames", 1, 1000000).value_or(ao.scenes.min_scene_frames);
  const double segment_duration =
      args.number("segment_duration", 0, 3600, true).value_or(env.config.segment_duration);
  const auto input = resolve_input(path, env.sandbox.root());

  auto to_client = [&request](const AnalysisCache::Progress& p) {
    request.progress(p.done, p.total, p.message);
  };
  // The file version is part of the key: a file rewritten or replaced since is analysed again.
  struct stat st {};
  if (::stat(input.c_str(), &st) != 0) {
    json result = analyze_now(env, input, ao, segment_duration, request, to_client);
    return contact_sheet ? with_contact_sheet(std::move(result), input, tiles) : result;
  }
  const auto ns = [](const timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
  };
  const AnalysisCache::Key key{input.string(),
                               static_cast<std::uint64_t>(st.st_dev),
                               static_cast<std::uint64_t>(st.st_ino),
                               static_cast<std::uintmax_t>(st.st_size),
                               ns(st.st_mtim),
                               ns(st.st_ctim),
                               ao.scenes.threshold,
                               ao.scenes.min_scene_frames,
                               segment_duration};
  json result = cache.get_or_compute(
      key,
      [&](const AnalysisCache::ProgressFn& report) {
        return analyze_now(env, input, ao, segment_duration, request, report);
      },
      request.cancel_flag(), to_client);
  // Not cached: a sheet is cheap next to the analysis, and a cached result stays small.
  if (contact_sheet && !result.value("isError", false))
    return with_contact_sheet(std::move(result), input, tiles);
  return result;
}

}  // namespace

Tool make_analyze_tool(ToolEnv& env) {
  Tool t;
  t.name = "analyze_video";
  t.definition = {
      {"name", t.name},
      {"title", "Analyze a video"},
      {"description",
       "Probe a video file and analyse it: streams, duration, frame rate, keyframes, scene cuts with scores, "
       "per-scene complexity, and the segment plan a transcode would use. Reads only; writes nothing. Takes "
       "about as long as decoding the file once on all cores (longer while a transcode runs: the transcode "
       "keeps priority). Results are kept per file version and options, so asking again about an unchanged "
       "file answers at once."},
      {"inputSchema", input_schema(env.config)},
      {"outputSchema", output_schema()},
      {"annotations",
       {{"title", "Analyze a video"},
        {"readOnlyHint", true},
        {"destructiveHint", false},
        {"idempotentHint", true},
        {"openWorldHint", false}}}};
  t.task_support = true;  // an analysis of a long film takes a while: a task lets the client poll
  t.handler = [&env, cache = std::make_shared<AnalysisCache>()](const json& arguments,
                                                                RequestContext& request) {
    return analyze(env, *cache, arguments, request);
  };
  return t;
}

}  // namespace pvt::mcp
