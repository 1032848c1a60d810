#include "vulkan_context.hpp"

#include <vector>

#include "vulkan_shaders.hpp"  // generated at build time from the .comp files (embed_spirv.cmake)

namespace pvt::kernels::vk {

const char* result_name(VkResult r) {
  switch (r) {
#define PVT_VK_CASE(x) \
  case x:              \
    return #x;
    PVT_VK_CASE(VK_SUCCESS)
    PVT_VK_CASE(VK_NOT_READY)
    PVT_VK_CASE(VK_TIMEOUT)
    PVT_VK_CASE(VK_INCOMPLETE)
    PVT_VK_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    PVT_VK_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    PVT_VK_CASE(VK_ERROR_INITIALIZATION_FAILED)
    PVT_VK_CASE(VK_ERROR_DEVICE_LOST)
    PVT_VK_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    PVT_VK_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    PVT_VK_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    PVT_VK_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    PVT_VK_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    PVT_VK_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    PVT_VK_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    PVT_VK_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    PVT_VK_CASE(VK_ERROR_UNKNOWN)
#undef PVT_VK_CASE
    default:
      return "VkResult error";
  }
}

const char* device_type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "CPU (software) device";
    default:
      return "device of unknown type";
  }
}

Instance create_instance() {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "pvt";
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pApplicationInfo = &app;
  VkInstance h = VK_NULL_HANDLE;
  check(vkCreateInstance(&info, nullptr, &h), "vkCreateInstance");
  return Instance(h);
}

DeviceChoice choose_device(VkInstance instance) {
  DeviceChoice best;
  std::uint32_t count = 0;
  if (const VkResult r = vkEnumeratePhysicalDevices(instance, &count, nullptr); r != VK_SUCCESS) {
    best.error = std::string("vkEnumeratePhysicalDevices: ") + result_name(r);
    return best;
  }
  std::vector<VkPhysicalDevice> devices(count);
  vkEnumeratePhysicalDevices(instance, &count, devices.data());
  devices.resize(count);
  auto rank = [](VkPhysicalDeviceType t) {
    switch (t) {
      case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
        return 4;
      case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
        return 3;
      case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
        return 2;
      case VK_PHYSICAL_DEVICE_TYPE_CPU:
        return 1;
      default:
        return 0;
    }
  };
  int best_rank = -1;
  for (VkPhysicalDevice d : devices) {
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(d, &props);
    std::uint32_t families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(d, &families, nullptr);
    std::vector<VkQueueFamilyProperties> fam(families);
    vkGetPhysicalDeviceQueueFamilyProperties(d, &families, fam.data());
    for (std::uint32_t q = 0; q < families; ++q) {
      if (!(fam[q].queueFlags & VK_QUEUE_COMPUTE_BIT) || rank(props.deviceType) <= best_rank) continue;
      best_rank = rank(props.deviceType);
      best.physical = d;
      best.properties = props;
      best.queue_family = q;
      best.name = props.deviceName;
      break;
    }
  }
  if (!best.physical)
    best.error = devices.empty() ? "no Vulkan device (is a driver such as mesa-vulkan-drivers installed?)"
                                 : "no Vulkan device with a compute queue";
  return best;
}

