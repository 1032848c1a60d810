// Intel Quick Sync (h264_qsv / hevc_qsv): a QSV device (on Linux over VAAPI), a fixed pool of NV12
// surfaces (QSV needs it fixed), software frames uploaded with av_hwframe_transfer_data.
#include <algorithm>

#include <cmath>

#include "hw_frames.hpp"
#include "lavc_encoder.hpp"

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/opt.h>
}

namespace pvt::hw {

std::unique_ptr<VideoEncoder> open_qsv_encoder(const EncoderConfig& cfg) {
  if (cfg.codec != "h264" && cfg.codec != "hevc")
    throw BackendError("qsv encodes h264 or hevc, not " + cfg.codec);
  const AVCodec* codec = find_encoder(cfg.codec == "h264" ? "h264_qsv" : "hevc_qsv");
  BufferPtr device = open_hw_device(AV_HWDEVICE_TYPE_QSV, nullptr, "QSV");
  CodecContextPtr ctx = encoder_context(codec, cfg);
  AVCodecContext* c = ctx.get();
  BufferPtr frames = make_frames_pool(device.get(), AV_PIX_FMT_QSV, cfg.pix_fmt, cfg.width, cfg.height, 32);
  c->pix_fmt = AV_PIX_FMT_QSV;
  c->hw_frames_ctx = av_buffer_ref(frames.get());
  if (!c->hw_frames_ctx) throw std::bad_alloc();
  // QSV's presets are x264's names without the two fastest.
  const std::string preset = cfg.preset == "ultrafast" || cfg.preset == "superfast" ? "veryfast" : cfg.preset;
  av_opt_set(c->priv_data, "preset", preset.c_str(), 0);
  if (cfg.bitrate > 0) {
    set_capped_bitrate(c, cfg.bitrate);
  } else {
    c->global_quality =
        std::clamp(static_cast<int>(std::lround(cfg.crf)), 1, 51);  // ICQ where the driver has it
  }
  av_opt_set_int(c->priv_data, "forced_idr", 1, 0);
  if (cfg.lookahead > 0) av_opt_set_int(c->priv_data, "look_ahead_depth", std::min(cfg.lookahead, 100), 0);
  open_context(c, codec, codec->name);
  return std::make_unique<LavcEncoder>("qsv", std::move(ctx));
}

}  // namespace pvt::hw
