// The Vulkan analyzer: frames are copied into a host-visible upload buffer as they are submitted, a batch
// of them is reduced and measured by one command buffer (two dispatches), and the 72 result words per
// frame are read back when its fence signals. Two batch slots alternate, so the CPU fills one while the
// device works on the other; the reduced planes stay on the device in a ring, the previous frame's plane
// included, so a difference never needs a plane from the host.
#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>

#include "vulkan_backend.hpp"
#include "vulkan_context.hpp"

namespace pvt::kernels {

static_assert(kStrongChange == 48, "measure.comp counts |difference| > 48");

namespace {

using vk::check;

constexpr int kMaxBatch = 16;                     // frames per command buffer (prev_mask has 32 bits)
constexpr VkDeviceSize kUploadBudget = 64 << 20;  // bytes of frames per batch slot
constexpr std::uint64_t kFenceTimeoutNs = 120'000'000'000;  // a batch that takes longer is a hung device

// How a frame maps onto the shaders. Frames of one batch share it (it is the batch's push constants).
struct Geometry {
  int factor = 1;
  int out_width = 0;
  int out_height = 0;
  int bytes_per_sample = 1;
  int shift = 0;
  std::uint32_t row_bytes = 0;     // bytes of the samples used in one row
  std::uint32_t row_stride = 0;    // row_bytes rounded up to whole 32-bit words
  std::uint32_t frame_stride = 0;  // row_stride x rows used
  bool operator==(const Geometry&) const = default;
  std::uint32_t pixels() const { return static_cast<std::uint32_t>(out_width) * out_height; }
};

Geometry geometry_of(const AnalysisFrame& f) {
  const LumaView& v = f.luma;
  if (v.width < 0 || v.height < 0 || v.bit_depth < 1 || v.bit_depth > 16 || (!v.data && v.width && v.height))
    throw GpuError("invalid luma plane for the Vulkan analyzer");
  Geometry g;
  g.factor = std::max(1, f.factor > 0 ? f.factor : reduction_factor(v.width, v.height));
  g.out_width = v.width / g.factor;
  g.out_height = v.height / g.factor;
  g.bytes_per_sample = v.bit_depth <= 8 ? 1 : 2;
  g.shift = v.bit_depth <= 8 ? 0 : v.bit_depth - 8;
  // Only the samples of whole blocks are uploaded: the partial blocks at the edges are dropped anyway.
  g.row_bytes = static_cast<std::uint32_t>(g.out_width * g.factor * g.bytes_per_sample);
  g.row_stride = (g.row_bytes + 3u) & ~3u;
  g.frame_stride = g.row_stride * static_cast<std::uint32_t>(g.out_height * g.factor);
  return g;
}

struct Queued {
  std::int64_t tag = 0;
  bool keep_plane = false;
  bool has_prev = false;
  std::uint32_t ring_slot = 0;
};

struct BatchSlot {
  vk::MappedBuffer input;    // uploaded frames, frame_stride apart
  vk::MappedBuffer results;  // kResultWords per frame
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  vk::Fence fence;
  VkDescriptorSet set = VK_NULL_HANDLE;
  Geometry geo;
  std::vector<Queued> frames;
  std::uint32_t first_slot = 0;
  bool in_flight = false;
};

class VulkanAnalyzer final : public LumaAnalyzer {
 public:
  VulkanAnalyzer(std::shared_ptr<vk::VulkanContext> ctx, int max_batch)
      : ctx_(std::move(ctx)), max_batch_(std::clamp(max_batch > 0 ? max_batch : kMaxBatch, 1, kMaxBatch)) {
    // Two batches in flight plus the plane before them: no slot is overwritten before it is read back.
    ring_slots_ = static_cast<std::uint32_t>(2 * max_batch_ + 1);
    const VkDevice dev = ctx_->device();
    VkCommandPoolCreateInfo cp{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    cp.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    cp.queueFamilyIndex = ctx_->queue_family();
    VkCommandPool pool = VK_NULL_HANDLE;
    check(vkCreateCommandPool(dev, &cp, nullptr, &pool), "vkCreateCommandPool");
    command_pool_ = vk::CommandPool(dev, pool);

    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 6};
    VkDescriptorPoolCreateInfo dp{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    dp.maxSets = 2;
    dp.poolSizeCount = 1;
    dp.pPoolSizes = &size;
    VkDescriptorPool dpool = VK_NULL_HANDLE;
    check(vkCreateDescriptorPool(dev, &dp, nullptr, &dpool), "vkCreateDescriptorPool");
    descriptor_pool_ = vk::DescriptorPool(dev, dpool);

    VkCommandBuffer cmds[2];
    VkCommandBufferAllocateInfo ca{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ca.commandPool = pool;
    ca.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ca.commandBufferCount = 2;
    check(vkAllocateCommandBuffers(dev, &ca, cmds), "vkAllocateCommandBuffers");
    VkDescriptorSetLayout layouts[2] = {ctx_->set_layout(), ctx_->set_layout()};
    VkDescriptorSet sets[2];
    VkDescriptorSetAllocateInfo sa{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    sa.descriptorPool = dpool;
    sa.descriptorSetCount = 2;
    sa.pSetLayouts = layouts;
    check(vkAllocateDescriptorSets(dev, &sa, sets), "vkAllocateDescriptorSets");
    for (int i = 0; i < 2; ++i) {
      slots_[i].cmd = cmds[i];
      slots_[i].set = sets[i];
      VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
      VkFence fence = VK_NULL_HANDLE;
      check(vkCreateFence(dev, &fi, nullptr, &fence), "vkCreateFence");
      slots_[i].fence = vk::Fence(dev, fence);
    }
  }

  ~VulkanAnalyzer() override {
    // Buffers must not be freed under a running batch; a lost device answers at once.
    for (auto& s : slots_) {
      if (!s.in_flight) continue;
      const VkFence f = s.fence.get();
      vkWaitForFences(ctx_->device(), 1, &f, VK_TRUE, kFenceTimeoutNs);
    }
  }

  const char* name() const override { return "vulkan"; }
  bool accepts(FrameMemory memory) const override { return memory == FrameMemory::kHost; }

  void submit(const AnalysisFrame& frame) override {
    if (frame.memory != FrameMemory::kHost) throw GpuError("the Vulkan analyzer takes frames in host memory");
    const Geometry g = geometry_of(frame);
    if (filling(slots_[open_]) && !(slots_[open_].geo == g)) dispatch_open();
    BatchSlot& s = slots_[open_];
    if (!filling(s)) prepare_open(g);

    Queued q;
    q.tag = frame.tag;
    q.keep_plane = frame.keep_plane;
    q.has_prev = frame.continues && last_ && last_->out_width == g.out_width &&
                 last_->out_height == g.out_height && g.pixels() > 0;
    q.ring_slot = static_cast<std::uint32_t>(submitted_ % ring_slots_);
    if (s.frames.empty()) s.first_slot = q.ring_slot;
    auto* dst = static_cast<std::uint8_t*>(s.input.data) + s.frames.size() * g.frame_stride;
    const int rows = g.out_height * g.factor;
    for (int y = 0; y < rows; ++y)
      std::memcpy(dst + static_cast<std::size_t>(y) * g.row_stride,
                  frame.luma.data + y * frame.luma.stride_bytes, g.row_bytes);
    s.frames.push_back(q);
    ++submitted_;
    last_ = g;
    if (static_cast<int>(s.frames.size()) >= batch_for(g)) dispatch_open();
  }

  std::size_t poll(std::vector<AnalysisResult>& out) override {
    while (!in_flight_.empty()) {
      const VkResult r = vkGetFenceStatus(ctx_->device(), slots_[in_flight_.front()].fence.get());
      if (r == VK_NOT_READY) break;
      check(r, "vkGetFenceStatus");
      retire_oldest();
    }
    return hand_out(out);
  }

  void flush(std::vector<AnalysisResult>& out) override {
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
    const VkDeviceSize budget = std::min<VkDeviceSize>(kUploadBudget, ctx_->limits().maxStorageBufferRange);
    const VkDeviceSize fit = budget / std::max<VkDeviceSize>(g.frame_stride, 1);
    return static_cast<int>(std::clamp<VkDeviceSize>(fit, 1, static_cast<VkDeviceSize>(max_batch_)));
  }

  // Makes the open slot ready for a batch of geometry g: idle, and its buffers big enough.
  void prepare_open(const Geometry& g) {
    // Buffers are bound whole: beyond the device's range the shaders could not address them.
    const VkDeviceSize range = ctx_->limits().maxStorageBufferRange;
    if (VkDeviceSize{g.pixels()} * 4 * ring_slots_ > range || g.frame_stride > range)
      throw GpuError("a frame of " + std::to_string(g.frame_stride) + " bytes (" +
                     std::to_string(g.pixels()) +
                     " reduced pixels) is beyond this Vulkan device's storage-buffer range");
    BatchSlot& s = slots_[open_];
    while (s.in_flight) retire_oldest();
    // Ring slots are spaced by the plane size: a new size moves them, so nothing in flight may still
    // read (or be read back from) the old layout.
    if (last_ && (last_->out_width != g.out_width || last_->out_height != g.out_height))
      while (!in_flight_.empty()) retire_oldest();
    if (g.pixels() > ring_pixels_ || !ring_.size) grow_ring(std::max(g.pixels(), 1u));
    const VkDeviceSize in_bytes = std::max<VkDeviceSize>(4, VkDeviceSize{g.frame_stride} * batch_for(g));
    const VkDeviceSize res_bytes = VkDeviceSize{vk::kResultWords} * 4 * max_batch_;
    bool changed = false;
    if (s.input.size < in_bytes) {
      s.input = ctx_->make_buffer(in_bytes, false);
      changed = true;
    }
    if (s.results.size < res_bytes) {
      s.results = ctx_->make_buffer(res_bytes, false);
      changed = true;
    }
    if (changed) write_set(s);
    s.geo = g;
  }

  // A bigger plane than the ring holds means a new frame size: no difference reaches across it, and
  // nothing is in flight (prepare_open drained it), so the old planes can go.
  void grow_ring(std::uint32_t pixels) {
    ring_ = ctx_->make_buffer(VkDeviceSize{pixels} * 4 * ring_slots_, true);
    ring_pixels_ = pixels;
    for (auto& s : slots_)
      if (s.input.size) write_set(s);
  }

  void write_set(const BatchSlot& s) {
    VkDescriptorBufferInfo info[3] = {{s.input.buffer.get(), 0, VK_WHOLE_SIZE},
                                      {ring_.buffer.get(), 0, VK_WHOLE_SIZE},
                                      {s.results.buffer.get(), 0, VK_WHOLE_SIZE}};
    VkWriteDescriptorSet w[3];
    for (std::uint32_t b = 0; b < 3; ++b) {
      w[b] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
      w[b].dstSet = s.set;
      w[b].dstBinding = b;
      w[b].descriptorCount = 1;
      w[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      w[b].pBufferInfo = &info[b];
    }
    vkUpdateDescriptorSets(ctx_->device(), 3, w, 0, nullptr);
  }

  static void barrier(VkCommandBuffer cmd, VkPipelineStageFlags src, VkAccessFlags src_access,
                      VkPipelineStageFlags dst, VkAccessFlags dst_access) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = src_access;
    mb.dstAccessMask = dst_access;
    vkCmdPipelineBarrier(cmd, src, dst, 0, 1, &mb, 0, nullptr, 0, nullptr);
  }

  // Records and submits the open batch: zero results, reduce, measure.
  void dispatch_open() {
    BatchSlot& s = slots_[open_];
    if (!filling(s)) return;
    const Geometry& g = s.geo;
    const auto frames = static_cast<std::uint32_t>(s.frames.size());
    const VkCommandBuffer cmd = s.cmd;
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    check(vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
    const VkPipelineStageFlags compute = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
    const VkPipelineStageFlags transfer = VK_PIPELINE_STAGE_TRANSFER_BIT;
    const VkAccessFlags rw = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    // After the batches submitted earlier: the ring planes they write are read and rewritten here.
    barrier(cmd, compute, VK_ACCESS_SHADER_WRITE_BIT, compute | transfer, rw | VK_ACCESS_TRANSFER_WRITE_BIT);
    vkCmdFillBuffer(cmd, s.results.buffer.get(), 0, VkDeviceSize{frames} * vk::kResultWords * 4, 0);
    if (g.pixels() > 0) {
      vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, ctx_->pipeline_layout(), 0, 1, &s.set, 0,
                              nullptr);
      const vk::ReduceParams rp{static_cast<std::uint32_t>(g.out_width),
                                static_cast<std::uint32_t>(g.out_height),
                                static_cast<std::uint32_t>(g.factor),
                                static_cast<std::uint32_t>(g.bytes_per_sample),
                                static_cast<std::uint32_t>(g.shift),
                                g.row_stride,
                                g.frame_stride,
                                s.first_slot,
                                ring_slots_};
      vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, ctx_->reduce_pipeline());
      vkCmdPushConstants(cmd, ctx_->pipeline_layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof rp, &rp);
      vkCmdDispatch(cmd, (rp.out_width + 15) / 16, (rp.out_height + 15) / 16, frames);
      barrier(cmd, compute | transfer, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, compute,
              rw);
      std::uint32_t mask = 0;
      for (std::uint32_t f = 0; f < frames; ++f)
        if (s.frames[f].has_prev) mask |= 1u << f;
      const vk::MeasureParams mp{rp.out_width, rp.out_height, s.first_slot, ring_slots_, mask};
      // About 16 pixels per invocation: keeps each invocation's 32-bit partial sums far from overflow.
      const std::uint32_t groups = std::clamp<std::uint32_t>((g.pixels() + 4095) / 4096, 1,
                                                             ctx_->limits().maxComputeWorkGroupCount[0]);
      vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, ctx_->measure_pipeline());
      vkCmdPushConstants(cmd, ctx_->pipeline_layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof mp, &mp);
      vkCmdDispatch(cmd, groups, 1, frames);
    }
    barrier(cmd, compute | transfer, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
    const VkFence fence = s.fence.get();
    check(vkResetFences(ctx_->device(), 1, &fence), "vkResetFences");
    ctx_->submit(cmd, fence);
    s.in_flight = true;
    in_flight_.push_back(open_);
    open_ = 1 - open_;
  }

  // Waits for the oldest batch and turns its result words into results.
  void retire_oldest() {
    BatchSlot& s = slots_[in_flight_.front()];
    const VkFence fence = s.fence.get();
    const VkResult r = vkWaitForFences(ctx_->device(), 1, &fence, VK_TRUE, kFenceTimeoutNs);
    if (r == VK_TIMEOUT) throw GpuError("a Vulkan analysis batch did not finish within 120 s");
    check(r, "vkWaitForFences");
    in_flight_.pop_front();
    s.in_flight = false;
    const auto* words = static_cast<const std::uint32_t*>(s.results.data);
    const auto* planes = static_cast<const std::uint32_t*>(ring_.data);
    const std::uint32_t pixels = s.geo.pixels();
    for (std::size_t f = 0; f < s.frames.size(); ++f) {
      const Queued& q = s.frames[f];
      const std::uint32_t* w = words + f * vk::kResultWords;
      AnalysisResult r;
      r.tag = q.tag;
      std::copy(w, w + kHistogramBins, r.measure.histogram.begin());
      r.measure.gradient_sum = w[64] | (std::uint64_t{w[65]} << 32);
      r.measure.has_previous = q.has_prev;
      if (q.has_prev) {
        r.measure.diff_sum = w[66] | (std::uint64_t{w[67]} << 32);
        r.measure.strong_changes = w[68];
      }
      r.measure.pixels = pixels;
      if (q.keep_plane) {
        r.plane.width = s.geo.out_width;
        r.plane.height = s.geo.out_height;
        r.plane.pixels.resize(pixels);
        // Slots are spaced by the plane size of the batch's geometry (see prepare_open).
        const std::uint32_t* src = planes + std::size_t{q.ring_slot} * pixels;
        for (std::uint32_t i = 0; i < pixels; ++i) r.plane.pixels[i] = static_cast<std::uint8_t>(src[i]);
      }
      ready_.push_back(std::move(r));
    }
    s.frames.clear();
  }

  std::size_t hand_out(std::vector<AnalysisResult>& out) {
    const std::size_t n = ready_.size();
    for (auto& r : ready_) out.push_back(std::move(r));
    ready_.clear();
    return n;
  }

  std::shared_ptr<vk::VulkanContext> ctx_;  // first member: outlives every handle below
  int max_batch_;
  std::uint32_t ring_slots_ = 0;
  vk::MappedBuffer ring_;  // reduced planes, one uint per pixel, ring_slots_ of them
  std::uint32_t ring_pixels_ = 0;
  vk::CommandPool command_pool_;
  vk::DescriptorPool descriptor_pool_;
  BatchSlot slots_[2];
  int open_ = 0;               // the slot frames are being added to
  std::deque<int> in_flight_;  // submitted slots, oldest first
  std::deque<AnalysisResult> ready_;
  std::uint64_t submitted_ = 0;
  std::optional<Geometry> last_;  // of the last frame submitted
};

class VulkanBackend final : public AnalysisBackend {
 public:
  VulkanBackend() : ctx_(std::make_shared<vk::VulkanContext>()) {}
  const char* name() const override { return "vulkan"; }
  std::string device() const override { return ctx_->description(); }
  bool asynchronous() const override { return true; }
  std::unique_ptr<LumaAnalyzer> make_analyzer(int max_batch) override {
    return std::make_unique<VulkanAnalyzer>(ctx_, max_batch);
  }

 private:
  std::shared_ptr<vk::VulkanContext> ctx_;
};

}  // namespace

BackendProbe probe_vulkan() {
  BackendProbe p;
  p.kind = BackendKind::kVulkan;
  p.built = true;
  try {
    const vk::Instance instance = vk::create_instance();
    const vk::DeviceChoice c = vk::choose_device(instance.get());
    if (!c.physical) {
      p.reason = c.error;
      return p;
    }
    p.usable = true;
    p.gpu = c.properties.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU;
    p.device = c.name + ", " + vk::device_type_name(c.properties.deviceType);
    if (!p.gpu)
      p.reason =
          "software rendering on the CPU (such as lavapipe), not a GPU: auto skips it, "
          "--analysis-backend vulkan uses it";
  } catch (const GpuError& e) {
    p.reason = std::string("no Vulkan driver answered (") + e.what() + ")";
  }
  return p;
}

std::shared_ptr<AnalysisBackend> open_vulkan_backend() {
  return std::make_shared<VulkanBackend>();
}

}  // namespace pvt::kernels
