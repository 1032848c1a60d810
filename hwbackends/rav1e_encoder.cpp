// AV1 on the CPU with rav1e. Its quantizer runs 0-255, so --crf is mapped onto that scale.
#include <algorithm>
#include <string>

#include "lavc_encoder.hpp"
#include "speed_scale.hpp"

extern "C" {
#include <libavutil/opt.h>
}

namespace pvt::hw {

std::unique_ptr<VideoEncoder> open_rav1e_encoder(const EncoderConfig& cfg) {
  if (cfg.codec != "av1") throw BackendError("rav1e encodes av1 only, not " + cfg.codec);
  const AVCodec* codec = find_encoder("librav1e");
  CodecContextPtr ctx = encoder_context(codec, cfg);
  AVCodecContext* c = ctx.get();
  static const int kSpeeds[10] = {10, 10, 9, 8, 7, 6, 5, 4, 2, 0};
  av_opt_set_int(c->priv_data, "speed", speed_for(cfg.preset, kSpeeds, 0, 10, "rav1e"), 0);
  if (cfg.bitrate > 0)
    c->bit_rate = cfg.bitrate;  // rav1e's rate control has no buffer cap to set
  else
    av_opt_set_int(c->priv_data, "qp", quality_on_scale(cfg.crf, 255), 0);
  // Tiles let rav1e's threads share a frame; key frames only where pvt forces them.
  av_opt_set_int(c->priv_data, "tiles", std::max(1, cfg.threads), 0);
  c->gop_size = kNoAutomaticKeyframes;
  open_context(c, codec, "librav1e (preset " + cfg.preset + ")");
  return std::make_unique<LavcEncoder>("rav1e", std::move(ctx));
}

}  // namespace pvt::hw
