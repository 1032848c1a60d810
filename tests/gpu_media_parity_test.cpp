// The GPU backends on decoded video: the frames of generated clips (8- and 10-bit, 1918x1078 and 720x480)
// and of the shared clips (skipped, naming the clip, when ../shared/media lacks it) give the CPU
// reference's integers; and `analyze_frames` finds the same cuts with the same per-frame figures on every
// backend. Vulkan runs on lavapipe in CI; CUDA skips without a device.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "analysis_backend.hpp"
#include "frame_analysis.hpp"
#include "frame_reader.hpp"
#include "gpu_test_support.hpp"
#include "media_index.hpp"
#include "test_support.hpp"

namespace pvt {
namespace {

using kernels::BackendKind;

// 12 frames of testsrc2 then 12 of smptebars (a hard cut at frame 12), lossless FFV1 so the pixel format
// and the size are exactly as asked. Cached per process.
std::string generated_clip(int w, int h, const std::string& pix_fmt) {
  static std::mutex m;
  static std::map<std::string, std::string> cache;
  static test::TempDir dir;
  std::lock_guard lock(m);
  const std::string key = std::to_string(w) + "x" + std::to_string(h) + "_" + pix_fmt;
  if (cache.count(key)) return cache[key];
  const std::string path = dir / (key + ".mkv");
  const std::string size = std::to_string(w) + "x" + std::to_string(h);
  const auto r = test::run({"ffmpeg",
                            "-v",
                            "error",
                            "-y",
                            "-f",
                            "lavfi",
                            "-i",
                            "testsrc2=s=" + size + ":r=25:d=0.48",
                            "-f",
                            "lavfi",
                            "-i",
                            "smptebars=s=" + size + ":r=25:d=0.48",
                            "-filter_complex",
                            "[0:v][1:v]concat=n=2:v=1[v]",
                            "-map",
                            "[v]",
                            "-pix_fmt",
                            pix_fmt,
                            "-c:v",
                            "ffv1",
                            path});
  if (r.exit_code != 0) throw std::runtime_error("ffmpeg could not make " + path + ": " + r.err);
  return cache[key] = path;
}

// The first `limit` frames of a file, decoded as pvt's analysis decodes them (loop filter skipped).
std::vector<av::Frame> decode(const std::string& path, int limit) {
  const MediaInfo info = probe_media(path);
  FrameReader reader(path, info.video_stream, {.threads = 2, .fast_decode = true});
  reader.start_at(info.frames.front().pts, {});
  std::vector<av::Frame> frames;
  while (static_cast<int>(frames.size()) < limit) {
    AVFrame* f = reader.next();
    if (!f) break;
    frames.emplace_back(av_frame_clone(f));
  }
  return frames;
}

std::vector<kernels::AnalysisResult> run(kernels::AnalysisBackend& backend,
                                         const std::vector<av::Frame>& frames, int factor) {
  auto analyzer = backend.make_analyzer(0);
  std::vector<kernels::AnalysisResult> out;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    kernels::AnalysisFrame f = analysis_frame(frames[i].get(), false);
    f.tag = static_cast<std::int64_t>(i);
    f.factor = factor;
    f.continues = i > 0;
    f.keep_plane = true;
    analyzer->submit(f);
    analyzer->poll(out);
  }
  analyzer->flush(out);
  return out;
}

class DecodedParity : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override { kernels::test::open_gpu_backend_or_skip(GetParam(), backend_); }

  void expect_parity(const std::string& path, int limit, int expected_depth) {
    SCOPED_TRACE(path);
    const auto frames = decode(path, limit);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(luma_view(frames[0].get()).bit_depth, expected_depth);
    const int factor = kernels::reduction_factor(frames[0]->width, frames[0]->height);
    const auto reference = run(*kernels::make_cpu_backend(), frames, factor);
    kernels::test::expect_same_results(reference, run(*backend_, frames, factor));
  }

  std::shared_ptr<kernels::AnalysisBackend> backend_;
};

