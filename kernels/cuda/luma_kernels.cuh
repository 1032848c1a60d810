// The CUDA analysis kernels, as plain host functions (implemented in luma_kernels.cu, the only file nvcc
// compiles, so the rest of the backend builds with the host compiler).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace pvt::kernels::cuda {

inline constexpr int kMaxBatch = 16;  // frames per launch

struct FrameParams {
  const std::uint8_t* data = nullptr;  // device pointer to the luma plane (an NVDEC surface, or staged)
  std::int64_t pitch = 0;              // bytes between rows
  std::uint32_t ring_slot = 0;         // where the reduced plane goes
  std::uint32_t prev_slot = 0;         // the previous frame's reduced plane
  std::uint32_t has_prev = 0;
  std::uint32_t unused = 0;
};

// One launch's frames, passed by value as a kernel argument (no upload of its own).
struct BatchParams {
  FrameParams frames[kMaxBatch];
  std::uint32_t count = 0;
  std::uint32_t out_width = 0;
  std::uint32_t out_height = 0;
  std::uint32_t factor = 1;
  std::uint32_t bytes_per_sample = 1;  // 1: 8-bit samples; 2: 16-bit, value in the low bit_depth bits
  std::uint32_t shift = 0;             // bit depth - 8 (8 for P010/P016: their values sit in the high bits)
};

// Per frame, what comes back to the host: 280 bytes.
struct MeasureOut {
  std::uint32_t histogram[64];
  unsigned long long gradient;
  unsigned long long diff;
  std::uint32_t strong;  // samples whose difference exceeds kStrongChange (48)
  std::uint32_t unused;
};

// Box filter of every frame of the batch into its ring slot (ring: uint8, out_width x out_height a slot).
cudaError_t launch_reduce(const BatchParams& batch, std::uint8_t* ring, cudaStream_t stream);
// Histogram, gradient and difference of every frame's reduced plane; `out` must be zeroed.
cudaError_t launch_measure(const BatchParams& batch, const std::uint8_t* ring, MeasureOut* out,
                           cudaStream_t stream);
// cudaSuccess when this binary holds code the current device can run.
cudaError_t kernels_loadable();

}  // namespace pvt::kernels::cuda
