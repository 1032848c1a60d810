// The Vulkan device the analysis kernels run on: instance, device, one compute queue, and the two
// compute pipelines (reduce, measure) built from the SPIR-V embedded at build time. Shared by the
// analyzers of every thread; queue submission is serialised here, as Vulkan requires.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "vk_handles.hpp"

namespace pvt::kernels::vk {

// The device pvt would pick: discrete over integrated over virtual over CPU (lavapipe), with a compute
// queue. `name` is empty when there is none; `error` then says why.
struct DeviceChoice {
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties properties{};
  std::uint32_t queue_family = 0;
  std::string name;
  std::string error;
};

Instance create_instance();  // throws GpuError
DeviceChoice choose_device(VkInstance instance);
const char* device_type_name(VkPhysicalDeviceType type);

class VulkanContext {
 public:
  VulkanContext();  // throws GpuError
  VulkanContext(const VulkanContext&) = delete;
  VulkanContext& operator=(const VulkanContext&) = delete;

  VkDevice device() const { return device_.get(); }
  std::uint32_t queue_family() const { return choice_.queue_family; }
  const VkPhysicalDeviceLimits& limits() const { return choice_.properties.limits; }
  std::string description() const;

  VkDescriptorSetLayout set_layout() const { return set_layout_.get(); }
  VkPipelineLayout pipeline_layout() const { return pipeline_layout_.get(); }
  VkPipeline reduce_pipeline() const { return reduce_.get(); }
  VkPipeline measure_pipeline() const { return measure_.get(); }

  // A host-visible, host-coherent buffer, mapped; device-local memory preferred when `prefer_device`.
  MappedBuffer make_buffer(VkDeviceSize size, bool prefer_device) const;
  // vkQueueSubmit of one command buffer, signalling `fence`; thread-safe.
  void submit(VkCommandBuffer cmd, VkFence fence);

 private:
  Pipeline make_pipeline(const std::uint32_t* code, std::size_t bytes) const;

  Instance instance_;
  DeviceChoice choice_;
  VkPhysicalDeviceMemoryProperties memory_{};
  Device device_;
  VkQueue queue_ = VK_NULL_HANDLE;
  std::mutex queue_mutex_;
  DescriptorSetLayout set_layout_;
  PipelineLayout pipeline_layout_;
  Pipeline reduce_;
  Pipeline measure_;
};

// Push constants of the two shaders (reduce.comp, measure.comp), in their declaration order.
struct ReduceParams {
  std::uint32_t out_width, out_height, factor, bytes_per_sample, shift, row_stride, frame_stride, first_slot,
      ring_slots;
};
struct MeasureParams {
  std::uint32_t width, height, first_slot, ring_slots, prev_mask;
};
inline constexpr std::uint32_t kPushConstantBytes = 64;
// Per frame: 64 bins, gradient lo/hi, difference lo/hi, strong changes, 3 unused (measure.comp).
inline constexpr std::uint32_t kResultWords = 72;

}  // namespace pvt::kernels::vk
