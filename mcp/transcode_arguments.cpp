#include "transcode_arguments.hpp"
#include "ladder_plan.hpp"

#include <algorithm>

#include "job_settings.hpp"
#include "message_text.hpp"
#include "tool.hpp"
#include "video_encoder.hpp"

namespace pvt::mcp {

using nlohmann::json;

const std::vector<CliOnlyOption> kCliOnlyTranscodeOptions = {
    {"--json", "every tool result carries the summary as structuredContent"},
    {"--progress", "progress goes to the client as notifications/progress and task status"},
    {"--timeline", "the server draws every job's timeline itself (resource pvt://jobs/{job_id}/timeline)"},
    {"--keep-work", "job folders are the server's: kept while a job can be resumed, removed after success"},
    {"--resume", "an interrupted job is resumed by resume_job_id, or by the same call again"},
    {"--probe-cache", "the server keeps the probe cache inside its output directory"},
    {"--no-probe-cache", "the server keeps the probe cache inside its output directory"},
    {"--worker-timeout", "the operator's setting: how long a silent worker lives is not the model's choice"},
    {"--max-memory", "the operator's setting: the engine budgets the server machine's memory itself"},
    {"--slurm-partition", "the operator's cluster account: pvt-mcp --slurm-partition"},
    {"--slurm-account", "the operator's cluster account: pvt-mcp --slurm-account"},
    {"--slurm-time", "the operator's cluster account: pvt-mcp --slurm-time"},
    {"--slurm-extra", "the operator's cluster account: pvt-mcp --slurm-extra"},
};

namespace {

const std::vector<std::string> kPresets = {"ultrafast", "superfast", "veryfast", "faster",   "fast",
                                           "medium",    "slow",      "slower",   "veryslow", "placebo"};
const std::vector<std::string> kCodecs = {"h264", "hevc", "av1", "vp9"};
const std::vector<std::string> kAnalysis = {"auto", "index", "full"};
const std::vector<std::string> kAnalysisBackends = {"auto", "cpu", "cuda", "vulkan"};
const std::vector<std::string> kAudioModes = {"auto", "aac", "copy", "none"};
const std::vector<std::string> kTonemaps = {"hable", "mobius", "reinhard", "clip", "linear", "gamma", "off"};
const std::vector<std::string> kMetrics = {"ssim", "psnr", "vmaf"};
const std::vector<std::string> kPools = {"mean", "p5", "min"};
const std::vector<std::string> kExecutors = {"local", "slurm"};
const std::vector<std::string> kSegmentTypes = {"auto", "ts", "fmp4"};

json text(const char* type, std::string description) {
  return {{"type", type}, {"description", std::move(description)}};
}

json choice(const std::vector<std::string>& values, const std::string& fallback, std::string description) {
  return {
      {"type", "string"}, {"enum", values}, {"default", fallback}, {"description", std::move(description)}};
}

json range(const char* type, double min, double max, std::string description) {
  return {{"type", type}, {"minimum", min}, {"maximum", max}, {"description", std::move(description)}};
}

std::string reason_for(const MachineCapabilities& caps, const std::string& backend) {
  std::string why;
  for (const auto& e : caps.encoders)
    if (e.name == backend && !e.available) why = e.reason;
  return why;
}

json quality_properties() {
  return {
      {"target_quality",
       {{"type", "number"},
        {"exclusiveMinimum", 0},
        {"maximum", 100},
        {"description",
         "encode each segment to this quality instead of one crf: SSIM such as 0.98, PSNR in dB such as 42, "
         "VMAF such as 93 (when the server's FFmpeg has libvmaf); a CRF search per segment, the final score "
         "checked; excludes bitrate"}}},
      {"metric", choice(kMetrics, "ssim", "the target's metric")},
      {"quality_pool",
       choice(kPools, "mean", "how a segment's frame scores become one: mean, p5 (5th percentile), min")},
      {"crf_range",
       {{"type", "array"},
        {"items", {{"type", "number"}, {"minimum", 0}, {"maximum", 51}}},
        {"minItems", 2},
        {"maxItems", 2},
        {"description", "[lowest, highest] CRF the search may choose (default [10, 40])"}}},
      {"max_probes", range("integer", 1, 16, "probe encodes per segment at most (default 4)")},
      {"quality_tolerance",
       {{"type", "number"},
        {"exclusiveMinimum", 0},
        {"maximum", 10},
        {"description",
         "how far a segment's final score may miss the target before it is encoded again (default 0.002 "
         "SSIM, 0.2 dB PSNR, 1 VMAF)"}}},
      {"max_reencodes",
       range("integer", 0, 8, "final encodes a segment may redo when it misses (default 2)")},
  };
}

json segment_properties(const ServerConfig& config) {
  return {
      {"segment_duration",
       {{"type", "number"},
        {"minimum", 0.1},
        {"maximum", 3600},
        {"default", config.segment_duration},
        {"description", "target segment length in seconds"}}},
      {"min_segment", range("number", 0, 3600, "shortest segment in seconds (default: half the target)")},
      {"max_segment", range("number", 0, 3600, "longest segment in seconds (default: 1.5x the target)")},
      {"ladder",
       {{"type", "string"},
        {"pattern", "^(auto|[0-9]{1,4}(,[0-9]{1,4})*)$"},
        {"description",
         "HLS streaming ladder: rendition heights such as \"1080,720,480\" (rungs taller than the source are "
         "dropped) or \"auto\"; one decode feeds every rung, the output folder gets master.m3u8 and a media "
         "playlist per rung"}}},
      {"ladder_bitrates",
       {{"type", "string"},
        {"default", "auto"},
        {"description",
         "each rung's peak bitrate (capped CRF, x264/x265): auto (by height: 1080p 6M, 720p 3M, 480p 1.5M, "
         "360p 800k, 240p 400k), none (uncapped), or HEIGHT=RATE pairs such as \"720=2500k,480=1200k\""}}},
      {"segment_type", choice(kSegmentTypes, "auto",
                              "HLS media segments: ts, fmp4 (CMAF), auto (fmp4 for ladders and AV1/VP9)")},
      {"task_per_playlist_segment",
       {{"type", "boolean"},
        {"default", false},
        {"description",
         "HLS: one worker task per playlist segment instead of several in a row per task (slower; for "
         "comparisons)"}}},
      {"workers", range("integer", 1, config.max_workers > 0 ? config.max_workers : 256,
                        "worker processes (default: one per core, fewer if memory is short)")},
      {"threads_per_worker",
       range("integer", 1, 64, "encoder and decoder threads in each worker (default: cores / workers)")},
      {"hw_sessions",
       range("integer", 1, 64,
             "at most this many sessions per hardware encoder (default: all the probe opened)")},
      {"executor",
       choice(
           kExecutors, config.executor,
           "where the workers run: local processes, or a Slurm job array with the server's Slurm settings")},
  };
}

json analysis_properties(const ServerConfig& config) {
  return {
      {"lookahead",
       {{"type", "integer"},
        {"minimum", 0},
        {"maximum", 250},
        {"default", config.lookahead},
        {"description", "frames each worker decodes and analyses ahead of its encoder"}}},
      {"encoder_lookahead",
       range("integer", 0, 250,
             "the encoder's own rate-control look-ahead in frames (default: the preset's)")},
      {"preroll",
       range("integer", 0, 64,
             "frames each CPU segment encodes ahead of itself and drops so its rate control starts warm "
             "(default 4, 0: off)")},
      {"analysis",
       choice(kAnalysis, "auto",
              "plan from the demux index, from a full scene analysis first, or auto (full when NVDEC feeds "
              "the CUDA kernels)")},
      {"analysis_backend", choice(kAnalysisBackends, "auto", "kernels for the analysis and look-ahead")},
      {"scene_threshold", range("number", 0, 1, "scene-cut threshold (default 0.35)")},
      {"min_scene_frames", range("integer", 1, 100000, "shortest scene in frames (default 12)")},
  };
}

json track_properties() {
  return {
      {"audio", choice(kAudioModes, "auto", "auto (copy AAC, else encode AAC), aac, copy or none")},
      {"audio_bitrate",
       {{"type", "string"},
        {"pattern", "^[0-9]+(\\.[0-9]+)?[kKmMgG]?$"},
        {"description", "AAC bitrate such as 128k (default 128k stereo)"}}},
      {"audio_tracks",
       text("string", "which audio tracks: all (default), first, or languages such as eng,fra")},
      {"subtitles", text("string", "which subtitle tracks: all (default), none, or languages such as eng")},
      {"streams",
       {{"type", "array"},
        {"items", {{"type", "integer"}, {"minimum", 0}, {"maximum", 4095}}},
        {"maxItems", 64},
        {"description",
         "keep exactly these input streams beside the video, by index (analyze_video lists them); "
         "overrides audio_tracks and subtitles"}}},
      {"bit_depth",
       {{"type", "integer"},
        {"enum", {8, 10}},
        {"description",
         "output bit depth (default: hevc keeps the input's, h264 is 8-bit; h264 10 is High 10)"}}},
      {"tonemap", choice(kTonemaps, "hable", "HDR into 8-bit output: the tone curve; off refuses instead")},
  };
}

}  // namespace

std::vector<std::string> encoder_choices(const MachineCapabilities& caps, const ServerConfig& config) {
  std::vector<std::string> out{"auto"};
  const auto add = [&](const std::string& name) {
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (const auto& e : caps.encoders)
    if (e.available) add(e.name);
  add(config.encoder);
  return out;
}

json encoding_argument_schema(const ServerConfig& config, const std::vector<std::string>& encoders) {
  std::string usable;
  for (const auto& e : encoders) usable += (usable.empty() ? "" : ", ") + e;
  json p = {
      {"codec",
       choice(kCodecs, "h264",
              "video codec: h264, hevc (x265 on the CPU), av1 (SVT-AV1 unless encoder is aom or rav1e) or "
              "vp9 (libvpx); av1 and vp9 need format mp4, mkv or webm")},
      {"encoder",
       choice(encoders, config.encoder,
              "encoder backend; this machine's probe opened: " + usable +
                  " (auto: every hardware session found plus CPU workers; get_capabilities says why others "
                  "are missing)")},
      {"crf",
       range("number", 0, 51, "constant quality, lower is better and bigger (default 23); excludes bitrate")},
      {"bitrate",
       {{"type", "string"},
        {"pattern", "^[0-9]+(\\.[0-9]+)?[kKmMgG]?$"},
        {"description", "average video bitrate such as 2500k or 4M instead of crf"}}},
      {"preset",
       choice(kPresets, "medium", "encoder speed preset (x264/x265 names; hardware encoders map them)")},
  };
  p["crf"]["default"] = 23;
  for (const json& group :
       {quality_properties(), segment_properties(config), analysis_properties(config), track_properties()})
    p.update(group);
  return p;
}

const std::vector<std::string>& encoding_argument_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    const json schema = encoding_argument_schema(ServerConfig{}, {"auto"});
    for (const auto& item : schema.items()) n.push_back(item.key());
    return n;
  }();
  return names;
}

