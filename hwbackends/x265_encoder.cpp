// HEVC on the CPU: libx265 through libavcodec, set up like x264 (closed segments, in-band headers,
// forced IDRs, CRF or capped ABR).
#include <algorithm>

#include "lavc_encoder.hpp"

extern "C" {
#include <libavutil/opt.h>
}

namespace pvt::hw {

std::unique_ptr<VideoEncoder> open_x265_encoder(const EncoderConfig& cfg) {
  if (cfg.codec != "hevc") throw BackendError("x265 encodes hevc only, not " + cfg.codec);
  const AVCodec* codec = find_encoder("libx265");
  CodecContextPtr ctx = encoder_context(codec, cfg);
  AVCodecContext* c = ctx.get();
  if (cfg.bitrate > 0) {
    set_capped_bitrate(c, cfg.bitrate);
  } else {
    av_opt_set_double(c->priv_data, "crf", cfg.crf, 0);
    set_peak_bitrate(c, cfg.max_bitrate);
  }
  av_opt_set(c->priv_data, "preset", cfg.preset.c_str(), 0);
  av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
  // x265 sizes its own thread pool from the machine; a worker gets its share, like x264's threads.
  std::string params = "repeat-headers=1:log-level=error:pools=" + std::to_string(std::max(1, cfg.threads));
  if (!cfg.master_display.empty()) params += ":master-display=" + cfg.master_display;
  if (!cfg.max_cll.empty()) params += ":max-cll=" + cfg.max_cll;
  if (cfg.lookahead >= 0) params += ":rc-lookahead=" + std::to_string(std::max(cfg.lookahead, 1));
  av_opt_set(c->priv_data, "x265-params", params.c_str(), 0);
  open_context(c, codec, "libx265 (preset " + cfg.preset + ")");
  return std::make_unique<LavcEncoder>("x265", std::move(ctx));
}

}  // namespace pvt::hw
