// The libavcodec plumbing every backend shares: a context filled from EncoderConfig, and a VideoEncoder
// that sends frames (uploading software frames into the context's hardware frames pool when it has
// one) and receives packets. Backends differ only in how they set up the context; that stays in their
// own file (x265_encoder.cpp, nvenc_encoder.cpp, vaapi_encoder.cpp, qsv_encoder.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "av_raii.hpp"
#include "video_encoder.hpp"

namespace pvt::hw {

// The named FFmpeg encoder ("hevc_nvenc"), or BackendError saying this FFmpeg was built without it.
const AVCodec* find_encoder(const char* ffmpeg_name);

// A context with size, rates, colour and threads from the config, and global headers (MP4's avcC/hvcC).
CodecContextPtr encoder_context(const AVCodec* codec, const EncoderConfig& cfg);

// Average bitrate with a buffer cap (max 1.5x, buffer 2 s): a segment is short, and one-pass rate
// control overshoots on hard content before it settles without the constraint. Every backend's
// bitrate mode goes through here so they all share one definition.
void set_capped_bitrate(AVCodecContext* c, std::int64_t bitrate);
// Capped CRF: a VBV cap of `peak` bits/s (buffer: 2 s of it, half full at the start) on a
// constant-quality encode; 0: none.
void set_peak_bitrate(AVCodecContext* c, std::int64_t peak);

// libaom and libvpx (FFmpeg 5.1's wrappers) hand the encoder avctx->ticks_per_frame as every frame's
// duration, in time-base units. Left at 1 under a stream's fine time base (1/12288 for 24 fps MP4), the first
// frame lasts 1/512 of a frame, and rate control budgets that key frame for 12288 fps: libvpx at 500 kb/s
// (BBB 640x360, 10 s, realtime) gave 636,575 bytes at 32.03 dB, plain ffmpeg (time base 1/fps) 695,715 at
// 32.09; with this, 691,151 at 32.09. This sets it to one frame at the average rate.
void set_frame_duration(AVCodecContext* c);

// avcodec_open2, or BackendError with FFmpeg's text (what it logged, else av_strerror).
void open_context(AVCodecContext* c, const AVCodec* codec, const std::string& what);

class LavcEncoder : public VideoEncoder {
 public:
  LavcEncoder(std::string backend, CodecContextPtr ctx)
      : backend_(std::move(backend)), ctx_(std::move(ctx)) {}
  const char* backend() const override { return backend_.c_str(); }
  const AVCodecContext* context() const override { return ctx_.get(); }
  void send(AVFrame* frame, bool force_idr) override;
  bool receive(AVPacket* packet) override;

 private:
  std::string backend_;
  CodecContextPtr ctx_;
  bool sent_frame_ = false;  // the first frame is the encoder's key frame without a flag
};

}  // namespace pvt::hw
