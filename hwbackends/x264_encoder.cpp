#include <algorithm>
#include <string>

#include "video_encoder.hpp"

extern "C" {
#include <libavutil/error.h>
#include <libavutil/opt.h>
}

namespace pvt::hw {

namespace {

std::string err_text(int e) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(e, buf, sizeof buf);
  return buf;
}

struct CodecContextFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};

class X264Encoder final : public VideoEncoder {
 public:
  explicit X264Encoder(const EncoderConfig& cfg) {
    if (cfg.codec != "h264") throw BackendError("x264 encodes h264 only, not " + cfg.codec);
    const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) throw BackendError("libx264 encoder is not built into this FFmpeg");
    ctx_.reset(avcodec_alloc_context3(codec));
    if (!ctx_) throw std::bad_alloc();
    AVCodecContext* c = ctx_.get();
    c->width = cfg.width;
    c->height = cfg.height;
    c->pix_fmt = cfg.pix_fmt;
    c->time_base = cfg.time_base;
    c->framerate = cfg.frame_rate;
    c->sample_aspect_ratio = cfg.sample_aspect_ratio;
    c->color_range = cfg.color_range;
    c->color_primaries = cfg.color_primaries;
    c->color_trc = cfg.color_trc;
    c->colorspace = cfg.colorspace;
    c->chroma_sample_location = cfg.chroma_location;
    c->thread_count = cfg.threads > 0 ? cfg.threads : 1;
    // Extradata for MP4's avcC, and in-band headers (repeat-headers) so any segment decodes on its own.
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (cfg.bitrate > 0) {
      // Average bitrate with a VBV cap: a segment is short, and without the buffer constraint x264's
      // one-pass ABR overshoots on hard content before its rate control settles.
      c->bit_rate = cfg.bitrate;
      c->rc_max_rate = cfg.bitrate * 3 / 2;
      c->rc_buffer_size = static_cast<int>(std::min<std::int64_t>(cfg.bitrate * 2, INT32_MAX));
    }
    av_opt_set(c->priv_data, "preset", cfg.preset.c_str(), 0);
    if (cfg.bitrate <= 0) av_opt_set_double(c->priv_data, "crf", cfg.crf, 0);
    // Forced key frames become IDRs, so a segment's first frame and its scene cuts are random-access points.
    av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
    if (cfg.lookahead >= 0) av_opt_set_int(c->priv_data, "rc-lookahead", cfg.lookahead, 0);
    av_opt_set(c->priv_data, "x264-params", "repeat-headers=1", 0);
    const int ret = avcodec_open2(c, codec, nullptr);
    if (ret < 0) throw BackendError("cannot open libx264 (preset " + cfg.preset + "): " + err_text(ret));
  }

  const char* backend() const override { return "x264"; }
  const AVCodecContext* context() const override { return ctx_.get(); }

  void send(AVFrame* frame, bool force_idr) override {
    if (frame) {
      frame->pict_type = force_idr ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
      frame->key_frame = force_idr ? 1 : 0;
    }
    const int ret = avcodec_send_frame(ctx_.get(), frame);
    if (ret < 0 && ret != AVERROR_EOF) throw BackendError("x264: encoding failed: " + err_text(ret));
  }

  bool receive(AVPacket* packet) override {
    const int ret = avcodec_receive_packet(ctx_.get(), packet);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return false;
    if (ret < 0) throw BackendError("x264: encoding failed: " + err_text(ret));
    return true;
  }

 private:
  std::unique_ptr<AVCodecContext, CodecContextFree> ctx_;
};

}  // namespace

std::unique_ptr<VideoEncoder> open_x264_encoder(const EncoderConfig& config) {
  return std::make_unique<X264Encoder>(config);
}

std::unique_ptr<VideoEncoder> open_encoder(const std::string& backend, const EncoderConfig& config) {
  if (backend == "x264" || backend == "auto") return open_x264_encoder(config);
  throw BackendError("encoder backend '" + backend + "' is not available on this machine (available: x264)");
}

}  // namespace pvt::hw
