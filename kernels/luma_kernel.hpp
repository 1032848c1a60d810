// The analysis-kernel contract shared by every backend (CPU reference, CUDA, Vulkan).
//
// A kernel sees only the luma plane of a decoded frame. It first reduces the plane by an integer box
// filter (the "analysis resolution"), then measures the reduced plane. Every integer it returns must be
// bit-identical across backends; the floats derived from them live in scene_metrics.hpp so that they are
// computed once, the same way, whatever backend produced the integers. The batched, streaming form every
// backend implements (reduced planes kept on the device) is in luma_analyzer.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace pvt::kernels {

// 64 bins of 4 luma levels each: coarse enough to ignore noise and grain, fine enough to see a cut.
inline constexpr int kHistogramBins = 64;
using Histogram = std::array<std::uint32_t, kHistogramBins>;

// A view of one luma plane in host memory. bit_depth 8 means one byte per sample; 9..16 means two bytes
// per sample (native endian, value in the low bits, as AV_PIX_FMT_*P10/P12/P16 planar formats store it).
struct LumaView {
  const std::uint8_t* data = nullptr;
  std::ptrdiff_t stride_bytes = 0;
  int width = 0;
  int height = 0;
  int bit_depth = 8;
};

// The reduced 8-bit luma plane the measurements are taken on.
struct ReducedLuma {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // width * height, tightly packed
};

// A sample "changes strongly" when it moves by more than this many of its 256 levels from the previous
// frame: a sixth of the range, beyond grain and the coding noise a source's keyframe brings (which moves
// many samples by a few levels, almost none by this much), reached where something in the picture is
// replaced, as in a jump cut between two poses before the same wall.
inline constexpr int kStrongChange = 48;

// Integer results for one frame. diff_sum and strong_changes are only meaningful when has_previous is true.
struct FrameMeasure {
  Histogram histogram{};
  std::uint64_t gradient_sum = 0;    // sum of |right - here| + |below - here| over the reduced plane
  std::uint64_t diff_sum = 0;        // sum of |here - previous frame's here|
  std::uint32_t strong_changes = 0;  // samples with |here - previous frame's here| > kStrongChange
  std::uint32_t pixels = 0;          // width * height of the reduced plane
  bool has_previous = false;
};

// Factor of the box filter that brings a frame to about 360 samples wide (never below 1).
int reduction_factor(int width, int height);

class LumaKernel {
 public:
  virtual ~LumaKernel() = default;
  virtual const char* name() const = 0;
  // Box-average factor x factor blocks (samples of partial blocks at the right/bottom edge are dropped),
  // shift to 8 bits. out.width = width / factor, out.height = height / factor.
  virtual void reduce(const LumaView& plane, int factor, ReducedLuma& out) = 0;
  // Histogram and gradient of cur; difference to prev when prev is given and has the same size.
  virtual FrameMeasure measure(const ReducedLuma& cur, const ReducedLuma* prev) = 0;
};

// The reference implementation: plain, portable C++ that the GPU kernels are tested against.
std::unique_ptr<LumaKernel> make_cpu_kernel();

}  // namespace pvt::kernels
