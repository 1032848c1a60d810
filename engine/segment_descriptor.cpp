#include "segment_descriptor.hpp"

#include <fstream>
#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
#include "error.hpp"

namespace pvt {

using nlohmann::json;

void to_json(json& j, const EncoderSettings& e) {
  j = json{{"backend", e.backend},
           {"codec", e.codec},
           {"preset", e.preset},
           {"crf", e.crf},
           {"bitrate", e.bitrate},
           {"threads", e.threads},
           {"lookahead", e.lookahead},
           {"pix_fmt", e.pix_fmt},
           {"fallback_from", e.fallback_from}};
}

void from_json(const json& j, EncoderSettings& e) {
  j.at("backend").get_to(e.backend);
  j.at("codec").get_to(e.codec);
  j.at("preset").get_to(e.preset);
  j.at("crf").get_to(e.crf);
  j.at("bitrate").get_to(e.bitrate);
  j.at("threads").get_to(e.threads);
  j.at("lookahead").get_to(e.lookahead);
  j.at("pix_fmt").get_to(e.pix_fmt);
  j.at("fallback_from").get_to(e.fallback_from);
}

void to_json(json& j, const SegmentDescriptor& d) {
  j = json{{"version", d.version},
           {"job_id", d.job_id},
           {"segment", d.segment},
           {"input", d.input},
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
           {"bit_budget", d.bit_budget},
           {"output", d.output},
           {"stats", d.stats}};
}

void from_json(const json& j, SegmentDescriptor& d) {
  j.at("version").get_to(d.version);
  if (d.version != kDescriptorVersion)
    throw Error(ErrorCode::kUsage, "segment descriptor version " + std::to_string(d.version) +
                                       " is not supported (this pvt reads version " +
                                       std::to_string(kDescriptorVersion) + ")");
  j.at("job_id").get_to(d.job_id);
  j.at("segment").get_to(d.segment);
  j.at("input").get_to(d.input);
  j.at("video_stream").get_to(d.video_stream);
  j.at("start_frame").get_to(d.start_frame);
  j.at("end_frame").get_to(d.end_frame);
  j.at("start_pts").get_to(d.start_pts);
  j.at("end_pts").get_to(d.end_pts);
  d.time_base_num = j.at("time_base").at(0).get<int>();
  d.time_base_den = j.at("time_base").at(1).get<int>();
  j.at("seek_keyframe").get_to(d.seek_keyframe);
  j.at("seek_pts").get_to(d.seek_pts);
  j.at("seek_dts").get_to(d.seek_dts);
  d.frame_rate_num = j.at("frame_rate").at(0).get<int>();
  d.frame_rate_den = j.at("frame_rate").at(1).get<int>();
  j.at("encoder").get_to(d.encoder);
  j.at("forced_keyframes").get_to(d.forced_keyframes);
  j.at("lookahead_window").get_to(d.lookahead_window);
  j.at("detect_scenes").get_to(d.detect_scenes);
  j.at("scene_threshold").get_to(d.scene_threshold);
  j.at("min_scene_frames").get_to(d.min_scene_frames);
  j.at("analysis_backend").get_to(d.analysis_backend);
  j.at("bit_budget").get_to(d.bit_budget);
  j.at("output").get_to(d.output);
  j.at("stats").get_to(d.stats);
  if (d.end_frame <= d.start_frame || d.start_frame < 0 || d.seek_keyframe > d.start_frame ||
      d.time_base_num <= 0 || d.time_base_den <= 0 || d.end_pts <= d.start_pts || d.frame_rate_num <= 0 ||
      d.frame_rate_den <= 0)
    throw Error(ErrorCode::kUsage, "segment descriptor has an empty or inconsistent frame range");
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
           {"analysis_kernel", s.analysis_kernel}};
}

void from_json(const json& j, WorkerStats& s) {
  j.at("version").get_to(s.version);
  if (s.version != kWorkerStatsVersion)
    throw Error(ErrorCode::kInternal,
                "worker stats version " + std::to_string(s.version) + " is not supported");
  j.at("segment").get_to(s.segment);
  j.at("backend").get_to(s.backend);
  j.at("frames").get_to(s.frames);
  j.at("decoded_frames").get_to(s.decoded_frames);
  j.at("bytes").get_to(s.bytes);
  j.at("first_pts").get_to(s.first_pts);
  j.at("encode_seconds").get_to(s.encode_seconds);
  j.at("cpu_seconds").get_to(s.cpu_seconds);
  j.at("keyframes").get_to(s.keyframes);
  j.at("detected_cuts").get_to(s.detected_cuts);
  j.at("mean_spatial").get_to(s.mean_spatial);
  j.at("mean_temporal").get_to(s.mean_temporal);
  j.at("analysis_kernel").get_to(s.analysis_kernel);
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
