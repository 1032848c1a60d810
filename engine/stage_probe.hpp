// Stage 1, probe (DESIGN.md, "The data flow"): the options checked, the output's place resolved, the
// input demuxed once, and what the output will keep of it decided, all before the job folder exists, so
// a command that cannot succeed leaves nothing behind.
#pragma once

#include "encoder_choice.hpp"
#include "media_index.hpp"
#include "output_plan.hpp"
#include "output_target.hpp"
#include "transcode_job.hpp"

namespace pvt {

struct ProbeResult {
  EncoderChoice encoders;  // the slots' backends; their CPU count comes with the worker budget
  OutputTarget target;
  MediaInfo info;
  OutputPlan output;
  std::vector<int> ladder;                    // a streaming ladder's rung heights, tallest first; empty: none
  std::vector<std::int64_t> ladder_bitrates;  // each rung's peak cap (bits/s), 0: uncapped
};

ProbeResult probe_stage(const TranscodeOptions& options, const WarnFn& warn);

}  // namespace pvt
