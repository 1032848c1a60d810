// The Vulkan compute backend of the analysis kernels (reduce.comp, measure.comp).
#pragma once

#include <memory>

#include "kernel_factory.hpp"

namespace pvt::kernels {

BackendProbe probe_vulkan();
std::shared_ptr<AnalysisBackend> open_vulkan_backend();  // throws GpuError

}  // namespace pvt::kernels
