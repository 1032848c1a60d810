// NVENC (h264_nvenc / hevc_nvenc). Frames are handed over in system memory (NV12): FFmpeg's NVENC
// wrapper registers and copies them into its own CUDA surfaces. Zero-copy NVDEC -> NVENC would need the
// worker's decoder on the same CUDA device; it is not wired, so the CPU decode path stays unchanged.
#include <algorithm>

#include <cmath>
#include <map>

#include "lavc_encoder.hpp"

extern "C" {
#include <libavutil/opt.h>
}

namespace pvt::hw {

namespace {

// x264 preset names onto NVENC's p1 (fastest) .. p7 (best).
const char* nvenc_preset(const std::string& x264_preset) {
  static const std::map<std::string, const char*> table = {
      {"ultrafast", "p1"}, {"superfast", "p2"}, {"veryfast", "p3"}, {"faster", "p3"},   {"fast", "p4"},
      {"medium", "p4"},    {"slow", "p5"},      {"slower", "p6"},   {"veryslow", "p7"}, {"placebo", "p7"}};
  const auto it = table.find(x264_preset);
  return it == table.end() ? "p4" : it->second;
}

}  // namespace

std::unique_ptr<VideoEncoder> open_nvenc_encoder(const EncoderConfig& cfg) {
  if (cfg.codec != "h264" && cfg.codec != "hevc")
    throw BackendError("nvenc encodes h264 or hevc, not " + cfg.codec);
  const AVCodec* codec = find_encoder(cfg.codec == "h264" ? "h264_nvenc" : "hevc_nvenc");
  CodecContextPtr ctx = encoder_context(codec, cfg);
  AVCodecContext* c = ctx.get();
  av_opt_set(c->priv_data, "preset", nvenc_preset(cfg.preset), 0);
  av_opt_set(c->priv_data, "tune", "hq", 0);
  if (cfg.bitrate > 0) {
    av_opt_set(c->priv_data, "rc", "vbr", 0);
    set_capped_bitrate(c, cfg.bitrate);
  } else {
    // Constant quality: VBR with a CQ target and no bitrate ceiling, NVENC's counterpart of CRF.
    av_opt_set(c->priv_data, "rc", "vbr", 0);
    av_opt_set_int(c->priv_data, "cq", std::clamp(static_cast<int>(std::lround(cfg.crf)), 1, 51), 0);
    c->bit_rate = 0;
  }
  av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
  if (cfg.lookahead > 0) av_opt_set_int(c->priv_data, "rc-lookahead", cfg.lookahead, 0);
  open_context(c, codec, codec->name);
  return std::make_unique<LavcEncoder>("nvenc", std::move(ctx));
}

}  // namespace pvt::hw
