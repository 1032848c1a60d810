#include "segment_describe.hpp"

#include "job_context.hpp"
#include "quality_options.hpp"
#include "segment_plan.hpp"

namespace pvt {

SegmentDescriptor describe_segment(const JobContext& job, const ProbeResult& probe, const Plan& plan,
                                   const Segment& seg) {
  const TranscodeOptions& o = job.options;
  const MediaInfo& info = probe.info;
  const VideoChoice& video = probe.output.video;
  SegmentDescriptor d;
  d.job_id = job.state.job_id;
  d.segment = seg.index;
  d.input = job.input_path;
  d.video_stream = info.video_stream;
  d.start_frame = seg.start_frame;
  d.end_frame = seg.end_frame;
  d.start_pts = seg.start_pts;
  d.end_pts = seg.end_pts;
  d.time_base_num = info.time_base.num;
  d.time_base_den = info.time_base.den;
  d.seek_keyframe = seg.seek_keyframe;
  d.seek_pts = info.frames[seg.seek_keyframe].pts;
  d.seek_dts = info.frames[seg.seek_keyframe].dts;
  d.frame_rate_num = info.frame_rate.num > 0 ? info.frame_rate.num : 25;
  d.frame_rate_den = info.frame_rate.num > 0 ? info.frame_rate.den : 1;
  d.encoder.backend = probe.encoders.slots.cpu_backend;  // set per start: the slot decides
  d.encoder.codec = o.codec;
  d.encoder.preset = o.preset;
  d.encoder.crf = o.crf;
  d.encoder.threads = job.budget.threads_per_worker;
  d.encoder.lookahead = o.encoder_lookahead;
  d.encoder.preroll = o.preroll;
  d.lookahead_window = o.lookahead;
  d.forced_keyframes = seg.forced_keyframes;
  // After a full analysis the cuts are in forced_keyframes; an encoder that keys no scene change in a single
  // encode gets none there (segment_plan.hpp).
  d.detect_scenes = plan.basis != "analysis" && encoder_keys_scene_changes(o.encoder);
  d.scene_threshold = o.scenes.threshold;
  d.min_scene_frames = o.scenes.min_scene_frames;
  d.analysis_backend = job.summary.analysis_backend;  // a GPU that failed here is not tried again by workers
  d.video_filter = video.filter;
  d.encoder.pix_fmt = video.pix_fmt;
  d.encoder.master_display = video.master_display;
  d.encoder.max_cll = video.max_cll;
  d.bit_budget = seg.bit_budget;
  d.quality = quality_target(o, job.fingerprint, seg.start_frame, seg.end_frame);
  d.output = job.segment_path(seg.index, ".mp4").string();
  for (std::size_t r = 0; r < probe.ladder.size(); ++r)
    d.ladder.push_back({probe.ladder[r], job.rung_path(seg.index, r).string(), probe.ladder_bitrates.at(r)});
  if (!d.ladder.empty()) d.encoder.max_bitrate = d.ladder.front().max_bitrate;
  d.stats = job.segment_path(seg.index, ".json").string();
  return d;
}

}  // namespace pvt
