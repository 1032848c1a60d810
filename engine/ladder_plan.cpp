#include "ladder_plan.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>

namespace pvt {

namespace {

std::vector<int> auto_ladder(int displayed_height) {
  std::vector<int> rungs;
  const int top = std::min(displayed_height & ~1, kAutoLadder[0]);
  rungs.push_back(top);
  for (int h : kAutoLadder)
    if (h < top && rungs.size() < 3) rungs.push_back(h);
  return rungs;
}

std::vector<int> parse_heights(const std::string& spec) {
  std::vector<int> heights;
  std::size_t at = 0;
  while (at <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', at), spec.size());
    const std::string item = spec.substr(at, comma - at);
    int h = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), h);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || h < 2 || h > 4320)
      throw Error(
          ErrorCode::kUsage,
          "--ladder takes heights between 2 and 4320 (e.g. 1080,720,480) or auto, not '" + spec + "'");
    heights.push_back(h & ~1);
    at = comma + 1;
  }
  return heights;
}

}  // namespace

std::vector<int> ladder_heights(const std::string& spec, int displayed_height, const WarnFn& warn) {
  if (spec == "auto") return auto_ladder(displayed_height);
  std::vector<int> heights = parse_heights(spec);
  std::sort(heights.begin(), heights.end(), std::greater<>());
  heights.erase(std::unique(heights.begin(), heights.end()), heights.end());
  std::vector<int> kept, dropped;
  for (int h : heights) (h <= displayed_height ? kept : dropped).push_back(h);
  if (kept.empty())
    throw Error(ErrorCode::kUsage, "--ladder " + spec + ": every rung is taller than the source (" +
                                       std::to_string(displayed_height) + " pixels high)");
  for (int h : dropped)
    if (warn)
      warn("--ladder: the " + std::to_string(h) + "p rung is dropped: the source is only " +
           std::to_string(displayed_height) + " pixels high");
  return kept;
}

namespace {

std::int64_t parse_rate(const std::string& text, const std::string& spec) {
  double v = 0;
  std::size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  const double scale = unit.empty() ? 1 : unit == "k" ? 1e3 : unit == "M" ? 1e6 : 0;
  if (used == 0 || scale == 0 || !(v * scale >= 10e3) || v * scale > 1e9)
    throw Error(ErrorCode::kUsage,
                "--ladder-bitrates takes auto, none or HEIGHT=RATE pairs (e.g. "
                "720=2500k,480=1200k; RATE 10k-1000M), not '" +
                    spec + "'");
  return static_cast<std::int64_t>(v * scale);
}

// The HEIGHT=RATE pairs of a spec.
std::vector<std::pair<int, std::int64_t>> parse_pairs(const std::string& spec) {
  std::vector<std::pair<int, std::int64_t>> pairs;
  std::size_t at = 0;
  while (at <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', at), spec.size());
    const std::string item = spec.substr(at, comma - at);
    const std::size_t eq = item.find('=');
    int h = 0;
    const char* hend = item.data() + (eq == std::string::npos ? 0 : eq);
    const auto [end, ec] = std::from_chars(item.data(), hend, h);
    if (eq == std::string::npos || ec != std::errc() || end != hend || h < 2)
      throw Error(ErrorCode::kUsage,
                  "--ladder-bitrates takes auto, none or HEIGHT=RATE pairs (e.g. "
                  "720=2500k,480=1200k), not '" +
                      spec + "'");
    pairs.emplace_back(h & ~1, parse_rate(item.substr(eq + 1), spec));
    at = comma + 1;
  }
  return pairs;
}

}  // namespace

std::int64_t default_rung_bitrate(int height, const std::string& codec) {
  static const std::pair<int, double> table[] = {
      {1080, 6e6}, {720, 3e6}, {480, 1.5e6}, {360, 0.8e6}, {240, 0.4e6}};
  // The table's entry nearest in height, scaled by the pixel count (area goes with the square of height).
  const auto* nearest = &table[0];
  for (const auto& e : table)
    if (std::abs(e.first - height) < std::abs(nearest->first - height)) nearest = &e;
  const double ratio = static_cast<double>(height) / nearest->first;
  const double h264 = nearest->second * ratio * ratio;
  const double factor = codec == "av1" ? 0.55 : (codec == "hevc" || codec == "vp9") ? 0.65 : 1.0;
  return std::max<std::int64_t>(50'000, static_cast<std::int64_t>(h264 * factor / 1000) * 1000);
}

void check_ladder_bitrates(const std::string& spec) {
  if (spec != "auto" && spec != "none") parse_pairs(spec);
}

std::vector<std::int64_t> ladder_bitrates(const std::string& spec, const std::vector<int>& heights,
                                          const std::string& codec) {
  std::vector<std::int64_t> rates;
  for (int h : heights) rates.push_back(spec == "none" ? 0 : default_rung_bitrate(h, codec));
  if (spec == "auto" || spec == "none") return rates;
  for (const auto& [h, rate] : parse_pairs(spec)) {
    const auto it = std::find(heights.begin(), heights.end(), h);
    if (it == heights.end())
      throw Error(ErrorCode::kUsage,
                  "--ladder-bitrates names " + std::to_string(h) + "p, which is not a rung");
    rates[static_cast<std::size_t>(it - heights.begin())] = rate;
  }
  return rates;
}

}  // namespace pvt
