// Rates and sizes as people write them: "2500k", "4M", "128000", "8G". One parser for the CLI and the
// MCP server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pvt {

// Bits per second, or nullopt when the text is not a positive number with an optional k/M/G suffix.
std::optional<std::int64_t> parse_rate(const std::string& text);

// Bytes, for memory sizes: a positive number with an optional K/M/G/T suffix, binary ("4G" = 4 GiB,
// as free(1) and ulimit count), or nullopt.
std::optional<std::int64_t> parse_size(const std::string& text);

}  // namespace pvt
