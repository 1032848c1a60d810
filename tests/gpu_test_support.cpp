#include "gpu_test_support.hpp"

#include <cmath>
#include <cstring>

#include "scene_metrics.hpp"

namespace pvt::kernels {

void PrintTo(BackendKind kind, std::ostream* os) {
  *os << backend_name(kind);
}

}  // namespace pvt::kernels

namespace pvt::kernels::test {

SyntheticFrame::SyntheticFrame(int w, int h, int bits_, int pad_samples)
    : width(w),
      height(h),
      bits(bits_),
      stride(static_cast<std::ptrdiff_t>(w + pad_samples) * (bits_ > 8 ? 2 : 1)) {
  // Padding is filled with the brightest value: a kernel that reads it changes the histogram.
  data.assign(static_cast<std::size_t>(stride) * h, 0xFF);
}

void SyntheticFrame::set(int x, int y, int v) {
  std::uint8_t* row = data.data() + y * stride;
  if (bits > 8) {
    const auto s = static_cast<std::uint16_t>(v);
    std::memcpy(row + 2 * x, &s, 2);
  } else {
    row[x] = static_cast<std::uint8_t>(v);
  }
}

int SyntheticFrame::get(int x, int y) const {
  const std::uint8_t* row = data.data() + y * stride;
  if (bits <= 8) return row[x];
  std::uint16_t s;
  std::memcpy(&s, row + 2 * x, 2);
  return s;
}

AnalysisFrame SyntheticFrame::analysis_frame(std::int64_t tag) const {
  AnalysisFrame f;
  f.luma = view();
  f.tag = tag;
  f.continues = continues;
  f.keep_plane = true;
  return f;
}

void open_gpu_backend_or_skip(BackendKind kind, std::shared_ptr<AnalysisBackend>& out) {
  const BackendProbe probe = probe_backend(kind);
  if (!probe.built) GTEST_SKIP() << backend_name(kind) << " tests skipped: " << probe.reason;
  if (!probe.usable)
    GTEST_SKIP() << backend_name(kind) << " tests skipped: no " << backend_name(kind)
                 << " device on this machine (" << probe.reason << ")";
  try {
    out = open_backend(kind);
  } catch (const std::exception& e) {
    // The device answered the probe: failing to open it is a bug, not a missing device.
    FAIL() << backend_name(kind) << " device " << probe.device << " found but not opened: " << e.what();
  }
}

std::vector<AnalysisResult> run_backend(AnalysisBackend& backend, const Frames& frames, int max_batch) {
  auto analyzer = backend.make_analyzer(max_batch);
  std::vector<AnalysisResult> out;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    analyzer->submit(frames[i].analysis_frame(static_cast<std::int64_t>(i)));
    analyzer->poll(out);
  }
  analyzer->flush(out);
  return out;
}

namespace {

void expect_close(double want, double got, const char* what, std::size_t i) {
  EXPECT_LE(std::abs(want - got), 1e-6 * std::max(1.0, std::abs(want))) << what << " of frame " << i;
}

}  // namespace

void expect_same_results(const std::vector<AnalysisResult>& reference,
                         const std::vector<AnalysisResult>& got) {
  ASSERT_EQ(reference.size(), got.size());
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const auto& a = reference[i];
    const auto& b = got[i];
    ASSERT_EQ(a.tag, b.tag) << "frame " << i;
    EXPECT_EQ(a.measure.histogram, b.measure.histogram) << "histogram of frame " << i;
    EXPECT_EQ(a.measure.gradient_sum, b.measure.gradient_sum) << "gradient of frame " << i;
    EXPECT_EQ(a.measure.has_previous, b.measure.has_previous) << "frame " << i;
    EXPECT_EQ(a.measure.diff_sum, b.measure.diff_sum) << "difference of frame " << i;
    EXPECT_EQ(a.measure.strong_changes, b.measure.strong_changes) << "strong changes of frame " << i;
    EXPECT_EQ(a.measure.pixels, b.measure.pixels) << "frame " << i;
    EXPECT_EQ(a.plane.width, b.plane.width) << "frame " << i;
    EXPECT_EQ(a.plane.height, b.plane.height) << "frame " << i;
    EXPECT_TRUE(a.plane.pixels == b.plane.pixels) << "reduced plane of frame " << i;
    expect_close(spatial_complexity(a.measure), spatial_complexity(b.measure), "spatial complexity", i);
    expect_close(temporal_complexity(a.measure), temporal_complexity(b.measure), "temporal complexity", i);
    if (i > 0)
      expect_close(histogram_difference(reference[i - 1].measure.histogram, a.measure.histogram),
                   histogram_difference(got[i - 1].measure.histogram, b.measure.histogram), "scene score", i);
  }
}

}  // namespace pvt::kernels::test
