// The CPU reference kernel on synthetic planes whose results can be worked out by hand.
#include <gtest/gtest.h>

#include <cstring>

#include "luma_kernel.hpp"
#include "scene_metrics.hpp"

namespace pvt::kernels {
namespace {

struct Plane8 {
  int w, h;
  std::vector<std::uint8_t> px;
  Plane8(int w_, int h_, std::uint8_t v) : w(w_), h(h_), px(static_cast<std::size_t>(w_) * h_, v) {}
  LumaView view() const { return {px.data(), w, w, h, 8}; }
};

ReducedLuma reduce(const LumaView& v, int factor) {
  ReducedLuma out;
  make_cpu_kernel()->reduce(v, factor, out);
  return out;
}

TEST(LumaKernel, HistogramCountsEveryReducedPixelInItsBin) {
  Plane8 p(64, 32, 0);
  for (int y = 0; y < 32; ++y)
    for (int x = 32; x < 64; ++x) p.px[y * 64 + x] = 200;  // right half bright
  const auto r = reduce(p.view(), 1);
  const auto m = make_cpu_kernel()->measure(r, nullptr);
  EXPECT_EQ(m.pixels, 64u * 32u);
  EXPECT_EQ(m.histogram[0], 32u * 32u);
  EXPECT_EQ(m.histogram[200 >> 2], 32u * 32u);
  EXPECT_FALSE(m.has_previous);
}

TEST(LumaKernel, HistogramDifferenceIsZeroForSameOneForDisjointHalfForHalf) {
  Plane8 black(32, 32, 0), white(32, 32, 255), half(32, 32, 0);
  for (int i = 0; i < 32 * 16; ++i) half.px[i] = 255;
  auto k = make_cpu_kernel();
  const auto mb = k->measure(reduce(black.view(), 1), nullptr);
  const auto mw = k->measure(reduce(white.view(), 1), nullptr);
  const auto mh = k->measure(reduce(half.view(), 1), nullptr);
  EXPECT_DOUBLE_EQ(histogram_difference(mb.histogram, mb.histogram), 0.0);
  EXPECT_DOUBLE_EQ(histogram_difference(mb.histogram, mw.histogram), 1.0);
  EXPECT_DOUBLE_EQ(histogram_difference(mb.histogram, mh.histogram), 0.5);
}

TEST(LumaKernel, HistogramDifferenceIgnoresFrameSize) {
  Plane8 small(16, 16, 100), big(64, 64, 100);
  auto k = make_cpu_kernel();
  EXPECT_DOUBLE_EQ(histogram_difference(k->measure(reduce(small.view(), 1), nullptr).histogram,
                                        k->measure(reduce(big.view(), 1), nullptr).histogram),
                   0.0);
}

TEST(LumaKernel, ReduceAveragesBlocksAndDropsPartialEdges) {
  Plane8 p(5, 5, 0);
  // Top-left 2x2 block: 10, 20, 30, 40 -> 25.
  p.px[0] = 10;
  p.px[1] = 20;
  p.px[5] = 30;
  p.px[6] = 40;
  const auto r = reduce(p.view(), 2);
  ASSERT_EQ(r.width, 2);
  ASSERT_EQ(r.height, 2);
  EXPECT_EQ(r.pixels[0], 25);
  EXPECT_EQ(r.pixels[1], 0);
}

TEST(LumaKernel, TenBitInputMatchesTheEightBitEquivalent) {
  const int w = 8, h = 4;
  std::vector<std::uint16_t> p10(w * h);
  Plane8 p8(w, h, 0);
  for (int i = 0; i < w * h; ++i) {
    p8.px[i] = static_cast<std::uint8_t>(i * 7);
    p10[i] = static_cast<std::uint16_t>(p8.px[i] << 2);
  }
  const LumaView v10{reinterpret_cast<const std::uint8_t*>(p10.data()), w * 2, w, h, 10};
  EXPECT_EQ(reduce(v10, 1).pixels, reduce(p8.view(), 1).pixels);
  EXPECT_EQ(reduce(v10, 2).pixels, reduce(p8.view(), 2).pixels);
}

TEST(LumaKernel, GradientOfVerticalStripes) {
  // Columns alternate 0 and 100: every horizontal step costs 100, vertical steps nothing.
  const int w = 10, h = 4;
  Plane8 p(w, h, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 1; x < w; x += 2) p.px[y * w + x] = 100;
  const auto m = make_cpu_kernel()->measure(reduce(p.view(), 1), nullptr);
  EXPECT_EQ(m.gradient_sum, static_cast<std::uint64_t>(h * (w - 1) * 100));
  EXPECT_DOUBLE_EQ(spatial_complexity(m), 100.0 * h * (w - 1) / (w * h));
}

TEST(LumaKernel, TemporalDifferenceToThePreviousFrame) {
  Plane8 a(16, 16, 10), b(16, 16, 13);
  auto k = make_cpu_kernel();
  const auto ra = reduce(a.view(), 1), rb = reduce(b.view(), 1);
  const auto m = k->measure(rb, &ra);
  EXPECT_TRUE(m.has_previous);
  EXPECT_EQ(m.diff_sum, 16u * 16u * 3u);
  EXPECT_DOUBLE_EQ(temporal_complexity(m), 3.0);
  EXPECT_DOUBLE_EQ(temporal_complexity(k->measure(rb, nullptr)), 0.0);
}

// A sample changes strongly above kStrongChange levels (48): 49 counts, 48 does not, in either direction.
TEST(LumaKernel, StrongChangesCountTheSamplesThatMoveMoreThanTheThreshold) {
  Plane8 a(16, 16, 100), b(16, 16, 100);
  for (int i = 0; i < 10; ++i) b.px[i] = 149;   // +49
  for (int i = 10; i < 30; ++i) b.px[i] = 148;  // +48
  for (int i = 30; i < 37; ++i) b.px[i] = 51;   // -49
  auto k = make_cpu_kernel();
  const auto ra = reduce(a.view(), 1), rb = reduce(b.view(), 1);
  EXPECT_EQ(k->measure(rb, &ra).strong_changes, 17u);
  EXPECT_EQ(k->measure(rb, nullptr).strong_changes, 0u) << "no previous frame, nothing changed";
}

TEST(LumaKernel, StrideLargerThanWidthIsHonoured) {
  const int w = 4, h = 2, stride = 16;
  std::vector<std::uint8_t> buf(stride * h, 255);  // padding is bright
  for (int y = 0; y < h; ++y) std::memset(buf.data() + y * stride, 8, w);
  const auto r = reduce({buf.data(), stride, w, h, 8}, 1);
  const auto m = make_cpu_kernel()->measure(r, nullptr);
  EXPECT_EQ(m.histogram[8 >> 2], static_cast<std::uint32_t>(w * h));
}

TEST(LumaKernel, ReductionFactorTargetsAbout360Wide) {
  EXPECT_EQ(reduction_factor(1920, 1080), 5);
  EXPECT_EQ(reduction_factor(640, 360), 1);
  EXPECT_EQ(reduction_factor(100, 100), 1);
}

}  // namespace
}  // namespace pvt::kernels
