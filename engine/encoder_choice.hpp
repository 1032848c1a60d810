// `--encoder auto|x264|nvenc|vaapi|qsv|videotoolbox` and `--codec h264|hevc` resolved against what the
// encoder probe found: which backend the CPU slots run and how many hardware sessions join them.
#pragma once

#include <string>

#include "segment_task.hpp"

namespace pvt {

struct EncoderChoice {
  EncoderSlots slots;       // cpu count is left to the caller (workers)
  std::string description;  // "x264", "nvenc (2 sessions) + x264"
};

// Throws Error(kUsage) on one line naming what this machine has, and why the asked-for one is missing.
// max_hw_sessions > 0 caps the sessions used per hardware backend (a shared GPU, or a benchmark of one
// session); 0 uses every session the probe opened.
// For a cluster executor: an explicit encoder, not probed on this machine (the nodes have their own); a
// hardware one keeps the CPU for the segments whose session fails. auto is refused.
EncoderChoice cluster_encoders(const std::string& encoder, const std::string& codec);

EncoderChoice choose_encoders(const std::string& encoder, const std::string& codec, int max_hw_sessions = 0);

}  // namespace pvt
