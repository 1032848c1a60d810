// What a job that ends without success leaves behind, and the message that says how to go on.
#pragma once

#include <string>

#include "error.hpp"
#include "transcode_job.hpp"

namespace pvt {

struct JobContext;

// With a state worth resuming from (finished segments, or an interrupt or a full disk the user will
// clear) the folder stays, cleared down to what a resume uses, and the message says how to resume;
// otherwise everything goes. A job cancelled through its own flag is gone on purpose. `saved`, when
// given, says what was kept. Returns the error to throw.
Error job_failed(JobContext& job, SavedJob* saved, ErrorCode code, const std::string& what);

}  // namespace pvt
