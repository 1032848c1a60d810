#include "speed_scale.hpp"

#include <algorithm>
#include <cmath>

#include "video_encoder.hpp"

namespace pvt::hw {

namespace {

const char* const kPresetNames[10] = {"ultrafast", "superfast", "veryfast", "faster",   "fast",
                                      "medium",    "slow",      "slower",   "veryslow", "placebo"};

}  // namespace

int quality_on_scale(double crf, int top) {
  return std::clamp(static_cast<int>(std::lround(crf * top / 51.0)), 0, top);
}

int tile_columns_log2(int threads, int width) {
  int log2 = 0;
  while ((2 << log2) <= threads && (width >> (log2 + 1)) >= 256 && log2 < 6) ++log2;
  return log2;
}

bool is_speed_number(const std::string& preset) {
  const std::size_t start = !preset.empty() && preset[0] == '-' ? 1 : 0;
  return preset.size() > start && preset.size() <= 4 &&
         preset.find_first_not_of("0123456789", start) == std::string::npos;
}

int speed_for(const std::string& preset, const int (&by_name)[10], int lo, int hi, const char* encoder) {
  if (is_speed_number(preset)) {
    const int n = std::stoi(preset);
    if (n < lo || n > hi)
      throw BackendError(std::string(encoder) + " takes presets " + std::to_string(lo) + " to " +
                         std::to_string(hi) + " (or x264's names), not " + preset);
    return n;
  }
  for (int i = 0; i < 10; ++i)
    if (preset == kPresetNames[i]) return by_name[i];
  throw BackendError(std::string(encoder) + " takes x264's preset names or its own speed " +
                     std::to_string(lo) + " to " + std::to_string(hi) + ", not '" + preset + "'");
}

}  // namespace pvt::hw
