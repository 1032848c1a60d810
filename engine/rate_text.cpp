#include "rate_text.hpp"

#include <cctype>

namespace pvt {

std::optional<std::int64_t> parse_rate(const std::string& text) {
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
    mult = u == 'k' ? 1e3 : u == 'm' ? 1e6 : u == 'g' ? 1e9 : 0;
    if (used + 1 != text.size()) mult = 0;
  }
  const double bits = v * mult;
  if (used == 0 || mult == 0 || !(bits > 0) || bits > 1e12) return std::nullopt;
  return static_cast<std::int64_t>(bits);
}

}  // namespace pvt
