// The CUDA analyzer: frames are batched (up to kMaxBatch per launch) and each batch runs on the
// analyzer's stream as: stage host frames -> zero results -> reduce -> measure -> copy 280 bytes per frame
// (and any plane asked for) back -> event. Two batch slots alternate, so the decoder fills one while the
// GPU works on the other; the reduced planes stay on the device in a ring.
//
// Frames from NVDEC are read in place: FFmpeg's CUDA device is opened on the primary context (the one
// the runtime API uses), and the stream is a blocking one, so it is ordered after the copies FFmpeg's
// NVDEC hwaccel makes on the legacy default stream into the frame it hands out.
#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>

#include "cuda_backend.hpp"
#include "cuda_handles.hpp"
#include "luma_kernels.cuh"

#ifndef PVT_CUDA_ARCHS
#define PVT_CUDA_ARCHS "?"
#endif

// The layout the kernels fill and the host reads, and the threshold luma_kernels.cu repeats.
static_assert(sizeof(pvt::kernels::cuda::MeasureOut) == 280 &&
              offsetof(pvt::kernels::cuda::MeasureOut, strong) == 272);
static_assert(pvt::kernels::kStrongChange == 48, "luma_kernels.cu counts |difference| > 48");

namespace pvt::kernels {

namespace {

using cuda::check;

constexpr std::size_t kStageBudget = 64 << 20;  // bytes of staged host frames per batch slot

struct Geometry {
  int factor = 1;
  int out_width = 0;
  int out_height = 0;
  int bytes_per_sample = 1;
  int shift = 0;
  bool operator==(const Geometry&) const = default;
  std::size_t pixels() const { return static_cast<std::size_t>(out_width) * out_height; }
  std::size_t row_bytes() const { return static_cast<std::size_t>(out_width) * factor * bytes_per_sample; }
  std::size_t rows() const { return static_cast<std::size_t>(out_height) * factor; }
};

Geometry geometry_of(const AnalysisFrame& f) {
  const LumaView& v = f.luma;
  if (v.width < 0 || v.height < 0 || v.bit_depth < 1 || v.bit_depth > 16 || (!v.data && v.width && v.height))
    throw GpuError("invalid luma plane for the CUDA analyzer");
  Geometry g;
  g.factor = std::max(1, f.factor > 0 ? f.factor : reduction_factor(v.width, v.height));
  g.out_width = v.width / g.factor;
  g.out_height = v.height / g.factor;
  g.bytes_per_sample = v.bit_depth <= 8 ? 1 : 2;
  g.shift = v.bit_depth <= 8 ? 0 : v.bit_depth - 8;
  return g;
}

struct Queued {
  std::int64_t tag = 0;
  bool keep_plane = false;
  bool has_prev = false;
  bool staged = false;                // copied from the host into the slot's staging buffer
  std::shared_ptr<const void> owner;  // a device frame stays alive until its batch is done
};

struct BatchSlot {
  cuda::PinnedMemory host_stage;  // host frames, row_bytes x rows each, packed
  cuda::DeviceMemory dev_stage;
  std::size_t stage_capacity = 0;
  cuda::DeviceMemory dev_out;  // MeasureOut per frame
  cuda::PinnedMemory host_out;
  cuda::PinnedMemory host_planes;  // reduced planes asked for, pixels each
  std::size_t planes_capacity = 0;
  cuda::Event done;
  Geometry geo;
  cuda::BatchParams params;
  std::vector<Queued> frames;
  std::size_t staged = 0;  // host frames in this batch
  bool in_flight = false;
};

class CudaAnalyzer final : public LumaAnalyzer {
 public:
  CudaAnalyzer(int device, int max_batch)
      : device_(device),
        max_batch_(std::clamp(max_batch > 0 ? max_batch : cuda::kMaxBatch, 1, cuda::kMaxBatch)) {
    ring_slots_ = static_cast<std::uint32_t>(2 * max_batch_ + 1);  // two batches in flight + one before
    check(cudaSetDevice(device_), "cudaSetDevice");
    cudaStream_t s = nullptr;
    check(cudaStreamCreate(&s), "cudaStreamCreate");  // blocking: ordered after the NVDEC copies
    stream_ = cuda::Stream(s);
    for (auto& slot : slots_) {
      cudaEvent_t e = nullptr;
      check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
      slot.done = cuda::Event(e);
      slot.dev_out = cuda::device_alloc(sizeof(cuda::MeasureOut) * cuda::kMaxBatch);
      slot.host_out = cuda::pinned_alloc(sizeof(cuda::MeasureOut) * cuda::kMaxBatch);
    }
  }

