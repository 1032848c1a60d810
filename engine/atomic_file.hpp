// Files that appear complete or not at all: written under a temporary name in the same directory, then
// renamed over the final name (rename is atomic within a filesystem).
#pragma once

#include <string>

namespace pvt {

// Writes `content` to path atomically. Throws Error(kOutput) with the OS reason on failure.
void write_file_atomically(const std::string& path, const std::string& content);

// A temporary sibling name for `path`: "<dir>/.<name>.pvt-tmp-<pid>[<suffix>]".
std::string temporary_sibling(const std::string& path, const std::string& suffix = "");

// rename(2) with an Error(kOutput) naming both paths on failure.
void rename_or_throw(const std::string& from, const std::string& to);

}  // namespace pvt
