#include "job_options.hpp"

#include <cmath>

#include "analysis_backend.hpp"
#include "error.hpp"
#include "ladder_plan.hpp"
#include "quality_options.hpp"

namespace pvt {

namespace {

void check_ladder_options(const TranscodeOptions& o) {
  if (o.segment_type != "auto" && o.segment_type != "ts" && o.segment_type != "fmp4")
    throw Error(ErrorCode::kUsage, "--segment-type must be ts, fmp4 or auto");
  if (o.segment_type == "ts" && (o.codec == "av1" || o.codec == "vp9"))
    throw Error(ErrorCode::kUsage, "--segment-type ts cannot carry " + o.codec + "; use fmp4");
  check_ladder_bitrates(o.ladder_bitrates);
  if (o.ladder.empty()) {
    if (o.ladder_bitrates != "auto") throw Error(ErrorCode::kUsage, "--ladder-bitrates needs --ladder");
    return;
  }
  if (o.bitrate > 0)
    throw Error(ErrorCode::kUsage, "--ladder with --bitrate is not supported yet; give --crf");
}

}  // namespace

EncoderChoice check_options(const TranscodeOptions& o) {
  if (o.crf < 0 || o.crf > 51) throw Error(ErrorCode::kUsage, "--crf must be between 0 and 51");
  if (o.bitrate < 0) throw Error(ErrorCode::kUsage, "--bitrate must be positive");
  check_quality_options(o);
  if (o.lookahead < 0 || o.lookahead > 250)
    throw Error(ErrorCode::kUsage, "--lookahead must be between 0 and 250");
  if (o.encoder_lookahead > 250) throw Error(ErrorCode::kUsage, "--encoder-lookahead must be at most 250");
  if (o.preroll < 0 || o.preroll > 64) throw Error(ErrorCode::kUsage, "--preroll must be between 0 and 64");
  if (o.worker_timeout_s < 0) throw Error(ErrorCode::kUsage, "--worker-timeout must not be negative");
  if (o.max_memory < 0) throw Error(ErrorCode::kUsage, "--max-memory must not be negative");
  if (o.resume && o.restart) throw Error(ErrorCode::kUsage, "--resume and --restart exclude each other");
  if (o.executor != "local" && o.executor != "slurm")
    throw Error(ErrorCode::kUsage, "--executor must be local or slurm");
  const SlurmOptions& sl = o.slurm;
  if (o.executor != "slurm" &&
      (!sl.partition.empty() || !sl.account.empty() || !sl.time_limit.empty() || !sl.extra.empty()))
    throw Error(ErrorCode::kUsage, "the --slurm-* options need --executor slurm");
  EncoderChoice encoders = o.executor == "slurm" ? cluster_encoders(o.encoder, o.codec)
                                                 : choose_encoders(o.encoder, o.codec, o.hw_sessions);
  if (o.analysis != "auto" && o.analysis != "index" && o.analysis != "full")
    throw Error(ErrorCode::kUsage, "--analysis must be auto, index or full");
  validate_analysis_backend(o.analysis_backend);
  check_ladder_options(o);
  return encoders;
}

OutputChoices output_choices(const TranscodeOptions& o, const std::string& format) {
  OutputChoices c;
  c.format = format;
  c.codec = o.codec;
  c.bit_depth = o.bit_depth;
  c.tonemap = o.tonemap;
  c.audio = o.audio;
  c.audio_tracks = o.audio_tracks;
  c.subtitles = o.subtitles;
  c.streams = o.streams;
  return c;
}

// The options that shape the output: a resumed job must be run with the same ones. Worker and thread
// counts, kernels and progress are not among them (they change how fast, not what).
nlohmann::json output_settings(const TranscodeOptions& o, const std::string& format) {
  using nlohmann::json;
  json s{{"format", format},
         {"codec", o.codec},
         {"encoder", o.encoder},
         {"preset", o.preset},
         // A whole CRF stays an integer in job.json ("crf 23 -> 30" in a refusal, as before).
         {"crf", o.bitrate > 0                ? json()
                 : o.crf == std::floor(o.crf) ? json(static_cast<int>(o.crf))
                                              : json(o.crf)},
         {"bitrate", o.bitrate},
         {"segment_duration", o.segment_duration},
         {"min_segment", o.min_segment},
         {"max_segment", o.max_segment},
         {"target_quality", o.quality.target > 0 ? json{{"metric", o.quality.metric},
                                                        {"target", o.quality.target},
                                                        {"pool", o.quality.pool},
                                                        {"tolerance", quality_tolerance(o.quality)},
                                                        {"crf_range", {o.quality.crf_lo, o.quality.crf_hi}},
                                                        {"max_probes", o.quality.max_probes}}
                                                 : json()},
         {"lookahead", o.lookahead},
         {"encoder_lookahead", o.encoder_lookahead},
         {"preroll", o.preroll},
         {"analysis", o.analysis},
         {"scene_threshold", o.scenes.threshold},
         {"min_scene_frames", o.scenes.min_scene_frames},
         {"audio", audio_mode_name(o.audio)},
         {"audio_bitrate", o.audio_bitrate},
         {"bit_depth", o.bit_depth},
         {"tonemap", o.tonemap},
         {"audio_tracks", o.audio_tracks},
         {"subtitles", o.subtitles},
         {"streams", o.streams}};
  // Only when used, so the job folders of earlier versions (which had neither) still resume.
  if (!o.ladder.empty()) {
    s["ladder"] = o.ladder;
    s["ladder_bitrates"] = o.ladder_bitrates;
  }
  if (o.segment_type != "auto") s["segment_type"] = o.segment_type;
  return s;
}

}  // namespace pvt
