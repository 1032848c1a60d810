// The analysis report (`pvt analyze --json`, MCP analyze_video) and the job summary (`pvt transcode
// --json`, MCP get_transcode_status) are written from what the probe read out of the input: its path,
// container and codec names, stream details. Arbitrary bytes there (a Latin-1 file name, a damaged
// stream tag) must still give JSON that serialises (strict dump, as the CLI prints it) and parses back
// to the same document; the shape (version, media, plan) must be there whatever the content.
//
// Structured input: the fuzz bytes fill a MediaInfo, an Analysis, a Plan and a TranscodeSummary that
// keep the invariants the engine guarantees (keyframe and cut indices inside the frame table, finite
// durations, timestamps far from overflow), and arbitrary strings.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "report_json.hpp"

namespace {

std::string text(FuzzedDataProvider& in) {
  return in.ConsumeRandomLengthString(32);
}

// Durations, scores and costs as the engine measures them: finite, in milli-units up to 1e9, so that
// the ratios the writers compute (fps, speed) stay finite too.
double finite(FuzzedDataProvider& in) {
  return static_cast<double>(in.ConsumeIntegralInRange<std::int64_t>(-1'000'000'000'000, 1'000'000'000'000)) /
         1000;
}

pvt::MediaInfo media(FuzzedDataProvider& in) {
  pvt::MediaInfo info;
  info.path = text(in);
  info.container = text(in);
  info.container_duration_s = finite(in);
  for (int n = in.ConsumeIntegralInRange(0, 4); n > 0; --n)
    info.streams.push_back({in.ConsumeIntegral<int>(), text(in), text(in), text(in)});
  info.video_stream = in.ConsumeIntegral<int>();
  info.video_codec = text(in);
  info.pix_fmt = text(in);
  info.width = in.ConsumeIntegral<int>();
  info.height = in.ConsumeIntegral<int>();
  info.bit_depth = in.ConsumeIntegral<int>();
  // Timestamps as a demuxer gives them: nonzero time base, pts within +-2^40.
  info.time_base = {in.ConsumeIntegralInRange(1, 1 << 20), in.ConsumeIntegralInRange(1, 1 << 20)};
  info.frame_rate = {in.ConsumeIntegralInRange(0, 1 << 20), in.ConsumeIntegralInRange(1, 1 << 20)};
  info.variable_frame_rate = in.ConsumeBool();
  const int frames = in.ConsumeIntegralInRange(0, 64);
  std::int64_t pts = in.ConsumeIntegralInRange<std::int64_t>(-(1LL << 40), 1LL << 40);
  for (int i = 0; i < frames; ++i) {
    pvt::FrameEntry f;
    f.pts = pts;
    f.duration = in.ConsumeIntegralInRange<std::int64_t>(1, 1 << 16);
    f.dts = pts;
    f.size = in.ConsumeIntegral<std::int32_t>();
    f.keyframe = i == 0 || in.ConsumeBool();
    if (f.keyframe) info.keyframes.push_back(i);
    pts += f.duration;
    info.frames.push_back(f);
  }
  info.audio_stream = in.ConsumeIntegralInRange(-1, 8);
  info.audio_codec = text(in);
  info.audio_sample_rate = in.ConsumeIntegral<int>();
  info.audio_channels = in.ConsumeIntegral<int>();
  info.truncated = in.ConsumeBool();
  info.truncation_reason = text(in);
  return info;
}

pvt::Analysis analysis(FuzzedDataProvider& in, const pvt::MediaInfo& info) {
  pvt::Analysis a;
  for (std::size_t i = 0; i < info.frames.size(); ++i) {
    pvt::FrameStats f;
    f.scene_score = finite(in);
    f.spatial = finite(in);
    f.temporal = finite(in);
    f.decoded = in.ConsumeBool();
    f.mean_luma = finite(in);
    f.shifted_score = finite(in);
    f.excess_difference = finite(in);
    f.strong_change = finite(in);
    a.frames.push_back(f);
  }
  // Cuts of every kind, with a span around the cut (transitions) as the detector reports them.
  const int frames = static_cast<int>(info.frames.size());
  for (int i = 1; i < frames; ++i)
    if (in.ConsumeBool()) {
      pvt::SceneCut c;
      c.frame = i;
      c.score = finite(in);
      c.kind = static_cast<pvt::CutKind>(in.ConsumeIntegralInRange(0, 2));
      c.start_frame = c.kind == pvt::CutKind::kHard ? i : in.ConsumeIntegralInRange(0, i);
      c.end_frame = c.kind == pvt::CutKind::kHard ? i : in.ConsumeIntegralInRange(i, frames - 1);
      a.cuts.push_back(c);
    }
  // Scenes as summarize_scenes makes them: non-empty ranges of the frame table.
  for (int n = info.frames.empty() ? 0 : in.ConsumeIntegralInRange(0, 4); n > 0; --n) {
    const int frames = static_cast<int>(info.frames.size());
    const int start = in.ConsumeIntegralInRange(0, frames - 1);
    const int end = in.ConsumeIntegralInRange(start + 1, frames);
    a.scenes.push_back({start, end, finite(in), finite(in), finite(in), finite(in), finite(in)});
  }
  a.reduced_width = in.ConsumeIntegral<int>();
  a.reduced_height = in.ConsumeIntegral<int>();
  a.threads = in.ConsumeIntegral<int>();
  a.ranges = in.ConsumeIntegral<int>();
  a.seconds = finite(in);
  a.kernel = text(in);
  a.decoder = text(in);
  a.fallback = text(in);
  return a;
}

pvt::Plan plan(FuzzedDataProvider& in) {
  pvt::Plan p;
  for (int n = in.ConsumeIntegralInRange(0, 4); n > 0; --n) {
    pvt::Segment s;
    s.index = in.ConsumeIntegral<int>();
    s.start_frame = in.ConsumeIntegralInRange(0, 1 << 20);
    s.end_frame = s.start_frame + in.ConsumeIntegralInRange(1, 1 << 20);
    s.start_s = finite(in);
    s.duration_s = finite(in);
    s.cut_reason = text(in);
    s.seek_keyframe = in.ConsumeIntegralInRange(0, s.start_frame);
    s.cost = finite(in);
    s.bit_budget = in.ConsumeIntegral<std::int64_t>();
    if (in.ConsumeBool()) s.forced_keyframes.push_back(in.ConsumeIntegral<int>());
    p.segments.push_back(s);
  }
  p.target_s = finite(in);
  p.min_s = finite(in);
  p.max_s = finite(in);
  p.basis = text(in);
  return p;
}

pvt::TranscodeSummary summary(FuzzedDataProvider& in) {
  pvt::TranscodeSummary s;
  s.input = text(in);
  s.output = text(in);
  s.format = text(in);
  for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n) s.files.push_back(text(in));
  s.encoder = text(in);
  s.codec = text(in);
  s.plan_basis = text(in);
  s.analysis_backend = text(in);
  s.analysis_fallback = text(in);
  s.audio = text(in);
  s.frames = in.ConsumeIntegral<std::int64_t>();
  s.wall_s = finite(in);
  s.speed = finite(in);
  for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n) {
    pvt::SegmentReport r;
    r.index = in.ConsumeIntegral<int>();
    r.cut_reason = text(in);
    r.backend = text(in);
    r.fallback_from = text(in);
    r.fallback_reason = text(in);  // an encoder's own words
    r.analysis_kernel = text(in);
    r.duration_s = finite(in);
    r.encode_seconds = finite(in);
    s.segments.push_back(r);
  }
  return s;
}

