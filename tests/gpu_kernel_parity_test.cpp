// Every analysis backend against the CPU reference on synthetic frames: the integers must be identical,
// bit for bit, whatever the size, bit depth, stride, batch boundaries or frame-size changes. Vulkan runs
// on any Vulkan device (Mesa's lavapipe in CI); CUDA where a CUDA device exists. A backend this build or
// this machine lacks is skipped, saying which and why.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <thread>

#include "fallback_analyzer.hpp"
#include "gpu_test_support.hpp"
#include "scene_metrics.hpp"

namespace pvt::kernels {
namespace {

using test::Frames;
using test::SyntheticFrame;

class BackendParity : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override { test::open_gpu_backend_or_skip(GetParam(), backend_); }
  std::shared_ptr<AnalysisBackend> backend_;
};

// Random content with some structure (gradients plus noise), 8-bit or `bits`-bit samples.
SyntheticFrame random_frame(int w, int h, int bits, std::uint32_t seed, int pad = 0) {
  SyntheticFrame f(w, h, bits, pad);
  std::mt19937 rng(seed);
  const int max = (1 << bits) - 1;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int base = ((x * 7 + y * 3 + static_cast<int>(seed) * 11) % (max + 1));
      const int noise = static_cast<int>(rng() % 64) - 32;
      f.set(x, y, std::clamp(base + noise * (max / 255 + 1), 0, max));
    }
  return f;
}

TEST_P(BackendParity, RandomFramesMatchTheCpuAtEverySizeAndDepth) {
  struct Case {
    int w, h, bits, pad;
  };
  const Case cases[] = {{1918, 1078, 8, 0},  {1918, 1078, 10, 64}, {720, 480, 8, 16}, {720, 480, 10, 0},
                        {1920, 1080, 8, 32}, {3840, 2160, 10, 0},  {641, 359, 8, 3},  {359, 7, 8, 1},
                        {1, 1, 8, 0},        {7, 5, 12, 0},        {722, 3, 8, 0}};
  for (const auto& c : cases) {
    Frames frames;
    for (int i = 0; i < 5; ++i) frames.push_back(random_frame(c.w, c.h, c.bits, 100 + i, c.pad));
    SCOPED_TRACE(testing::Message() << c.w << "x" << c.h << " " << c.bits << "-bit pad " << c.pad);
    test::expect_same_results(test::run_backend(*make_cpu_backend(), frames, 0),
                              test::run_backend(*backend_, frames, 0));
  }
}

TEST_P(BackendParity, P010StyleHighBitSamplesMatchTheLowBitPlane) {
  // NVDEC hands out P010: 10-bit values in the high bits of 16. Analysed as a 16-bit plane they must give
  // what the software decoder's low-bit 10-bit plane gives, on every backend.
  Frames low, high;
  for (int i = 0; i < 4; ++i) {
    SyntheticFrame f = random_frame(1918, 1078, 10, 7 + i);
    SyntheticFrame g(1918, 1078, 16, 0);
    for (int y = 0; y < f.height; ++y)
      for (int x = 0; x < f.width; ++x) g.set(x, y, f.get(x, y) << 6);
    low.push_back(std::move(f));
    high.push_back(std::move(g));
  }
  const auto reference = test::run_backend(*make_cpu_backend(), low, 0);
  test::expect_same_results(reference, test::run_backend(*make_cpu_backend(), high, 0));
  test::expect_same_results(reference, test::run_backend(*backend_, high, 0));
}

TEST_P(BackendParity, KnownHistogramOfABlockPattern) {
  // 720x480 reduces by 2 to 360x240; each 2x2 block holds (ox + oy) % 256, so every reduced value and the
  // histogram are known without any kernel: bin b counts the (ox, oy) with ((ox + oy) % 256) >> 2 == b.
  for (int bits : {8, 10}) {
    SyntheticFrame f(720, 480, bits, 8);
    for (int y = 0; y < 480; ++y)
      for (int x = 0; x < 720; ++x) f.set(x, y, ((x / 2 + y / 2) % 256) << (bits - 8));
    Histogram expected{};
    std::uint64_t gradient = 0;
    for (int oy = 0; oy < 240; ++oy)
      for (int ox = 0; ox < 360; ++ox) {
        const int v = (ox + oy) % 256;
        ++expected[v >> 2];
        if (ox + 1 < 360) gradient += std::abs((ox + 1 + oy) % 256 - v);
        if (oy + 1 < 240) gradient += std::abs((ox + oy + 1) % 256 - v);
      }
    Frames frames;
    frames.push_back(std::move(f));
    const auto results = test::run_backend(*backend_, frames, 0);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].measure.histogram, expected) << bits << "-bit";
    EXPECT_EQ(results[0].measure.gradient_sum, gradient) << bits << "-bit";
    EXPECT_EQ(results[0].measure.pixels, 360u * 240u);
    EXPECT_EQ(results[0].plane.pixels.size(), 360u * 240u);
    EXPECT_EQ(results[0].plane.pixels[241], (241 % 360 + 241 / 360) % 256);
  }
}