  ~CudaAnalyzer() override {
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_.get());  // nothing may still read what is about to be freed
  }

  const char* name() const override { return "cuda"; }
  bool accepts(FrameMemory) const override { return true; }

  void submit(const AnalysisFrame& frame) override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    const Geometry g = geometry_of(frame);
    if (filling(slots_[open_]) && !(slots_[open_].geo == g)) dispatch_open();
    BatchSlot& s = slots_[open_];
    if (!filling(s)) prepare_open(g);

    const int f = static_cast<int>(s.frames.size());
    Queued q;
    q.tag = frame.tag;
    q.keep_plane = frame.keep_plane;
    q.has_prev = frame.continues && last_ && last_->out_width == g.out_width &&
                 last_->out_height == g.out_height && g.pixels() > 0;
    cuda::FrameParams& p = s.params.frames[f];
    p.ring_slot = static_cast<std::uint32_t>(submitted_ % ring_slots_);
    p.prev_slot = static_cast<std::uint32_t>((submitted_ + ring_slots_ - 1) % ring_slots_);
    p.has_prev = q.has_prev;
    if (frame.memory == FrameMemory::kCudaDevice) {
      p.data = frame.luma.data;
      p.pitch = frame.luma.stride_bytes;
      q.owner = frame.owner;
    } else {
      stage_host_frame(s, frame, g, p);
      q.staged = true;
    }
    s.frames.push_back(std::move(q));
    ++submitted_;
    last_ = g;
    if (static_cast<int>(s.frames.size()) >= batch_for(g)) dispatch_open();
  }

