// The CUDA backend of the analysis kernels (luma_kernels.cu). Reads frames in host memory (staged
// through pinned buffers) and frames in device memory (NVDEC surfaces, no host copy).
#pragma once

#include <memory>

#include "kernel_factory.hpp"

namespace pvt::kernels {

BackendProbe probe_cuda();
std::shared_ptr<AnalysisBackend> open_cuda_backend();  // throws GpuError

}  // namespace pvt::kernels
