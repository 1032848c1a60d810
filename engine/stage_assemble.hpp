// Stage 5, assemble: the encoded segments joined by stream copy with the side tracks into one file or an
// HLS set, inside the job folder (same filesystem as the output, so moving it into place is a rename): a
// job killed while assembling leaves nothing beside the output, and its resume clears it.
#pragma once

#include <string>

#include "assemble.hpp"
#include "job_context.hpp"
#include "segment_plan.hpp"
#include "side_tracks.hpp"
#include "stage_probe.hpp"
#include "stage_schedule.hpp"

namespace pvt {

struct Assembly {
  AssemblyInput input;  // what went in: verify checks that its audio tracks came out
  AssemblyResult result;
  std::string path;              // the assembled file, or the staged playlist for HLS
  JobClock::time_point started;  // the summary's assemble time runs until the output is in place
};

Assembly assemble_stage(JobContext& job, const ProbeResult& probe, const Plan& plan,
                        const ScheduleResult& encoded, SideTracks side);

}  // namespace pvt