  std::size_t poll(std::vector<AnalysisResult>& out) override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    while (!in_flight_.empty()) {
      const cudaError_t e = cudaEventQuery(slots_[in_flight_.front()].done.get());
      if (e == cudaErrorNotReady) break;
      check(e, "cudaEventQuery");
      retire_oldest();
    }
    return hand_out(out);
  }

  void flush(std::vector<AnalysisResult>& out) override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    dispatch_open();
    while (!in_flight_.empty()) retire_oldest();
    hand_out(out);
  }

  std::size_t pending() const override {
    return ready_.size() + slots_[0].frames.size() + slots_[1].frames.size();
  }

 private:
  // The open slot holds frames not yet submitted (an in-flight slot still holds its batch's frames).
  static bool filling(const BatchSlot& s) { return !s.in_flight && !s.frames.empty(); }

  int batch_for(const Geometry& g) const {
    const std::size_t bytes = std::max<std::size_t>(g.row_bytes() * g.rows(), 1);
    return static_cast<int>(std::clamp<std::size_t>(kStageBudget / bytes, 1, max_batch_));
  }

  void prepare_open(const Geometry& g) {
    BatchSlot& s = slots_[open_];
    while (s.in_flight) retire_oldest();
    // Ring slots are spaced by the plane size: a new size moves them, so drain what uses the old layout.
    if (last_ && (last_->out_width != g.out_width || last_->out_height != g.out_height))
      while (!in_flight_.empty()) retire_oldest();
    if (g.pixels() > ring_pixels_ || !ring_.get()) {
      ring_ = cuda::device_alloc(std::max<std::size_t>(g.pixels(), 1) * ring_slots_);
      ring_pixels_ = g.pixels();
    }
    const std::size_t planes = g.pixels() * max_batch_;
    if (s.planes_capacity < planes || !s.host_planes.get()) {
      s.host_planes = cuda::pinned_alloc(planes);
      s.planes_capacity = planes;
    }
    s.geo = g;
    s.params = {};
    s.params.out_width = static_cast<std::uint32_t>(g.out_width);
    s.params.out_height = static_cast<std::uint32_t>(g.out_height);
    s.params.factor = static_cast<std::uint32_t>(g.factor);
    s.params.bytes_per_sample = static_cast<std::uint32_t>(g.bytes_per_sample);
    s.params.shift = static_cast<std::uint32_t>(g.shift);
    s.staged = 0;
  }

  // Copies the used rows of a host frame into pinned memory; one upload per batch moves them all.
  void stage_host_frame(BatchSlot& s, const AnalysisFrame& frame, const Geometry& g, cuda::FrameParams& p) {
    const std::size_t frame_bytes = g.row_bytes() * g.rows();
    const std::size_t need = frame_bytes * batch_for(g);
    if (s.stage_capacity < need) {
      s.host_stage = cuda::pinned_alloc(need);
      s.dev_stage = cuda::device_alloc(need);
      s.stage_capacity = need;
    }
    // Staged frames are packed in arrival order (device frames of the batch take no room).
    const std::size_t offset = s.staged * frame_bytes;
    auto* dst = static_cast<std::uint8_t*>(s.host_stage.get()) + offset;
    for (std::size_t y = 0; y < g.rows(); ++y)
      std::memcpy(dst + y * g.row_bytes(),
                  frame.luma.data + static_cast<std::ptrdiff_t>(y) * frame.luma.stride_bytes, g.row_bytes());
    p.data = static_cast<const std::uint8_t*>(s.dev_stage.get()) + offset;
    p.pitch = static_cast<std::int64_t>(g.row_bytes());
    ++s.staged;
  }

  void dispatch_open() {
    BatchSlot& s = slots_[open_];
    if (!filling(s)) return;
    const cudaStream_t st = stream_.get();
    const std::size_t pixels = s.geo.pixels();
    s.params.count = static_cast<std::uint32_t>(s.frames.size());
    if (s.staged)
      check(cudaMemcpyAsync(s.dev_stage.get(), s.host_stage.get(),
                            s.staged * s.geo.row_bytes() * s.geo.rows(), cudaMemcpyHostToDevice, st),
            "cudaMemcpyAsync (frames to the device)");
    auto* out = static_cast<cuda::MeasureOut*>(s.dev_out.get());
    check(cudaMemsetAsync(out, 0, sizeof(cuda::MeasureOut) * s.frames.size(), st), "cudaMemsetAsync");
    if (pixels > 0) {
      auto* ring = static_cast<std::uint8_t*>(ring_.get());
      check(cuda::launch_reduce(s.params, ring, st), "reduce kernel launch");
      check(cuda::launch_measure(s.params, ring, out, st), "measure kernel launch");
      for (std::size_t f = 0; f < s.frames.size(); ++f)
        if (s.frames[f].keep_plane)
          check(cudaMemcpyAsync(static_cast<std::uint8_t*>(s.host_planes.get()) + f * pixels,
                                ring + std::size_t{s.params.frames[f].ring_slot} * pixels, pixels,
                                cudaMemcpyDeviceToHost, st),
                "cudaMemcpyAsync (plane to the host)");
    }
    check(cudaMemcpyAsync(s.host_out.get(), out, sizeof(cuda::MeasureOut) * s.frames.size(),
                          cudaMemcpyDeviceToHost, st),
          "cudaMemcpyAsync (results to the host)");
    check(cudaEventRecord(s.done.get(), st), "cudaEventRecord");
    s.in_flight = true;
    in_flight_.push_back(open_);
    open_ = 1 - open_;
  }

  void retire_oldest() {
    BatchSlot& s = slots_[in_flight_.front()];
    check(cudaEventSynchronize(s.done.get()), "cudaEventSynchronize");
    in_flight_.pop_front();
    s.in_flight = false;
    const auto* out = static_cast<const cuda::MeasureOut*>(s.host_out.get());
    const std::size_t pixels = s.geo.pixels();
    for (std::size_t f = 0; f < s.frames.size(); ++f) {
      const Queued& q = s.frames[f];
      AnalysisResult r;
      r.tag = q.tag;
      std::copy(out[f].histogram, out[f].histogram + kHistogramBins, r.measure.histogram.begin());
      r.measure.gradient_sum = out[f].gradient;
      r.measure.has_previous = q.has_prev;
      r.measure.diff_sum = q.has_prev ? out[f].diff : 0;
      r.measure.strong_changes = q.has_prev ? out[f].strong : 0;
      r.measure.pixels = static_cast<std::uint32_t>(pixels);
      if (q.keep_plane) {
        r.plane.width = s.geo.out_width;
        r.plane.height = s.geo.out_height;
        const auto* src = static_cast<const std::uint8_t*>(s.host_planes.get()) + f * pixels;
        r.plane.pixels.assign(src, src + pixels);
      }
      ready_.push_back(std::move(r));
    }
    s.frames.clear();  // releases the device frames' owners: the decoder may reuse those surfaces
  }

  std::size_t hand_out(std::vector<AnalysisResult>& out) {
    const std::size_t n = ready_.size();
    for (auto& r : ready_) out.push_back(std::move(r));
    ready_.clear();
    return n;
  }

  int device_;
  int max_batch_;
  std::uint32_t ring_slots_ = 0;
  cuda::Stream stream_;
  cuda::DeviceMemory ring_;  // reduced planes, uint8, ring_slots_ of them
  std::size_t ring_pixels_ = 0;
  BatchSlot slots_[2];
  int open_ = 0;
  std::deque<int> in_flight_;
  std::deque<AnalysisResult> ready_;
  std::uint64_t submitted_ = 0;
  std::optional<Geometry> last_;
};

