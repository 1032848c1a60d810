#include "report_json.hpp"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
}

namespace pvt {

using nlohmann::json;

namespace {

// What the reports carry comes partly from the input (its path, container and stream names) and from
// encoders (fallback reasons), and none of it need be UTF-8: a Latin-1 file name is enough. JSON text
// must be, and a strict dump (`--json` on the CLI) throws on it, so invalid bytes become U+FFFD here,
// as the MCP server's writer does for its own replies.
json valid_text(json j) {
  if (j.is_string()) {
    try {
      (void)j.dump();
    } catch (const json::type_error&) {
      j = json::parse(j.dump(-1, ' ', false, json::error_handler_t::replace));
    }
  } else if (j.is_structured()) {
    for (auto& v : j) v = valid_text(std::move(v));
  }
  return j;
}

}  // namespace

json media_json(const MediaInfo& info) {
  json streams = json::array();
  for (const auto& s : info.streams)
    streams.push_back({{"index", s.index},
                       {"type", s.type},
                       {"codec", s.codec},
                       {"detail", s.detail},
                       {"language", s.language},
                       {"title", s.title},
                       {"default", (s.disposition & AV_DISPOSITION_DEFAULT) != 0},
                       {"forced", (s.disposition & AV_DISPOSITION_FORCED) != 0}});
  const VideoDisplay& d = info.display;
  auto name = [](const char* n) { return n ? json(n) : json(nullptr); };
  json kf = json::array();
  for (int k : info.keyframes)
    kf.push_back({{"frame", k}, {"time", info.seconds(info.frames[k].pts - info.start_pts())}});
  return {
      {"path", info.path},
      {"container", info.container},
      {"duration", info.video_duration_s()},
      {"streams", streams},
      {"video",
       {{"stream", info.video_stream},
        {"codec", info.video_codec},
        {"width", info.width},
        {"height", info.height},
        {"pix_fmt", info.pix_fmt},
        {"bit_depth", info.bit_depth},
        {"rotation", d.rotation},
        {"sample_aspect_ratio", d.sample_aspect_ratio.num > 0
                                    ? json{d.sample_aspect_ratio.num, d.sample_aspect_ratio.den}
                                    : json(nullptr)},
        {"color_primaries", name(av_color_primaries_name(static_cast<AVColorPrimaries>(d.color_primaries)))},
        {"color_transfer",
         name(av_color_transfer_name(static_cast<AVColorTransferCharacteristic>(d.color_trc)))},
        {"color_space", name(av_color_space_name(static_cast<AVColorSpace>(d.colorspace)))},
        {"color_range", name(av_color_range_name(static_cast<AVColorRange>(d.color_range)))},
        {"hdr", d.hdr()},
        {"mastering_display", d.master_display.empty() ? json(nullptr) : json(d.master_display)},
        {"max_cll", d.has_light_level ? json{d.max_cll, d.max_fall} : json(nullptr)},
        {"dolby_vision", d.dolby_vision},
        {"frames", info.frames.size()},
        {"frame_rate", av_q2d(info.frame_rate)},
        {"variable_frame_rate", info.variable_frame_rate},
        {"time_base", {info.time_base.num, info.time_base.den}}}},
      {"audio", info.audio_stream < 0 ? json(nullptr)
                                      : json{{"stream", info.audio_stream},
                                             {"codec", info.audio_codec},
                                             {"sample_rate", info.audio_sample_rate},
                                             {"channels", info.audio_channels}}},
      {"chapters", info.chapters},
      {"title", info.title},
      {"keyframes", kf},
      {"truncated", info.truncated}};
}

json plan_json(const Plan& plan) {
  json segs = json::array();
  for (const auto& s : plan.segments) {
    segs.push_back({{"index", s.index},
                    {"start_frame", s.start_frame},
                    {"frames", s.frame_count()},
                    {"start", s.start_s},
                    {"duration", s.duration_s},
                    {"starts_at", s.cut_reason},
                    {"seek_keyframe", s.seek_keyframe},
                    {"cost", s.cost},
                    {"content_cost", s.content_cost},
                    {"forced_keyframes", s.forced_keyframes},
                    {"playlist_segments", 1 + s.piece_starts.size()},
                    {"bit_budget", s.bit_budget}});
  }
  return {{"basis", plan.basis},
          {"target_duration", plan.target_s},
          {"min_duration", plan.min_s},
          {"max_duration", plan.max_s},
          {"paid_cuts", plan.paid_cuts},
          {"idr_cost_share", plan.idr_cost_share},
          {"segments", segs}};
}

json output_plan_json(const OutputPlan& p) {
  json streams = json::array();
  for (const auto& s : p.streams)
    streams.push_back({{"index", s.input},
                       {"type", s.type},
                       {"codec", s.codec},
                       {"action", s.action},
                       {"output_codec", s.action == "drop" ? json(nullptr) : json(s.output_codec)},
                       {"reason", s.reason},
                       {"language", s.language}});
  const VideoChoice& v = p.video;
  return {{"format", p.format},
          {"video",
           {{"pix_fmt", v.pix_fmt},
            {"bit_depth", v.bit_depth},
            {"rotation", v.rotation},
            {"rotation_kept_as", v.keep_matrix     ? "display matrix"
                                 : v.rotate_pixels ? "pixels"
                                                   : "none"},
            {"tonemap", v.tonemap},
            {"hdr_metadata", v.keep_hdr_metadata},
            {"displayed_width", v.displayed_width},
            {"displayed_height", v.displayed_height},
            {"filter", v.filter}}},
          {"streams", streams},
          {"chapters", p.chapters},
          {"global_metadata", p.global_metadata},
          {"warnings", p.warnings},
          {"notes", p.notes}};
}

json analysis_report_json(const MediaInfo& info, const Analysis& a, const Plan& plan,
                          const SceneDetectorOptions& scenes, bool per_frame, const OutputPlan* output) {
  json cuts = json::array();
  for (const auto& c : a.cuts)
    cuts.push_back({{"frame", c.frame},
                    {"time", info.seconds(info.frames[c.frame].pts - info.start_pts())},
                    {"score", c.score},
                    {"kind", cut_kind_name(c.kind)},
                    {"start_frame", c.start_frame},
                    {"end_frame", c.end_frame}});
  json sc = json::array();
  for (const auto& s : a.scenes)
    sc.push_back({{"start_frame", s.start_frame},
                  {"frames", s.end_frame - s.start_frame},
                  {"start", s.start_s},
                  {"duration", s.duration_s},
                  {"cut_score", s.cut_score},
                  {"spatial_complexity", s.mean_spatial},
                  {"temporal_complexity", s.mean_temporal}});
  json report = {{"version", kAnalysisReportVersion},
                 {"media", media_json(info)},
                 {"analysis",
                  {{"kernel", a.kernel},
                   {"decoder", a.decoder},
                   {"fallback", a.fallback.empty() ? json(nullptr) : json(a.fallback)},
                   {"reduced_width", a.reduced_width},
                   {"reduced_height", a.reduced_height},
                   {"threads", a.threads},
                   {"ranges", a.ranges},
                   {"seconds", a.seconds},
                   {"fps", a.seconds > 0 ? static_cast<double>(info.frames.size()) / a.seconds : 0.0},
                   {"scene_threshold", scenes.threshold},
                   {"min_scene_frames", scenes.min_scene_frames}}},
                 {"scene_cuts", cuts},
                 {"scenes", sc},
                 {"plan", plan_json(plan)}};
  if (output) report["output"] = output_plan_json(*output);
  if (per_frame) {
    json frames = json::array();
    for (std::size_t i = 0; i < a.frames.size(); ++i)
      frames.push_back({{"frame", i},
                        {"scene_score", a.frames[i].scene_score},
                        {"spatial", a.frames[i].spatial},
                        {"temporal", a.frames[i].temporal},
                        {"mean_luma", a.frames[i].mean_luma},
                        {"shifted_score", a.frames[i].shifted_score},
                        {"excess_difference", a.frames[i].excess_difference},
                        {"strong_change", a.frames[i].strong_change},
                        {"decoded", a.frames[i].decoded}});
    report["frames"] = frames;
  }
  return valid_text(std::move(report));
}

json tracks_json(const std::vector<TrackReport>& tracks) {
  json out = json::array();
  for (const auto& t : tracks) out.push_back({{"codec", t.codec}, {"language", t.language}});
  return out;
}

// Segments a failed hardware session sent to the CPU.
json fallback_segments(const TranscodeSummary& s) {
  json out = json::array();
  for (const auto& r : s.segments)
    if (!r.fallback_from.empty()) out.push_back(r.index);
  return out;
}

json quality_json(const QualitySummary& q) {
  if (q.metric.empty()) return nullptr;
  return {{"metric", q.metric},
          {"pool", q.pool},
          {"target", q.target},
          {"tolerance", q.tolerance},
          {"worst_score", q.worst_score},
          {"mean_score", q.mean_score},
          {"segments", q.segments},
          {"segments_within_tolerance", q.segments_within},
          {"segments_limited_by_crf_range", q.segments_limited},
          {"segments_limited_by_peak_cap", q.segments_capped},
          {"probe_encodes", q.probe_encodes},
          {"cached_probes", q.cached_probes},
          {"reencoded_segments", q.reencoded_segments},
          {"crf_range", {q.crf_min, q.crf_max}},
          {"fixed_crf_for_the_same_worst_segment", q.fixed_crf}};
}

// summary_json without the text check.
json renditions_json(const std::vector<TranscodeSummary::Rendition>& renditions) {
  json a = json::array();
  for (const auto& r : renditions)
    a.push_back({{"playlist", r.playlist},
                 {"width", r.width},
                 {"height", r.height},
                 {"bandwidth", r.bandwidth},
                 {"average_bandwidth", r.average_bandwidth},
                 {"codecs", r.codecs},
                 {"verified_frames", r.verified.video_frames},
                 {"verified_duration", r.verified.video_duration_s},
                 {"target_quality", quality_json(r.quality)}});
  return a;
}

json summary_fields(const TranscodeSummary& s) {
  json segs = json::array();
  for (const auto& r : s.segments)
    segs.push_back({{"index", r.index},
                    {"start_frame", r.start_frame},
                    {"frames", r.frames},
                    {"start", r.start_s},
                    {"duration", r.duration_s},
                    {"starts_at", r.cut_reason},
                    {"cost", r.cost},
                    {"content_cost", r.content_cost},
                    {"backend", r.backend},
                    {"attempts", r.attempts},
                    {"fallback_from", r.fallback_from.empty() ? json(nullptr) : json(r.fallback_from)},
                    {"fallback_reason", r.fallback_reason.empty() ? json(nullptr) : json(r.fallback_reason)},
                    {"encode_seconds", r.encode_seconds},
                    {"cpu_seconds", r.cpu_seconds},
                    {"speed", r.encode_seconds > 0 ? r.duration_s / r.encode_seconds : 0.0},
                    {"bytes", r.bytes},
                    {"target_bitrate", r.target_bitrate},
                    {"idr_frames", r.keyframes},
                    {"detected_cuts", r.detected_cuts},
                    {"cut_frames", r.cut_frames},
                    {"decoded_frames", r.decoded_frames},
                    {"analysis_kernel", r.analysis_kernel},
                    {"slot", r.slot},
                    {"worker_pid", r.worker_pid},
                    {"started", r.started_s},
                    {"finished", r.finished_s},
                    {"reused", r.reused},
                    {"peak_rss_bytes", r.peak_rss_bytes},
                    {"quality", r.quality.metric.empty() ? json() : json(r.quality)},
                    {"rendition_quality", r.rung_quality}});
  return {{"version", kSummaryVersion},
          {"input", s.input},
          {"output", s.output},
          {"format", s.format},
          {"files", s.files},
          {"frames", s.frames},
          {"duration", s.duration_s},
          {"wall_seconds", s.wall_s},
          {"speed", s.speed},
          {"fps", s.fps},
          {"workers", s.workers},
          {"encoder", s.encoder},
          {"codec", s.codec},
          {"hardware_sessions", s.hardware_sessions},
          {"fallback_segments", fallback_segments(s)},
          {"threads_per_worker", s.threads_per_worker},
          {"cores", s.cores},
          {"worker_cpu_seconds", s.worker_cpu_s},
          {"parallel_efficiency", s.parallel_efficiency},
          {"output_bytes", s.output_bytes},
          {"video_bitrate", s.video_bitrate},
          {"plan_basis", s.plan_basis},
          {"analysis_backend", s.analysis_backend},
          {"analysis_fallback", s.analysis_fallback.empty() ? json(nullptr) : json(s.analysis_fallback)},
          {"audio", s.audio},
          {"audio_tracks", s.audio_tracks},
          {"subtitle_tracks", s.subtitle_tracks},
          {"fidelity_warnings", s.fidelity_warnings},
          {"analyze_seconds", s.analyze_s},
          {"encode_seconds", s.encode_s},
          {"assemble_seconds", s.assemble_s},
          {"dts_repairs", s.dts_repairs},
          {"input_truncated", s.input_truncated},
          {"resumed", s.resumed},
          {"segments_reused", s.segments_reused},
          {"segments_encoded", s.segments_encoded},
          {"peak_worker_rss_bytes", s.peak_worker_rss_bytes},
          {"memory_budget_bytes", s.memory_budget},
          {"executor", s.executor},
          {"slurm_job_id", s.slurm_job_id.empty() ? json() : json(s.slurm_job_id)},
          {"max_concurrent_workers", s.max_concurrent_workers},
          {"memory_waits", s.memory_waits},
          {"target_quality", quality_json(s.quality)},
          {"renditions", renditions_json(s.renditions)},
          {"verified",
           {{"frames", s.verified.video_frames},
            {"duration", s.verified.video_duration_s},
            {"timestamps_monotonic", s.verified.dts_monotonic},
            {"audio", s.verified.has_audio},
            {"displayed_width", s.verified.displayed_width},
            {"displayed_height", s.verified.displayed_height},
            {"pix_fmt", s.verified.pix_fmt},
            {"bit_depth", s.verified.bit_depth},
            {"hdr_metadata", s.verified.hdr_metadata},
            {"audio_tracks", tracks_json(s.verified.audio_tracks)},
            {"subtitle_tracks", tracks_json(s.verified.subtitle_tracks)},
            {"chapters", s.verified.chapters},
            {"av_start_offset", s.verified.av_start_offset_s}}},
          {"segments", segs}};
}

json summary_json(const TranscodeSummary& s) {
  return valid_text(summary_fields(s));
}

}  // namespace pvt
