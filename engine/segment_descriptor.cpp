#include "segment_descriptor.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
#include "error.hpp"
#include "json_read.hpp"

namespace pvt {

using nlohmann::json;

using namespace json_read;

json path_json(const std::string& path) {
  try {
    (void)json(path).dump();  // throws for a string that is not valid UTF-8
    return path;
  } catch (const json::type_error&) {
    return json(std::vector<unsigned char>(path.begin(), path.end()));
  }
}

std::string path_from_json(const json& j, ErrorCode code) {
  if (j.is_string()) return j.get<std::string>();
  if (!j.is_array()) throw Error(code, "a path must be a string or an array of bytes, not " + value_text(j));
  std::string path;
  for (const json& b : j) {
    if (!b.is_number_unsigned() || b.get<std::uint64_t>() > 255)
      throw Error(code, "a path written as bytes must hold integers from 0 to 255, not " + value_text(b));
    path.push_back(static_cast<char>(b.get<std::uint64_t>()));
  }
  return path;
}

void to_json(json& j, const EncoderSettings& e) {
  j = json{{"backend", e.backend},     {"codec", e.codec},
           {"preset", e.preset},       {"crf", e.crf},
           {"bitrate", e.bitrate},     {"threads", e.threads},
           {"lookahead", e.lookahead}, {"preroll", e.preroll},
           {"pix_fmt", e.pix_fmt},     {"master_display", e.master_display},
           {"max_cll", e.max_cll},     {"fallback_from", e.fallback_from}};
  if (e.max_bitrate > 0) j["max_bitrate"] = e.max_bitrate;  // ladders only: older descriptors have none
}

void from_json(const json& j, EncoderSettings& e) {
  j.at("backend").get_to(e.backend);
  j.at("codec").get_to(e.codec);
  j.at("preset").get_to(e.preset);
  get_finite(j, "crf", e.crf, ErrorCode::kUsage);
  get_integer(j, "bitrate", e.bitrate, ErrorCode::kUsage);
  if (j.contains("max_bitrate")) get_integer(j, "max_bitrate", e.max_bitrate, ErrorCode::kUsage);
  get_integer(j, "threads", e.threads, ErrorCode::kUsage);
  get_integer(j, "lookahead", e.lookahead, ErrorCode::kUsage);
  get_integer(j, "preroll", e.preroll, ErrorCode::kUsage);
  j.at("pix_fmt").get_to(e.pix_fmt);
  j.at("master_display").get_to(e.master_display);
  j.at("max_cll").get_to(e.max_cll);
  j.at("fallback_from").get_to(e.fallback_from);
}

void to_json(json& j, const QualityProbe& p) {
  j = json{{"crf", p.crf}, {"score", p.score}, {"cached", p.cached}};
}

void from_json(const json& j, QualityProbe& p) {
  get_finite(j, "crf", p.crf, ErrorCode::kInput);
  get_finite(j, "score", p.score, ErrorCode::kInput);
  if (j.contains("cached")) j.at("cached").get_to(p.cached);
}

namespace {

json quality_target_json(const QualityTarget& q) {
  return json{{"metric", q.metric},
              {"target", q.target},
              {"pool", q.pool},
              {"crf_range", {q.crf_lo, q.crf_hi}},
              {"max_probes", q.max_probes},
              {"tolerance", q.tolerance},
              {"max_reencodes", q.max_reencodes},
              {"cache", path_json(q.cache)},
              {"probe_offsets", q.probe_offsets}};
}

QualityTarget quality_target_from(const json& j) {
  constexpr ErrorCode kBad = ErrorCode::kUsage;
  QualityTarget q;
  j.at("metric").get_to(q.metric);
  get_finite(j, "target", q.target, kBad);
  j.at("pool").get_to(q.pool);
  q.crf_lo = j.at("crf_range").at(0).get<double>();
  q.crf_hi = j.at("crf_range").at(1).get<double>();
  get_integer(j, "max_probes", q.max_probes, kBad);
  get_finite(j, "tolerance", q.tolerance, kBad);
  get_integer(j, "max_reencodes", q.max_reencodes, kBad);
  q.cache = path_from_json(j.at("cache"), kBad);
  if (j.contains("probe_offsets")) {
    for (const auto& v : j.at("probe_offsets")) {
      if (!v.is_number() || !std::isfinite(v.get<double>()))
        throw Error(kBad, "descriptor: quality.probe_offsets must hold finite numbers");
      q.probe_offsets.push_back(v.get<double>());
    }
  }
  return q;
}

}  // namespace

void to_json(json& j, const QualityResult& r) {
  j = json{{"metric", r.metric},
           {"pool", r.pool},
           {"target", r.target},
           {"crf", r.crf},
           {"score", r.score},
           {"predicted", r.predicted},
           {"first_score", r.first_score},
           {"probe_offset", r.probe_offset},
           {"probes", r.probes},
           {"probe_encodes", r.probe_encodes},
           {"final_encodes", r.final_encodes},
           {"within_tolerance", r.within_tolerance},
           {"limited_by_range", r.limited_by_range},
           {"limited_by_cap", r.limited_by_cap}};
}

void from_json(const json& j, QualityResult& r) {
  constexpr ErrorCode kBad = ErrorCode::kInternal;
  j.at("metric").get_to(r.metric);
  j.at("pool").get_to(r.pool);
  get_finite(j, "target", r.target, kBad);
  get_finite(j, "crf", r.crf, kBad);
  get_finite(j, "score", r.score, kBad);
  get_finite(j, "predicted", r.predicted, kBad);
  get_finite(j, "first_score", r.first_score, kBad);
  if (j.contains("probe_offset")) get_finite(j, "probe_offset", r.probe_offset, kBad);
  j.at("probes").get_to(r.probes);
  get_integer(j, "probe_encodes", r.probe_encodes, kBad);
  get_integer(j, "final_encodes", r.final_encodes, kBad);
  j.at("within_tolerance").get_to(r.within_tolerance);
  j.at("limited_by_range").get_to(r.limited_by_range);
  if (j.contains("limited_by_cap")) j.at("limited_by_cap").get_to(r.limited_by_cap);
}

namespace {

json ladder_json(const std::vector<LadderRung>& ladder) {
  json a = json::array();
  for (const auto& r : ladder) {
    a.push_back({{"height", r.height}, {"output", path_json(r.output)}, {"max_bitrate", r.max_bitrate}});
    if (r.crf >= 0) a.back()["crf"] = r.crf;
  }
  return a;
}

std::vector<LadderRung> ladder_from(const json& j) {
  constexpr ErrorCode kBad = ErrorCode::kUsage;
  std::vector<LadderRung> ladder;
  for (const auto& r : j) {
    LadderRung rung;
    get_integer(r, "height", rung.height, kBad);
    rung.output = path_from_json(r.at("output"), kBad);
    if (r.contains("max_bitrate")) get_integer(r, "max_bitrate", rung.max_bitrate, kBad);
    if (r.contains("crf")) get_finite(r, "crf", rung.crf, kBad);
    if (rung.height < 2) throw Error(kBad, "segment descriptor has a ladder rung without a height");
    ladder.push_back(std::move(rung));
  }
  return ladder;
}

json rung_stats_json(const std::vector<RungStats>& rungs) {
  json a = json::array();
  for (const auto& r : rungs) {
    a.push_back({{"width", r.width}, {"height", r.height}, {"frames", r.frames}, {"bytes", r.bytes}});
    if (!r.quality.metric.empty()) a.back()["quality"] = r.quality;
  }
  return a;
}

std::vector<RungStats> rung_stats_from(const json& j) {
  constexpr ErrorCode kBad = ErrorCode::kInternal;
  std::vector<RungStats> rungs;
  for (const auto& r : j) {
    RungStats s;
    get_integer(r, "width", s.width, kBad);
    get_integer(r, "height", s.height, kBad);
    get_integer(r, "frames", s.frames, kBad);
    get_integer(r, "bytes", s.bytes, kBad);
    if (r.contains("quality")) r.at("quality").get_to(s.quality);
    rungs.push_back(s);
  }
  return rungs;
}

}  // namespace

void to_json(json& j, const SegmentDescriptor& d) {
  j = json{{"version", d.version},
           {"job_id", d.job_id},
           {"segment", d.segment},
           {"input", path_json(d.input)},
           {"video_stream", d.video_stream},
           {"start_frame", d.start_frame},
           {"end_frame", d.end_frame},
           {"start_pts", d.start_pts},
           {"end_pts", d.end_pts},
           {"time_base", {d.time_base_num, d.time_base_den}},
           {"seek_keyframe", d.seek_keyframe},
           {"seek_pts", d.seek_pts},
           {"seek_dts", d.seek_dts},
           {"frame_rate", {d.frame_rate_num, d.frame_rate_den}},
           {"encoder", d.encoder},
           {"forced_keyframes", d.forced_keyframes},
           {"lookahead_window", d.lookahead_window},
           {"detect_scenes", d.detect_scenes},
           {"scene_threshold", d.scene_threshold},
           {"min_scene_frames", d.min_scene_frames},
           {"analysis_backend", d.analysis_backend},
           {"video_filter", d.video_filter},
           {"bit_budget", d.bit_budget},
           {"quality", d.quality.enabled() ? quality_target_json(d.quality) : json()},
           {"ladder", ladder_json(d.ladder)},
           {"output", path_json(d.output)},
           {"stats", path_json(d.stats)}};
}

void from_json(const json& j, SegmentDescriptor& d) {
  constexpr ErrorCode kBad = ErrorCode::kUsage;
  get_integer(j, "version", d.version, kBad);
  if (d.version != kDescriptorVersion)
    throw Error(kBad, "segment descriptor version " + std::to_string(d.version) +
                          " is not supported (this pvt reads version " + std::to_string(kDescriptorVersion) +
                          ")");
  j.at("job_id").get_to(d.job_id);
  get_integer(j, "segment", d.segment, kBad);
  d.input = path_from_json(j.at("input"), kBad);
  get_integer(j, "video_stream", d.video_stream, kBad);
  get_integer(j, "start_frame", d.start_frame, kBad);
  get_integer(j, "end_frame", d.end_frame, kBad);
  get_integer(j, "start_pts", d.start_pts, kBad);
  get_integer(j, "end_pts", d.end_pts, kBad);
  d.time_base_num = integer_value<int>(j.at("time_base").at(0), "time_base", kBad);
  d.time_base_den = integer_value<int>(j.at("time_base").at(1), "time_base", kBad);
  get_integer(j, "seek_keyframe", d.seek_keyframe, kBad);
  get_integer(j, "seek_pts", d.seek_pts, kBad);
  get_integer(j, "seek_dts", d.seek_dts, kBad);
  d.frame_rate_num = integer_value<int>(j.at("frame_rate").at(0), "frame_rate", kBad);
  d.frame_rate_den = integer_value<int>(j.at("frame_rate").at(1), "frame_rate", kBad);
  j.at("encoder").get_to(d.encoder);
  get_integers(j, "forced_keyframes", d.forced_keyframes, kBad);
  get_integer(j, "lookahead_window", d.lookahead_window, kBad);
  j.at("detect_scenes").get_to(d.detect_scenes);
  get_finite(j, "scene_threshold", d.scene_threshold, kBad);
  get_integer(j, "min_scene_frames", d.min_scene_frames, kBad);
  j.at("analysis_backend").get_to(d.analysis_backend);
  j.at("video_filter").get_to(d.video_filter);
  get_integer(j, "bit_budget", d.bit_budget, kBad);
  if (j.contains("quality") && !j.at("quality").is_null()) d.quality = quality_target_from(j.at("quality"));
  d.ladder = ladder_from(j.at("ladder"));
  d.output = path_from_json(j.at("output"), kBad);
  d.stats = path_from_json(j.at("stats"), kBad);
  if (d.end_frame <= d.start_frame || d.start_frame < 0 || d.seek_keyframe > d.start_frame ||
      d.time_base_num <= 0 || d.time_base_den <= 0 || d.end_pts <= d.start_pts || d.frame_rate_num <= 0 ||
      d.frame_rate_den <= 0)
    throw Error(kBad, "segment descriptor has an empty or inconsistent frame range");
}

void to_json(json& j, const WorkerStats& s) {
  j = json{{"version", s.version},
           {"segment", s.segment},
           {"backend", s.backend},
           {"frames", s.frames},
           {"decoded_frames", s.decoded_frames},
           {"bytes", s.bytes},
           {"first_pts", s.first_pts},
           {"encode_seconds", s.encode_seconds},
           {"cpu_seconds", s.cpu_seconds},
           {"keyframes", s.keyframes},
           {"detected_cuts", s.detected_cuts},
           {"mean_spatial", s.mean_spatial},
           {"mean_temporal", s.mean_temporal},
           {"analysis_kernel", s.analysis_kernel},
           {"worker_pid", s.worker_pid}};
  if (!s.quality.metric.empty()) j["quality"] = s.quality;
  if (!s.ladder.empty()) j["ladder"] = rung_stats_json(s.ladder);
}

void from_json(const json& j, WorkerStats& s) {
  constexpr ErrorCode kBad = ErrorCode::kInternal;
  get_integer(j, "version", s.version, kBad);
  if (s.version != kWorkerStatsVersion)
    throw Error(kBad, "worker stats version " + std::to_string(s.version) + " is not supported");
  get_integer(j, "segment", s.segment, kBad);
  j.at("backend").get_to(s.backend);
  get_integer(j, "frames", s.frames, kBad);
  get_integer(j, "decoded_frames", s.decoded_frames, kBad);
  get_integer(j, "bytes", s.bytes, kBad);
  get_integer(j, "first_pts", s.first_pts, kBad);
  get_finite(j, "encode_seconds", s.encode_seconds, kBad);
  get_finite(j, "cpu_seconds", s.cpu_seconds, kBad);
  get_integers(j, "keyframes", s.keyframes, kBad);
  get_integers(j, "detected_cuts", s.detected_cuts, kBad);
  get_finite(j, "mean_spatial", s.mean_spatial, kBad);
  get_finite(j, "mean_temporal", s.mean_temporal, kBad);
  j.at("analysis_kernel").get_to(s.analysis_kernel);
  get_integer(j, "worker_pid", s.worker_pid, ErrorCode::kInput);
  if (j.contains("quality")) j.at("quality").get_to(s.quality);
  if (j.contains("ladder")) s.ladder = rung_stats_from(j.at("ladder"));
}

namespace {

json read_json_file(const std::string& path, ErrorCode code) {
  std::ifstream in(path);
  if (!in) throw Error(code, path + ": cannot open");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw Error(code, path + ": invalid JSON (" + e.what() + ")");
  }
}

template <typename T>
T parse_as(const json& j, const std::string& path, ErrorCode code) {
  try {
    return j.get<T>();
  } catch (const json::exception& e) {
    throw Error(code, path + ": " + e.what());
  } catch (const Error& e) {
    throw Error(e.code(), path + ": " + e.what());  // from_json's own checks: name the file too
  }
}

}  // namespace

SegmentDescriptor read_descriptor(const std::string& path) {
  return parse_as<SegmentDescriptor>(read_json_file(path, ErrorCode::kUsage), path, ErrorCode::kUsage);
}

WorkerStats read_worker_stats(const std::string& path) {
  return parse_as<WorkerStats>(read_json_file(path, ErrorCode::kEncode), path, ErrorCode::kEncode);
}

void write_json_file(const std::string& path, const json& j) {
  write_file_atomically(path, j.dump(2) + "\n");
}

}  // namespace pvt
