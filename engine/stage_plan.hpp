// Stage 3, plan: where the video is cut and what each segment costs, from the analysis or the demux
// index; a resume keeps the cuts it was started with, so its finished segments still fit. The plan is
// saved in the job state before any worker runs.
#pragma once

#include <cstdint>

#include "segment_plan.hpp"
#include "stage_analyze.hpp"
#include "stage_probe.hpp"

namespace pvt {

struct JobContext;

struct JobPlan {
  Plan plan;
  std::int64_t total_bits = 0;  // bitrate mode: the whole video's bits, shared out again as segments finish
};

JobPlan plan_stage(JobContext& job, const ProbeResult& probe, const AnalyzeResult& analyzed);

}  // namespace pvt
