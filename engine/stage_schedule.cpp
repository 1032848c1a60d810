#include "stage_schedule.hpp"

#include <algorithm>

#include "job_context.hpp"
#include "local_executor.hpp"
#include "segment_describe.hpp"
#include "segment_tracker.hpp"
#include "slurm_executor.hpp"

namespace pvt {

namespace {

SegmentTask task_for(const JobContext& job, const Segment& seg, const SegmentDescriptor& d) {
  SegmentTask t;
  t.segment = seg.index;
  t.cost = seg.cost;
  t.content_cost = seg.content_cost;
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

std::unique_ptr<SegmentExecutor> choose_executor(const JobContext& job, const ProbeResult& probe) {
  const TranscodeOptions& o = job.options;
  const WorkerBudget& budget = job.budget;
  if (o.executor == "slurm") {
    slurm_preflight(o.slurm, job.dir.dir());
    SlurmConfig c;
    c.options = o.slurm;
    c.concurrency = o.workers;  // the array's %M; unset, the cluster decides
    c.cpus_per_task = budget.threads_per_worker;
    c.mem_bytes = budget.worker_memory;
    c.job_name = "pvt-" + std::filesystem::path(job.state.output).filename().string();
    return std::make_unique<SlurmExecutor>(c);
  }
  PoolLimits limits;
  limits.watchdog_s = o.worker_timeout_s;
  limits.memory_budget = o.workers > 0 && o.max_memory == 0 ? 0 : budget.memory_budget;
  limits.worker_memory = budget.worker_memory;
  auto local = std::make_unique<LocalExecutor>(limits);
  // Only a pool of CPU slots alone: with hardware sessions the longest segments go to those first. No
  // more than the memory budget lets start at the estimate, as the pool itself would.
  std::int64_t ahead = probe.encoders.slots.hardware.empty() ? budget.workers : 0;
  if (limits.memory_budget > 0 && limits.worker_memory > 0)
    ahead = std::min(ahead, std::max<std::int64_t>(1, limits.memory_budget / limits.worker_memory));
  local->start_ahead(static_cast<int>(ahead), job.segment_path(0, ".log").parent_path().string());
  return local;
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
  sum.executor = job.options.executor;
  if (!stats.job_id.empty()) sum.slurm_job_id = stats.job_id;
  sum.memory_waits = stats.held_back_for_memory;
  sum.encode_s = seconds_since(started);
  job.emit("encode");
  r.descriptors = std::move(tracker.descriptors());
  r.results = std::move(tracker.results());
  return r;
}

}  // namespace pvt
