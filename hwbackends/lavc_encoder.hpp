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
};

}  // namespace pvt::hw
