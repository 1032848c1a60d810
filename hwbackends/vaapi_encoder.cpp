// VAAPI (h264_vaapi / hevc_vaapi) on the first /dev/dri/renderD* node that opens, after FFmpeg's
// doc/examples/vaapi_encode.c: a VAAPI device, a frames pool of NV12 surfaces, software frames uploaded
// with av_hwframe_transfer_data (the worker decodes on the CPU; VAAPI decode -> encode is not wired).
#include <algorithm>

#include <cmath>
#include <filesystem>

#include "hw_frames.hpp"
#include "lavc_encoder.hpp"
#include "log_capture.hpp"

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

namespace pvt::hw {

std::vector<std::string> render_nodes() {
  std::vector<std::string> nodes;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/dev/dri", ec))
    if (e.path().filename().string().rfind("renderD", 0) == 0) nodes.push_back(e.path().string());
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

BufferPtr open_hw_device(AVHWDeviceType type, const char* device, const std::string& what) {
  LogCapture log;
  AVBufferRef* ref = nullptr;
  const int ret = av_hwdevice_ctx_create(&ref, type, device, nullptr, 0);
  if (ret < 0)
    throw BackendError("cannot open a " + what +
                       " device: " + (log.text().empty() ? err_text(ret) : log.text()));
  return BufferPtr(ref);
}

BufferPtr make_frames_pool(AVBufferRef* device, AVPixelFormat hw_format, AVPixelFormat sw_format, int width,
                           int height, int pool_size) {
  BufferPtr frames(av_hwframe_ctx_alloc(device));
  if (!frames) throw std::bad_alloc();
  auto* fc = reinterpret_cast<AVHWFramesContext*>(frames->data);
  fc->format = hw_format;
  fc->sw_format = sw_format;
  fc->width = width;
  fc->height = height;
  fc->initial_pool_size = pool_size;
  LogCapture log;
  const int ret = av_hwframe_ctx_init(frames.get());
  if (ret < 0)
    throw BackendError("cannot create hardware frames (" + std::string(av_get_pix_fmt_name(sw_format)) +
                       "): " + (log.text().empty() ? err_text(ret) : log.text()));
  return frames;
}

std::unique_ptr<VideoEncoder> open_vaapi_encoder(const EncoderConfig& cfg) {
  if (cfg.codec != "h264" && cfg.codec != "hevc")
    throw BackendError("vaapi encodes h264 or hevc, not " + cfg.codec);
  const AVCodec* codec = find_encoder(cfg.codec == "h264" ? "h264_vaapi" : "hevc_vaapi");
  const auto nodes = render_nodes();
  if (nodes.empty()) throw BackendError("no /dev/dri/renderD* device node");
  std::string why;
  BufferPtr device;
  for (const auto& node : nodes) {
    try {
      device = open_hw_device(AV_HWDEVICE_TYPE_VAAPI, node.c_str(), "VAAPI (" + node + ")");
      break;
    } catch (const BackendError& e) {
      why = e.what();
    }
  }
  if (!device) throw BackendError(why);
  CodecContextPtr ctx = encoder_context(codec, cfg);
  AVCodecContext* c = ctx.get();
  BufferPtr frames = make_frames_pool(device.get(), AV_PIX_FMT_VAAPI, cfg.pix_fmt, cfg.width, cfg.height, 20);
  c->pix_fmt = AV_PIX_FMT_VAAPI;
  c->hw_frames_ctx = av_buffer_ref(frames.get());
  if (!c->hw_frames_ctx) throw std::bad_alloc();
  if (cfg.bitrate > 0) {
    av_opt_set(c->priv_data, "rc_mode", "VBR", 0);
    set_capped_bitrate(c, cfg.bitrate);
  } else {
    av_opt_set(c->priv_data, "rc_mode", "CQP", 0);
    av_opt_set_int(c->priv_data, "qp", std::clamp(static_cast<int>(std::lround(cfg.crf)), 1, 51), 0);
  }
  // VAAPI turns a frame with pict_type I into an IDR itself; it has no encoder look-ahead to set.
  open_context(c, codec, codec->name);
  return std::make_unique<LavcEncoder>("vaapi", std::move(ctx));
}

}  // namespace pvt::hw
