// `pvt transcode`: probe -> (analyze) -> plan -> workers -> assemble -> verify -> rename into place.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audio_track.hpp"
#include "scene_detector.hpp"
#include "segment_descriptor.hpp"
#include "segment_plan.hpp"
#include "verify_output.hpp"

namespace pvt {

// Where the segments' workers run (executor.hpp): "local" (a pool of processes here) or "slurm" (a job
// array on a cluster the user already runs; the job folder must be on storage every node sees).
struct SlurmOptions {
  std::string partition;           // empty: the cluster's default
  std::string account;             // empty: the user's default
  std::string time_limit;          // per task, sbatch --time syntax ("30", "1:00:00"); empty: the partition's
  std::vector<std::string> extra;  // more sbatch arguments, one element each (no shell)
};

struct TranscodeOptions {
  std::string input;
  std::string output;
  std::string
      format;  // hls, mp4, mkv or webm; empty: by the output's name (.mp4/.m4v/.mov, .mkv, .webm), else hls
  double crf = 23;           // fractional CRFs are x264/x265's own; hardware encoders round
  std::int64_t bitrate = 0;  // video bits/s; 0: constant quality (crf)
  std::string preset = "medium";
  std::string encoder = "x264";  // auto, x264, nvenc, vaapi, qsv, videotoolbox
  std::string codec = "h264";    // h264 or hevc (x265 on the CPU)
  int hw_sessions = 0;           // cap on the sessions of each hardware encoder; 0: all the probe opened
  int workers = 0;               // 0: one per core, fewer if memory is short
  int threads_per_worker = 0;    // encoder/decoder threads in each worker; 0: cores / workers
  double segment_duration = 10;
  double min_segment = 0;  // 0: half the target
  double max_segment = 0;  // 0: 1.5 x the target
  // Target quality (quality_segment.hpp): target 0 is off (--crf then).
  struct Quality {
    double target = 0;
    std::string metric = "ssim";      // ssim, psnr, vmaf (when the FFmpeg build has libvmaf)
    std::string pool = "mean";        // mean, p5, min
    double crf_lo = -1, crf_hi = -1;  // -1: the encoder's default range
    int max_probes = 4;
    double tolerance = -1;  // -1: 0.002 SSIM, 0.2 dB PSNR, 1 VMAF
    int max_reencodes = 2;
    std::string probe_cache;  // directory of the probe cache; empty: $XDG_CACHE_HOME/pvt/quality-probes
    bool no_probe_cache = false;
  } quality;
  // Streaming ladder (HLS only): "" off, "auto", or heights "1080,720,480" (ladder_plan.hpp).
  std::string ladder;
  // Each rung's peak bitrate: auto (by height, ladder_plan.hpp), none, or HEIGHT=RATE pairs.
  std::string ladder_bitrates = "auto";
  std::string segment_type = "auto";  // HLS media segments: ts, fmp4 (CMAF), auto (fmp4 for AV1 and VP9)
  // HLS: several playlist segments per worker task (segment_grouping.hpp); false: a task each, as before.
  bool group_playlist = true;
  int lookahead = 40;             // frames each worker decodes and analyses ahead of its encoder
  int encoder_lookahead = -1;     // x264's rc-lookahead; -1: the preset's own (10 at veryfast, 40 at medium)
  int preroll = 4;                // frames each CPU segment encodes and drops first (see EncoderSettings)
  std::string analysis = "auto";  // "index", "full", or "auto" (full when NVDEC feeds the CUDA kernels)
  std::string analysis_backend = "auto";  // kernels for the analysis and the workers: auto, cpu, cuda, vulkan
  SceneDetectorOptions scenes;
  AudioMode audio = AudioMode::kAuto;
  std::int64_t audio_bitrate = 0;
  // Fidelity choices (output_plan.hpp): what the output keeps and what it converts on purpose.
  int bit_depth = 0;                 // 0: auto (hevc keeps the input's, h264 8-bit); 8 or 10
  std::string tonemap = "hable";     // HDR into 8 bits: the tone curve; "off" refuses instead
  std::string audio_tracks = "all";  // all, first, or languages "eng,fra"
  std::string subtitles = "all";     // all, none, or languages
  std::vector<int> streams;          // non-empty: exactly these input streams beside the video
  bool overwrite = false;
  bool keep_work_dir = false;
  // Job state (job_dir.hpp): a job whose folder is found beside the output resumes from it when the
  // input and settings match, and is refused (saying why) when they do not. resume: fail when there is
  // nothing to resume; restart: discard what is there and start over.
  bool resume = false;
  bool restart = false;
  int max_attempts = 2;            // a failed segment is retried once
  std::string executor = "local";  // local or slurm
  SlurmOptions slurm;
  double worker_timeout_s = 120;  // a worker with no progress for this long is killed and retried; 0: never
  std::int64_t max_memory = 0;    // bytes all workers may use at once; 0: half the available memory
  std::string timeline_svg;       // non-empty: draw each worker's segments over time into this SVG file
  // Set to true (from any thread) to cancel: workers are killed, temporary output removed, and
  // transcode throws Error(kInterrupted). Null: only SIGINT/SIGTERM (g_stop_requested) cancel.
  // A cancel through this flag also discards the job state (the user asked for the job to go away);
  // SIGINT/SIGTERM keep it for a resume.
  const std::atomic<bool>* cancel = nullptr;
  // Informational lines ("resuming the interrupted job: ..."); may be empty.
  std::function<void(const std::string&)> note;
};

// What is left on disk when a job ends without success: the job folder, to resume from.
struct SavedJob {
  std::string dir;  // empty: nothing kept
  int segments_done = 0;
  int segments_total = 0;
};

struct JobProgress {
  std::string stage;  // "probe", "analyze", "encode", "assemble", "verify"
  std::int64_t frames_done = 0;
  std::int64_t frames_total = 0;
  double elapsed_s = 0;
  double media_duration_s = 0;  // of the whole input
  int segments_done = 0;
  int segments_total = 0;
  // A cluster executor's view: its job (the first Slurm array) and its unfinished tasks by state
  // (PENDING, RUNNING, ...); empty when the workers run here.
  std::string cluster_job_id;
  std::map<std::string, int> cluster_tasks;
  // Target quality: each finished segment's CRF and score, by segment index.
  struct SegmentQuality {
    double crf = 0, score = 0;
  };
  std::map<int, SegmentQuality> segment_quality;
};

struct SegmentReport {
  int index = 0;
  int start_frame = 0;
  int frames = 0;
  double start_s = 0;
  double duration_s = 0;
  std::string cut_reason;
  double cost = 0, content_cost = 0;  // the plan's estimate (Segment::cost, Segment::content_cost)
  std::string backend;                // what encoded it (the worker's encoder, after any fallback)
  int attempts = 0;
  std::string fallback_from;    // the hardware backend whose session failed; empty: none
  std::string fallback_reason;  // why
  double encode_seconds = 0;
  double cpu_seconds = 0;
  std::int64_t bytes = 0;
  std::int64_t target_bitrate = 0;
  int keyframes = 0;
  int detected_cuts = 0;
  std::vector<int> cut_frames;  // the frames of those cuts (the worker forced a keyframe at each)
  std::int64_t decoded_frames = 0;
  std::string analysis_kernel;  // what measured the worker's window
  bool reused = false;          // finished by an earlier run of the job (resume), checksum verified
  std::int64_t peak_rss_bytes = 0;
  // The timeline: which slot ran it (hardware sessions first, then CPU workers), which worker process,
  // and when, in seconds since the encode stage began. Reused segments have slot -1.
  int slot = -1;
  int worker_pid = 0;
  double started_s = 0;
  double finished_s = 0;
  QualityResult quality;  // target quality: the CRF found, its probes, the score reached
  // A ladder under target quality: each rendition's own (rung 0 first; rung 0's is `quality` too).
  std::vector<QualityResult> rung_quality;
};

// Target quality over the segments (quality_summary() in job_report.cpp).
struct QualitySummary {
  std::string metric, pool;
  double target = 0, tolerance = 0;
  double worst_score = 0, mean_score = 0;  // segment scores (mean weighted by frames)
  int segments_within = 0, segments = 0;   // within the tolerance of the target
  int segments_limited = 0;                // missed because the CRF range ends (QualityResult)
  int segments_capped = 0;                 // missed under a ladder rung's peak cap (QualityResult)
  int probe_encodes = 0, cached_probes = 0, reencoded_segments = 0;
  double crf_min = 0, crf_max = 0;
  // The one CRF a fixed-CRF encode would need for every segment to reach the target (the lowest CRF
  // the segments' final encodes took): what the per-segment search saves against.
  double fixed_crf = 0;
};

struct TranscodeSummary {
  std::string input;
  std::string output;  // the MP4 file, or the HLS playlist
  std::string format;
  std::vector<std::string> files;
  std::int64_t frames = 0;
  double duration_s = 0;
  double wall_s = 0;
  double speed = 0;  // media seconds per wall second
  double fps = 0;
  int workers = 0;  // slots used: CPU workers + hardware sessions
  int threads_per_worker = 1;
  std::string encoder;  // the slots: "nvenc (2 sessions) + x264"
  std::string codec;
  int hardware_sessions = 0;
  double worker_cpu_s = 0;
  double parallel_efficiency = 0;  // worker CPU time / (encode wall time x cores)
  int cores = 0;
  std::int64_t output_bytes = 0;
  double video_bitrate = 0;  // bits/s of the encoded video
  std::string plan_basis;
  std::string analysis_backend;   // the kernels the analysis and the workers ran on
  std::string analysis_fallback;  // why not the GPU asked for (empty when it was used)
  std::string audio;              // "aac (encoded)", "aac (copied)", "none"; tracks joined by ", "
  int audio_tracks = 0;
  int subtitle_tracks = 0;
  std::vector<std::string> fidelity_warnings;  // what the output converts or drops on purpose, and why
  double analyze_s = 0;
  double encode_s = 0;
  double assemble_s = 0;
  int dts_repairs = 0;
  bool input_truncated = false;
  bool resumed = false;  // an earlier run's job state was used
  int segments_reused = 0;
  int segments_encoded = 0;                // by this run
  std::int64_t peak_worker_rss_bytes = 0;  // the largest worker peak measured in this run
  std::int64_t memory_budget = 0;
  std::string executor = "local";  // what ran the workers
  std::string slurm_job_id;        // the Slurm job array (its first submission), when executor is slurm
  int max_concurrent_workers = 0;  // the most workers that ran at once
  int memory_waits = 0;            // times a worker start waited for the memory budget
  OutputReport verified;
  // A streaming ladder's renditions, tallest first, each verified like a single output.
  struct Rendition {
    std::string playlist;  // the media playlist's final path
    int width = 0, height = 0;
    long long bandwidth = 0, average_bandwidth = 0;  // bits/s, as the master playlist says
    std::string codecs;
    OutputReport verified;
    QualitySummary quality;  // target quality: this rendition's segments (metric empty: off)
  };
  std::vector<Rendition> renditions;
  std::vector<SegmentReport> segments;
  QualitySummary quality;  // metric empty: no target quality
};

using ProgressFn = std::function<void(const JobProgress&)>;
using WarnFn = std::function<void(const std::string&)>;

// The options that shape the output, as the job state records them (job.json `settings`): a resume
// must be run with the same. The MCP server compares a call's options with a state found on disk.
nlohmann::json output_settings(const TranscodeOptions& options, const std::string& format);

// `saved`, when given, says what was kept on disk if the job ends with an exception.
TranscodeSummary transcode(const TranscodeOptions& options, const ProgressFn& progress, const WarnFn& warn,
                           SavedJob* saved = nullptr);

}  // namespace pvt
