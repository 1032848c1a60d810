// AV1 on the CPU with libaom: the reference encoder, slow and best per bit at its low speeds. Row-based
// multithreading and tile columns give a worker's threads work to do (libaom threads poorly otherwise).
#include <algorithm>
#include <string>

#include "lavc_encoder.hpp"
#include "speed_scale.hpp"

extern "C" {
#include <libavutil/opt.h>
}

namespace pvt::hw {

std::unique_ptr<VideoEncoder> open_aom_encoder(const EncoderConfig& cfg) {
  if (cfg.codec != "av1") throw BackendError("aom encodes av1 only, not " + cfg.codec);
  const AVCodec* codec = find_encoder("libaom-av1");
  CodecContextPtr ctx = encoder_context(codec, cfg);
  AVCodecContext* c = ctx.get();
  static const int kSpeeds[10] = {8, 8, 7, 6, 5, 4, 3, 2, 1, 0};
  av_opt_set_int(c->priv_data, "cpu-used", speed_for(cfg.preset, kSpeeds, 0, 8, "aom"), 0);
  if (cfg.bitrate > 0) {
    set_capped_bitrate(c, cfg.bitrate);
  } else {
    // With crf alone: constant quality (end-usage q). With a ladder rung's cap: constrained quality
    // (end-usage cq), the crf's quality unless it would take more than the cap on average.
    c->bit_rate = std::max<std::int64_t>(0, cfg.max_bitrate);
    av_opt_set_int(c->priv_data, "crf", quality_on_scale(cfg.crf, 63), 0);
  }
  av_opt_set_int(c->priv_data, "row-mt", 1, 0);
  av_opt_set_int(c->priv_data, "tile-columns", tile_columns_log2(std::max(1, cfg.threads), cfg.width), 0);
  if (cfg.lookahead >= 0) av_opt_set_int(c->priv_data, "lag-in-frames", std::min(cfg.lookahead, 35), 0);
  c->gop_size = kNoAutomaticKeyframes;
  set_frame_duration(c);
  open_context(c, codec, "libaom-av1 (preset " + cfg.preset + ")");
  return std::make_unique<LavcEncoder>("aom", std::move(ctx));
}

}  // namespace pvt::hw
