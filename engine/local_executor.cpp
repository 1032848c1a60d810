#include "local_executor.hpp"

#include "child_process.hpp"

namespace pvt {

void LocalExecutor::start_ahead(int count, const std::string& log_dir) {
  warm_ = start_warm_workers(count, current_executable(), log_dir);
}

ExecutorStats LocalExecutor::run(const ExecutorJob& job, SegmentReports& reports) {
  PoolLimits limits = limits_;
  limits.max_attempts = job.max_attempts;
  PoolRunStats run_stats;
  PoolCallbacks cb;
  cb.cancel = job.cancel;
  cb.run_stats = &run_stats;
  cb.before_start = [&](const SegmentTask& t, const std::string& backend, const std::string& fallback_from) {
    reports.started(t, backend, fallback_from);
  };
  cb.on_progress = [&](int segment, int frames) { reports.progress(segment, frames); };
  cb.on_written = [&](const SegmentTask& t, const SegmentResult& r) { reports.written(t, r); };
  cb.check_output = [&](const SegmentTask& t) { return reports.check(t); };
  cb.on_done = [&](const SegmentTask& t, const SegmentResult& r) { reports.finished(t, r); };
  cb.on_failed = [&](const SegmentTask& t, const std::string& reason, bool retrying) {
    reports.failed(t, reason, retrying);
  };
  cb.on_tick = [&] { reports.tick(); };
  // The results also came through finished(), one by one: the job keeps those.
  run_worker_pool(job.tasks, job.slots, limits, current_executable(), cb, std::move(warm_));
  return {run_stats.max_running, run_stats.held_back_for_memory};
}

}  // namespace pvt
