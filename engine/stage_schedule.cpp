#include "stage_schedule.hpp"

#include <algorithm>

#include "job_context.hpp"
#include "local_executor.hpp"
#include "segment_tracker.hpp"

namespace pvt {

namespace {

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
  d.detect_scenes = plan.basis != "analysis";  // after a full analysis the cuts are in forced_keyframes
  d.scene_threshold = o.scenes.threshold;
  d.min_scene_frames = o.scenes.min_scene_frames;
  d.analysis_backend = job.summary.analysis_backend;  // a GPU that failed here is not tried again by workers
  d.video_filter = video.filter;
  d.encoder.pix_fmt = video.pix_fmt;
  d.encoder.master_display = video.master_display;
  d.encoder.max_cll = video.max_cll;
  d.bit_budget = seg.bit_budget;
  d.output = job.segment_path(seg.index, ".mp4").string();
  d.stats = job.segment_path(seg.index, ".json").string();
  return d;
}

SegmentTask task_for(const JobContext& job, const Segment& seg, const SegmentDescriptor& d) {
  SegmentTask t;
  t.segment = seg.index;
  t.cost = seg.cost;
  t.expected_frames = seg.frame_count();
  t.descriptor_path = job.segment_path(seg.index, ".task.json").string();
  t.stats_path = d.stats;
  t.log_path = job.segment_path(seg.index, ".log").string();
  return t;
}

ExecutorJob executor_job(const JobContext& job, const ProbeResult& probe) {
  ExecutorJob e;
  e.dir = job.dir.dir();
  e.slots = probe.encoders.slots;
  e.slots.cpu = job.budget.workers;
  e.max_attempts = job.options.max_attempts;
  e.cancel = job.options.cancel;
  return e;
}

}  // namespace

std::unique_ptr<SegmentExecutor> choose_executor(const TranscodeOptions& o, const WorkerBudget& budget) {
  PoolLimits limits;
  limits.watchdog_s = o.worker_timeout_s;
  limits.memory_budget = o.workers > 0 && o.max_memory == 0 ? 0 : budget.memory_budget;
  limits.worker_memory = budget.worker_memory;
  return std::make_unique<LocalExecutor>(limits);
}

ScheduleResult schedule_stage(JobContext& job, const ProbeResult& probe, const JobPlan& plan,
                              SegmentExecutor& executor) {
  const auto& segments = plan.plan.segments;
  // Descriptors are written just before each worker starts (SegmentTracker::started), so bitrate mode
  // can hand the bits that finished segments saved or overspent to the segments still to come.
  std::vector<SegmentDescriptor> descriptors(segments.size());
  for (const auto& seg : segments) descriptors[seg.index] = describe_segment(job, probe, plan.plan, seg);
  SegmentTracker tracker(job, plan, std::move(descriptors));
  ExecutorJob run = executor_job(job, probe);
  ScheduleResult r;
  r.reused.assign(segments.size(), false);
  for (const auto& seg : segments) {
    if (const FinishedSegment* f = job.state.finished_segment(seg.index)) {
      tracker.reuse(*f);
      r.reused[seg.index] = true;
    } else {
      run.tasks.push_back(task_for(job, seg, tracker.descriptors()[seg.index]));
    }
  }
  std::stable_sort(run.tasks.begin(), run.tasks.end(),
                   [](const SegmentTask& a, const SegmentTask& b) { return a.cost > b.cost; });
  TranscodeSummary& sum = job.summary;
  sum.segments_reused = static_cast<int>(job.state.finished.size());

  const auto started = JobClock::now();
  job.progress.frames_done = tracker.frames_done();
  job.emit("encode");
  ExecutorStats stats;
  if (!run.tasks.empty()) stats = executor.run(run, tracker);
  sum.segments_encoded = static_cast<int>(run.tasks.size());
  sum.max_concurrent_workers = stats.max_running;
  sum.memory_waits = stats.held_back_for_memory;
  sum.encode_s = seconds_since(started);
  job.emit("encode");
  r.descriptors = std::move(tracker.descriptors());
  r.results = std::move(tracker.results());
  return r;
}

}  // namespace pvt
