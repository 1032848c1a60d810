#include "job_settings.hpp"

#include "server_config.hpp"

#include "error.hpp"
#include "tool.hpp"

namespace pvt::mcp {

namespace {

// A settings value, or the default when the state has none (an older state with fewer keys).
template <typename T>
T setting(const json& settings, const char* key, T fallback) {
  const auto it = settings.find(key);
  if (it == settings.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw ToolError(std::string("The interrupted job's state has an unreadable setting '") + key + "' (" +
                    it->dump() + "); start the job again with restart: true.");
  }
}

}  // namespace

json settings_json(const TranscodeOptions& o, const std::string& format) {
  return output_settings(o, format);
}

TranscodeOptions options_from_settings(const json& settings) {
  if (!settings.is_object())
    throw ToolError("The interrupted job's state has no settings; start the job again with restart: true.");
  TranscodeOptions o;
  o.format = setting(settings, "format", o.format);
  o.codec = setting(settings, "codec", o.codec);
  o.encoder = setting(settings, "encoder", o.encoder);
  o.preset = setting(settings, "preset", o.preset);
  o.crf = setting(settings, "crf", o.crf);
  o.bitrate = setting(settings, "bitrate", o.bitrate);
  o.segment_duration = setting(settings, "segment_duration", o.segment_duration);
  o.min_segment = setting(settings, "min_segment", o.min_segment);
  o.max_segment = setting(settings, "max_segment", o.max_segment);
  if (const auto tq = settings.find("target_quality"); tq != settings.end() && tq->is_object()) {
    auto& q = o.quality;
    q.target = setting(*tq, "target", q.target);
    q.metric = setting(*tq, "metric", q.metric);
    q.pool = setting(*tq, "pool", q.pool);
    q.tolerance = setting(*tq, "tolerance", q.tolerance);
    q.max_probes = setting(*tq, "max_probes", q.max_probes);
    if (const auto r = tq->find("crf_range"); r != tq->end() && r->is_array() && r->size() == 2) {
      q.crf_lo = (*r)[0].get<double>();
      q.crf_hi = (*r)[1].get<double>();
    }
  }
  o.ladder = setting(settings, "ladder", o.ladder);
  o.ladder_bitrates = setting(settings, "ladder_bitrates", o.ladder_bitrates);
  o.segment_type = setting(settings, "segment_type", o.segment_type);
  o.lookahead = setting(settings, "lookahead", o.lookahead);
  o.encoder_lookahead = setting(settings, "encoder_lookahead", o.encoder_lookahead);
  o.preroll = setting(settings, "preroll", o.preroll);
  o.analysis = setting(settings, "analysis", o.analysis);
  o.scenes.threshold = setting(settings, "scene_threshold", o.scenes.threshold);
  o.scenes.min_scene_frames = setting(settings, "min_scene_frames", o.scenes.min_scene_frames);
  const std::string audio = setting<std::string>(settings, "audio", audio_mode_name(o.audio));
  try {
    o.audio = parse_audio_mode(audio);
  } catch (const Error&) {
    throw ToolError("The interrupted job's state has an unknown audio setting '" + audio +
                    "'; start the job again with restart: true.");
  }
  o.audio_bitrate = setting(settings, "audio_bitrate", o.audio_bitrate);
  o.bit_depth = setting(settings, "bit_depth", o.bit_depth);
  o.tonemap = setting(settings, "tonemap", o.tonemap);
  o.audio_tracks = setting(settings, "audio_tracks", o.audio_tracks);
  o.subtitles = setting(settings, "subtitles", o.subtitles);
  o.streams = setting(settings, "streams", o.streams);
  return o;
}

void apply_executor(TranscodeOptions& o, const ServerConfig& c) {
  o.executor = c.executor;
  if (c.executor != "slurm") return;
  o.slurm.partition = c.slurm_partition;
  o.slurm.account = c.slurm_account;
  o.slurm.time_limit = c.slurm_time;
  o.slurm.extra = c.slurm_extra;
  if (o.encoder == "auto") o.encoder = "x264";
}

}  // namespace pvt::mcp
