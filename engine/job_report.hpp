// The job's summary (what `pvt transcode --json` prints and the MCP server returns): begun from the
// probe and the worker budget, filled by each stage, and finished from the segments' results.
#pragma once

#include "segment_plan.hpp"
#include "stage_probe.hpp"
#include "stage_schedule.hpp"
#include "transcode_job.hpp"
#include "worker_budget.hpp"

namespace pvt {

struct JobContext;

TranscodeSummary start_summary(const TranscodeOptions& options, const ProbeResult& probe,
                               const WorkerBudget& budget, bool resuming);

// Adds the per-segment reports and the totals, draws the timeline when asked, and reports "done".
TranscodeSummary finish_summary(JobContext& job, const Plan& plan, const ScheduleResult& encoded);

}  // namespace pvt
