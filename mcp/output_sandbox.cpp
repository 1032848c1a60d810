#include "output_sandbox.hpp"

#include <sys/stat.h>

#include "tool.hpp"

namespace pvt::mcp {

namespace fs = std::filesystem;

fs::path resolve_physically(const fs::path& path) {
  fs::path current = "/";
  bool missing = false;  // past a component that does not exist nothing can be a symlink (until a "..")
  for (const auto& part : path.relative_path()) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      // current has no symlinks in it, so its lexical parent is its physical parent.
      current = current.has_relative_path() ? current.parent_path() : current;
      // Climbing out of a missing part lands where things exist again: the components that follow may
      // be symlinks ("nope/../out-link/x" must follow out-link), so they are looked at again.
      struct stat st {};
      missing = lstat(current.c_str(), &st) != 0;
      continue;
    }
    fs::path next = current / part;
    if (missing) {
      current = std::move(next);
      continue;
    }
    struct stat st {};
    if (lstat(next.c_str(), &st) != 0) {
      missing = true;
      current = std::move(next);
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      fs::path target = fs::canonical(next, ec);  // follows the whole chain; fails when dangling or looping
      if (ec) return {};
      current = std::move(target);
    } else {
      current = std::move(next);
    }
  }
  return current;
}

bool OutputSandbox::contains(const fs::path& path) const {
  const fs::path rel = path.lexically_normal().lexically_relative(root_);
  return !rel.empty() && rel != "." && *rel.begin() != "..";
}

fs::path OutputSandbox::resolve_output(const std::string& requested) const {
  if (requested.empty())
    throw ToolError("The output path is empty; give a file or folder name under the output directory.");
  if (requested.find('\0') != std::string::npos) throw ToolError("The output path contains a NUL character.");
  const fs::path given(requested);
  const fs::path resolved = resolve_physically(given.is_absolute() ? given : root_ / given);
  if (resolved.empty())
    throw ToolError("The output path '" + requested +
                    "' goes through a symlink that is dangling or loops; choose another name.");
  if (!contains(resolved))
    throw ToolError("The output path '" + requested + "' is outside the output directory " + root_.string() +
                    "; give a name or relative path inside it.");
  return resolved;
}

}  // namespace pvt::mcp
