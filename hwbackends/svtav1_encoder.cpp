// AV1 on the CPU with SVT-AV1 (libsvtav1): the fast AV1 encoder, and pvt's default for --codec av1.
// Each segment is a closed stream that starts with a key frame and its sequence header, so segments join
// by stream copy; forced key frames (scene cuts) are key frames too.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "lavc_encoder.hpp"
#include "speed_scale.hpp"

extern "C" {
#include <libavutil/opt.h>
}

namespace pvt::hw {

namespace {

// x265's mastering-display syntax (chromaticities in 0.00002 units, luminance in 0.0001 cd/m2, as pvt
// keeps it) in SVT-AV1's, which takes the same letters with real values: G(0.2650,0.6900)...L(1000.0,0.005).
// Empty when it does not parse.
std::string svt_mastering_display(const std::string& x265) {
  unsigned g[2], b[2], r[2], wp[2];
  unsigned long long lmax = 0, lmin = 0;
  if (std::sscanf(x265.c_str(), "G(%u,%u)B(%u,%u)R(%u,%u)WP(%u,%u)L(%llu,%llu)", &g[0], &g[1], &b[0], &b[1],
                  &r[0], &r[1], &wp[0], &wp[1], &lmax, &lmin) != 10)
    return {};
  char out[200];
  std::snprintf(out, sizeof out, "G(%.5f,%.5f)B(%.5f,%.5f)R(%.5f,%.5f)WP(%.5f,%.5f)L(%.4f,%.4f)",
                g[0] / 50000.0, g[1] / 50000.0, b[0] / 50000.0, b[1] / 50000.0, r[0] / 50000.0,
                r[1] / 50000.0, wp[0] / 50000.0, wp[1] / 50000.0, lmax / 10000.0, lmin / 10000.0);
  return out;
}

}  // namespace

std::unique_ptr<VideoEncoder> open_svtav1_encoder(const EncoderConfig& cfg) {
  if (cfg.codec != "av1") throw BackendError("svtav1 encodes av1 only, not " + cfg.codec);
  // SVT-AV1 prints its configuration to stderr by itself (not through av_log), which would break pvt's
  // one-line errors and the progress display: errors only, unless the user set SVT_LOG.
  setenv("SVT_LOG", "1", /*overwrite=*/0);
  const AVCodec* codec = find_encoder("libsvtav1");
  CodecContextPtr ctx = encoder_context(codec, cfg);
  AVCodecContext* c = ctx.get();
  // ultrafast..placebo: SVT's presets 12 (fastest it has that still looks like video) down to 2.
  static const int kSpeeds[10] = {12, 11, 10, 9, 8, 6, 5, 4, 3, 2};
  av_opt_set_int(c->priv_data, "preset", speed_for(cfg.preset, kSpeeds, -1, 13, "svtav1"), 0);
  if (cfg.bitrate > 0) {
    set_capped_bitrate(c, cfg.bitrate);
  } else {
    av_opt_set_int(c->priv_data, "crf", quality_on_scale(cfg.crf, 63), 0);
    set_peak_bitrate(c, cfg.max_bitrate);  // SVT's capped CRF (its max_bit_rate): a ladder rung's cap
  }
  // lp: the logical processors SVT may use (it sizes its thread pool from the whole machine otherwise);
  // keyint -1 and scd 0: key frames only where pvt forces them (segment starts, scene cuts); irefresh-type 2:
  // those are closed key frames, not open-GOP forward key frames.
  std::string params = "lp=" + std::to_string(std::max(1, cfg.threads)) + ":scd=0:irefresh-type=2";
  if (cfg.bitrate <= 0) params += ":keyint=-1";  // SVT allows an infinite key-frame interval with CRF only
  if (cfg.lookahead >= 0) params += ":lookahead=" + std::to_string(std::min(cfg.lookahead, 120));
  if (const auto md = svt_mastering_display(cfg.master_display); !md.empty())
    params += ":mastering-display=" + md;
  if (!cfg.max_cll.empty()) params += ":content-light=" + cfg.max_cll;
  av_opt_set(c->priv_data, "svtav1-params", params.c_str(), 0);
  open_context(c, codec, "libsvtav1 (preset " + cfg.preset + ")");
  return std::make_unique<LavcEncoder>("svtav1", std::move(ctx));
}

}  // namespace pvt::hw
