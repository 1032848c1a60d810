// `pvt analyze IN [--json]`: what the file holds, where its scenes change, and the plan transcode would use.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "frame_analysis.hpp"
#include "media_index.hpp"
#include "output_plan.hpp"
#include "progress_display.hpp"
#include "report_json.hpp"
#include "segment_plan.hpp"
#include "system_resources.hpp"

namespace pvt::cli {

namespace {

struct AnalyzeArgs {
  std::string input;
  bool json = false;
  bool per_frame = false;
  int threads = 0;
  double threshold = SceneDetectorOptions{}.threshold;
  int min_scene = SceneDetectorOptions{}.min_scene_frames;
  double segment_duration = 10;
  std::string format = "hls";
  std::string codec = "h264";
  int workers = 0;
  std::string progress = "auto";
  std::string backend = "auto";
};

// Each stream with what transcode does with it, and why: "stream 3: subtitle subrip eng -> convert ->
// webvtt".
void print_streams(const MediaInfo& info, const OutputPlan& out) {
  std::printf("%s: %s, %.3f s; as %s output:\n", info.path.c_str(), info.container.c_str(),
              info.video_duration_s(), out.format.c_str());
  for (std::size_t i = 0; i < info.streams.size(); ++i) {
    const auto& s = info.streams[i];
    const auto& c = out.streams[i];
    std::string target = c.action == "drop" || c.action == "copy" ? "" : " -> " + c.output_codec;
    std::printf("  stream %d: %s %s %s%s%s -> %s%s (%s)\n", s.index, s.type.c_str(), s.codec.c_str(),
                s.detail.c_str(), s.language.empty() ? "" : (" " + s.language).c_str(),
                s.title.empty() ? "" : (" \"" + s.title + "\"").c_str(), c.action.c_str(), target.c_str(),
                c.reason.c_str());
  }
  const VideoChoice& v = out.video;
  std::printf("  picture: %s %d-bit, displayed %dx%d%s%s%s\n", v.pix_fmt.c_str(), v.bit_depth,
              v.displayed_width, v.displayed_height,
              v.rotation ? (", rotation " + std::to_string(v.rotation) +
                            (v.keep_matrix ? " kept as display matrix" : " turned into the pixels"))
                               .c_str()
                         : "",
              v.tonemap ? ", HDR tone-mapped to SDR" : "",
              v.keep_hdr_metadata ? ", HDR10 metadata kept" : "");
  std::printf("  chapters: %d %s; title: %s\n", info.chapters,
              out.chapters ? "kept" : (info.chapters ? "dropped" : ""),
              info.title.empty() ? "none" : (out.global_metadata ? "kept" : "dropped"));
  for (const auto& w : out.warnings) std::printf("  warning: %s\n", w.c_str());
}

void print_text(const MediaInfo& info, const OutputPlan& out, const Analysis& a, const Plan& plan) {
  print_streams(info, out);
  std::printf("video: %dx%d %s, %zu frames, %.3f fps%s\n", info.width, info.height, info.pix_fmt.c_str(),
              info.frames.size(), av_q2d(info.frame_rate),
              info.variable_frame_rate ? " (variable frame rate)" : "");
  std::printf("keyframes (%zu):", info.keyframes.size());
  for (int k : info.keyframes) std::printf(" %d", k);
  std::printf(
      "\nanalysis: %d threads over %d keyframe ranges at %dx%d, %.2f s (%.0f fps), kernels %s, decoded on "
      "%s\n",
      a.threads, a.ranges, a.reduced_width, a.reduced_height, a.seconds,
      a.seconds > 0 ? info.frames.size() / a.seconds : 0.0, a.kernel.c_str(), a.decoder.c_str());
  std::printf("scene cuts (%zu):\n", a.cuts.size());
  for (const auto& c : a.cuts) {
    std::printf("  frame %6d  %9.3f s  score %.3f  %s", c.frame,
                info.seconds(info.frames[c.frame].pts - info.start_pts()), c.score, cut_kind_name(c.kind));
    if (c.kind != CutKind::kHard) std::printf(" over frames %d-%d", c.start_frame, c.end_frame);
    std::printf("\n");
  }
  std::printf("scenes:\n  %6s %6s %9s %9s %8s %8s\n", "start", "frames", "time", "duration", "spatial",
              "temporal");
  for (const auto& s : a.scenes)
    std::printf("  %6d %6d %9.3f %9.3f %8.2f %8.2f\n", s.start_frame, s.end_frame - s.start_frame, s.start_s,
                s.duration_s, s.mean_spatial, s.mean_temporal);
  std::printf("plan (%s, target %.1f s, bounds %.1f-%.1f s): %zu segments\n", plan.basis.c_str(),
              plan.target_s, plan.min_s, plan.max_s, plan.segments.size());
  // What the cuts cost against one single encode, so a user can weigh balance against compression.
  std::printf("  %d cuts off the source's scene changes, an IDR each (~%.2f %% of the bits each)\n",
              plan.paid_cuts, 100 * plan.idr_cost_share);
  for (const auto& s : plan.segments)
    std::printf("  #%-3d frame %6d +%-5d %9.3f s  %7.3f s  starts at %-8s cost %.0f\n", s.index,
                s.start_frame, s.frame_count(), s.start_s, s.duration_s, s.cut_reason.c_str(), s.cost);
}

}  // namespace

Runner add_analyze_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("analyze", "Probe a video, find its scene cuts and show the segment plan");
  auto a = std::make_shared<AnalyzeArgs>();
  cmd->add_option("input", a->input, "video file")->required();
  cmd->add_flag("--json", a->json, "print the analysis report as JSON");
  cmd->add_flag("--per-frame", a->per_frame, "include per-frame scores in the JSON report");
  cmd->add_option("--threads", a->threads, "decoding threads (default: one per core)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--scene-threshold", a->threshold,
                  "histogram difference (0-1) at which a frame starts a new scene (default 0.35)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-scene-frames", a->min_scene,
                  "shortest scene in frames; closer cuts keep the strongest (default 12)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--segment-duration", a->segment_duration,
                  "target segment length in seconds for the plan (default 10)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--format", a->format,
                  "plan (segments and what each stream becomes) as for this output format")
      ->check(CLI::IsMember({"hls", "mp4", "mkv", "webm"}));
  cmd->add_option("--codec", a->codec, "as for this video codec (h264 or hevc; default h264)")
      ->check(CLI::IsMember({"h264", "hevc", "av1", "vp9"}));
  cmd->add_option("--workers", a->workers, "plan for this many workers (default: cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--progress", a->progress, "progress on stderr: auto, bar, json, none");
  cmd->add_option("--analysis-backend", a->backend,
                  "analysis kernels: auto (CUDA with NVDEC, else a Vulkan GPU, else CPU), cpu, cuda, vulkan")
      ->check(CLI::IsMember({"auto", "cpu", "cuda", "vulkan"}));
  return [a] {
    ProgressDisplay display(parse_progress_mode(a->progress));
    const MediaInfo info = probe_media(a->input);
    if (info.truncated) display.warn(a->input + ": " + info.truncation_reason);
    OutputChoices choices;
    choices.format = a->format;
    choices.codec = a->codec;
    const OutputPlan output = plan_output(info, choices);
    AnalysisOptions ao;
    ao.threads = a->threads;
    ao.scenes = {a->threshold, a->min_scene};
    ao.backend = a->backend;
    ao.warn = [&](const std::string& w) { display.warn(w); };
    JobProgress jp;
    jp.stage = "analyze";
    jp.frames_total = static_cast<std::int64_t>(info.frames.size());
    jp.media_duration_s = info.video_duration_s();
    const auto t0 = std::chrono::steady_clock::now();
    ao.progress = [&](int done) {
      jp.frames_done = done;
      jp.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      display.update(jp);
    };
    const Analysis analysis = analyze_frames(info, ao);
    display.finish();
    PlanOptions po;
    po.target_s = a->segment_duration;
    po.workers = a->workers > 0 ? a->workers : usable_cores();
    po.shrink_for_workers = a->format != "hls";
    po.group_playlist = a->format == "hls";
    // The plan transcode would use on this machine: from the demux index (see DESIGN: CPU-only path).
    const Plan plan = plan_segments(info, nullptr, po);
    if (a->json)
      std::printf(
          "%s\n",
          analysis_report_json(info, analysis, plan, ao.scenes, a->per_frame, &output).dump(2).c_str());
    else
      print_text(info, output, analysis, plan);
    return 0;
  };
}

}  // namespace pvt::cli
