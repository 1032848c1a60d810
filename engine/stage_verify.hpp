// Stage 6, verify: the assembled output checked against what the input and the output plan promise
// (frames, duration, timestamps, tracks, fidelity), then moved into place; a silent loss fails the job
// before anything reaches the output's path.
#pragma once

#include "job_context.hpp"
#include "stage_assemble.hpp"
#include "stage_probe.hpp"

namespace pvt {

// Fills the summary's verified report; throws Error(kVerify) naming what failed.
void verify_stage(JobContext& job, const ProbeResult& probe, const Assembly& assembled);

// Into place: a file by one rename; HLS segments first and the playlist last, so a playlist at the final
// path always lists complete segments. The job folder has then served its purpose.
void publish_stage(JobContext& job, const OutputTarget& target, const Assembly& assembled);

}  // namespace pvt
