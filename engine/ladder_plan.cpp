#include "ladder_plan.hpp"

#include <algorithm>
#include <charconv>
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

}  // namespace pvt
