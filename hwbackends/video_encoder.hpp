// One interface for every video encoder pvt drives: x264 on the CPU (always available) and, in later
// backends, NVENC, VAAPI, QSV and VideoToolbox. Backends depend on FFmpeg only, never on the engine.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace pvt::hw {

class BackendError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EncoderConfig {
  std::string codec = "h264";
  std::string preset = "medium";
  int crf = 23;              // constant quality when bitrate == 0
  std::int64_t bitrate = 0;  // average bits/s
  int threads = 1;
  int lookahead = -1;  // frames of the encoder's own rate-control look-ahead; -1: its default
  int width = 0;
  int height = 0;
  AVPixelFormat pix_fmt = AV_PIX_FMT_YUV420P;
  AVRational time_base{1, 25};
  AVRational frame_rate{25, 1};
  AVRational sample_aspect_ratio{0, 1};
  AVColorRange color_range = AVCOL_RANGE_UNSPECIFIED;
  AVColorPrimaries color_primaries = AVCOL_PRI_UNSPECIFIED;
  AVColorTransferCharacteristic color_trc = AVCOL_TRC_UNSPECIFIED;
  AVColorSpace colorspace = AVCOL_SPC_UNSPECIFIED;
  AVChromaLocation chroma_location = AVCHROMA_LOC_UNSPECIFIED;
};

class VideoEncoder {
 public:
  virtual ~VideoEncoder() = default;
  virtual const char* backend() const = 0;
  virtual const AVCodecContext* context() const = 0;
  // Queues a frame (timestamps in config.time_base); force_idr makes it an IDR frame.
  // nullptr starts the flush.
  virtual void send(AVFrame* frame, bool force_idr) = 0;
  // Next encoded packet, false when the encoder needs more input (or is fully drained after a flush).
  virtual bool receive(AVPacket* packet) = 0;
};

// x264 through libavcodec. Every segment is a closed, self-contained stream: it starts with an IDR and
// repeats its SPS/PPS in-band, so segments concatenate by stream copy.
std::unique_ptr<VideoEncoder> open_x264_encoder(const EncoderConfig& config);

// The encoder for a backend name ("x264"). Throws BackendError naming what is missing.
std::unique_ptr<VideoEncoder> open_encoder(const std::string& backend, const EncoderConfig& config);

}  // namespace pvt::hw
