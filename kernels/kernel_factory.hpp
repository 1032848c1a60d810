// Which analysis backends this binary has and this machine can run, and opening one by name.
// Policy (what "auto" picks, NVDEC) lives in engine/analysis_backend: this layer only knows kernels.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "luma_analyzer.hpp"

namespace pvt::kernels {

enum class BackendKind { kCpu, kCuda, kVulkan };

const char* backend_name(BackendKind kind);
std::optional<BackendKind> parse_backend(std::string_view name);  // "cpu", "cuda", "vulkan"

struct BackendProbe {
  BackendKind kind = BackendKind::kCpu;
  bool built = false;   // compiled into this binary
  bool usable = false;  // a device answered: an explicit request can use it
  bool gpu = false;     // a real GPU; false for the CPU and for software devices such as lavapipe
  std::string device;   // what was found ("NVIDIA H100 80GB HBM3, sm_90", "llvmpipe (LLVM 15.0.6)")
  std::string reason;   // why it is not usable, or a note on what was found
};

// Looks for the backend's device without opening it for work (cheap enough for `pvt caps`).
BackendProbe probe_backend(BackendKind kind);

// Opens the device and builds the kernels. Throws GpuError naming the call that failed.
std::shared_ptr<AnalysisBackend> open_backend(BackendKind kind);

}  // namespace pvt::kernels
