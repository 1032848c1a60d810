// Bounds what error messages repeat back from a request. A client may send a megabyte where a name is
// expected; echoing it whole would double the traffic and flood the model's context with it.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pvt::mcp {

// Longest string argument any tool takes: a path (Linux PATH_MAX), a job id, a preset name.
inline constexpr std::size_t kMaxStringArgument = 4096;

// `text` itself when it has at most `max` bytes; otherwise its first `max` bytes (cut at a UTF-8 character
// boundary) followed by "... (N bytes)".
inline std::string excerpt(std::string_view text, std::size_t max = 120) {
  if (text.size() <= max) return std::string(text);
  std::size_t cut = max;
  // Back off continuation bytes (10xxxxxx) so a multi-byte character is not split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "... (" + std::to_string(text.size()) + " bytes)";
}

// A JSON value as the client wrote it, bounded like excerpt().
inline std::string json_excerpt(const nlohmann::json& value, std::size_t max = 120) {
  return excerpt(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), max);
}

}  // namespace pvt::mcp
