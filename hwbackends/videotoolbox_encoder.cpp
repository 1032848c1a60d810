// VideoToolbox (macOS builds only): system-memory NV12 frames, constant quality or average bitrate.
#ifdef __APPLE__
#include "lavc_encoder.hpp"

extern "C" {
#include <libavutil/opt.h>
}

namespace pvt::hw {

std::unique_ptr<VideoEncoder> open_videotoolbox_encoder(const EncoderConfig& cfg) {
  const AVCodec* codec = find_encoder(cfg.codec == "hevc" ? "hevc_videotoolbox" : "h264_videotoolbox");
  CodecContextPtr ctx = encoder_context(codec, cfg);
  AVCodecContext* c = ctx.get();
  if (cfg.bitrate > 0)
    c->bit_rate = cfg.bitrate;
  else
    c->global_quality =
        static_cast<int>(FF_QP2LAMBDA * (100 - 2 * cfg.crf));  // q:v 0-100; lower CRF, higher quality
  open_context(c, codec, codec->name);
  return std::make_unique<LavcEncoder>("videotoolbox", std::move(ctx));
}

}  // namespace pvt::hw
#endif
