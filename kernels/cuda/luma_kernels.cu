// CUDA versions of the reference kernel's two steps. Integer arithmetic only, in the reference's order
// where it matters (integer mean, then the shift), so the results are bit-identical to kernels/cpu.
#include "luma_kernels.cuh"

namespace pvt::kernels::cuda {

namespace {

constexpr int kReduceTile = 16;
constexpr int kMeasureThreads = 256;
constexpr unsigned kStrongChangeLevels = 48;  // kStrongChange of luma_kernel.hpp

template <typename Sample>
__device__ unsigned block_sum(const FrameParams& f, unsigned ox, unsigned oy, unsigned factor) {
  unsigned sum = 0;
  for (unsigned dy = 0; dy < factor; ++dy) {
    const auto* row = reinterpret_cast<const Sample*>(f.data + (oy * factor + dy) * f.pitch) + ox * factor;
    for (unsigned dx = 0; dx < factor; ++dx) sum += row[dx];
  }
  return sum;
}

// One thread per reduced pixel; blockIdx.z is the frame. Reads the luma plane where it is (the NVDEC
// surface itself for decoded frames): nothing is copied to the host.
__global__ void reduce_kernel(BatchParams b, std::uint8_t* ring) {
  const unsigned ox = blockIdx.x * kReduceTile + threadIdx.x;
  const unsigned oy = blockIdx.y * kReduceTile + threadIdx.y;
  if (ox >= b.out_width || oy >= b.out_height) return;
  const FrameParams& f = b.frames[blockIdx.z];
  const unsigned sum = b.bytes_per_sample == 1 ? block_sum<std::uint8_t>(f, ox, oy, b.factor)
                                               : block_sum<std::uint16_t>(f, ox, oy, b.factor);
  const unsigned v = min((sum / (b.factor * b.factor)) >> b.shift, 255u);
  const std::size_t plane = std::size_t{b.out_width} * b.out_height;
  ring[f.ring_slot * plane + std::size_t{oy} * b.out_width + ox] = static_cast<std::uint8_t>(v);
}

__device__ unsigned absdiff(unsigned a, unsigned b) {
  return a > b ? a - b : b - a;
}

// Blocks of a frame (blockIdx.y) stride over its pixels: shared-memory histogram, warp-shuffle sums,
// then one atomic per bin and per sum into the frame's result.
__global__ void measure_kernel(BatchParams b, const std::uint8_t* ring, MeasureOut* out) {
  __shared__ unsigned hist[64];
  __shared__ unsigned warp_grad[kMeasureThreads / 32];
  __shared__ unsigned warp_diff[kMeasureThreads / 32];
  __shared__ unsigned warp_strong[kMeasureThreads / 32];
  const unsigned tid = threadIdx.x;
  if (tid < 64) hist[tid] = 0;
  __syncthreads();
  const FrameParams& f = b.frames[blockIdx.y];
  const unsigned w = b.out_width;
  const unsigned n = b.out_width * b.out_height;
  const std::uint8_t* cur = ring + std::size_t{f.ring_slot} * n;
  const std::uint8_t* prev = ring + std::size_t{f.prev_slot} * n;
  unsigned grad = 0, diff = 0, strong = 0;  // about 16 pixels per thread (see the grid size): no overflow
  for (unsigned i = blockIdx.x * kMeasureThreads + tid; i < n; i += gridDim.x * kMeasureThreads) {
    const unsigned v = cur[i];
    atomicAdd(&hist[v >> 2], 1u);
    if (i % w + 1 < w) grad += absdiff(cur[i + 1], v);
    if (i + w < n) grad += absdiff(cur[i + w], v);
    if (f.has_prev) {
      const unsigned d = absdiff(v, prev[i]);
      diff += d;
      strong += d > kStrongChangeLevels;
    }
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    grad += __shfl_down_sync(0xffffffffu, grad, offset);
    diff += __shfl_down_sync(0xffffffffu, diff, offset);
    strong += __shfl_down_sync(0xffffffffu, strong, offset);
  }
  if (tid % 32 == 0) {
    warp_grad[tid / 32] = grad;
    warp_diff[tid / 32] = diff;
    warp_strong[tid / 32] = strong;
  }
  __syncthreads();
  MeasureOut& o = out[blockIdx.y];
  if (tid < 64 && hist[tid]) atomicAdd(&o.histogram[tid], hist[tid]);
  if (tid == 0) {
    unsigned long long g = 0, d = 0;
    unsigned c = 0;
    for (int k = 0; k < kMeasureThreads / 32; ++k) {
      g += warp_grad[k];
      d += warp_diff[k];
      c += warp_strong[k];
    }
    if (g) atomicAdd(&o.gradient, g);
    if (d) atomicAdd(&o.diff, d);
    if (c) atomicAdd(&o.strong, c);
  }
}

}  // namespace

cudaError_t launch_reduce(const BatchParams& batch, std::uint8_t* ring, cudaStream_t stream) {
  const dim3 block(kReduceTile, kReduceTile);
  const dim3 grid((batch.out_width + kReduceTile - 1) / kReduceTile,
                  (batch.out_height + kReduceTile - 1) / kReduceTile, batch.count);
  reduce_kernel<<<grid, block, 0, stream>>>(batch, ring);
  return cudaGetLastError();
}

cudaError_t launch_measure(const BatchParams& batch, const std::uint8_t* ring, MeasureOut* out,
                           cudaStream_t stream) {
  const unsigned pixels = batch.out_width * batch.out_height;
  const unsigned per_frame = (pixels + 16 * kMeasureThreads - 1) / (16 * kMeasureThreads);
  const dim3 grid(per_frame > 0 ? per_frame : 1, batch.count);
  measure_kernel<<<grid, kMeasureThreads, 0, stream>>>(batch, ring, out);
  return cudaGetLastError();
}

cudaError_t kernels_loadable() {
  cudaFuncAttributes attr;
  const cudaError_t e = cudaFuncGetAttributes(&attr, reduce_kernel);
  if (e != cudaSuccess) return e;
  return cudaFuncGetAttributes(&attr, measure_kernel);
}

}  // namespace pvt::kernels::cuda