class CudaBackend final : public AnalysisBackend {
 public:
  CudaBackend() {
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cuda::kernels_loadable(), "loading pvt's CUDA kernels (built for " PVT_CUDA_ARCHS ")");
    cudaDeviceProp props{};
    check(cudaGetDeviceProperties(&props, device_), "cudaGetDeviceProperties");
    description_ =
        std::string(props.name) + ", sm_" + std::to_string(props.major) + std::to_string(props.minor);
  }
  const char* name() const override { return "cuda"; }
  std::string device() const override { return description_; }
  bool asynchronous() const override { return true; }
  std::unique_ptr<LumaAnalyzer> make_analyzer(int max_batch) override {
    return std::make_unique<CudaAnalyzer>(device_, max_batch);
  }

 private:
  int device_ = 0;  // FFmpeg's CUDA device "0" is the same one
  std::string description_;
};

}  // namespace

BackendProbe probe_cuda() {
  BackendProbe p;
  p.kind = BackendKind::kCuda;
  p.built = true;
  // The runtime calls a missing driver "insufficient"; say what is actually missing.
  if (void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
    dlclose(driver);
  } else {
    p.reason = "no NVIDIA driver (libcuda.so.1 cannot be loaded)";
    return p;
  }
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    p.reason = e == cudaSuccess ? "no CUDA device"
                                : std::string("no usable CUDA device or driver (cudaGetDeviceCount: ") +
                                      cudaGetErrorName(e) + ", " + cudaGetErrorString(e) + ")";
    return p;
  }
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, 0) == cudaSuccess)
    p.device = std::string(props.name) + ", sm_" + std::to_string(props.major) + std::to_string(props.minor);
  cudaSetDevice(0);
  if (const cudaError_t k = cuda::kernels_loadable(); k != cudaSuccess) {
    p.reason = std::string("pvt's CUDA kernels (built for " PVT_CUDA_ARCHS ") cannot run on it: ") +
               cudaGetErrorString(k);
    return p;
  }
  p.usable = p.gpu = true;
  return p;
}

std::shared_ptr<AnalysisBackend> open_cuda_backend() {
  // The probe words a missing driver or device better than the first failing call would.
  if (const BackendProbe p = probe_cuda(); !p.usable) throw GpuError(p.reason);
  return std::make_shared<CudaBackend>();
}

}  // namespace pvt::kernels
