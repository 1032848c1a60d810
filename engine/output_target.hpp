// Where a job's output goes: the format, the final path, the folder the files land in and where the job
// folder is made beside them. Resolved from the options before any work, so a path that cannot be
// written fails at once.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "assemble.hpp"

namespace pvt {

struct TranscodeOptions;

struct OutputTarget {
  std::string format;
  std::string final_path;             // MP4 file or HLS playlist
  std::filesystem::path dir;          // where the final files go
  std::filesystem::path work_parent;  // where the job folder is made (same filesystem as dir)
  std::string job_name;               // names the job folder: one per output, so a rerun finds it
  HlsLayout hls;
};

// Throws Error(kUsage) for a missing path or an unknown format, Error(kOutput) for a path that cannot be
// written or exists without --overwrite.
OutputTarget resolve_output(const TranscodeOptions& options);

// After an overwrite, segments of the previous output beyond the new count would linger beside the new
// playlist: removes files named like ours (PREFIX + 5 digits + .ts or .m4s, PREFIXinit.mp4) that `kept`
// does not list.
void remove_stale_segments(const OutputTarget& target, const std::vector<std::string>& kept);

}  // namespace pvt
