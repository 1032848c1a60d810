#include "scene_metrics.hpp"

#include <cstdlib>

namespace pvt::kernels {

double histogram_difference(const Histogram& a, const Histogram& b) {
  std::uint64_t total_a = 0, total_b = 0;
  for (int i = 0; i < kHistogramBins; ++i) {
    total_a += a[i];
    total_b += b[i];
  }
  if (total_a == 0 || total_b == 0) return total_a == total_b ? 0.0 : 1.0;
  // Normalise each histogram so frames of different sizes compare; integer cross-multiplication keeps
  // the sum exact before the one division.
  long double sum = 0;
  for (int i = 0; i < kHistogramBins; ++i) {
    const long double pa = static_cast<long double>(a[i]) / total_a;
    const long double pb = static_cast<long double>(b[i]) / total_b;
    sum += pa > pb ? pa - pb : pb - pa;
  }
  return static_cast<double>(sum / 2);
}

double spatial_complexity(const FrameMeasure& m) {
  return m.pixels ? static_cast<double>(m.gradient_sum) / m.pixels : 0.0;
}

double temporal_complexity(const FrameMeasure& m) {
  return (m.pixels && m.has_previous) ? static_cast<double>(m.diff_sum) / m.pixels : 0.0;
}

}  // namespace pvt::kernels