namespace {

void apply_quality(const ToolArgs& args, TranscodeOptions::Quality& q, bool with_bitrate) {
  const auto target = args.number("target_quality", 0, 100, true);
  const auto metric = args.one_of("metric", kMetrics);
  const auto pool = args.one_of("quality_pool", kPools);
  const auto range = args.numbers("crf_range", 0, 51, 2);
  const auto probes = args.integer("max_probes", 1, 16);
  const auto tolerance = args.number("quality_tolerance", 0, 10, true);
  const auto reencodes = args.integer("max_reencodes", 0, 8);
  if (target && with_bitrate) throw ToolError("Give either target_quality or bitrate, not both.");
  if ((metric || pool || range || probes || tolerance || reencodes) && !target)
    throw ToolError(
        "metric, quality_pool, crf_range, max_probes, quality_tolerance and max_reencodes need "
        "target_quality.");
  if (!target) return;
  if (range && (range->size() != 2 || (*range)[0] >= (*range)[1]))
    throw ToolError("The argument crf_range must be [lowest, highest] with lowest below highest.");
  q.target = *target;
  q.metric = metric.value_or(q.metric);
  q.pool = pool.value_or(q.pool);
  if (range) q.crf_lo = (*range)[0], q.crf_hi = (*range)[1];
  q.max_probes = probes.value_or(q.max_probes);
  q.tolerance = tolerance.value_or(q.tolerance);
  q.max_reencodes = reencodes.value_or(q.max_reencodes);
}

void apply_encoder(const ToolArgs& args, TranscodeOptions& o, const std::vector<std::string>& encoders,
                   const MachineCapabilities& caps) {
  const auto codec = args.one_of("codec", kCodecs);
  const auto asked = args.string("encoder");
  // An AV1/VP9 encoder implies its codec; x264/x265 and the hardware ones make what codec says.
  const std::string made = asked ? hw::codec_of_cpu_backend(*asked) : std::string();
  const std::string implied = made == "av1" || made == "vp9" ? made : std::string();
  if (codec && !implied.empty() && *codec != implied)
    throw ToolError("The encoder " + *asked + " makes " + implied + ", not " + *codec + ".");
  o.codec = codec ? *codec : !implied.empty() ? implied : o.codec;
  if (asked && std::find(encoders.begin(), encoders.end(), *asked) == encoders.end()) {
    std::string list;
    for (const auto& e : encoders) list += (list.empty() ? "" : ", ") + e;
    const std::string why = reason_for(caps, *asked);
    throw ToolError("The encoder '" + excerpt(*asked) + "' is not available on this machine" +
                    (why.empty() ? std::string() : " (" + why + ")") + "; choose one of " + list + ".");
  }
  if (asked) o.encoder = *asked;
  // The server's own --encoder may name a backend the probe could not open: say so now, not after a
  // queued job failed.
  if (o.encoder != "auto" && o.encoder != "x264" && o.encoder != "x265") {
    for (const auto& e : caps.encoders)
      if (e.name == o.encoder && e.available) return;
    const std::string why = reason_for(caps, o.encoder);
    throw ToolError("The encoder '" + o.encoder + "' is not available on this machine" +
                    (why.empty() ? std::string() : " (" + why + ")") +
                    "; pass encoder auto or x264, or start pvt-mcp with another --encoder.");
  }
}

void apply_segments(const ToolArgs& args, TranscodeOptions& o, const ServerConfig& config) {
  o.segment_duration = args.number("segment_duration", 0.1, 3600).value_or(o.segment_duration);
  o.min_segment = args.number("min_segment", 0, 3600).value_or(o.min_segment);
  o.max_segment = args.number("max_segment", 0, 3600).value_or(o.max_segment);
  if (o.min_segment > 0 && o.max_segment > 0 && o.min_segment > o.max_segment)
    throw ToolError("min_segment must not be longer than max_segment.");
  o.group_playlist = !args.boolean("task_per_playlist_segment").value_or(!o.group_playlist);
  if (const auto ladder = args.string("ladder")) {
    // The syntax now (the heights against the source once the job probes it).
    try {
      ladder_heights(*ladder, 1 << 20, nullptr);
    } catch (const Error& e) {
      throw ToolError(std::string(e.what()) + ".");
    }
    o.ladder = *ladder;
  }
  if (const auto rates = args.string("ladder_bitrates")) {
    try {
      check_ladder_bitrates(*rates);
    } catch (const Error& e) {
      throw ToolError(std::string(e.what()) + ".");
    }
    o.ladder_bitrates = *rates;
  }
  o.segment_type = args.one_of("segment_type", kSegmentTypes).value_or(o.segment_type);
  o.workers =
      args.integer("workers", 1, config.max_workers > 0 ? config.max_workers : 256).value_or(o.workers);
  o.threads_per_worker = args.integer("threads_per_worker", 1, 64).value_or(o.threads_per_worker);
  o.hw_sessions = args.integer("hw_sessions", 1, 64).value_or(o.hw_sessions);
  if (const auto executor = args.one_of("executor", kExecutors)) {
    ServerConfig chosen = config;
    chosen.executor = *executor;
    apply_executor(o, chosen);
  }
}

void apply_analysis(const ToolArgs& args, TranscodeOptions& o) {
  o.lookahead = args.integer("lookahead", 0, 250).value_or(o.lookahead);
  o.encoder_lookahead = args.integer("encoder_lookahead", 0, 250).value_or(o.encoder_lookahead);
  o.preroll = args.integer("preroll", 0, 64).value_or(o.preroll);
  o.analysis = args.one_of("analysis", kAnalysis).value_or(o.analysis);
  o.analysis_backend = args.one_of("analysis_backend", kAnalysisBackends).value_or(o.analysis_backend);
  o.scenes.threshold = args.number("scene_threshold", 0, 1).value_or(o.scenes.threshold);
  o.scenes.min_scene_frames = args.integer("min_scene_frames", 1, 100000).value_or(o.scenes.min_scene_frames);
}

// "all", "first", "none" or a comma list of 2-3 letter language codes.
std::string track_selection(const ToolArgs& args, const char* name, std::initializer_list<const char*> words,
                            const std::string& fallback) {
  const auto v = args.string(name);
  if (!v) return fallback;
  for (const char* w : words)
    if (*v == w) return *v;
  bool ok = !v->empty() && v->front() != ',' && v->back() != ',';
  std::size_t run = 0;
  for (const char c : *v) {
    run = c == ',' ? 0 : run + 1;
    ok = ok && (c == ',' || (c >= 'a' && c <= 'z')) && run <= 3;
  }
  if (!ok) {
    std::string list;
    for (const char* w : words) list += std::string(list.empty() ? "" : ", ") + w;
    throw ToolError(std::string("The argument ") + name + " must be " + list +
                    ", or language codes such as eng,fra.");
  }
  return *v;
}

void apply_tracks(const ToolArgs& args, TranscodeOptions& o) {
  if (const auto audio = args.one_of("audio", kAudioModes)) o.audio = parse_audio_mode(*audio);
  if (const auto rate = args.string("audio_bitrate")) o.audio_bitrate = parse_bitrate(*rate, "audio_bitrate");
  o.audio_tracks = track_selection(args, "audio_tracks", {"all", "first"}, o.audio_tracks);
  o.subtitles = track_selection(args, "subtitles", {"all", "none"}, o.subtitles);
  if (const auto streams = args.integers("streams", 0, 4095, 64)) o.streams = *streams;
  if (const auto depth = args.integer("bit_depth", 8, 10)) {
    if (*depth != 8 && *depth != 10) throw ToolError("The argument bit_depth must be 8 or 10.");
    o.bit_depth = *depth;
  }
  o.tonemap = args.one_of("tonemap", kTonemaps).value_or(o.tonemap);
}

}  // namespace

void apply_encoding_arguments(const ToolArgs& args, TranscodeOptions& o, const ServerConfig& config,
                              const std::vector<std::string>& encoders, const MachineCapabilities& caps) {
  const auto crf = args.number("crf", 0, 51);
  const auto bitrate = args.string("bitrate");
  if (crf && bitrate) throw ToolError("Give either crf or bitrate, not both.");
  o.crf = crf.value_or(o.crf);
  o.bitrate = bitrate ? parse_bitrate(*bitrate, "bitrate") : 0;
  o.preset = args.one_of("preset", kPresets).value_or(o.preset);
  apply_quality(args, o.quality, bitrate.has_value());
  apply_encoder(args, o, encoders, caps);
  apply_segments(args, o, config);
  apply_analysis(args, o);
  apply_tracks(args, o);
  // Slurm's nodes have no hardware sessions the server could probe (apply_executor).
  if (o.executor == "slurm" && o.encoder == "auto") o.encoder = "x264";
}

}  // namespace pvt::mcp
