// Stage 2, analyze: a full decode pays off only where it is nearly free (NVDEC feeding the CUDA kernels);
// on a CPU-only machine the plan comes from the demux index and each worker runs the kernels on the
// frames it decodes anyway. The kernels are resolved once here, and the workers get the resolved name.
#pragma once

#include "analysis_backend.hpp"
#include "frame_analysis.hpp"
#include "media_index.hpp"

namespace pvt {

struct JobContext;

struct AnalyzeResult {
  // Kept open until the job ends, as the stage's own local used to be: the GPU it holds is not given
  // back in the middle of a job.
  AnalysisEngine engine;
  Analysis analysis;  // empty unless this run decoded the input (a resume keeps its plan instead)
  bool full = false;  // the plan is to come from a decoded analysis, not the demux index
};

// Sets the summary's analysis backend, fallback and time.
AnalyzeResult analyze_stage(JobContext& job, const MediaInfo& info);

}  // namespace pvt
