// x264 through libavcodec: the CPU floor every machine has. Every segment is a closed, self-contained
// stream: it starts with an IDR and repeats its SPS/PPS in-band, so segments join by stream copy.
#include <algorithm>
#include <string>

#include "lavc_encoder.hpp"
#include "video_encoder.hpp"

extern "C" {
#include <libavutil/opt.h>
}

namespace pvt::hw {

std::unique_ptr<VideoEncoder> open_x264_encoder(const EncoderConfig& cfg) {
  if (cfg.codec != "h264") throw BackendError("x264 encodes h264 only, not " + cfg.codec);
  const AVCodec* codec = find_encoder("libx264");
  CodecContextPtr ctx = encoder_context(codec, cfg);
  AVCodecContext* c = ctx.get();
  if (cfg.bitrate > 0) set_capped_bitrate(c, cfg.bitrate);
  av_opt_set(c->priv_data, "preset", cfg.preset.c_str(), 0);
  if (cfg.bitrate <= 0) {
    av_opt_set_double(c->priv_data, "crf", cfg.crf, 0);
    set_peak_bitrate(c, cfg.max_bitrate);
  }
  // Forced key frames become IDRs, so a segment's first frame and its scene cuts are random-access points.
  av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
  if (cfg.lookahead >= 0) av_opt_set_int(c->priv_data, "rc-lookahead", cfg.lookahead, 0);
  std::string params = "repeat-headers=1";
  if (!cfg.master_display.empty()) params += ":mastering-display=" + cfg.master_display;
  if (!cfg.max_cll.empty()) params += ":cll=" + cfg.max_cll;
  av_opt_set(c->priv_data, "x264-params", params.c_str(), 0);
  open_context(c, codec, "libx264 (preset " + cfg.preset + ")");
  return std::make_unique<LavcEncoder>("x264", std::move(ctx));
}

}  // namespace pvt::hw
