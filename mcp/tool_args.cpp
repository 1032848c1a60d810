#include "tool_args.hpp"

#include "rate_text.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "message_text.hpp"
#include "tool.hpp"

namespace pvt::mcp {

namespace {

std::string format_number(double v) {
  std::string s = nlohmann::json(v).dump();
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

}  // namespace

ToolArgs::ToolArgs(const nlohmann::json& arguments, std::initializer_list<const char*> known)
    : ToolArgs(arguments, std::vector<std::string>(known.begin(), known.end())) {}

ToolArgs::ToolArgs(const nlohmann::json& arguments, const std::vector<std::string>& known)
    : args_(arguments) {
  // Not a structured binding: clang before 16 cannot capture one in the lambda below.
  for (const auto& item : args_.items()) {
    const std::string& key = item.key();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw ToolError("Unknown argument '" + excerpt(key) + "'" +
                      (list.empty() ? std::string("; this tool takes no arguments.")
                                    : "; this tool takes: " + list + "."));
    }
  }
}

const nlohmann::json* ToolArgs::find(const char* name) const {
  auto it = args_.find(name);
  if (it == args_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> ToolArgs::string(const char* name) const {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw ToolError(std::string("The argument ") + name + " must be a string.");
  const auto& s = v->get_ref<const std::string&>();
  // Checked before any use: a path, id or name is never longer, and no file system call or message
  // should see a megabyte of it.
  if (s.size() > kMaxStringArgument)
    throw ToolError(std::string("The argument ") + name + " is too long (" + std::to_string(s.size()) +
                    " bytes; at most " + std::to_string(kMaxStringArgument) + ").");
  return s;
}

std::string ToolArgs::required_string(const char* name) const {
  auto s = string(name);
  if (!s || s->empty())
    throw ToolError(std::string("The argument ") + name + " is required (a non-empty string).");
  return *s;
}

std::optional<double> ToolArgs::number(const char* name, double min, double max, bool min_exclusive) const {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  const std::string range = min_exclusive
                                ? "greater than " + format_number(min) + " and at most " + format_number(max)
                                : "from " + format_number(min) + " to " + format_number(max);
  if (!v->is_number())
    throw ToolError(std::string("The argument ") + name + " must be a number " + range + ".");
  const double d = v->get<double>();
  if (!std::isfinite(d) || d > max || d < min || (min_exclusive && d == min))
    throw ToolError(std::string("The argument ") + name + " must be a number " + range + ", not " +
                    json_excerpt(*v) + ".");
  return d;
}

std::optional<int> ToolArgs::integer(const char* name, int min, int max) const {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  const std::string what = std::string("The argument ") + name + " must be an integer from " +
                           std::to_string(min) + " to " + std::to_string(max);
  // 23.0 is an integer to JSON Schema, so accept whole floats too.
  if (!v->is_number() || (v->is_number_float() && std::floor(v->get<double>()) != v->get<double>()))
    throw ToolError(what + ".");
  const double d = v->get<double>();
  if (d < min || d > max) throw ToolError(what + ", not " + json_excerpt(*v) + ".");
  return static_cast<int>(d);
}

std::optional<bool> ToolArgs::boolean(const char* name) const {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw ToolError(std::string("The argument ") + name + " must be true or false.");
  return v->get<bool>();
}

std::optional<std::string> ToolArgs::one_of(const char* name, const std::vector<std::string>& choices) const {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  if (!v->is_string() || std::find(choices.begin(), choices.end(), v->get<std::string>()) == choices.end())
    throw ToolError(std::string("The argument ") + name + " must be one of " + list + ", not " +
                    json_excerpt(*v) + ".");
  return v->get<std::string>();
}

std::optional<std::vector<double>> ToolArgs::numbers(const char* name, double min, double max,
                                                     std::size_t max_items) const {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  const std::string what = std::string("The argument ") + name + " must be an array of at most " +
                           std::to_string(max_items) + " numbers from " + format_number(min) + " to " +
                           format_number(max);
  if (!v->is_array() || v->size() > max_items) throw ToolError(what + ".");
  std::vector<double> out;
  for (const auto& item : *v) {
    if (!item.is_number()) throw ToolError(what + ".");
    const double d = item.get<double>();
    if (!std::isfinite(d) || d < min || d > max) throw ToolError(what + ", not " + json_excerpt(item) + ".");
    out.push_back(d);
  }
  return out;
}

std::optional<std::vector<int>> ToolArgs::integers(const char* name, int min, int max,
                                                   std::size_t max_items) const {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  const std::string what = std::string("The argument ") + name + " must be an array of at most " +
                           std::to_string(max_items) + " integers from " + std::to_string(min) + " to " +
                           std::to_string(max);
  if (!v->is_array() || v->size() > max_items) throw ToolError(what + ".");
  std::vector<int> out;
  for (const auto& item : *v) {
    if (!item.is_number_integer() && !item.is_number_unsigned()) throw ToolError(what + ".");
    const auto i = item.get<std::int64_t>();
    if (i < min || i > max) throw ToolError(what + ", not " + json_excerpt(item) + ".");
    out.push_back(static_cast<int>(i));
  }
  return out;
}

std::int64_t parse_bitrate(const std::string& text, const char* name) {
  const auto bits = parse_rate(text);
  if (!bits || *bits < 10000 || *bits > 10'000'000'000)
    throw ToolError(std::string("The argument ") + name +
                    " must be a video bitrate such as \"2500k\" or \"4M\" (at least 10k), not \"" +
                    excerpt(text) + "\".");
  return *bits;
}

}  // namespace pvt::mcp
