// `pvt transcode IN -o OUT`: the whole job, with progress on stderr and the summary on stdout.
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cancellation.hpp"
#include "commands.hpp"
#include "error.hpp"
#include "progress_display.hpp"
#include "rate_text.hpp"
#include "report_json.hpp"
#include "transcode_job.hpp"

namespace pvt::cli {

namespace {

volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  g_signal = sig;
  g_stop_requested = true;
  // A second signal ends the process at once.
  std::signal(sig, SIG_DFL);
}

struct TranscodeArgs {
  TranscodeOptions options;
  std::string bitrate;
  std::string audio = "auto";
  std::string audio_bitrate;
  std::string streams;
  std::string bit_depth = "auto";
  bool json = false;
  std::string progress = "auto";
  std::string max_memory;
  std::string slurm_extra;  // --slurm-extra, split at spaces into sbatch arguments
  std::string crf_range;    // --crf-range LO-HI
};

// "LO-HI" into the options' CRF range.
void parse_crf_range(const std::string& s, TranscodeOptions::Quality& q) {
  if (s.empty()) return;
  const auto dash = s.find('-');
  try {
    std::size_t used = 0;
    q.crf_lo = std::stod(s.substr(0, dash), &used);
    if (dash == std::string::npos || used != dash) throw std::invalid_argument(s);
    q.crf_hi = std::stod(s.substr(dash + 1), &used);
    if (used != s.size() - dash - 1) throw std::invalid_argument(s);
  } catch (const std::exception&) {
    throw Error(ErrorCode::kUsage, "--crf-range must be LO-HI, e.g. 18-36, not '" + s + "'");
  }
}

std::int64_t parse_bitrate(const std::string& s, const char* option) {
  if (s.empty()) return 0;
  const auto bits = parse_rate(s);
  if (!bits)
    throw Error(ErrorCode::kUsage,
                std::string(option) + " takes a rate such as 2500k or 4M, not '" + s + "'");
  return *bits;
}

std::int64_t parse_size(const std::string& s, const char* option) {
  if (s.empty()) return 0;
  const auto bytes = pvt::parse_size(s);
  if (!bytes)
    throw Error(ErrorCode::kUsage, std::string(option) + " takes a size such as 512M or 8G, not '" + s + "'");
  return *bytes;
}

// "1,3,4" -> {1, 3, 4}.
std::vector<int> parse_stream_list(const std::string& s) {
  std::vector<int> out;
  std::size_t start = 0;
  while (start < s.size()) {
    const auto comma = s.find(',', start);
    const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 6)
      throw Error(ErrorCode::kUsage, "--streams takes input stream indices such as 1,3, not '" + s + "'");
    out.push_back(std::stoi(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void print_summary(const TranscodeSummary& s) {
  const bool file = s.format != "hls";
  const int media_files = static_cast<int>(s.files.size()) - (file ? 0 : 1);
  std::string kind = s.format == "mp4"    ? "MP4"
                     : s.format == "mkv"  ? "Matroska"
                     : s.format == "webm" ? "WebM"
                     : s.output.size() > 4 && s.output.compare(s.output.size() - 4, 4, ".mpd") == 0 ? "DASH"
                                                                                                    : "HLS";
  std::printf("pvt: wrote %s (%s, %d %s, %.1f MB)\n", s.output.c_str(), kind.c_str(), file ? 1 : media_files,
              file ? "file" : "files", static_cast<double>(s.output_bytes) / 1e6);
  std::printf("  %lld frames, %.2f s of video in %.2f s: %.2fx real time, %.1f fps\n",
              static_cast<long long>(s.frames), s.duration_s, s.wall_s, s.speed, s.fps);
  std::printf(
      "  %zu segments on %d workers (x%d threads, %d cores), plan from %s, parallel efficiency %.2f\n",
      s.segments.size(), s.workers, s.threads_per_worker, s.cores, s.plan_basis.c_str(),
      s.parallel_efficiency);
  std::printf("  analysis kernels: %s%s\n", s.analysis_backend.c_str(),
              s.analysis_fallback.empty() ? "" : (" (" + s.analysis_fallback + ")").c_str());
  std::printf("  video %.0f kb/s, audio %s; verified %lld frames, %.3f s, timestamps %s\n",
              s.video_bitrate / 1000, s.audio.c_str(), static_cast<long long>(s.verified.video_frames),
              s.verified.video_duration_s, s.verified.dts_monotonic ? "monotonic" : "NOT monotonic");
  std::printf(
      "  encoder: %s, %s; %d-bit %s, %dx%d displayed; %d audio, %d subtitle track(s), %d chapter(s)\n",
      s.encoder.c_str(), s.codec.c_str(), s.verified.bit_depth, s.verified.pix_fmt.c_str(),
      s.verified.displayed_width, s.verified.displayed_height, s.audio_tracks, s.subtitle_tracks,
      s.verified.chapters);
  std::string fell;
  std::string why;
  for (const auto& seg : s.segments) {
    if (seg.fallback_from.empty()) continue;
    fell += (fell.empty() ? "" : ", ") + std::to_string(seg.index) + " (" + seg.fallback_from + ")";
    why = seg.fallback_reason;
  }
  if (!fell.empty())
    std::printf("  segments that fell back to the CPU: %s; last reason: %s\n", fell.c_str(), why.c_str());
  int retried = 0;
  for (const auto& seg : s.segments) retried += seg.attempts > 1 && seg.fallback_from.empty();
  if (retried) std::printf("  %d segment(s) needed a retry\n", retried);
  if (const QualitySummary& q = s.quality; !q.metric.empty())
    std::printf(
        "  target %s %g (%s): %d of %d segments within %g; worst %.4f, mean %.4f; CRF %.2f-%.2f "
        "(a fixed CRF needs %.2f); %d probe encodes, %d cached, %d segment(s) encoded again\n",
        q.metric.c_str(), q.target, q.pool.c_str(), q.segments_within, q.segments, q.tolerance, q.worst_score,
        q.mean_score, q.crf_min, q.crf_max, q.fixed_crf, q.probe_encodes, q.cached_probes,
        q.reencoded_segments);
  // A ladder: each rendition reaches the target on its own (the line above is its tallest rung's).
  for (const auto& r : s.renditions)
    if (const QualitySummary& q = r.quality; !q.metric.empty() && s.renditions.size() > 1)
      std::printf(
          "    %dp: %d of %d segments within; worst %.4f, mean %.4f; CRF %.2f-%.2f; %d probe encodes, "
          "%d cached, %d segment(s) encoded again%s\n",
          r.height, q.segments_within, q.segments, q.worst_score, q.mean_score, q.crf_min, q.crf_max,
          q.probe_encodes, q.cached_probes, q.reencoded_segments,
          q.segments_capped ? ("; " + std::to_string(q.segments_capped) +
                               " held below the target by the rung's peak cap (--ladder-bitrates)")
                                  .c_str()
                            : "");
  if (s.resumed)
    std::printf("  resumed: %d segment(s) reused from the interrupted run, %d encoded now\n",
                s.segments_reused, s.segments_encoded);
  if (s.peak_worker_rss_bytes > 0)
    std::printf("  peak worker memory %.0f MB (budget %.0f MB for all workers)\n",
                static_cast<double>(s.peak_worker_rss_bytes) / 1e6,
                static_cast<double>(s.memory_budget) / 1e6);
}

}  // namespace

Runner add_transcode_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("transcode", "Transcode a video in parallel segments to HLS or MP4");
  auto a = std::make_shared<TranscodeArgs>();
  auto& o = a->options;
  cmd->add_option("input", o.input, "video file")->required();
  cmd->add_option("-o,--output", o.output,
                  "output: a .mp4 file, a .m3u8 playlist, a .mpd manifest, or a directory for HLS (playlist "
                  "index.m3u8; master.m3u8 for a ladder) and DASH (manifest.mpd)")
      ->required();
  cmd->add_option("--format", o.format,
                  "hls, dash, hls+dash, mp4, mkv or webm (default: by the name: .mp4/.m4v/.mov, .mkv, .webm, "
                  ".mpd (dash); else hls). dash writes DIR/manifest.mpd over fMP4 (CMAF) segments, hls+dash "
                  "both manifests over the same segments")
      ->check(CLI::IsMember({"hls", "dash", "hls+dash", "mp4", "mkv", "webm"}));
  auto* crf = cmd->add_option("--crf", o.crf, "constant quality, 0-51 (default 23; x264/x265 take fractions)")
                  ->check(CLI::Range(0.0, 51.0));
  cmd->add_option(
      "--target-quality", o.quality.target,
      "encode each segment to this quality instead of one CRF (e.g. 0.98 SSIM, 42 dB PSNR, 93 VMAF): "
      "a CRF search per segment on probe encodes, the final score checked");
  cmd->add_option("--metric", o.quality.metric,
                  "the target's metric: ssim (default), psnr, or vmaf when FFmpeg has libvmaf");
  cmd->add_option("--quality-pool", o.quality.pool,
                  "how a segment's frame scores become one: mean (default), p5 (5th percentile), min");
  cmd->add_option("--crf-range", a->crf_range, "CRFs the search may choose, LO-HI (default 10-40)");
  cmd->add_option("--max-probes", o.quality.max_probes, "probe encodes per segment at most (default 4)");
  cmd->add_option(
      "--quality-tolerance", o.quality.tolerance,
      "how far a segment's final score may miss the target before it is encoded again (default 0.002 "
      "SSIM, 0.2 dB PSNR, 1 VMAF)");
  cmd->add_option("--max-reencodes", o.quality.max_reencodes,
                  "final encodes a segment may redo with a corrected CRF when it misses (default 2)");
  cmd->add_option("--probe-cache", o.quality.probe_cache,
                  "directory of the probe cache, reused by resumes and reruns (default "
                  "$XDG_CACHE_HOME/pvt/quality-probes)");
  cmd->add_flag("--no-probe-cache", o.quality.no_probe_cache, "measure every probe, keep none");
  cmd->add_option("--bitrate", a->bitrate, "target video bitrate (e.g. 2500k, 4M) instead of --crf")
      ->excludes(crf);
  cmd->add_option("--preset", o.preset,
                  "x264's preset names for every encoder (default medium), or an AV1/VP9 encoder's own speed "
                  "number (svtav1 -1..13, aom 0..8, rav1e 0..10, vpx -8..8)")
      ->check(CLI::IsMember({"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                             "slower", "veryslow", "placebo"}) |
              CLI::Range(-8, 13));
  cmd->add_option(
      "--encoder", o.encoder,
      "auto (every hardware session found plus CPU workers), x264, x265, svtav1, aom, rav1e, vpx, "
      "nvenc, vaapi, qsv"
#ifdef __APPLE__
      ", videotoolbox"
#endif
      " (default x264)");
  cmd->add_option(
         "--codec", o.codec,
         "h264, hevc, av1 or vp9 (on the CPU: x264, x265, svtav1 or --encoder aom/rav1e, vpx; default "
         "h264)")
      ->check(CLI::IsMember({"h264", "hevc", "av1", "vp9"}));
  cmd->add_option("--hw-sessions", o.hw_sessions,
                  "at most this many sessions per hardware encoder (default: every session the probe opened)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--workers", o.workers,
                  "worker processes (default: one per core, fewer if memory is short)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--threads-per-worker", o.threads_per_worker,
                  "encoder and decoder threads in each worker (default: cores / workers)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--segment-duration", o.segment_duration, "target segment length in seconds (default 10)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--min-segment", o.min_segment, "shortest segment in seconds (default: half the target)")
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--max-segment", o.max_segment, "longest segment in seconds (default: 1.5x the target)")
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option(
      "--ladder", o.ladder,
      "HLS streaming ladder: rendition heights, e.g. 1080,720,480 (a rung taller than the source "
      "is dropped), or auto (up to three of 1080/720/480/360/240, none above the source); one "
      "decode feeds every rung, their IDRs fall on the same frames, and OUT/master.m3u8 names them");
  cmd->add_option("--ladder-bitrates", o.ladder_bitrates,
                  "each rung's peak bitrate (capped CRF: x264/x265 VBV maxrate, a 2 s buffer): auto (by "
                  "height: 1080p 6M, 720p 3M, 480p 1.5M, 360p 800k, 240p 400k, others by pixel count; HEVC "
                  "65 %), none (uncapped CRF), or HEIGHT=RATE pairs such as 720=2500k,480=1200k (default "
                  "auto)");
  cmd->add_option("--segment-type", o.segment_type,
                  "HLS media segments: ts, fmp4 (CMAF: an init segment + .m4s), or auto (fmp4 for "
                  "ladders and AV1/VP9, else ts)")
      ->check(CLI::IsMember({"auto", "ts", "fmp4"}));
  cmd->add_flag("!--task-per-playlist-segment", o.group_playlist,
                "HLS: one worker task per playlist segment (default: several in a row per task, an IDR at "
                "each boundary, so short segments do not each pay a worker's start-up)");
  cmd->add_option("--lookahead", o.lookahead,
                  "frames each worker decodes and analyses ahead of its encoder (default 40)")
      ->check(CLI::Range(0, 250));
  cmd->add_option(
         "--encoder-lookahead", o.encoder_lookahead,
         "the encoder's own rate-control look-ahead in frames (x264 rc-lookahead; default: the preset's)")
      ->check(CLI::Range(0, 250));
  cmd->add_option("--preroll", o.preroll,
                  "frames each CPU segment encodes ahead of itself and drops, so its rate control starts "
                  "warm as in one single encode (constant quality only; one frame in 60 of the segment, "
                  "at least 2, at most this; default 4, 0: off)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--analysis", o.analysis,
                  "plan from the demux index (index), from a full scene analysis first (full), or auto "
                  "(default: full when NVDEC feeds the CUDA kernels, else index)")
      ->check(CLI::IsMember({"auto", "index", "full"}));
  cmd->add_option("--analysis-backend", o.analysis_backend,
                  "kernels for the analysis and the workers' look-ahead: auto (CUDA with NVDEC, else a "
                  "Vulkan GPU, else CPU), cpu, cuda, vulkan")
      ->check(CLI::IsMember({"auto", "cpu", "cuda", "vulkan"}));
  cmd->add_option("--scene-threshold", o.scenes.threshold, "scene-cut threshold, 0-1 (default 0.35)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-scene-frames", o.scenes.min_scene_frames, "shortest scene in frames (default 12)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--audio", a->audio, "auto (copy AAC, else encode AAC), aac, copy or none (default auto)")
      ->check(CLI::IsMember({"auto", "aac", "copy", "none"}));
  cmd->add_option("--audio-bitrate", a->audio_bitrate, "AAC bitrate (default 128k stereo)");
  cmd->add_option("--audio-tracks", o.audio_tracks,
                  "which audio tracks: all, first, or languages such as eng,fra (default all)");
  cmd->add_option("--subtitles", o.subtitles, "which subtitle tracks: all, none, or languages (default all)");
  cmd->add_option("--streams", a->streams,
                  "keep exactly these input streams beside the video, by index (e.g. 1,3); overrides "
                  "--audio-tracks and --subtitles");
  cmd->add_option("--bit-depth", a->bit_depth,
                  "auto (hevc keeps the input's depth, h264 is 8-bit), 8 or 10 (h264 10: High 10)")
      ->check(CLI::IsMember({"auto", "8", "10"}));
  cmd->add_option("--tonemap", o.tonemap,
                  "HDR into 8-bit output: hable, mobius, reinhard, clip, linear, gamma (default hable); off "
                  "refuses instead")
      ->check(CLI::IsMember({"hable", "mobius", "reinhard", "clip", "linear", "gamma", "off"}));
  cmd->add_flag("-y,--overwrite", o.overwrite, "replace an existing output");
  cmd->add_flag("--keep-work", o.keep_work_dir,
                "keep the job folder (.NAME.pvt-job: state, segments, descriptors, logs) after success");
  auto* resume = cmd->add_flag("--resume", o.resume,
                               "resume an interrupted job (also done without this flag when its folder is "
                               "found); fail if there is none");
  cmd->add_flag("--restart", o.restart, "discard an interrupted job's finished segments and start over")
      ->excludes(resume);
  cmd->add_option(
         "--worker-timeout", o.worker_timeout_s,
         "kill and retry a worker that makes no progress for this many seconds (default 120, 0: never)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--executor", o.executor,
                  "where the workers run: local (processes here) or slurm (one job array; the output folder, "
                  "the input and pvt must be at the same paths on every node)")
      ->check(CLI::IsMember({"local", "slurm"}));
  cmd->add_option("--slurm-partition", o.slurm.partition,
                  "Slurm partition for the array (default: the cluster's)");
  cmd->add_option("--slurm-account", o.slurm.account, "Slurm account to charge");
  cmd->add_option("--slurm-time", o.slurm.time_limit,
                  "time limit per task, sbatch syntax (e.g. 30, 1:00:00)");
  cmd->add_option("--slurm-extra", a->slurm_extra,
                  "more sbatch arguments, split at spaces (e.g. \"--qos=low --constraint=avx2\")");
  cmd->add_option("--max-memory", a->max_memory,
                  "memory all workers may use at once, e.g. 4G (default: half the available memory)");
  cmd->add_flag("--json", a->json, "print the job summary as JSON");
  cmd->add_option("--timeline", o.timeline_svg,
                  "draw each worker's segments over time into this SVG file (the same data is in --json)");
  cmd->add_option("--progress", a->progress, "progress on stderr: auto (bar on a terminal), bar, json, none");
  return [a] {
    TranscodeOptions opts = a->options;
    opts.bitrate = parse_bitrate(a->bitrate, "--bitrate");
    opts.audio_bitrate = parse_bitrate(a->audio_bitrate, "--audio-bitrate");
    opts.audio = parse_audio_mode(a->audio);
    opts.max_memory = parse_size(a->max_memory, "--max-memory");
    parse_crf_range(a->crf_range, opts.quality);
    std::istringstream extra(a->slurm_extra);
    for (std::string arg; extra >> arg;) opts.slurm.extra.push_back(arg);
    opts.bit_depth = a->bit_depth == "auto" ? 0 : std::stoi(a->bit_depth);
    opts.streams = parse_stream_list(a->streams);
    ProgressDisplay display(parse_progress_mode(a->progress));
    std::signal(SIGINT, on_signal);
    std::signal(SIGPIPE, SIG_IGN);  // a worker that died shows up as EPIPE on its input pipe, not a kill
    std::signal(SIGTERM, on_signal);
    opts.note = [&](const std::string& line) { display.note(line); };
    TranscodeSummary summary;
    SavedJob saved;
    try {
      summary = transcode(
          opts, [&](const JobProgress& p) { display.update(p); },
          [&](const std::string& w) { display.warn(w); }, &saved);
    } catch (const Error& e) {
      display.finish();
      if (e.code() == ErrorCode::kInterrupted || g_signal) {
        if (saved.dir.empty())
          std::fprintf(stderr, "pvt: interrupted; no output was written\n");
        else
          std::fprintf(stderr,
                       "pvt: interrupted; %d of %d segments are finished and kept in %s: run the same "
                       "command again to resume\n",
                       saved.segments_done, saved.segments_total, saved.dir.c_str());
        return g_signal == SIGTERM ? 143 : 130;
      }
      throw;
    }
    display.finish();
    if (a->json)
      std::printf("%s\n", summary_json(summary).dump(2).c_str());
    else
      print_summary(summary);
    return 0;
  };
}

}  // namespace pvt::cli
