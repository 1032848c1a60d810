// Target quality's options: checked before any work starts, and turned into each segment's QualityTarget.
#pragma once

#include "job_state.hpp"
#include "segment_descriptor.hpp"
#include "transcode_job.hpp"

namespace pvt {

// Throws Error(kUsage) for a bad combination or value: with --bitrate, a metric this FFmpeg build lacks
// (naming the ones it has), a target outside the metric's scale, a bad pool or CRF range.
void check_quality_options(const TranscodeOptions& o);

double quality_tolerance(const TranscodeOptions::Quality& q);  // the default for the metric when unset

// The segment's target (its probe cache file named after the input and the frames), or a disabled one.
QualityTarget quality_target(const TranscodeOptions& o, const InputFingerprint& input, int start_frame,
                             int end_frame);

}  // namespace pvt
