// The input side of the tools: which file a path names, and a quick check that it holds video, so a
// tool call can refuse a wrong path at once instead of queueing a job that is bound to fail.
#pragma once

#include <filesystem>
#include <string>

namespace pvt::mcp {

// An existing regular file: `path` absolute, or relative to `base` (the output directory). Inputs may
// live anywhere: only outputs are confined. Throws ToolError naming the path.
std::filesystem::path resolve_input(const std::string& path, const std::filesystem::path& base);

// Opens the container and looks for a video stream (cover art does not count). Throws ToolError with
// FFmpeg's reason. Costs a container open, not a demux of the whole file.
void require_video(const std::filesystem::path& path);

}  // namespace pvt::mcp
