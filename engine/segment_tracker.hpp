// What the job knows of each segment while an executor runs them: its descriptor (rewritten at each
// start, so bitrate mode can hand on the bits that finished segments saved or overspent), its frames so
// far, its result; and the job state, saved as each segment finishes so a killed job keeps it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "executor.hpp"
#include "job_state.hpp"
#include "segment_descriptor.hpp"
#include "stage_plan.hpp"

namespace pvt {

struct JobContext;

class SegmentTracker final : public SegmentReports {
 public:
  // descriptors: one per segment of the plan, by index.
  SegmentTracker(JobContext& job, const JobPlan& plan, std::vector<SegmentDescriptor> descriptors);

  // A segment an earlier run finished (a resume): done, with that run's result.
  void reuse(const FinishedSegment& finished);

  void started(const SegmentTask& task, const std::string& backend,
               const std::string& fallback_from) override;
  void progress(int segment, int frames) override;
  void written(const SegmentTask& task, const SegmentResult& result) override;
  std::string check(const SegmentTask& task) override;
  void finished(const SegmentTask& task, const SegmentResult& result) override;
  void failed(const SegmentTask& task, const std::string& reason, bool retrying) override;
  void tick() override;
  void cluster_state(const std::vector<std::string>& job_ids,
                     const std::map<std::string, int>& tasks) override;

  std::int64_t frames_done() const;
  std::vector<SegmentDescriptor>& descriptors() { return descriptors_; }
  std::vector<SegmentResult>& results() { return results_; }

 private:
  void note_quality(int segment, const WorkerStats& stats);  // target quality's result, into the progress

  std::int64_t fresh_bit_budget(int segment) const;
  std::vector<double> probe_offsets() const;

  JobContext& job_;
  const JobPlan& plan_;
  std::vector<SegmentDescriptor> descriptors_;
  std::vector<int> frames_;
  std::vector<bool> started_, finished_;
  std::vector<bool> written_;  // written by its worker, not yet checked: its bits count as spent
  std::vector<std::int64_t> spent_bits_;
  std::vector<SegmentResult> results_;
  std::chrono::steady_clock::time_point last_emit_;
};

}  // namespace pvt