// Strict serialisation (what the CLI prints), then the parser: same document back.
void check_round_trip(const nlohmann::json& j, const char* what) {
  std::string dumped;
  try {
    dumped = j.dump(2);
  } catch (const nlohmann::json::exception& e) {
    std::fprintf(stderr, "%s: %s\n", what, e.what());
    PVT_FUZZ_CHECK(false, "the report does not serialise");
  }
  PVT_FUZZ_CHECK(nlohmann::json::parse(dumped) == j, "the report changed through dump + parse");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const pvt::MediaInfo info = media(in);
  const pvt::Analysis a = analysis(in, info);
  const pvt::Plan p = plan(in);
  pvt::SceneDetectorOptions scenes;
  scenes.threshold = finite(in);
  scenes.min_scene_frames = in.ConsumeIntegral<int>();
  const bool per_frame = in.ConsumeBool();
  const nlohmann::json report = pvt::analysis_report_json(info, a, p, scenes, per_frame);
  PVT_FUZZ_CHECK(report.at("version") == pvt::kAnalysisReportVersion, "report without its version");
  PVT_FUZZ_CHECK(report.at("media").at("path").is_string(), "report without media.path");
  PVT_FUZZ_CHECK(report.at("plan").at("segments").size() == p.segments.size(), "plan segments lost");
  PVT_FUZZ_CHECK(report.at("scene_cuts").size() == a.cuts.size(), "scene cuts lost");
  PVT_FUZZ_CHECK(report.contains("frames") == per_frame, "per-frame data where not asked (or missing)");
  check_round_trip(report, "analysis report");

  const pvt::TranscodeSummary s = summary(in);
  const nlohmann::json sj = pvt::summary_json(s);
  PVT_FUZZ_CHECK(sj.at("version") == pvt::kSummaryVersion, "summary without its version");
  PVT_FUZZ_CHECK(sj.at("segments").size() == s.segments.size(), "summary segments lost");
  check_round_trip(sj, "job summary");
  return 0;
}
