#include "analysis_backend.hpp"

#include <atomic>
#include <cstdlib>

#include "error.hpp"
#include "fallback_analyzer.hpp"
#include "gpu_error.hpp"

namespace pvt {

namespace {

using kernels::BackendKind;

// PVT_ANALYSIS_FAULT: "start" or a frame number N (>= 1); anything else means no fault.
const char* fault_spec() {
  return std::getenv("PVT_ANALYSIS_FAULT");
}

bool fault_at_start() {
  const char* f = fault_spec();
  return f && std::string(f) == "start";
}

long fault_frame() {
  const char* f = fault_spec();
  if (!f) return 0;
  char* end = nullptr;
  const long n = std::strtol(f, &end, 10);
  return end && *end == '\0' && n > 0 ? n : 0;
}

// Test hook: a GPU stream that breaks at its Nth frame, as a lost device would.
class FaultyAnalyzer final : public kernels::LumaAnalyzer {
 public:
  FaultyAnalyzer(std::unique_ptr<kernels::LumaAnalyzer> inner, long fail_at)
      : inner_(std::move(inner)), fail_at_(fail_at) {}
  const char* name() const override { return inner_->name(); }
  bool accepts(kernels::FrameMemory m) const override { return inner_->accepts(m); }
  void submit(const kernels::AnalysisFrame& f) override {
    if (++submitted_ >= fail_at_)
      throw kernels::GpuError("injected failure at frame " + std::to_string(submitted_) +
                              " (PVT_ANALYSIS_FAULT)");
    inner_->submit(f);
  }
  std::size_t poll(std::vector<kernels::AnalysisResult>& out) override { return inner_->poll(out); }
  void flush(std::vector<kernels::AnalysisResult>& out) override { inner_->flush(out); }
  std::size_t pending() const override { return inner_->pending(); }

 private:
  std::unique_ptr<kernels::LumaAnalyzer> inner_;
  long fail_at_;
  long submitted_ = 0;
};

const kernels::BackendProbe& probe_of(const AnalysisBackendReport& r, BackendKind k) {
  for (const auto& p : r.backends)
    if (p.kind == k) return p;
  return r.backends.front();
}

}  // namespace

AnalysisBackendReport probe_analysis_backends() {
  AnalysisBackendReport r;
  for (BackendKind k : {BackendKind::kCpu, BackendKind::kCuda, BackendKind::kVulkan})
    r.backends.push_back(kernels::probe_backend(k));
  r.nvdec = hw::probe_nvdec();
  const auto& cuda = probe_of(r, BackendKind::kCuda);
  const auto& vulkan = probe_of(r, BackendKind::kVulkan);
  if (cuda.usable && r.nvdec.usable) {
    r.auto_choice = BackendKind::kCuda;
    r.auto_reason = cuda.device + " runs the CUDA kernels and NVDEC decodes for them";
    return r;
  }
  std::string why_not_cuda = !cuda.usable ? "CUDA: " + cuda.reason : "NVDEC: " + r.nvdec.reason;
  if (vulkan.usable && vulkan.gpu) {
    r.auto_choice = BackendKind::kVulkan;
    r.auto_reason = "Vulkan GPU " + vulkan.device + " (" + why_not_cuda + ")";
    return r;
  }
  r.auto_choice = BackendKind::kCpu;
  r.auto_reason = "no GPU to analyse on (" + why_not_cuda +
                  "; Vulkan: " + (vulkan.usable ? vulkan.device + " is not a GPU" : vulkan.reason) + ")";
  return r;
}

BackendKind auto_analysis_backend() {
  static const BackendKind choice = probe_analysis_backends().auto_choice;
  return choice;
}

AnalysisProbeAhead::AnalysisProbeAhead(const std::string& requested) {
  if (requested != "auto") return;
  thread_ = std::thread([] {
    try {
      (void)auto_analysis_backend();
    } catch (...) {
      // Not initialised after all: the caller's own call probes again and meets the error itself.
    }
  });
}

AnalysisProbeAhead::~AnalysisProbeAhead() {
  if (thread_.joinable()) thread_.join();
}

void validate_analysis_backend(const std::string& name) {
  if (name != "auto" && !kernels::parse_backend(name))
    throw Error(ErrorCode::kUsage,
                "--analysis-backend must be auto, cpu, cuda or vulkan, not '" + name + "'");
}

AnalysisEngine open_analysis_backend(const std::string& requested, bool want_nvdec, const WarnFn& warn) {
  validate_analysis_backend(requested);
  AnalysisEngine e;
  e.requested = requested;
  BackendKind kind = BackendKind::kCpu;
  if (requested == "auto") {
    // Once per process, so a server answering many analyze_video calls pays for the probe once.
    kind = auto_analysis_backend();
  } else {
    kind = *kernels::parse_backend(requested);
  }
  if (kind != BackendKind::kCpu) {
    try {
      if (fault_at_start()) throw kernels::GpuError("injected start-up failure (PVT_ANALYSIS_FAULT=start)");
      e.kernels = kernels::open_backend(kind);
    } catch (const std::exception& ex) {
      e.fallback = std::string(kernels::backend_name(kind)) + ": " + ex.what();
      if (warn)
        warn(std::string(kernels::backend_name(kind)) + " analysis backend unavailable (" + ex.what() +
             "); using the CPU kernel");
    }
  }
  if (!e.kernels) e.kernels = kernels::make_cpu_backend();
  if (want_nvdec && kind == BackendKind::kCuda && e.fallback.empty()) {
    try {
      e.nvdec = hw::CudaHwDevice::open();
    } catch (const std::exception&) {
      // The kernels still run on CUDA, on frames decoded on the CPU and uploaded: nothing to warn about.
    }
  }
  return e;
}

std::unique_ptr<kernels::LumaAnalyzer> make_analyzer(const AnalysisEngine& engine, int max_batch,
                                                     const WarnFn& warn) {
  if (!engine.kernels->asynchronous()) return engine.kernels->make_analyzer(max_batch);  // the CPU kernel
  std::unique_ptr<kernels::LumaAnalyzer> inner;
  try {
    inner = engine.kernels->make_analyzer(max_batch);
  } catch (const std::exception& ex) {
    if (warn)
      warn(std::string(engine.name()) + " analysis stream could not start (" + ex.what() +
           "); using the CPU kernel");
    return kernels::make_cpu_backend()->make_analyzer(max_batch);
  }
  if (const long n = fault_frame(); n > 0) inner = std::make_unique<FaultyAnalyzer>(std::move(inner), n);
  return std::make_unique<kernels::FallbackAnalyzer>(std::move(inner), warn);
}

WarnFn warn_once(WarnFn warn) {
  auto said = std::make_shared<std::atomic<bool>>(false);
  return [warn = std::move(warn), said](const std::string& message) {
    if (warn && !said->exchange(true)) warn(message);
  };
}

}  // namespace pvt
