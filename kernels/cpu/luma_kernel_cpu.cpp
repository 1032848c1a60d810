// CPU reference kernel. Written for clarity first, but with loops the compiler vectorises, because on a
// CPU-only machine it runs inside every worker on every frame.
#include <algorithm>
#include <cstring>

#include "luma_kernel.hpp"

namespace pvt::kernels {

int reduction_factor(int width, int height) {
  (void)height;
  return std::max(1, width / 360);
}

namespace {

// Column sums first (contiguous, vectorised adds over `factor` rows), then each block's columns: about
// 4x faster than summing block by block, and the same integers. kFactor > 0 is the factor known at compile
// time, so the division by the block's area becomes a multiply the compiler vectorises (a division by a
// run-time value took a third of `pvt analyze`'s time at factor 1); 0: the run-time `factor`.
template <typename Sample, int kFactor>
void reduce_plane(const LumaView& plane, int runtime_factor, int shift, ReducedLuma& out) {
  const int factor = kFactor > 0 ? kFactor : runtime_factor;
  const int ow = out.width, oh = out.height;
  const int used_width = ow * factor;
  const std::uint32_t area = static_cast<std::uint32_t>(factor) * factor;
  std::vector<std::uint32_t> col_sums(used_width);
  for (int oy = 0; oy < oh; ++oy) {
    std::fill(col_sums.begin(), col_sums.end(), 0u);
    for (int dy = 0; dy < factor; ++dy) {
      const auto* row = reinterpret_cast<const Sample*>(plane.data + (oy * factor + dy) * plane.stride_bytes);
      for (int x = 0; x < used_width; ++x) col_sums[x] += row[x];
    }
    std::uint8_t* dst = out.pixels.data() + static_cast<std::size_t>(oy) * ow;
    for (int ox = 0; ox < ow; ++ox) {
      std::uint32_t sum = 0;
      for (int dx = 0; dx < factor; ++dx) sum += col_sums[ox * factor + dx];
      const std::uint32_t v = (sum / area) >> shift;
      dst[ox] = static_cast<std::uint8_t>(std::min<std::uint32_t>(v, 255));
    }
  }
}

// The common factors (frames up to 2159 samples wide) with the factor fixed at compile time.
template <typename Sample>
void reduce_plane(const LumaView& plane, int factor, int shift, ReducedLuma& out) {
  switch (factor) {
    case 1:
      return reduce_plane<Sample, 1>(plane, factor, shift, out);
    case 2:
      return reduce_plane<Sample, 2>(plane, factor, shift, out);
    case 3:
      return reduce_plane<Sample, 3>(plane, factor, shift, out);
    case 4:
      return reduce_plane<Sample, 4>(plane, factor, shift, out);
    case 5:
      return reduce_plane<Sample, 5>(plane, factor, shift, out);
    default:
      return reduce_plane<Sample, 0>(plane, factor, shift, out);
  }
}

class CpuLumaKernel final : public LumaKernel {
 public:
  const char* name() const override { return "cpu"; }

  void reduce(const LumaView& plane, int factor, ReducedLuma& out) override {
    factor = std::max(1, factor);
    out.width = plane.width / factor;
    out.height = plane.height / factor;
    out.pixels.resize(static_cast<std::size_t>(out.width) * out.height);
    if (out.pixels.empty()) return;
    if (plane.bit_depth <= 8)
      reduce_plane<std::uint8_t>(plane, factor, 0, out);
    else
      reduce_plane<std::uint16_t>(plane, factor, plane.bit_depth - 8, out);
  }

  FrameMeasure measure(const ReducedLuma& cur, const ReducedLuma* prev) override {
    FrameMeasure m;
    const int w = cur.width, h = cur.height;
    m.pixels = static_cast<std::uint32_t>(w) * h;
    const std::uint8_t* p = cur.pixels.data();
    // Four sub-histograms break the store-to-load dependency between equal neighbouring samples.
    std::uint32_t sub[4][kHistogramBins] = {};
    std::uint64_t grad = 0;
    for (int y = 0; y < h; ++y) {
      const std::uint8_t* row = p + static_cast<std::size_t>(y) * w;
      const std::uint8_t* below = y + 1 < h ? row + w : nullptr;
      int x = 0;
      for (; x + 4 <= w; x += 4)
        for (int k = 0; k < 4; ++k) ++sub[k][row[x + k] >> 2];
      for (; x < w; ++x) ++sub[0][row[x] >> 2];
      std::uint32_t g = 0;
      for (int i = 0; i + 1 < w; ++i) g += std::abs(row[i + 1] - row[i]);
      if (below)
        for (int i = 0; i < w; ++i) g += std::abs(below[i] - row[i]);
      grad += g;
    }
    for (int b = 0; b < kHistogramBins; ++b) m.histogram[b] = sub[0][b] + sub[1][b] + sub[2][b] + sub[3][b];
    m.gradient_sum = grad;
    if (prev && prev->width == w && prev->height == h && !prev->pixels.empty()) {
      m.has_previous = true;
      const std::uint8_t* q = prev->pixels.data();
      std::uint64_t diff = 0;
      std::uint32_t strong = 0;
      const std::size_t n = m.pixels;
      std::size_t i = 0;
      while (i < n) {
        // Chunked so the 32-bit partial sum cannot overflow (255 * 65536 < 2^32).
        const std::size_t end = std::min(n, i + 65536);
        std::uint32_t d = 0;
        for (; i < end; ++i) {
          const int a = std::abs(p[i] - q[i]);
          d += a;
          strong += a > kStrongChange;
        }
        diff += d;
      }
      m.diff_sum = diff;
      m.strong_changes = strong;
    }
    return m;
  }
};

}  // namespace

std::unique_ptr<LumaKernel> make_cpu_kernel() {
  return std::make_unique<CpuLumaKernel>();
}

}  // namespace pvt::kernels
