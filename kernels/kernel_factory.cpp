#include "kernel_factory.hpp"

#include "gpu_error.hpp"

#if PVT_HAVE_CUDA
#include "cuda/cuda_backend.hpp"
#endif
#if PVT_HAVE_VULKAN
#include "vulkan/vulkan_backend.hpp"
#endif

namespace pvt::kernels {

const char* backend_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::kCpu:
      return "cpu";
    case BackendKind::kCuda:
      return "cuda";
    case BackendKind::kVulkan:
      return "vulkan";
  }
  return "?";
}

std::optional<BackendKind> parse_backend(std::string_view name) {
  for (BackendKind k : {BackendKind::kCpu, BackendKind::kCuda, BackendKind::kVulkan})
    if (name == backend_name(k)) return k;
  return std::nullopt;
}

BackendProbe probe_backend(BackendKind kind) {
  switch (kind) {
    case BackendKind::kCpu: {
      BackendProbe p;
      p.built = p.usable = true;
      p.device = "CPU reference kernel";
      return p;
    }
    case BackendKind::kCuda:
#if PVT_HAVE_CUDA
      return probe_cuda();
#else
    {
      BackendProbe p;
      p.kind = kind;
      p.reason = "not built: no nvcc (/usr/local/cuda) when pvt was configured, or -DPVT_WITH_CUDA=OFF";
      return p;
    }
#endif
    case BackendKind::kVulkan:
#if PVT_HAVE_VULKAN
      return probe_vulkan();
#else
    {
      BackendProbe p;
      p.kind = kind;
      p.reason = "not built: no libvulkan-dev or glslc when pvt was configured, or -DPVT_WITH_VULKAN=OFF";
      return p;
    }
#endif
  }
  return {};
}

std::shared_ptr<AnalysisBackend> open_backend(BackendKind kind) {
  switch (kind) {
    case BackendKind::kCpu:
      return make_cpu_backend();
    case BackendKind::kCuda:
#if PVT_HAVE_CUDA
      return open_cuda_backend();
#else
      throw GpuError(probe_backend(kind).reason);
#endif
    case BackendKind::kVulkan:
#if PVT_HAVE_VULKAN
      return open_vulkan_backend();
#else
      throw GpuError(probe_backend(kind).reason);
#endif
  }
  throw GpuError("unknown analysis backend");
}

}  // namespace pvt::kernels