TEST_P(DecodedParity, GeneratedClipsAtOddSizesIn8And10Bit) {
  expect_parity(generated_clip(1918, 1078, "yuv420p"), 24, 8);
  expect_parity(generated_clip(1918, 1078, "yuv420p10le"), 24, 10);
  expect_parity(generated_clip(720, 480, "yuv420p"), 24, 8);
  expect_parity(generated_clip(720, 480, "yuv420p10le"), 24, 10);
}

TEST_P(DecodedParity, SharedClips) {
  const std::pair<const char*, int> clips[] = {{"big_buck_bunny.mp4", 8},
                                               {"bbb_hevc10.mkv", 10},
                                               {"cityCC0.mpg", 8},
                                               {"car-detection.mp4", 8},
                                               {"book.mkv", 8}};
  std::string missing;
  for (const auto& [name, depth] : clips) {
    const auto path = test::shared_clip(name);
    if (!path) {
      missing += std::string(missing.empty() ? "" : ", ") + name;
      continue;
    }
    expect_parity(*path, 96, depth);
  }
  if (!missing.empty()) GTEST_SKIP() << "not in " << test::shared_media_dir() << ": " << missing;
}

std::vector<int> cut_frames(const Analysis& a) {
  std::vector<int> v;
  for (const auto& c : a.cuts) v.push_back(c.frame);
  return v;
}

// The whole analysis (parallel ranges, stitching, the detector) on `backend` against the CPU.
void expect_same_analysis(const std::string& path, BackendKind backend) {
  SCOPED_TRACE(path);
  const MediaInfo info = probe_media(path);
  AnalysisOptions cpu, gpu;
  cpu.backend = "cpu";
  // NVDEC decodes exactly (no skipped loop filter): compare with a CPU analysis that does too.
  cpu.fast_decode = backend != BackendKind::kCuda;
  gpu.backend = kernels::backend_name(backend);
  std::vector<std::string> warnings;
  gpu.warn = [&](const std::string& w) { warnings.push_back(w); };
  const Analysis a = analyze_frames(info, cpu);
  const Analysis b = analyze_frames(info, gpu);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(a.kernel, "cpu");
  EXPECT_EQ(b.kernel, kernels::backend_name(backend));
  EXPECT_TRUE(b.fallback.empty()) << b.fallback;
  EXPECT_EQ(cut_frames(a), cut_frames(b));
  ASSERT_EQ(a.frames.size(), b.frames.size());
  for (std::size_t i = 0; i < a.frames.size(); ++i) {
    EXPECT_EQ(a.frames[i].decoded, b.frames[i].decoded) << i;
    EXPECT_NEAR(a.frames[i].scene_score, b.frames[i].scene_score,
                1e-6 * std::max(1.0, a.frames[i].scene_score))
        << i;
    EXPECT_NEAR(a.frames[i].spatial, b.frames[i].spatial, 1e-6 * std::max(1.0, a.frames[i].spatial)) << i;
    EXPECT_NEAR(a.frames[i].temporal, b.frames[i].temporal, 1e-6 * std::max(1.0, a.frames[i].temporal)) << i;
  }
}

TEST_P(DecodedParity, SceneCutsAreTheSameOnTheGeneratedSceneClip) {
  expect_same_analysis(test::scene_clip(), GetParam());
}

TEST_P(DecodedParity, SceneCutsAreTheSameOnASharedClip8And10Bit) {
  std::string missing;
  for (const char* name : {"big_buck_bunny.mp4", "bbb_hevc10.mkv"}) {
    if (const auto path = test::shared_clip(name))
      expect_same_analysis(*path, GetParam());
    else
      missing += std::string(missing.empty() ? "" : ", ") + name;
  }
  if (!missing.empty()) GTEST_SKIP() << "not in " << test::shared_media_dir() << ": " << missing;
}

std::string label(const ::testing::TestParamInfo<BackendKind>& info) {
  return kernels::backend_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(Gpu, DecodedParity, ::testing::Values(BackendKind::kVulkan, BackendKind::kCuda),
                         label);

}  // namespace
}  // namespace pvt
