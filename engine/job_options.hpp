// The options of `pvt transcode` checked before any work starts, and the subsets of them that other
// parts of the job take.
#pragma once

#include <string>

#include "encoder_choice.hpp"
#include "output_plan.hpp"
#include "transcode_job.hpp"

namespace pvt {

// Throws Error(kUsage) for the first option out of range, in the order the CLI has always checked them.
// The encoders are resolved among the checks (an encoder this machine lacks is a usage error too), so the
// choice comes back: the checks and the resolution cannot be told apart without changing which error
// a command with several mistakes reports.
EncoderChoice check_options(const TranscodeOptions& options);

// The choices that shape the output plan.
OutputChoices output_choices(const TranscodeOptions& options, const std::string& format);

}  // namespace pvt
