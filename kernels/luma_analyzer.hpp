// The streaming side of the analysis-kernel contract: frames go in, one FrameMeasure per frame comes out.
//
// LumaKernel (luma_kernel.hpp) is the reference's shape: reduce to a host plane, then measure it. A GPU
// cannot work that way without copying every reduced plane back, so every backend (CPU reference, CUDA,
// Vulkan) also implements this queue: the reduced planes stay with the backend, frames are batched, and
// only the small per-frame integers come back. The integers are the reference's, bit for bit.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "luma_kernel.hpp"

namespace pvt::kernels {

// Where a frame's luma plane lives. kCudaDevice: LumaView::data is a CUDA device pointer (an NVDEC
// surface's luma plane), in the CUDA primary context of device 0.
enum class FrameMemory { kHost, kCudaDevice };

struct AnalysisFrame {
  LumaView luma;
  FrameMemory memory = FrameMemory::kHost;
  // Keeps luma's memory alive while it may still be read: by an asynchronous backend until the frame's
  // result is back; behind a FallbackAnalyzer until the next frame's result is back too (after a GPU
  // failure it recomputes both on the CPU). Null when the caller guarantees that itself.
  std::shared_ptr<const void> owner;
  std::int64_t tag = 0;     // the caller's frame number, handed back with the result
  int factor = 0;           // box-filter factor; 0: reduction_factor(width, height)
  bool continues = false;   // the previous frame submitted precedes this one: measure the difference
  bool keep_plane = false;  // hand the reduced plane back too (stitching parallel ranges, tests)
};

struct AnalysisResult {
  std::int64_t tag = 0;
  FrameMeasure measure;
  ReducedLuma plane;  // only when keep_plane was set
};

// One analysis stream: frames in presentation order from one decoder. Not thread-safe; one per thread.
class LumaAnalyzer {
 public:
  virtual ~LumaAnalyzer() = default;
  virtual const char* name() const = 0;
  virtual bool accepts(FrameMemory memory) const = 0;
  // Queues a frame. Host planes may be released when submit returns unless `owner` says otherwise;
  // device planes must stay valid until the frame's result is back (hold them with `owner`).
  virtual void submit(const AnalysisFrame& frame) = 0;
  // Appends the results that are ready, in submission order, without waiting. Returns how many.
  virtual std::size_t poll(std::vector<AnalysisResult>& out) = 0;
  // Finishes every submitted frame and appends the outstanding results in submission order.
  virtual void flush(std::vector<AnalysisResult>& out) = 0;
  // Frames submitted whose results have not been handed out yet.
  virtual std::size_t pending() const = 0;
};

// A device and its compiled kernels, shared by the analyzers of all threads of a process.
class AnalysisBackend {
 public:
  virtual ~AnalysisBackend() = default;
  virtual const char* name() const = 0;
  virtual std::string device() const = 0;
  // True when results come back later than submit (GPU queues): callers then hold frames with `owner`.
  virtual bool asynchronous() const = 0;
  // A new stream. max_batch bounds how many frames are batched per launch (0: the backend's choice);
  // a worker that needs results soon asks for small batches. Thread-safe.
  virtual std::unique_ptr<LumaAnalyzer> make_analyzer(int max_batch = 0) = 0;
};

// The reference backend (kernels/cpu), synchronous: results are ready when submit returns.
std::shared_ptr<AnalysisBackend> make_cpu_backend();

}  // namespace pvt::kernels
