// A hardware device and a pool of its frames, for the backends that take hardware surfaces (VAAPI,
// QSV), after FFmpeg's doc/examples/vaapi_encode.c. Throw BackendError with FFmpeg's reason.
#pragma once

#include <string>
#include <vector>

#include "av_raii.hpp"

extern "C" {
#include <libavutil/hwcontext.h>
}

namespace pvt::hw {

std::vector<std::string> render_nodes();  // /dev/dri/renderD*, sorted
BufferPtr open_hw_device(AVHWDeviceType type, const char* device, const std::string& what);
BufferPtr make_frames_pool(AVBufferRef* device, AVPixelFormat hw_format, AVPixelFormat sw_format, int width,
                           int height, int pool_size);

}  // namespace pvt::hw
