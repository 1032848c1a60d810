#include "transcode_job.hpp"

#include <new>

#include "analysis_backend.hpp"
#include "error.hpp"
#include "job_context.hpp"
#include "job_failure.hpp"
#include "job_report.hpp"
#include "job_resume.hpp"
#include "side_tracks.hpp"
#include "stage_analyze.hpp"
#include "stage_assemble.hpp"
#include "stage_plan.hpp"
#include "stage_probe.hpp"
#include "stage_schedule.hpp"
#include "stage_verify.hpp"

namespace pvt {

// The data flow of DESIGN.md, one stage a call. The probe writes nothing; the job context opens the job
// folder, and from then on every failure goes through job_failed, which decides what stays to resume from.
TranscodeSummary transcode(const TranscodeOptions& o, const ProgressFn& progress, const WarnFn& warn,
                           SavedJob* saved) {
  const auto started = JobClock::now();
  const AnalysisProbeAhead backend_probe(o.analysis_backend);  // which kernels: found while the input is read
  const ProbeResult probe = probe_stage(o, warn);
  JobContext job(o, probe, progress, warn, started);
  try {
    prepare_job_folder(job);
    const auto executor = choose_executor(job, probe);  // its workers start loading now
    const AnalyzeResult analyzed = analyze_stage(job, probe.info);
    const JobPlan plan = plan_stage(job, probe, analyzed);
    // Audio and subtitles are made ready on their own thread while the workers encode.
    SideTracksJob side_tracks(probe.info, probe.output, o.audio_bitrate, job.dir.dir().string());
    const ScheduleResult encoded = schedule_stage(job, probe, plan, *executor);
    const Assembly assembled = assemble_stage(job, probe, plan.plan, encoded, side_tracks.join());
    verify_stage(job, probe, assembled);
    publish_stage(job, probe.target, assembled);
    return finish_summary(job, plan.plan, encoded);
  } catch (const Error& e) {
    throw job_failed(job, saved, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw job_failed(job, saved, ErrorCode::kInternal, "out of memory");
  } catch (const std::exception& e) {
    throw job_failed(job, saved, ErrorCode::kInternal, e.what());
  }
}

}  // namespace pvt
