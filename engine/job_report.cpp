#include "job_report.hpp"

#include <algorithm>
#include <filesystem>

#include "atomic_file.hpp"
#include "job_context.hpp"
#include "quality_options.hpp"
#include "timeline_svg.hpp"

namespace pvt {

namespace {

SegmentReport segment_report(const Segment& seg, const SegmentResult& r, const SegmentDescriptor& d,
                             bool reused) {
  SegmentReport sr;
  sr.index = seg.index;
  sr.start_frame = seg.start_frame;
  sr.frames = seg.frame_count();
  sr.start_s = seg.start_s;
  sr.duration_s = seg.duration_s;
  sr.cut_reason = seg.cut_reason;
  sr.cost = seg.cost;
  sr.content_cost = seg.content_cost;
  sr.backend = r.stats.backend;
  sr.attempts = r.attempts;
  sr.fallback_from = r.fallback_from;
  sr.fallback_reason = r.fallback_reason;
  sr.encode_seconds = r.stats.encode_seconds;
  sr.cpu_seconds = r.stats.cpu_seconds;
  sr.bytes = r.stats.bytes;
  sr.target_bitrate = d.encoder.bitrate;
  sr.keyframes = static_cast<int>(r.stats.keyframes.size());
  sr.detected_cuts = static_cast<int>(r.stats.detected_cuts.size());
  sr.cut_frames = r.stats.detected_cuts;
  sr.decoded_frames = r.stats.decoded_frames;
  sr.analysis_kernel = r.stats.analysis_kernel;
  sr.reused = reused;
  sr.peak_rss_bytes = r.peak_rss_bytes;
  sr.quality = r.stats.quality;
  for (const auto& rung : r.stats.ladder)
    if (!rung.quality.metric.empty()) sr.rung_quality.push_back(rung.quality);
  if (!reused) {  // the timeline is this run's
    sr.slot = r.slot;
    sr.worker_pid = r.stats.worker_pid;
    sr.started_s = r.start_s;
    sr.finished_s = r.end_s;
  }
  return sr;
}

// A segment's result for one rendition (rung 0 when not a ladder); metric empty when it has none.
const QualityResult& rendition_quality(const SegmentReport& s, std::size_t rung) {
  static const QualityResult none;
  if (s.rung_quality.empty()) return rung == 0 ? s.quality : none;
  return rung < s.rung_quality.size() ? s.rung_quality[rung] : none;
}

QualitySummary quality_summary(const TranscodeOptions& o, const std::vector<SegmentReport>& segments,
                               std::size_t rung) {
  QualitySummary q;
  if (o.quality.target <= 0) return q;
  q.metric = o.quality.metric;
  q.pool = o.quality.pool;
  q.target = o.quality.target;
  q.tolerance = quality_tolerance(o.quality);
  double weighted = 0;
  long frames = 0;
  bool first = true;
  for (const auto& s : segments) {
    const QualityResult& r = rendition_quality(s, rung);
    if (r.metric.empty()) continue;
    ++q.segments;
    q.segments_within += r.within_tolerance;
    q.segments_limited += r.limited_by_range;
    q.segments_capped += r.limited_by_cap;
    q.worst_score = first ? r.score : std::min(q.worst_score, r.score);
    q.crf_min = first ? r.crf : std::min(q.crf_min, r.crf);
    q.crf_max = first ? r.crf : std::max(q.crf_max, r.crf);
    first = false;
    weighted += r.score * s.frames;
    frames += s.frames;
    if (!s.reused) {
      q.probe_encodes += r.probe_encodes;
      for (const auto& p : r.probes) q.cached_probes += p.cached;
      q.reencoded_segments += r.final_encodes > 1;
    }
  }
  q.mean_score = frames ? weighted / frames : 0;
  q.fixed_crf = q.crf_min;
  return q;
}

}  // namespace

TranscodeSummary start_summary(const TranscodeOptions& o, const ProbeResult& probe,
                               const WorkerBudget& budget, bool resuming) {
  TranscodeSummary sum;
  sum.input = o.input;
  sum.output = probe.target.final_path;
  sum.format = probe.target.format;
  sum.frames = static_cast<std::int64_t>(probe.info.frames.size());
  sum.duration_s = probe.info.video_duration_s();
  sum.input_truncated = probe.info.truncated;
  sum.cores = budget.cores;
  sum.resumed = resuming;
  sum.memory_budget = budget.memory_budget;
  sum.threads_per_worker = budget.threads_per_worker;
  sum.encoder = probe.encoders.description;
  sum.codec = o.codec;
  for (const auto& h : probe.encoders.slots.hardware) sum.hardware_sessions += h.sessions;
  return sum;
}

TranscodeSummary finish_summary(JobContext& job, const Plan& plan, const ScheduleResult& encoded) {
  TranscodeSummary& sum = job.summary;
  for (const auto& f : sum.files)
    sum.output_bytes += static_cast<std::int64_t>(std::filesystem::file_size(f));
  std::int64_t video_bytes = 0;
  for (const auto& seg : plan.segments) {
    const SegmentResult& r = encoded.results[seg.index];
    const bool reused = encoded.reused[seg.index];
    sum.segments.push_back(segment_report(seg, r, encoded.descriptors[seg.index], reused));
    if (!reused) {
      sum.worker_cpu_s += r.stats.cpu_seconds;
      sum.peak_worker_rss_bytes = std::max(sum.peak_worker_rss_bytes, r.peak_rss_bytes);
    }
    video_bytes += r.stats.bytes;
  }
  sum.video_bitrate = sum.duration_s > 0 ? static_cast<double>(video_bytes) * 8 / sum.duration_s : 0;
  sum.quality = quality_summary(job.options, sum.segments, 0);
  for (std::size_t r = 0; r < sum.renditions.size(); ++r)
    sum.renditions[r].quality = quality_summary(job.options, sum.segments, r);
  sum.wall_s = seconds_since(job.started);
  sum.speed = sum.wall_s > 0 ? sum.duration_s / sum.wall_s : 0;
  sum.fps = sum.wall_s > 0 ? static_cast<double>(sum.frames) / sum.wall_s : 0;
  sum.parallel_efficiency = sum.encode_s > 0 ? sum.worker_cpu_s / (sum.encode_s * sum.cores) : 0;
  if (!job.options.timeline_svg.empty()) write_file_atomically(job.options.timeline_svg, timeline_svg(sum));
  job.progress.frames_done = sum.frames;
  job.emit("done");
  return sum;
}

}  // namespace pvt
