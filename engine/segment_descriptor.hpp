// The two contracts between the job and its worker processes, as versioned JSON:
// a SegmentDescriptor goes in (`pvt worker DESCRIPTOR.json`), a WorkerStats comes out (next to the
// segment). Both round-trip exactly: to_json(from_json(j)) == j.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "crf_search.hpp"
#include "error.hpp"

namespace pvt {

// Version 2: analysis_backend (descriptor) and analysis_kernel (stats).
// Version 3 (descriptor): encoder.backend may name a hardware backend (nvenc, vaapi, qsv, videotoolbox),
// encoder.fallback_from names the hardware backend whose session failed before this segment went to the CPU.
// Version 4: video_filter (rotation, tone-map), encoder.master_display and encoder.max_cll (HDR10 SEI).
// Version 6: encoder.crf may be fractional; quality (target quality: the worker searches the CRF).
// Version 7: ladder (streaming ladder: the rungs the worker encodes from one decode).
inline constexpr int kDescriptorVersion = 7;
// Version 3 (stats): worker_pid, the process that encoded it (long-lived workers encode several segments).
// The stats' `ladder` (what each rung's encode gave) is optional, so version 3 stays.
inline constexpr int kWorkerStatsVersion = 3;

struct EncoderSettings {
  std::string backend = "x264";  // x264, x265, nvenc, vaapi, qsv, videotoolbox (resolved, not auto)
  std::string codec = "h264";    // h264 or hevc
  std::string fallback_from;     // the hardware backend this segment fell back from; empty: none
  std::string preset = "medium";
  double crf = 23;               // used when bitrate == 0 (x264/x265 take fractions; hardware rounds)
  std::int64_t bitrate = 0;      // bits/s for this segment (its bit budget over its duration)
  std::int64_t max_bitrate = 0;  // with crf: a peak cap (a ladder rung's, hw::EncoderConfig); 0: none
  int threads = 1;               // encoder threads inside the worker
  int lookahead = -1;            // the encoder's own rate-control look-ahead (frames); -1: the preset's
  // Frames encoded and thrown away before the segment's IDR, so the encoder's rate control meets the
  // segment warm, as in one single encode (x264 sets an I-frame's QP from the recent P-frames'); 0: none.
  int preroll = 0;
  std::string pix_fmt = "yuv420p";
  std::string master_display;  // HDR10 mastering display, x265/x264 syntax; empty: none
  std::string max_cll;         // "MaxCLL,MaxFALL"; empty: none
  bool operator==(const EncoderSettings&) const = default;
};

// Target quality (`--target-quality`): the worker finds the CRF that gives this segment the score asked
// for, on probe encodes of a sample of its frames, then checks the final encode's score
// (quality_segment.hpp).
struct QualityTarget {
  std::string metric;  // ssim, psnr or vmaf; empty: off (encode at encoder.crf)
  double target = 0;
  std::string pool = "mean";  // mean, p5 or min over the frames
  double crf_lo = 0, crf_hi = 51;
  int max_probes = 4;
  double tolerance = 0;
  int max_reencodes = 2;  // final encodes redone with a corrected CRF when the score misses
  std::string cache;      // the segment's probe cache file (JSON; may not exist yet); empty: none
  // Per rendition (rung 0 first), CrfSearch::probe_offset as the job learned it from its finished
  // segments; missing entries are 0. Applies to windowed probe samples only.
  std::vector<double> probe_offsets;
  bool enabled() const { return !metric.empty(); }
  bool operator==(const QualityTarget&) const = default;
};

// What the search found, in the worker's stats.
struct QualityResult {
  std::string metric, pool;
  double target = 0;
  double crf = 0;           // the final encode's
  double score = 0;         // the final file's, measured on its own packets
  double predicted = 0;     // what the probes predicted at the first final CRF
  double first_score = 0;   // the first final encode's score, before any correction
  double probe_offset = 0;  // CrfSearch::probe_offset the search ran with (in `predicted` already)
  std::vector<QualityProbe> probes;
  int probe_encodes = 0;  // probes encoded by this run (cached ones not counted)
  int final_encodes = 0;  // 1, or more when a miss was re-encoded
  bool within_tolerance = false;
  // Missed because the CRF range ends there: above the target at its highest CRF, or below at its lowest.
  bool limited_by_range = false;
  // Missed below the target under a ladder rung's peak cap (`--ladder-bitrates`), with the probes' scores
  // all but flat as the CRF fell (quality_segment.cpp saturated()): the cap, not the CRF, sets the quality.
  bool limited_by_cap = false;
  bool operator==(const QualityResult&) const = default;
};

// One rendition of a streaming ladder (`--ladder`): every rung is the same frames at another height (the
// width follows the displayed aspect), encoded with the same settings and the same IDRs, so the rungs'
// segments start on the same frames and a player can switch between them at any segment boundary.
struct LadderRung {
  int height = 0;
  std::string output;            // rung 0's is the descriptor's own output
  std::int64_t max_bitrate = 0;  // the rung's peak cap (`--ladder-bitrates`); 0: uncapped CRF
  // Target quality: the CRF this rung's own search found (a lower rung's; rung 0's is encoder.crf);
  // negative: encoder.crf. Set by the worker for its final encodes, never by the planner.
  double crf = -1;
  bool operator==(const LadderRung&) const = default;
};

struct RungStats {
  int width = 0, height = 0;
  int frames = 0;
  std::int64_t bytes = 0;
  QualityResult quality;  // target quality: this rendition's search and score (metric empty otherwise)
  bool operator==(const RungStats&) const = default;
};

struct SegmentDescriptor {
  int version = kDescriptorVersion;
  std::string job_id;
  int segment = 0;
  std::string input;
  int video_stream = 0;
  int start_frame = 0;
  int end_frame = 0;  // exclusive
  std::int64_t start_pts = 0;
  std::int64_t end_pts = 0;  // exclusive
  int time_base_num = 1;
  int time_base_den = 1;
  int seek_keyframe = 0;
  std::int64_t seek_pts = 0;  // the keyframe's timestamps, where the worker's demuxer seeks
  std::int64_t seek_dts = 0;  // INT64_MIN (AV_NOPTS_VALUE) when the container has none
  int frame_rate_num = 25;    // average frame rate, for the encoder's rate control
  int frame_rate_den = 1;
  EncoderSettings encoder;
  std::vector<int> forced_keyframes;  // absolute frame numbers inside the segment
  int lookahead_window = 40;          // frames decoded and analysed ahead of the encoder
  bool detect_scenes = true;          // also force keyframes at cuts the worker finds in its window
  double scene_threshold = 0.35;
  int min_scene_frames = 12;
  std::string analysis_backend = "cpu";  // kernels for the window: cpu, cuda or vulkan (resolved, not auto)
  std::string video_filter;  // libavfilter chain between decoder and encoder (output_plan.hpp); empty: none
  std::int64_t bit_budget = 0;
  QualityTarget quality;
  // A ladder's rungs, tallest first; empty: one rendition at the source's size. Rung 0 is encoded into
  // `output` (scaled to its height), the others are scaled from rung 0's frames.
  std::vector<LadderRung> ladder;
  std::string output;  // the encoded segment (written as output + ".part", renamed when complete)
  std::string stats;   // WorkerStats JSON path
  int frame_count() const { return end_frame - start_frame; }
  bool operator==(const SegmentDescriptor&) const = default;
};

struct WorkerStats {
  int version = kWorkerStatsVersion;
  int segment = 0;
  std::string backend;
  int frames = 0;                   // frames encoded
  std::int64_t decoded_frames = 0;  // frames decoded, including those dropped before the start
  std::int64_t bytes = 0;           // encoded video bytes
  std::int64_t first_pts = 0;       // smallest pts written (the segment's start_pts)
  double encode_seconds = 0;        // wall time of the worker
  double cpu_seconds = 0;           // user + system CPU time of the worker
  std::vector<int> keyframes;       // frames encoded as IDR (absolute frame numbers)
  std::vector<int> detected_cuts;   // scene cuts the worker found itself
  double mean_spatial = 0;
  double mean_temporal = 0;
  std::string analysis_kernel;  // the kernels that measured the window ("cpu" after a GPU fell back)
  int worker_pid = 0;
  QualityResult quality;          // target quality only (metric empty otherwise; absent from the JSON then)
  std::vector<RungStats> ladder;  // ladder jobs only, rung 0 first
  bool operator==(const WorkerStats&) const = default;
};

void to_json(nlohmann::json& j, const EncoderSettings& e);
void from_json(const nlohmann::json& j, EncoderSettings& e);
void to_json(nlohmann::json& j, const SegmentDescriptor& d);
void from_json(const nlohmann::json& j, SegmentDescriptor& d);
void to_json(nlohmann::json& j, const WorkerStats& s);
void to_json(nlohmann::json& j, const QualityProbe& p);
void to_json(nlohmann::json& j, const QualityResult& r);
void from_json(const nlohmann::json& j, QualityResult& r);
void from_json(const nlohmann::json& j, QualityProbe& p);
void from_json(const nlohmann::json& j, WorkerStats& s);

// Paths in the contracts. File names are bytes but JSON strings are UTF-8, so a path that is not valid
// UTF-8 (a Latin-1 file name) is written as the array of its bytes instead of a string; reading takes
// either form and throws Error(code) for anything else.
nlohmann::json path_json(const std::string& path);
std::string path_from_json(const nlohmann::json& j, ErrorCode code);

// File helpers: read throws Error(kInput) naming the file; write is atomic (temporary name + rename).
SegmentDescriptor read_descriptor(const std::string& path);
WorkerStats read_worker_stats(const std::string& path);
void write_json_file(const std::string& path, const nlohmann::json& j);

}  // namespace pvt