TEST_P(BackendParity, BatchBoundariesAndDifferencesAcrossThem) {
  // 37 frames cross several batches whatever the batch size; every difference must still see the frame
  // before it, and results must come back in order with their tags.
  Frames frames;
  for (int i = 0; i < 37; ++i) frames.push_back(random_frame(400, 300, 8, 1000 + i));
  const auto reference = test::run_backend(*make_cpu_backend(), frames, 0);
  for (int batch : {1, 3, 4, 16}) {
    SCOPED_TRACE(testing::Message() << "batch " << batch);
    const auto got = test::run_backend(*backend_, frames, batch);
    test::expect_same_results(reference, got);
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].tag, static_cast<std::int64_t>(i));
  }
}

TEST_P(BackendParity, FrameSizeChangesMidStreamBreakTheDifferenceLikeTheCpu) {
  Frames frames;
  const int sizes[][2] = {{720, 480}, {720, 480}, {1280, 720}, {1280, 720}, {720, 480}, {720, 480}};
  std::uint32_t seed = 5;
  for (const auto& s : sizes) frames.push_back(random_frame(s[0], s[1], 8, seed++));
  const auto reference = test::run_backend(*make_cpu_backend(), frames, 0);
  EXPECT_FALSE(reference[2].measure.has_previous);
  EXPECT_TRUE(reference[3].measure.has_previous);
  test::expect_same_results(reference, test::run_backend(*backend_, frames, 0));
}

TEST_P(BackendParity, ContinuesFalseMeansNoDifference) {
  Frames frames;
  for (int i = 0; i < 6; ++i) frames.push_back(random_frame(360, 200, 8, 50 + i));
  frames[3].continues = false;  // a gap: frame 2 is not frame 3's predecessor
  const auto reference = test::run_backend(*make_cpu_backend(), frames, 0);
  EXPECT_FALSE(reference[3].measure.has_previous);
  test::expect_same_results(reference, test::run_backend(*backend_, frames, 4));
}

TEST_P(BackendParity, PollReturnsResultsInOrderWhileFramesStreamIn) {
  Frames frames;
  for (int i = 0; i < 40; ++i) frames.push_back(random_frame(640, 360, 8, 300 + i));
  auto analyzer = backend_->make_analyzer(4);
  std::vector<AnalysisResult> got;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    analyzer->submit(frames[i].analysis_frame(static_cast<std::int64_t>(i)));
    analyzer->poll(got);
    EXPECT_LE(got.size(), i + 1);
  }
  analyzer->flush(got);
  EXPECT_EQ(analyzer->pending(), 0u);
  test::expect_same_results(test::run_backend(*make_cpu_backend(), frames, 0), got);
}

TEST_P(BackendParity, AnalyzersOnSeveralThreadsShareOneDevice) {
  Frames frames;
  for (int i = 0; i < 12; ++i) frames.push_back(random_frame(960, 540, 8, 600 + i));
  const auto reference = test::run_backend(*make_cpu_backend(), frames, 0);
  std::vector<std::vector<AnalysisResult>> got(3);
  std::vector<std::thread> threads;
  for (auto& g : got) threads.emplace_back([&] { g = test::run_backend(*backend_, frames, 0); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) test::expect_same_results(reference, g);
}

TEST_P(BackendParity, AFrameBeyondTheDeviceLimitsFallsBackToTheCpuWithTheSameResults) {
  // 719 wide keeps factor 1: a 719x50000 plane is 36 M reduced pixels, beyond lavapipe's 128 MiB storage
  // buffers once a ring of them is needed. The GPU refuses it; FallbackAnalyzer finishes on the CPU.
  Frames frames;
  frames.push_back(random_frame(719, 400, 8, 1));
  frames.push_back(random_frame(719, 400, 8, 2));
  frames.push_back(random_frame(719, 50000, 8, 3));
  frames.push_back(random_frame(719, 400, 8, 4));
  int warnings = 0;
  FallbackAnalyzer analyzer(backend_->make_analyzer(0), [&](const std::string&) { ++warnings; });
  std::vector<AnalysisResult> got;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    AnalysisFrame f = frames[i].analysis_frame(static_cast<std::int64_t>(i));
    f.owner = std::shared_ptr<const void>(&frames[i], [](const void*) {});  // the frames outlive the run
    analyzer.submit(f);
    analyzer.poll(got);
  }
  analyzer.flush(got);
  test::expect_same_results(test::run_backend(*make_cpu_backend(), frames, 0), got);
  EXPECT_LE(warnings, 1);
  if (GetParam() == BackendKind::kVulkan && backend_->device().find("llvmpipe") != std::string::npos) {
    EXPECT_EQ(warnings, 1) << "lavapipe's storage buffers cannot hold this frame's ring";
  }
}

std::string backend_label(const ::testing::TestParamInfo<BackendKind>& info) {
  return backend_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(Gpu, BackendParity, ::testing::Values(BackendKind::kVulkan, BackendKind::kCuda),
                         backend_label);

}  // namespace
}  // namespace pvt::kernels
