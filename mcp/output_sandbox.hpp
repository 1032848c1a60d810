// Where pvt-mcp may write: only under the realpath of the output directory. A path the model gives is
// resolved the way the kernel would resolve it (symlinks followed, ".." taken physically), and refused
// when the result is not strictly inside the root: ".." climbing out, an absolute path elsewhere, or a
// symlink (anywhere along the path, or dangling at its end) that leads out.
#pragma once

#include <filesystem>
#include <string>

namespace pvt::mcp {

class OutputSandbox {
 public:
  // root must already be a realpath (ServerConfig::output_dir after prepare_output_dir).
  explicit OutputSandbox(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }

  // The physical absolute path `requested` names (relative paths are taken from the root). Throws
  // ToolError with a one-sentence reason when it is empty, escapes the root, or is the root itself.
  std::filesystem::path resolve_output(const std::string& requested) const;

  // True when `path` (absolute, physical) is strictly inside the root.
  bool contains(const std::filesystem::path& path) const;

 private:
  std::filesystem::path root_;
};

// Resolves `path` physically: every existing component has its symlinks followed, components past the
// first missing one are taken lexically. Returns an empty path when a symlink on the way is dangling or
// loops (such a path cannot be judged safely).
std::filesystem::path resolve_physically(const std::filesystem::path& path);

}  // namespace pvt::mcp
