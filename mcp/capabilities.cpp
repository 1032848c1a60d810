#include "capabilities.hpp"

#include <cstdarg>
#include <cstdio>
#include <mutex>

#include "error.hpp"
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

FeatureStatus probe_x264() {
  FeatureStatus s{"x264", false, {}};
  if (avcodec_find_encoder_by_name("libx264"))
    s.available = true;
  else
    s.reason = "this FFmpeg build has no libx264 encoder";
  return s;
}

// FFmpeg's error codes for a failed device are vague ("Generic error in an external library"); the why
// ("Cannot load libcuda.so.1") goes to av_log, which the server keeps quiet. While a probe runs, this
// thread's error lines are collected instead; every other log line takes FFmpeg's default path.
thread_local std::string* t_capture = nullptr;

void capturing_log_callback(void* avcl, int level, const char* fmt, va_list args) {
  if (t_capture && level <= AV_LOG_ERROR) {
    char line[512];
    std::vsnprintf(line, sizeof line, fmt, args);
    std::string text = line;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (!text.empty()) *t_capture += (t_capture->empty() ? "" : "; ") + text;
    return;
  }
  av_log_default_callback(avcl, level, fmt, args);
}

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
  static std::once_flag callback_installed;
  std::call_once(callback_installed, [] { av_log_set_callback(capturing_log_callback); });
  AVBufferRef* device = nullptr;
  std::string details;
  t_capture = &details;
  const int ret = av_hwdevice_ctx_create(&device, type, nullptr, nullptr, 0);
  t_capture = nullptr;
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
  static FeatureStatus x264;
  std::call_once(once, [] {
    x264 = probe_x264();
    for (const char* type : kHardwareTypes) hardware.push_back(probe_hardware(type));
  });
  MachineCapabilities c;
  c.cores = usable_cores();
  c.memory_bytes = available_memory_bytes();
  c.encoders = {x264};
  c.hardware = hardware;
  return c;
}

}  // namespace pvt::mcp
