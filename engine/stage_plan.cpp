#include "stage_plan.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "job_context.hpp"

namespace pvt {

namespace {

PlanOptions plan_options(const JobContext& job, const std::string& format) {
  const TranscodeOptions& o = job.options;
  PlanOptions po;
  po.target_s = o.segment_duration;
  po.min_s = o.min_segment;
  po.max_s = o.max_segment;
  po.workers = job.budget.workers;
  // File outputs: segments are internal, balanced by cost. Not in bitrate mode: x264's ABR overshoots on
  // the short heavy segments a cost balance makes (+12 % measured with 1 s pieces), so there the plan
  // cuts by length as the bit budgets assume.
  po.shrink_for_workers = format != "hls" && o.bitrate == 0;
  po.group_playlist = format == "hls" && o.group_playlist;
  po.encoder_keys_scene_changes = encoder_keys_scene_changes(o.encoder);
  po.dropped_frame_cost = dropped_frame_cost_for_preset(o.preset);
  po.total_bits =
      o.bitrate > 0 ? static_cast<std::int64_t>(static_cast<double>(o.bitrate) * job.summary.duration_s) : 0;
  return po;
}

// A fresh job's state: what it is (input, settings, plan) before any segment is finished.
void start_state(JobContext& job, const OutputTarget& target, const Plan& plan) {
  JobState& state = job.state;
  state.job_id = std::to_string(getpid()) + "-" +
                 std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  state.output = target.final_path;
  state.format = target.format;
  state.input = job.fingerprint;
  state.settings = job.settings;
  state.threads_per_worker = job.budget.threads_per_worker;
  state.plan_basis = plan.basis;
  state.plan = plan.segments;
  state.started = utc_now_text();
}

}  // namespace

JobPlan plan_stage(JobContext& job, const ProbeResult& probe, const AnalyzeResult& analyzed) {
  const PlanOptions po = plan_options(job, probe.target.format);
  JobPlan p;
  p.total_bits = po.total_bits;
  if (job.resuming()) {
    p.plan.segments = job.state.plan;  // the same cuts, so finished segments fit
    p.plan.basis = job.state.plan_basis;
  } else {
    p.plan = plan_segments(probe.info, analyzed.full ? &analyzed.analysis : nullptr, po);
    start_state(job, probe.target, p.plan);
  }
  job.state.status = "running";
  job.state.message.clear();
  job.dir.save(job.state);
  job.state_saved = true;
  TranscodeSummary& sum = job.summary;
  sum.plan_basis = p.plan.basis;
  sum.workers =
      std::min<int>(job.budget.workers + sum.hardware_sessions, static_cast<int>(p.plan.segments.size()));
  job.progress.segments_total = static_cast<int>(p.plan.segments.size());
  return p;
}

}  // namespace pvt
