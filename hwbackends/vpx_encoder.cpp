// VP9 on the CPU with libvpx (profile 0 for 8-bit, 2 for 10-bit, from the pixel format). Constant quality
// is crf with no target bitrate; row-mt and tile columns give a worker's threads work to do.
#include <algorithm>
#include <string>

#include "lavc_encoder.hpp"
#include "speed_scale.hpp"

extern "C" {
#include <libavutil/opt.h>
}

namespace pvt::hw {

std::unique_ptr<VideoEncoder> open_vpx_encoder(const EncoderConfig& cfg) {
  if (cfg.codec != "vp9") throw BackendError("vpx encodes vp9 only, not " + cfg.codec);
  const AVCodec* codec = find_encoder("libvpx-vp9");
  CodecContextPtr ctx = encoder_context(codec, cfg);
  AVCodecContext* c = ctx.get();
  // ultrafast and superfast use libvpx's realtime deadline (speeds 8 and 7); the rest its "good" deadline,
  // where speeds 0-5 apply. A number is cpu-used under "good".
  static const int kSpeeds[10] = {8, 7, 5, 5, 4, 3, 2, 1, 0, 0};
  const int speed = speed_for(cfg.preset, kSpeeds, -8, 8, "vpx");
  const bool realtime = !is_speed_number(cfg.preset) && speed >= 7;
  av_opt_set(c->priv_data, "deadline", realtime ? "realtime" : "good", 0);
  av_opt_set_int(c->priv_data, "cpu-used", speed, 0);
  if (cfg.bitrate > 0) {
    set_capped_bitrate(c, cfg.bitrate);
  } else {
    // crf without a bitrate: constant quality. With a ladder rung's cap: constrained quality, the crf's
    // quality unless it would take more than the cap on average (one-pass: it can overshoot on short
    // segments; README).
    c->bit_rate = std::max<std::int64_t>(0, cfg.max_bitrate);
    av_opt_set_int(c->priv_data, "crf", quality_on_scale(cfg.crf, 63), 0);
  }
  av_opt_set_int(c->priv_data, "row-mt", 1, 0);
  av_opt_set_int(c->priv_data, "tile-columns", tile_columns_log2(std::max(1, cfg.threads), cfg.width), 0);
  if (cfg.lookahead >= 0) av_opt_set_int(c->priv_data, "lag-in-frames", std::min(cfg.lookahead, 25), 0);
  c->gop_size = kNoAutomaticKeyframes;
  set_frame_duration(c);
  open_context(c, codec, "libvpx-vp9 (preset " + cfg.preset + ")");
  return std::make_unique<LavcEncoder>("vpx", std::move(ctx));
}

}  // namespace pvt::hw
