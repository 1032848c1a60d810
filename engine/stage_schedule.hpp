// Stage 4, schedule: one descriptor per segment written into the job folder, the segments an earlier
// run finished taken as they are, and the rest handed, longest cost first, to an executor (executor.hpp)
// that runs `pvt worker` on them.
#pragma once

#include <memory>
#include <vector>

#include "executor.hpp"
#include "segment_descriptor.hpp"
#include "stage_plan.hpp"
#include "stage_probe.hpp"
#include "worker_budget.hpp"

namespace pvt {

struct JobContext;

struct ScheduleResult {
  std::vector<SegmentDescriptor> descriptors;  // by segment, as last written (outputs, bit rates)
  std::vector<SegmentResult> results;          // by segment
  std::vector<bool> reused;                    // by segment: finished by an earlier run, not this one
};

// Where this job's workers run: the local pool, or a Slurm array (checked here, before anything is
// submitted: slurm_preflight). Chosen as soon as the job folder exists: a local pool of CPU workers
// starts them at once, so they load while the job analyses and plans.
std::unique_ptr<SegmentExecutor> choose_executor(const JobContext& job, const ProbeResult& probe);

ScheduleResult schedule_stage(JobContext& job, const ProbeResult& probe, const JobPlan& plan,
                              SegmentExecutor& executor);

}  // namespace pvt
