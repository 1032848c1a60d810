#include "atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "error.hpp"

namespace pvt {
namespace fs = std::filesystem;

std::string temporary_sibling(const std::string& path, const std::string& suffix) {
  const fs::path p(path);
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on "." + std::string temporaries.
  std::string name(".");
  name += p.filename().string();
  name += ".pvt-tmp-" + std::to_string(getpid()) + suffix;
  return (p.parent_path() / name).string();
}

void rename_or_throw(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throw Error(ErrorCode::kOutput, "cannot rename " + from + " to " + to + ": " + std::strerror(errno));
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = temporary_sibling(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Error(ErrorCode::kOutput, path + ": cannot write: " + std::strerror(errno));
  const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const int saved = errno;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    throw Error(ErrorCode::kOutput, path + ": cannot write: " + std::strerror(ok ? errno : saved));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw Error(ErrorCode::kOutput, path + ": cannot write: " + std::strerror(e));
  }
}

}  // namespace pvt
