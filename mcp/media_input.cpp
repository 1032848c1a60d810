#include "media_input.hpp"

#include "error.hpp"
#include "media_index.hpp"
#include "tool.hpp"

namespace pvt::mcp {

namespace fs = std::filesystem;

fs::path resolve_input(const std::string& path, const fs::path& base) {
  if (path.empty()) throw ToolError("The input path is empty; give the path of a video file.");
  const fs::path given(path);
  const fs::path p = (given.is_absolute() ? given : base / given).lexically_normal();
  std::error_code ec;
  const auto st = fs::status(p, ec);
  if (!fs::exists(st))
    throw ToolError(
        "The input '" + path + "' does not exist" +
        (given.is_absolute() ? std::string(".") : " (relative paths are taken from " + base.string() + ")."));
  if (fs::is_directory(st)) throw ToolError("The input '" + path + "' is a directory, not a video file.");
  if (!fs::is_regular_file(st)) throw ToolError("The input '" + path + "' is not a regular file.");
  fs::path real = fs::canonical(p, ec);
  return ec ? p : real;
}

void require_video(const fs::path& path) {
  // The engine's own checks, without the full demux: the same verdict `pvt transcode` would give.
  try {
    check_video_file(path.string());
  } catch (const Error& e) {
    throw ToolError(std::string("The input cannot be transcoded: ") + e.what() + ".");
  }
}

}  // namespace pvt::mcp
