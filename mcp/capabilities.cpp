#include "capabilities.hpp"

#include <mutex>
#include <string>

#include "encoder_probe.hpp"
#include "error.hpp"
#include "log_capture.hpp"
#include "system_resources.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/buffer.h>
#include <libavutil/hwcontext.h>
#include <libavutil/log.h>
}

namespace pvt::mcp {

namespace {

const char* const kHardwareTypes[] = {"cuda", "vaapi", "qsv", "vulkan", "videotoolbox"};

bool built_in(AVHWDeviceType type) {
  for (AVHWDeviceType t = AV_HWDEVICE_TYPE_NONE; (t = av_hwdevice_iterate_types(t)) != AV_HWDEVICE_TYPE_NONE;)
    if (t == type) return true;
  return false;
}

}  // namespace

FeatureStatus probe_hardware(const std::string& name) {
  FeatureStatus s{name, false, {}};
  const AVHWDeviceType type = av_hwdevice_find_type_by_name(name.c_str());
  if (type == AV_HWDEVICE_TYPE_NONE) {
    s.reason = "FFmpeg does not know the device type '" + name + "'";
    return s;
  }
  // Without this check FFmpeg reports a type it was built without as "Cannot allocate memory".
  if (!built_in(type)) {
    s.reason = "this FFmpeg build has no " + name + " support";
    return s;
  }
  AVBufferRef* device = nullptr;
  std::string details;
  int ret = 0;
  {
    hw::LogCapture log;  // FFmpeg's why ("Cannot load libcuda.so.1") goes to av_log, not its error code
    ret = av_hwdevice_ctx_create(&device, type, nullptr, nullptr, 0);
    details = log.text();
  }
  if (ret < 0) {
    s.reason = "FFmpeg could not open a " + name + " device: " + av_error_text(ret);
    if (!details.empty()) s.reason += " (" + details + ")";
    return s;
  }
  av_buffer_unref(&device);
  s.available = true;
  return s;
}

MachineCapabilities probe_capabilities() {
  static std::once_flag once;
  static std::vector<FeatureStatus> hardware;
  static std::vector<FeatureStatus> encoders;
  std::call_once(once, [] {
    for (const auto& p : hw::probe_encoders())
      encoders.push_back(
          {p.backend, p.usable, p.usable ? std::string() : p.reason, p.codec, p.sessions, p.hardware});
    for (const char* type : kHardwareTypes) hardware.push_back(probe_hardware(type));
  });
  MachineCapabilities c;
  c.cores = usable_cores();
  c.memory_bytes = available_memory_bytes();
  c.encoders = encoders;
  c.hardware = hardware;
  return c;
}

}  // namespace pvt::mcp
