#include "rate_text.hpp"

#include <cctype>

namespace pvt {

namespace {

// A number with an optional one-letter suffix (k, m, g, t; any case) scaled by `unit` per step.
std::optional<std::int64_t> parse_scaled(const std::string& text, double unit, double max) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    return std::nullopt;
  }
  double mult = 1;
  if (used < text.size()) {
    const char u = static_cast<char>(std::tolower(static_cast<unsigned char>(text[used])));
    mult = u == 'k'   ? unit
           : u == 'm' ? unit * unit
           : u == 'g' ? unit * unit * unit
           : u == 't' ? unit * unit * unit * unit
                      : 0;
    if (used + 1 != text.size()) mult = 0;
  }
  const double value = v * mult;
  if (used == 0 || mult == 0 || !(value > 0) || value > max) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

}  // namespace

std::optional<std::int64_t> parse_rate(const std::string& text) {
  return parse_scaled(text, 1e3, 1e12);
}

std::optional<std::int64_t> parse_size(const std::string& text) {
  return parse_scaled(text, 1024, 1e18);
}

}  // namespace pvt