VulkanContext::VulkanContext() : instance_(create_instance()), choice_(choose_device(instance_.get())) {
  if (!choice_.physical) throw GpuError(choice_.error);
  vkGetPhysicalDeviceMemoryProperties(choice_.physical, &memory_);

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue.queueFamilyIndex = choice_.queue_family;
  queue.queueCount = 1;
  queue.pQueuePriorities = &priority;
  VkDeviceCreateInfo dev{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dev.queueCreateInfoCount = 1;
  dev.pQueueCreateInfos = &queue;
  VkDevice d = VK_NULL_HANDLE;
  check(vkCreateDevice(choice_.physical, &dev, nullptr, &d), "vkCreateDevice");
  device_ = Device(d);
  vkGetDeviceQueue(d, choice_.queue_family, 0, &queue_);

  // One set for both shaders: 0 the uploaded frames, 1 the ring of reduced planes, 2 the results.
  VkDescriptorSetLayoutBinding bindings[3];
  for (std::uint32_t b = 0; b < 3; ++b)
    bindings[b] = {b, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo sl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  sl.bindingCount = 3;
  sl.pBindings = bindings;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  check(vkCreateDescriptorSetLayout(d, &sl, nullptr, &set_layout), "vkCreateDescriptorSetLayout");
  set_layout_ = DescriptorSetLayout(d, set_layout);

  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushConstantBytes};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &set_layout;
  pl.pushConstantRangeCount = 1;
  pl.pPushConstantRanges = &push;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  check(vkCreatePipelineLayout(d, &pl, nullptr, &layout), "vkCreatePipelineLayout");
  pipeline_layout_ = PipelineLayout(d, layout);

  reduce_ = make_pipeline(shaders::kReduceComp, sizeof shaders::kReduceComp);
  measure_ = make_pipeline(shaders::kMeasureComp, sizeof shaders::kMeasureComp);
}

std::string VulkanContext::description() const {
  const auto v = choice_.properties.apiVersion;
  return choice_.name + ", " + device_type_name(choice_.properties.deviceType) + ", Vulkan " +
         std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v));
}

Pipeline VulkanContext::make_pipeline(const std::uint32_t* code, std::size_t bytes) const {
  VkShaderModuleCreateInfo sm{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  sm.codeSize = bytes;
  sm.pCode = code;
  VkShaderModule module_handle = VK_NULL_HANDLE;
  check(vkCreateShaderModule(device(), &sm, nullptr, &module_handle), "vkCreateShaderModule");
  const ShaderModule module(device(), module_handle);  // only needed while the pipeline is built
  VkComputePipelineCreateInfo info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  info.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  info.stage.module = module.get();
  info.stage.pName = "main";
  info.layout = pipeline_layout_.get();
  VkPipeline p = VK_NULL_HANDLE;
  check(vkCreateComputePipelines(device(), VK_NULL_HANDLE, 1, &info, nullptr, &p),
        "vkCreateComputePipelines");
  return Pipeline(device(), p);
}

MappedBuffer VulkanContext::make_buffer(VkDeviceSize size, bool prefer_device) const {
  MappedBuffer out;
  out.size = size;
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = size;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer b = VK_NULL_HANDLE;
  check(vkCreateBuffer(device(), &bi, nullptr, &b), "vkCreateBuffer");
  out.buffer = Buffer(device(), b);
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device(), b, &req);

  const VkMemoryPropertyFlags need =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  const VkMemoryPropertyFlags want = prefer_device ? need | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT : need;
  int type = -1;
  for (VkMemoryPropertyFlags flags : {want, need}) {
    for (std::uint32_t i = 0; i < memory_.memoryTypeCount && type < 0; ++i)
      if ((req.memoryTypeBits & (1u << i)) && (memory_.memoryTypes[i].propertyFlags & flags) == flags)
        type = static_cast<int>(i);
    if (type >= 0) break;
  }
  if (type < 0)
    throw GpuError("no host-visible, host-coherent Vulkan memory for a " + std::to_string(size) +
                   "-byte buffer");
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = static_cast<std::uint32_t>(type);
  VkDeviceMemory m = VK_NULL_HANDLE;
  check(vkAllocateMemory(device(), &ai, nullptr, &m), "vkAllocateMemory");
  out.memory = Memory(device(), m);  // MappedBuffer destroys the buffer first, then this
  check(vkBindBufferMemory(device(), b, m, 0), "vkBindBufferMemory");
  check(vkMapMemory(device(), m, 0, VK_WHOLE_SIZE, 0, &out.data), "vkMapMemory");
  return out;
}

void VulkanContext::submit(VkCommandBuffer cmd, VkFence fence) {
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  std::lock_guard lock(queue_mutex_);
  check(vkQueueSubmit(queue_, 1, &si, fence), "vkQueueSubmit");
}

}  // namespace pvt::kernels::vk
