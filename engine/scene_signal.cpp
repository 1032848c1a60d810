#include "scene_signal.hpp"

#include <algorithm>
#include <cmath>

#include "scene_metrics.hpp"

namespace pvt {
namespace {

constexpr int kMaxShift = 12;   // bins of 4 levels: light changes of up to ±48 levels are compensated
constexpr int kDarkBins = 8;    // luma 0..31
constexpr int kBrightBin = 56;  // luma 224..255

std::uint64_t total_of(const kernels::Histogram& h) {
  std::uint64_t t = 0;
  for (auto v : h) t += v;
  return t;
}

}  // namespace

double shifted_histogram_difference(const kernels::Histogram& a, const kernels::Histogram& b, int shift) {
  kernels::Histogram moved{};
  for (int i = 0; i < kernels::kHistogramBins; ++i)
    moved[std::clamp(i + shift, 0, kernels::kHistogramBins - 1)] += a[i];
  return kernels::histogram_difference(moved, b);
}

SceneSignal missing_signal(int frame) {
  SceneSignal s;
  s.frame = frame;
  return s;
}

SceneSignal scene_signal(int frame, const kernels::FrameMeasure& m, const SceneSignal* previous) {
  SceneSignal s;
  s.frame = frame;
  s.valid = true;
  s.histogram = m.histogram;
  const std::uint64_t total = total_of(m.histogram);
  if (total > 0) {
    double sum = 0;
    std::uint64_t dark = 0, bright = 0;
    for (int i = 0; i < kernels::kHistogramBins; ++i) {
      sum += (4.0 * i + 1.5) * m.histogram[i];
      if (i < kDarkBins) dark += m.histogram[i];
      if (i >= kBrightBin) bright += m.histogram[i];
    }
    s.mean_luma = sum / static_cast<double>(total);
    s.dark = static_cast<double>(dark) / static_cast<double>(total);
    s.bright = static_cast<double>(bright) / static_cast<double>(total);
  }
  if (!previous || !previous->valid || previous->frame != frame - 1) return s;
  s.has_previous = true;
  s.hist_diff = kernels::histogram_difference(previous->histogram, m.histogram);
  // Each shift is tried: the cheapest way to tell "the same picture, lighter" from "another picture".
  s.shifted_diff = s.hist_diff;
  for (int k = -kMaxShift; k <= kMaxShift && s.shifted_diff > 0; ++k)
    if (k != 0)
      s.shifted_diff =
          std::min(s.shifted_diff, shifted_histogram_difference(previous->histogram, m.histogram, k));
  const double mad = m.has_previous ? kernels::temporal_complexity(m) : 0.0;
  s.excess_diff = std::max(0.0, mad - std::abs(s.mean_luma - previous->mean_luma));
  if (m.has_previous && m.pixels > 0)
    s.strong_change = static_cast<double>(m.strong_changes) / static_cast<double>(m.pixels);
  return s;
}

}  // namespace pvt
