// RAII over the Vulkan handles the analysis kernels use: each owns one handle and destroys it with the
// matching vkDestroy*/vkFree* call. Movable, not copyable. Command buffers and descriptor sets are not
// wrapped: they go with their pools.
#pragma once

#include <vulkan/vulkan.h>

#include <string>
#include <utility>

#include "gpu_error.hpp"

namespace pvt::kernels::vk {

// "VK_ERROR_DEVICE_LOST", ... for messages.
const char* result_name(VkResult r);

// Throws GpuError("<what>: <result>") unless r is VK_SUCCESS.
inline void check(VkResult r, const char* what) {
  if (r != VK_SUCCESS) throw GpuError(std::string(what) + ": " + result_name(r));
}

class Instance {
 public:
  Instance() = default;
  explicit Instance(VkInstance h) : h_(h) {}
  Instance(Instance&& o) noexcept : h_(std::exchange(o.h_, VK_NULL_HANDLE)) {}
  Instance& operator=(Instance&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ~Instance() {
    if (h_) vkDestroyInstance(h_, nullptr);
  }
  VkInstance get() const { return h_; }

 private:
  VkInstance h_ = VK_NULL_HANDLE;
};

class Device {
 public:
  Device() = default;
  explicit Device(VkDevice h) : h_(h) {}
  Device(Device&& o) noexcept : h_(std::exchange(o.h_, VK_NULL_HANDLE)) {}
  Device& operator=(Device&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ~Device() {
    if (h_) vkDestroyDevice(h_, nullptr);
  }
  VkDevice get() const { return h_; }

 private:
  VkDevice h_ = VK_NULL_HANDLE;
};

// A handle created from a VkDevice and destroyed with Destroy(device, handle, nullptr).
template <typename Handle, void (*Destroy)(VkDevice, Handle, const VkAllocationCallbacks*)>
class DeviceObject {
 public:
  DeviceObject() = default;
  DeviceObject(VkDevice device, Handle h) : device_(device), h_(h) {}
  DeviceObject(DeviceObject&& o) noexcept
      : device_(std::exchange(o.device_, VK_NULL_HANDLE)), h_(std::exchange(o.h_, VK_NULL_HANDLE)) {}
  DeviceObject& operator=(DeviceObject&& o) noexcept {
    std::swap(device_, o.device_);
    std::swap(h_, o.h_);
    return *this;
  }
  DeviceObject(const DeviceObject&) = delete;
  DeviceObject& operator=(const DeviceObject&) = delete;
  ~DeviceObject() { reset(); }

  Handle get() const { return h_; }
  void reset() {
    if (h_) Destroy(device_, h_, nullptr);
    h_ = VK_NULL_HANDLE;
  }

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  Handle h_ = VK_NULL_HANDLE;
};

using Buffer = DeviceObject<VkBuffer, vkDestroyBuffer>;
using Memory = DeviceObject<VkDeviceMemory, vkFreeMemory>;  // freeing also unmaps
using ShaderModule = DeviceObject<VkShaderModule, vkDestroyShaderModule>;
using DescriptorSetLayout = DeviceObject<VkDescriptorSetLayout, vkDestroyDescriptorSetLayout>;
using PipelineLayout = DeviceObject<VkPipelineLayout, vkDestroyPipelineLayout>;
using Pipeline = DeviceObject<VkPipeline, vkDestroyPipeline>;
using DescriptorPool = DeviceObject<VkDescriptorPool, vkDestroyDescriptorPool>;
using CommandPool = DeviceObject<VkCommandPool, vkDestroyCommandPool>;
using Fence = DeviceObject<VkFence, vkDestroyFence>;

// A buffer in host-visible, host-coherent memory, mapped for its whole life. Members are destroyed in
// reverse order: the buffer before the memory bound to it.
struct MappedBuffer {
  Memory memory;
  Buffer buffer;
  void* data = nullptr;
  VkDeviceSize size = 0;
};

}  // namespace pvt::kernels::vk
