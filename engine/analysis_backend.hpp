// Which analysis kernels run (--analysis-backend auto|cpu|cuda|vulkan), opening them, and falling back to
// the CPU reference when a GPU cannot start or fails on the way.
//
// auto picks CUDA when an NVIDIA device runs pvt's kernels and FFmpeg can decode on its NVDEC (then the
// whole analysis stays on the GPU), else Vulkan when a Vulkan GPU is present (software devices such as
// lavapipe do not count: they are slower than the CPU kernel), else the CPU kernel.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cuda_hwdevice.hpp"
#include "kernel_factory.hpp"

namespace pvt {

using WarnFn = std::function<void(const std::string&)>;

struct AnalysisBackendReport {
  std::vector<kernels::BackendProbe> backends;  // cpu, cuda, vulkan
  hw::NvdecProbe nvdec;
  kernels::BackendKind auto_choice = kernels::BackendKind::kCpu;
  std::string auto_reason;  // one line: why auto picks it
};

// Looks at every backend (the devices, not the work); what `pvt caps` shows.
AnalysisBackendReport probe_analysis_backends();

// probe_analysis_backends().auto_choice, probed once per process (the probe loads every Vulkan driver and
// libcuda: tens of milliseconds of dynamic linking). A device that fails later still falls back.
kernels::BackendKind auto_analysis_backend();

// With `requested` "auto", runs auto_analysis_backend() on its own thread from construction, so that its
// probe (0.12 s here, most of it Vulkan's loader opening every driver) overlaps the job's own start; the
// first open_analysis_backend("auto") then waits only for what is left. Joins when destroyed.
class AnalysisProbeAhead {
 public:
  explicit AnalysisProbeAhead(const std::string& requested);
  ~AnalysisProbeAhead();
  AnalysisProbeAhead(const AnalysisProbeAhead&) = delete;
  AnalysisProbeAhead& operator=(const AnalysisProbeAhead&) = delete;

 private:
  std::thread thread_;
};

// Throws Error(kUsage) unless name is auto, cpu, cuda or vulkan.
void validate_analysis_backend(const std::string& name);

// The backend a process analyses with.
struct AnalysisEngine {
  std::shared_ptr<kernels::AnalysisBackend> kernels;  // never null: the CPU kernel at worst
  std::shared_ptr<hw::CudaHwDevice> nvdec;            // FFmpeg's CUDA device, when NVDEC decodes for them
  std::string requested;                              // what was asked for
  std::string fallback;  // why the backend asked for (or picked by auto) is not used; empty when it is
  const char* name() const { return kernels->name(); }
};

// Resolves `requested`, opens it and, with want_nvdec, FFmpeg's CUDA device for decoding (CUDA only).
// A GPU backend that cannot start gives the CPU kernel and one warning. Test hook: PVT_ANALYSIS_FAULT=start
// makes every GPU backend fail to start.
AnalysisEngine open_analysis_backend(const std::string& requested, bool want_nvdec, const WarnFn& warn);

// A new analysis stream on the engine's backend. GPU streams are wrapped so that a failure mid-stream
// warns and continues on the CPU kernel with the same results (kernels::FallbackAnalyzer). Test hook:
// PVT_ANALYSIS_FAULT=N makes a GPU stream fail at its Nth frame (1 = the first).
std::unique_ptr<kernels::LumaAnalyzer> make_analyzer(const AnalysisEngine& engine, int max_batch,
                                                     const WarnFn& warn);

// Wraps warn so that only its first call prints, from any thread: "one warning line" per process.
WarnFn warn_once(WarnFn warn);

}  // namespace pvt
