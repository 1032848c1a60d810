#include "stage_analyze.hpp"

#include "job_context.hpp"

namespace pvt {

AnalyzeResult analyze_stage(JobContext& job, const MediaInfo& info) {
  const TranscodeOptions& o = job.options;
  TranscodeSummary& sum = job.summary;
  AnalyzeResult a;
  a.engine = open_analysis_backend(o.analysis_backend, o.analysis != "index", job.warn);
  sum.analysis_backend = a.engine.name();
  sum.analysis_fallback = a.engine.fallback;
  a.full = o.analysis == "full" || (o.analysis == "auto" && a.engine.nvdec);
  if (!a.full || job.resuming()) {
    // Opened only to prove it starts (else workers get "cpu" and no warnings of their own): the
    // device is theirs now.
    a.engine.nvdec.reset();
    a.engine.kernels = kernels::make_cpu_backend();
    return a;
  }
  const auto started = JobClock::now();
  AnalysisOptions ao;
  ao.engine = &a.engine;
  ao.warn = job.warn;
  ao.scenes = o.scenes;
  ao.progress = [&job](int done) {
    job.progress.frames_done = done;
    job.emit("analyze");
  };
  ao.cancel = o.cancel;
  a.analysis = analyze_frames(info, ao);
  sum.analyze_s = seconds_since(started);
  if (!a.analysis.fallback.empty()) {
    sum.analysis_backend = a.analysis.kernel;
    sum.analysis_fallback = a.analysis.fallback;
  }
  return a;
}

}  // namespace pvt
