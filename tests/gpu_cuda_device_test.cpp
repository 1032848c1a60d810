// CUDA only (built when nvcc is there; skipped, saying so, without a CUDA device): frames that already
// live in device memory, as NVDEC surfaces do, are read in place and give the CPU's integers; and the
// whole analysis decodes on NVDEC and finds the known cuts.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "cuda_hwdevice.hpp"
#include "frame_analysis.hpp"
#include "gpu_test_support.hpp"
#include "media_index.hpp"
#include "test_support.hpp"

namespace pvt {
namespace {

using kernels::test::SyntheticFrame;

TEST(CudaDeviceFrames, PitchedDeviceFramesMatchTheCpu) {
  std::shared_ptr<kernels::AnalysisBackend> backend;
  kernels::test::open_gpu_backend_or_skip(kernels::BackendKind::kCuda, backend);
  if (IsSkipped() || !backend) return;
  for (int bits : {8, 16}) {  // NV12 and P010-style surfaces
    kernels::test::Frames frames;
    for (int i = 0; i < 20; ++i) {
      SyntheticFrame f(1918, 1078, bits, 0);
      for (int y = 0; y < f.height; ++y)
        for (int x = 0; x < f.width; ++x) f.set(x, y, ((x * 5 + y * 3 + i * 17) % 256) << (bits - 8));
      frames.push_back(std::move(f));
    }
    auto analyzer = backend->make_analyzer(0);
    std::vector<kernels::AnalysisResult> got;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const auto& f = frames[i];
      void* dev = nullptr;
      std::size_t pitch = 0;
      const std::size_t row = static_cast<std::size_t>(f.width) * (bits > 8 ? 2 : 1);
      ASSERT_EQ(cudaMallocPitch(&dev, &pitch, row, f.height), cudaSuccess);
      ASSERT_EQ(cudaMemcpy2D(dev, pitch, f.data.data(), f.stride, row, f.height, cudaMemcpyHostToDevice),
                cudaSuccess);
      kernels::AnalysisFrame af = f.analysis_frame(static_cast<std::int64_t>(i));
      af.memory = kernels::FrameMemory::kCudaDevice;
      af.luma.data = static_cast<const std::uint8_t*>(dev);
      af.luma.stride_bytes = static_cast<std::ptrdiff_t>(pitch);
      af.owner = std::shared_ptr<const void>(dev, [](const void* p) { cudaFree(const_cast<void*>(p)); });
      analyzer->submit(af);
      analyzer->poll(got);
    }
    analyzer->flush(got);
    kernels::test::expect_same_results(kernels::test::run_backend(*kernels::make_cpu_backend(), frames, 0),
                                       got);
  }
}

TEST(CudaDeviceFrames, NvdecDecodesForTheKernelsAndFindsTheKnownCuts) {
  std::shared_ptr<kernels::AnalysisBackend> backend;
  kernels::test::open_gpu_backend_or_skip(kernels::BackendKind::kCuda, backend);
  if (IsSkipped() || !backend) return;
  const hw::NvdecProbe nvdec = hw::probe_nvdec();
  if (!nvdec.usable) GTEST_SKIP() << "NVDEC not usable: " << nvdec.reason;
  AnalysisOptions o;
  o.backend = "cuda";
  const Analysis a = analyze_frames(probe_media(test::scene_clip()), o);
  EXPECT_EQ(a.kernel, "cuda");
  EXPECT_EQ(a.decoder, "nvdec");
  std::vector<int> cuts;
  for (const auto& c : a.cuts) cuts.push_back(c.frame);
  EXPECT_EQ(cuts, test::kSceneClipCuts);
}

}  // namespace
}  // namespace pvt
