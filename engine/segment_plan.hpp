// Plan: where to cut the video into independently encoded segments, and what each segment costs.
//
// Cut candidates, best first: scene cuts found by the analysis, then the source's keyframes (a worker
// that starts on one wastes no decoding, and encoders put keyframes at scene changes), then any frame at
// the target length. Each cut falls within [min, max] seconds of the previous one and leaves at least
// `min` seconds after it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frame_analysis.hpp"
#include "media_index.hpp"

namespace pvt {

struct PlanOptions {
  double target_s = 10;
  double min_s = 0;  // 0: target / 2
  double max_s = 0;  // 0: target * 1.5
  // Worker count the plan should keep busy. When > 0 and `shrink_for_workers` (file outputs, where
  // segments are an internal unit; HLS segments are what the user asked for), segments are balanced by
  // estimated cost instead of length: `segments_per_worker` of equal cost per worker (so estimation errors
  // even out), the last `workers` shares split in halves (so the last wave ends together), within
  // [min, max] seconds (min defaults to 1 s here, so a heavy scene can be split finely).
  int workers = 0;
  bool shrink_for_workers = false;
  // HLS: the playlist's segments are planned by length, then grouped into work segments balanced by cost
  // (segment_grouping.hpp), when `workers` > 0.
  bool group_playlist = false;
  int segments_per_worker = 4;
  // Compression: the share of the video's bits that the extra IDRs of a balanced plan may cost (each
  // segment starts with one; see cut_economy() in segment_plan.cpp). Fewer segments per worker when the
  // cuts would cost more, never fewer than one per worker.
  double idr_budget = 0.0075;
  // Whether the encoder puts keyframes at scene changes by itself (x264, x265, SVT-AV1, libvpx do). Then a
  // cut where the source's encoder keyed a scene change is free. libaom's single encode does not (its
  // keyframe distance is unlimited and it keyed none of the sample's cuts), so there every cut is paid.
  bool encoder_keys_scene_changes = true;
  std::int64_t total_bits = 0;  // bitrate mode: the whole file's video budget, shared by complexity
  // What a frame decoded only to be dropped costs (a segment cut between keyframes decodes from the one
  // before), against the 1.0 of a mean frame encoded: dropped_frame_cost_for_preset() below.
  double dropped_frame_cost = 0.15;
};

// Decoding against encoding, by encoder preset. Measured (BBB 1080p from x264 veryfast CRF 16, one thread:
// 6.8 ms a frame decoded; x264 CRF 23 with that decode 16.4 ms at ultrafast, 42 ms at veryfast, 92 ms at
// medium): 0.41, 0.16 and 0.074; the presets between are interpolated by x264's speed steps.
double dropped_frame_cost_for_preset(const std::string& preset);

struct Segment {
  int index = 0;
  int start_frame = 0;
  int end_frame = 0;  // exclusive
  std::int64_t start_pts = 0;
  std::int64_t end_pts = 0;  // exclusive: the next segment's start_pts
  int seek_keyframe = 0;     // keyframe at or before start_frame
  double start_s = 0;
  double duration_s = 0;
  std::string cut_reason;  // what the segment starts at: "start", "scene", "keyframe", "length"
  double cost = 0;         // relative encode cost (frames weighted by complexity)
  // The part of `cost` that follows the frames' content (the rest follows their count): the pool refits
  // the two parts' weights to the segments it has timed, and reorders what is left (dispatch_order.hpp).
  double content_cost = 0;
  double complexity = 0;              // relative bit demand (sum of per-frame complexity weights)
  std::int64_t bit_budget = 0;        // bits for this segment in bitrate mode, else 0
  std::vector<int> forced_keyframes;  // scene cuts inside the segment (absolute frame numbers)
  // HLS work segments grouping several playlist segments: where the later ones start (absolute frame
  // numbers, each also a forced keyframe); empty when the work segment is one playlist segment.
  std::vector<int> piece_starts;
  int frame_count() const { return end_frame - start_frame; }
  bool operator==(const Segment&) const = default;
};

struct Plan {
  std::vector<Segment> segments;
  double target_s = 0;
  double min_s = 0;
  double max_s = 0;
  double target_cost = 0;  // balanced plans: the cost each segment aims at (0: cut by length)
  std::string basis;       // "analysis" (decoded scene cuts) or "index" (keyframes and packet sizes)
  // The bits one IDR at a cut the source's encoder did not choose costs, as a share of the whole video's
  // (from the index), and how many of the plan's cuts are such: their product estimates the plan's
  // compression penalty against one single encode.
  double idr_cost_share = 0;
  int paid_cuts = 0;
};

Plan plan_segments(const MediaInfo& info, const Analysis* analysis, const PlanOptions& options);

// See PlanOptions::encoder_keys_scene_changes. For such an encoder pvt forces no keyframe at a scene cut
// either (neither the analysis's nor the worker's own): its single encode would make none there.
inline bool encoder_keys_scene_changes(const std::string& encoder) {
  return encoder != "aom";
}

}  // namespace pvt
