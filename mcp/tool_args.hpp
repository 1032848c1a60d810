// Reading a tool's arguments with errors the model can act on: each names the argument and what it takes.
// A null value counts as absent (some clients send null for "not given").
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pvt::mcp {

class ToolArgs {
 public:
  // Throws ToolError for an argument the tool does not take (a typo the model should hear about).
  ToolArgs(const nlohmann::json& arguments, std::initializer_list<const char*> known);
  ToolArgs(const nlohmann::json& arguments, const std::vector<std::string>& known);

  std::optional<std::string> string(const char* name) const;
  std::string required_string(const char* name) const;
  std::optional<double> number(const char* name, double min, double max, bool min_exclusive = false) const;
  std::optional<int> integer(const char* name, int min, int max) const;
  std::optional<bool> boolean(const char* name) const;
  std::optional<std::string> one_of(const char* name, const std::vector<std::string>& choices) const;
  // An array of integers, each from min to max, at most max_items of them.
  std::optional<std::vector<double>> numbers(const char* name, double min, double max,
                                             std::size_t max_items) const;
  std::optional<std::vector<int>> integers(const char* name, int min, int max, std::size_t max_items) const;

 private:
  const nlohmann::json* find(const char* name) const;
  const nlohmann::json& args_;
};

// "2500k", "4M", "800000" -> bits per second. Throws ToolError naming `name`.
std::int64_t parse_bitrate(const std::string& text, const char* name);

}  // namespace pvt::mcp
